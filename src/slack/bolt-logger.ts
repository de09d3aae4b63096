import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from '../log.ts';

/**
 * A library line keeps its words, never a payload: Bolt, the Web API client and Socket Mode log whole
 * request bodies, view states and frames at debug ("Received a message on the WebSocket: {…}"), and a
 * view submission can carry a pasted token value. Everything from the first `{` or `[` on is dropped, and
 * objects are not serialised at all.
 */
export function scrubLibraryLog(parts: unknown[]): string {
  return parts
    .map((m) => {
      const text = typeof m === 'string' ? m : m instanceof Error ? m.message : undefined;
      if (text === undefined) return '[object omitted]';
      const i = text.search(/[{[]/);
      return i < 0 ? text : `${text.slice(0, i)}[payload omitted]`;
    })
    .join(' ');
}

/** Bolt logs through ours (pino, with its redaction), at the level ours is set to, payloads scrubbed. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level: LogLevel = LogLevel.INFO;
  let name = 'bolt';
  return {
    debug: (...msg: unknown[]) => child.debug({ name }, scrubLibraryLog(msg)),
    info: (...msg: unknown[]) => child.info({ name }, scrubLibraryLog(msg)),
    warn: (...msg: unknown[]) => child.warn({ name }, scrubLibraryLog(msg)),
    error: (...msg: unknown[]) => child.error({ name }, scrubLibraryLog(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: (n: string) => {
      name = n;
    },
  };
}
