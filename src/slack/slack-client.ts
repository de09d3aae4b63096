import type { HomeView, KnownBlock, ModalView } from './block-kit.ts';

/**
 * The slice of the Web API our listeners call. Bolt's `client` (a WebClient) satisfies it; unit tests
 * pass a recording fake.
 */
export interface ListenerClient {
  views: {
    open(args: { trigger_id: string; view: ModalView }): Promise<{ view?: { id?: string } }>;
    push(args: { trigger_id: string; view: ModalView }): Promise<{ view?: { id?: string } }>;
    /** `hash` (the view's, from the payload) makes Slack refuse the update if the view changed since. */
    update(args: { view_id: string; view: ModalView; hash?: string }): Promise<unknown>;
    publish(args: { user_id: string; view: HomeView }): Promise<unknown>;
  };
  /** users.info (scope `users:read.email` for the profile email); optional so fakes may leave it out. */
  users?: {
    info(args: {
      user: string;
    }): Promise<{ user?: { is_email_confirmed?: boolean; profile?: { email?: string } } }>;
  };
  chat: {
    postEphemeral(args: {
      channel: string;
      user: string;
      text: string;
      blocks?: KnownBlock[];
    }): Promise<unknown>;
  };
}

/** Bolt's `respond` (POSTs to the `response_url`). */
export type RespondFn = (message: {
  text: string;
  response_type?: 'ephemeral' | 'in_channel';
  replace_original?: boolean;
  blocks?: KnownBlock[];
}) => Promise<unknown>;

/** Races a slow look-up against the 3-second budget Slack gives a `trigger_id` or an ack. */
export async function withinDeadline<T>(
  work: Promise<T>,
  ms: number,
): Promise<{ settled: true; value: T } | { settled: true; error: unknown } | { settled: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), ms);
  });
  try {
    return await Promise.race([
      work.then(
        (value) => ({ settled: true as const, value }),
        (error: unknown) => ({ settled: true as const, error }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * views.update of the view a click came from, with its `hash`: when two clicks race (picker changes in a
 * row), the older one's update is refused with `hash_conflict` instead of overwriting the newer view
 * (https://docs.slack.dev/reference/methods/views.update). A conflict is not an error: a newer view won.
 */
export async function updateClickedView(
  client: ListenerClient,
  view: { id: string; hash?: string | undefined },
  next: ModalView,
): Promise<void> {
  try {
    await client.views.update({ view_id: view.id, view: next, ...(view.hash ? { hash: view.hash } : {}) });
  } catch (err) {
    if ((err as { data?: { error?: unknown } }).data?.error === 'hash_conflict') return;
    throw err;
  }
}
