import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from '../log.ts';

/** Bolt logs through ours (pino, with its redaction), at the level ours is set to. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level: LogLevel = LogLevel.INFO;
  let name = 'bolt';
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug({ name }, text(msg)),
    info: (...msg: unknown[]) => child.info({ name }, text(msg)),
    warn: (...msg: unknown[]) => child.warn({ name }, text(msg)),
    error: (...msg: unknown[]) => child.error({ name }, text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: (n: string) => {
      name = n;
    },
  };
}
