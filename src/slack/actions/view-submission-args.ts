import type { Actor } from '../../domain/request.ts';
import type { ModalView } from '../block-kit.ts';
import { slackInput } from '../escape.ts';
import type { ListenerClient } from '../slack-client.ts';

/** What a `view_submission` listener may answer (Slack's `response_action`s). */
export type ViewAck = (
  response?:
    | { response_action: 'errors'; errors: Record<string, string> }
    | { response_action: 'update'; view: ModalView }
    | { response_action: 'clear' },
) => Promise<void>;

export interface ViewSubmissionArgs {
  ack: ViewAck;
  body: unknown;
  client: ListenerClient;
}

/** Slack waits 3 s for the ack; past this we ack with a "working" view and update it later. */
export const SUBMIT_BUDGET_MS = 2000;

/** The Slack person behind a submission, as the intake records them (name sanitised and cut). */
export function actorOf(user: { id: string; name?: string; username?: string }): Actor {
  const name = user.name ?? user.username;
  return { source: 'slack', id: user.id, ...(name ? { name: slackInput(name, 256) } : {}) };
}
