import { DOCS, isObj, parseJson, SOURCES, type Violation } from './sources.ts';

const blockIds = (blocks: unknown): string[] =>
  Array.isArray(blocks)
    ? blocks.filter(isObj).flatMap((b) => (typeof b.block_id === 'string' ? [b.block_id] : []))
    : [];

/**
 * Remembers each message's last iteration (by channel and ts) and finds what Slack's guidance warns
 * against on an update: a block_id reused from the previous iteration ("If a message is updated, use a
 * new block_id", section block reference), and an update identical to what the message already shows
 * (a wasted call on a Tier 3 method). Slack accepts both; the stand-ins report them.
 */
export class MessageIterations {
  private readonly last = new Map<string, string>();
  private readonly lastIds = new Map<string, string[]>();
  /** chat.update calls that resent exactly what the message already showed. */
  identicalUpdates = 0;
  updates = 0;

  record(
    method: string,
    args: Record<string, unknown>,
    answer: { channel?: unknown; ts?: unknown },
  ): Violation | undefined {
    if (method !== 'chat.postMessage' && method !== 'chat.update') return undefined;
    const key = `${String(answer.channel ?? args.channel)}/${String(answer.ts ?? args.ts)}`;
    const blocks = parseJson(args.blocks);
    const body = JSON.stringify({ text: args.text, blocks });
    const ids = blockIds(blocks);
    let violation: Violation | undefined;
    if (method === 'chat.update') {
      this.updates++;
      if (this.last.get(key) === body) {
        this.identicalUpdates++;
        violation = {
          rule: 'chat.update resends exactly what the message already shows (a wasted Tier 3 call)',
          path: '',
          source: `${DOCS}/methods/chat.update`,
          error: 'revoker_rule',
        };
      } else {
        const reused = ids.find((id) => this.lastIds.get(key)?.includes(id));
        if (reused) {
          violation = {
            rule: `block_id "${reused}" reused across iterations of one message; use a new block_id when updating`,
            path: '/blocks',
            source: SOURCES.section,
            error: 'revoker_rule',
          };
        }
      }
    }
    this.last.set(key, body);
    this.lastIds.set(key, ids);
    return violation;
  }
}
