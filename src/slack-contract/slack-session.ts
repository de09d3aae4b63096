import { DOCS, isObj, parseJson } from './sources.ts';

/**
 * A trigger_id lasts 3 seconds and is exchanged once
 * (https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses; views.open errors
 * `expired_trigger_id`, `exchanged_trigger_id`, `invalid_trigger_id`).
 */
export const TRIGGER_TTL_MS = 3000;
/** "After a modal is opened, the app is limited to pushing 2 additional views" (views.push page). */
export const MAX_VIEW_STACK = 3;

export const SESSION_SOURCES = {
  trigger: `${DOCS}/methods/views.open#errors`,
  push: `${DOCS}/methods/views.push`,
  viewsUpdate: `${DOCS}/methods/views.update#errors`,
  chatUpdate: `${DOCS}/methods/chat.update#errors`,
} as const;

export interface SlackSessionOptions {
  /** Clock (ms); default Date.now. */
  now?: () => number;
  /**
   * Refuse ids this Slack never issued (trigger_ids → `invalid_trigger_id`, view ids → `not_found`, message
   * ts → `message_not_found`), as Slack does. Default true. Tests that post hand-built payloads (their
   * trigger_ids and view ids never came from this stand-in) turn it off: issued ids keep every rule.
   */
  refuseUnknownIds?: boolean;
}

interface Trigger {
  issuedAt: number;
  exchanged: boolean;
  /** The modal the interaction came from (a push stacks on it). */
  viewId?: string;
}

/**
 * What Slack remembers between calls: trigger_ids it handed out, the view stacks it shows, the messages
 * it holds. `refusal` names Slack's error for a call these make impossible; `record` notes a call Slack
 * answered.
 */
export class SlackSession {
  private readonly triggers = new Map<string, Trigger>();
  /** view id → its modal's stack (shared by every view in it); external_id → view id. */
  private readonly stacks = new Map<string, string[]>();
  private readonly externalIds = new Map<string, string>();
  private readonly messages = new Set<string>();
  private readonly now: () => number;
  private readonly strict: boolean;

  constructor(options: SlackSessionOptions = {}) {
    this.now = options.now ?? Date.now;
    this.strict = options.refuseUnknownIds ?? true;
  }

  /** A trigger_id this Slack puts in an interaction payload now (from inside modal `viewId`, if any). */
  issueTrigger(triggerId: string, viewId?: string): void {
    this.triggers.set(triggerId, { issuedAt: this.now(), exchanged: false, ...(viewId ? { viewId } : {}) });
  }

  /** A message this Slack holds already (e.g. one a test's payload refers to). */
  knowMessage(channel: string, ts: string): void {
    this.messages.add(`${channel}/${ts}`);
  }

  refusal(method: string, args: Record<string, unknown>): string | undefined {
    switch (method) {
      case 'views.open':
      case 'views.push': {
        const id = String(args.trigger_id ?? args.interactivity_pointer ?? '');
        const t = this.triggers.get(id);
        if (!t) return this.strict ? 'invalid_trigger_id' : undefined;
        if (t.exchanged) return 'exchanged_trigger_id';
        if (this.now() - t.issuedAt > TRIGGER_TTL_MS) return 'expired_trigger_id';
        if (
          method === 'views.push' &&
          t.viewId &&
          (this.stacks.get(t.viewId)?.length ?? 0) >= MAX_VIEW_STACK
        ) {
          return 'push_limit_reached';
        }
        return undefined;
      }
      case 'views.update': {
        const known =
          typeof args.view_id === 'string' && args.view_id !== ''
            ? this.stacks.has(args.view_id)
            : this.externalIds.has(String(args.external_id));
        return known || !this.strict ? undefined : 'not_found';
      }
      case 'chat.update':
        return this.messages.has(`${String(args.channel)}/${String(args.ts)}`) || !this.strict
          ? undefined
          : 'message_not_found';
      default:
        return undefined;
    }
  }

  record(method: string, args: Record<string, unknown>, answer: Record<string, unknown>): void {
    const viewId = isObj(answer.view) && typeof answer.view.id === 'string' ? answer.view.id : undefined;
    const trigger = this.triggers.get(String(args.trigger_id ?? args.interactivity_pointer ?? ''));
    if (method === 'views.open' || method === 'views.push') {
      if (trigger) trigger.exchanged = true;
      if (!viewId) return;
      const stack = (method === 'views.push' && trigger?.viewId && this.stacks.get(trigger.viewId)) || [];
      stack.push(viewId);
      this.stacks.set(viewId, stack);
      const view = parseJson(args.view);
      if (isObj(view) && typeof view.external_id === 'string') this.externalIds.set(view.external_id, viewId);
    } else if (method === 'chat.postMessage' && typeof answer.ts === 'string') {
      this.knowMessage(String(answer.channel ?? args.channel), answer.ts);
    }
  }
}
