import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]" wherever they appear: credentials, token values, signatures.
 * Token *ids* (`tok_…`) are references and stay visible.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'id_token',
  '*.id_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers.cookie',
  'req.headers.cookie',
  'secret',
  '*.secret',
  'clientSecret',
  '*.clientSecret',
  'signature',
  '*.signature',
];

/** `stderr`: log records go to stderr (a CLI command whose stdout is its result). */
export function createLogger(options: { level?: string; name?: string; stderr?: boolean } = {}): Logger {
  const settings = {
    name: options.name ?? 'revoker',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return options.stderr ? pino(settings, pino.destination(2)) : pino(settings);
}

/** For tests and libraries that want no output. */
export const silentLogger: Logger = pino({ level: 'silent' });
