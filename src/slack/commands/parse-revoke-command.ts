import { RefSchema } from '../../domain/target.ts';
import { escapeMrkdwn } from '../escape.ts';

export type RevokeCommand =
  | { kind: 'modal' }
  | { kind: 'help' }
  | { kind: 'status'; requestId: string }
  /** `connection`: `--idp <id>` (several connections: the one the token, app or API belongs to). */
  | { kind: 'token'; tokenId: string; user: string; connection?: string }
  | { kind: 'user'; ref: string }
  | { kind: 'application'; ref: string; connection?: string }
  | { kind: 'resourceServer'; ref: string; connection?: string }
  /** The dialog with "A leaked token" chosen; `ignored` when text followed (never echoed: it may be the token). */
  | { kind: 'leaked'; ignored: boolean }
  | { kind: 'invalid'; message: string };

/** mrkdwn: the placeholders' angle brackets are escaped, or Slack would parse `<token id>` as a link. */
export const USAGE = [
  '*Usage*',
  '`/revoke` — open the Revoke Tokens dialog',
  '`/revoke token <token id> <user>` — revoke one token of a user',
  '`/revoke user <email | user id>` — revoke all tokens for a user',
  '`/revoke app <name | id>` — revoke all tokens issued to an application',
  '`/revoke api <name | id | audience>` — revoke all tokens issued to a resource server',
  '`/revoke leaked` — paste a leaked token into the dialog to revoke it by its value',
  '`/revoke status <request id>` — where a request is',
  '`/revoke help` — this text',
]
  .map(escapeMrkdwn)
  .join('\n');

/** Added to the usage when several connections are configured. */
export const CONNECTION_USAGE = escapeMrkdwn(
  '`--idp <connection>` after `token`, `app` or `api` — the connected system it belongs to (default the first); `user` runs in every one',
);

/** Takes `--idp <id>` (or `--idp=<id>`) out of the words, as the CLI spells it; `invalid` without a value. */
function takeConnection(words: string[]): { rest: string[]; connection?: string } | { invalid: string } {
  const at = words.findIndex((w) => w === '--idp' || w.startsWith('--idp='));
  if (at < 0) return { rest: words };
  const word = words[at]!;
  const value = word === '--idp' ? words[at + 1] : word.slice('--idp='.length);
  if (!value || !RefSchema.safeParse(value).success) return { invalid: 'Expected `--idp <connection id>`.' };
  const rest = words.filter((_, i) => i !== at && !(word === '--idp' && i === at + 1));
  if (rest.some((w) => w === '--idp' || w.startsWith('--idp='))) return { invalid: 'Name one `--idp`.' };
  // Connection ids are lower case; whether one is configured is the handler's to say.
  return { rest, connection: value.toLowerCase() };
}

/** Slack sends `<mailto:a@b.c|a@b.c>` for emails typed in a command when link parsing is on. */
function unwrap(ref: string): string {
  const m = /^<mailto:([^|>]+)(?:\|[^>]*)?>$/.exec(ref);
  return m ? m[1]! : ref;
}

/** Parses the text after `/revoke`. Pure: no look-ups here. */
export function parseRevokeCommand(text: string): RevokeCommand {
  const words = text.trim().split(/\s+/).filter(Boolean).map(unwrap);
  if (words.length === 0) return { kind: 'modal' };
  const [verb, ...args] = words;
  const verbLower = verb!.toLowerCase();
  // Whatever follows `leaked` is ignored, never parsed (it may be the token).
  if (verbLower === 'leaked') return { kind: 'leaked', ignored: args.length > 0 };
  const taken = takeConnection(args);
  if ('invalid' in taken) return { kind: 'invalid', message: taken.invalid };
  const { rest } = taken;
  const inConnection = taken.connection ? { connection: taken.connection } : {};
  if (taken.connection && ['help', 'status', 'user'].includes(verbLower)) {
    return {
      kind: 'invalid',
      message: '`--idp` names the system of a token, an app or an API; `/revoke user` runs in every one.',
    };
  }
  const refs = rest.filter((w) => RefSchema.safeParse(w).success);
  const need = (n: number, shape: string): RevokeCommand | undefined =>
    rest.length !== n || refs.length !== n
      ? { kind: 'invalid', message: `Expected \`/revoke ${shape}\`.` }
      : undefined;
  switch (verbLower) {
    case 'help':
      return { kind: 'help' };
    case 'status':
      return need(1, 'status <request id>') ?? { kind: 'status', requestId: refs[0]! };
    case 'token':
      return (
        need(2, 'token <token id> <user>') ?? {
          kind: 'token',
          tokenId: refs[0]!,
          user: refs[1]!,
          ...inConnection,
        }
      );
    case 'user':
      return need(1, 'user <email | user id>') ?? { kind: 'user', ref: refs[0]! };
    case 'app':
    case 'application':
      return need(1, 'app <name | id>') ?? { kind: 'application', ref: refs[0]!, ...inConnection };
    case 'api':
      return (
        need(1, 'api <name | id | audience>') ?? { kind: 'resourceServer', ref: refs[0]!, ...inConnection }
      );
    default:
      // Echo only a word-like verb: someone may paste a token here by mistake.
      return {
        kind: 'invalid',
        message: /^[a-z-]{1,16}$/i.test(verb!) ? `Unknown subcommand “${verb}”.` : 'Unknown subcommand.',
      };
  }
}
