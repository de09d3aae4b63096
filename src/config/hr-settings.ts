import { z } from 'zod';
import { ConfigError } from '../domain/errors.ts';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const url = (fallback?: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim().replace(/\/+$/, '')))
    .pipe(fallback === undefined ? z.url().optional() : z.url());

/**
 * Vendor API access for HR sources that deliver only ids (the worker fetches email and dates).
 * Webhook secrets are not here: they are `HR_<SOURCE>_SECRET`, parsed by src/config.ts into `hrSecrets`.
 */
export const HrEnvSchema = z.object({
  /** `https://api.bamboohr.com/api/gateway.php/{companyDomain}` (no default: it names the company). */
  BAMBOOHR_API_URL: url(),
  /** API key; sent as HTTP Basic `key:x`, as BambooHR documents. */
  BAMBOOHR_API_KEY: optional,
  /** Default `https://api.hibob.com`. */
  HIBOB_API_URL: url('https://api.hibob.com'),
  /** Service-user id and token (HTTP Basic `id:token`). */
  HIBOB_API_USER: optional,
  HIBOB_API_TOKEN: optional,
  /** Default `https://api.gusto.com`. */
  GUSTO_API_URL: url('https://api.gusto.com'),
  /**
   * Company access token (Bearer). Gusto's expire 2 hours after issue ("Company access tokens"): with
   * GUSTO_CLIENT_ID, GUSTO_CLIENT_SECRET and GUSTO_REFRESH_TOKEN Revoker refreshes it itself.
   */
  GUSTO_API_TOKEN: optional,
  /** The Gusto application's OAuth client id and secret (developer portal): needed to refresh. */
  GUSTO_CLIENT_ID: optional,
  GUSTO_CLIENT_SECRET: optional,
  /**
   * The company's refresh token, used once: Gusto rotates it on every refresh and Revoker keeps the
   * current pair in Redis, encrypted with HR_CREDENTIALS_KEY (this variable only seeds it).
   */
  GUSTO_REFRESH_TOKEN: optional,
  /** Sent with refreshes when set (older Gusto API versions ask for the app's redirect URI). */
  GUSTO_REDIRECT_URI: optional,
  /**
   * 32 bytes, base64: encrypts vendor credentials Revoker stores in Redis (Gusto's rotating tokens, a
   * received Gusto verification token). Generate with `openssl rand -base64 32`. No default.
   */
  HR_CREDENTIALS_KEY: optional.pipe(
    z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64')
      .optional(),
  ),
  /**
   * HiBob's `employee.inactivated` means "on leave or terminated" (HiBob, Webhook events v2): a leave
   * revokes only when this is `true`. Default false: people on parental leave keep their access.
   */
  HR_HIBOB_LEAVE_REVOKES: z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase() === 'true'),
  /** Default `https://api.letsdeel.com/rest/v2`. */
  DEEL_API_URL: url('https://api.letsdeel.com/rest/v2'),
  /** Organisation token (Bearer). */
  DEEL_API_TOKEN: optional,
  /** Milliseconds a vendor API call may take (default 10000). */
  HR_API_TIMEOUT_MS: z.coerce.number().int().positive().max(120_000).default(10_000),
});
export type HrConfig = z.infer<typeof HrEnvSchema>;

export function loadHrConfig(env: NodeJS.ProcessEnv = process.env): HrConfig {
  const parsed = HrEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  return parsed.data;
}
