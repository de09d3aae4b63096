import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { HrConfig } from '../config/hr-settings.ts';
import { CredentialBox } from './credential-box.ts';
import { VendorLookupError } from './errors.ts';
import type { LookupContext } from './lookup-context.ts';
import { vendorRequest } from './vendor-http.ts';

/** Refresh this long before Gusto's stated expiry, so a call never starts with a token about to die. */
const EARLY_MS = 60_000;

const Stored = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  /** ms since epoch; absent for the seed from the environment (expiry unknown: used until a 401). */
  expiresAt: z.number().optional(),
});
type Stored = z.infer<typeof Stored>;

/** POST /oauth/token answer (docs.gusto.com/embedded-payroll/docs/company-access-tokens). */
const TokenAnswer = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().int().positive(),
});

/**
 * Gusto company access tokens "expire 2 hours after they are issued" and a refresh token "can be
 * exchanged to get a new access_token and refresh_token"; the previous refresh token is revoked on first
 * use of the new pair (docs.gusto.com/embedded-payroll/docs/company-access-tokens, reference
 * refresh-access-token). So the current pair lives in Redis, sealed with HR_CREDENTIALS_KEY, and is
 * replaced on every refresh; one worker refreshes at a time (Redis lock), the others wait and read its pair.
 */
export class GustoTokens {
  private readonly key: string;

  constructor(
    private readonly config: HrConfig,
    private readonly ctx: LookupContext,
  ) {
    this.key = `${ctx.prefix}:hr:gusto:oauth`;
  }

  /** Whether Revoker can refresh (client id, secret and a refresh token to start from). */
  get refreshable(): boolean {
    return !!(
      this.config.GUSTO_CLIENT_ID &&
      this.config.GUSTO_CLIENT_SECRET &&
      this.config.GUSTO_REFRESH_TOKEN
    );
  }

  private box(): CredentialBox {
    try {
      return new CredentialBox(this.config.HR_CREDENTIALS_KEY);
    } catch {
      // Audited and announced like a refused credential: the operator must set the key.
      throw new VendorLookupError('HR_CREDENTIALS_KEY is needed to keep Gusto’s rotating tokens', true, 401);
    }
  }

  private async load(): Promise<Stored | undefined> {
    const sealed = await this.ctx.redis.get(this.key);
    if (sealed) {
      const plain = this.box().open(sealed);
      const parsed = plain ? Stored.safeParse(JSON.parse(plain)) : undefined;
      if (parsed?.success) return parsed.data;
    }
    if (!this.config.GUSTO_API_TOKEN && !this.config.GUSTO_REFRESH_TOKEN) return undefined;
    return {
      accessToken: this.config.GUSTO_API_TOKEN ?? 'none',
      ...(this.config.GUSTO_REFRESH_TOKEN ? { refreshToken: this.config.GUSTO_REFRESH_TOKEN } : {}),
      ...(this.config.GUSTO_API_TOKEN ? {} : { expiresAt: 0 }),
    };
  }

  /** The access token to use now, refreshed first when it has (nearly) expired. */
  async current(): Promise<string> {
    const stored = await this.load();
    if (!stored)
      throw new VendorLookupError(
        'GUSTO_API_TOKEN or GUSTO_REFRESH_TOKEN is needed to read Gusto',
        true,
        401,
      );
    const expired =
      stored.expiresAt !== undefined && stored.expiresAt - EARLY_MS <= this.ctx.clock().getTime();
    return expired && this.refreshable ? this.refresh(stored.accessToken) : stored.accessToken;
  }

  /**
   * Exchanges the refresh token for a new pair, unless another worker already replaced `stale`.
   * A refused refresh (revoked or already-used refresh token, wrong client) is a 401 VendorLookupError.
   */
  async refresh(stale: string): Promise<string> {
    if (!this.refreshable)
      throw new VendorLookupError('Gusto access token refused and no refresh configured', true, 401);
    const lock = `${this.key}:lock`;
    const token = randomUUID();
    for (let i = 0; i < 100; i++) {
      if ((await this.ctx.redis.set(lock, token, 'PX', 30_000, 'NX')) === 'OK') break;
      await new Promise((r) => setTimeout(r, 100));
      const now = await this.load();
      if (now && now.accessToken !== stale) return now.accessToken;
    }
    try {
      const stored = await this.load();
      if (stored && stored.accessToken !== stale) return stored.accessToken;
      const answer = await vendorRequest(
        'Gusto',
        {
          method: 'POST',
          url: `${this.config.GUSTO_API_URL}/oauth/token`,
          headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
          // "The client_secret cannot be passed via API request URLs": it goes in the body.
          data: {
            client_id: this.config.GUSTO_CLIENT_ID,
            client_secret: this.config.GUSTO_CLIENT_SECRET,
            refresh_token: stored?.refreshToken ?? this.config.GUSTO_REFRESH_TOKEN,
            grant_type: 'refresh_token',
            ...(this.config.GUSTO_REDIRECT_URI ? { redirect_uri: this.config.GUSTO_REDIRECT_URI } : {}),
          },
          timeout: this.config.HR_API_TIMEOUT_MS,
        },
        TokenAnswer,
      ).catch((err: unknown) => {
        // 400 invalid_grant: the refresh token was revoked or used; the operator must reconnect.
        if (err instanceof VendorLookupError && err.status === 400)
          throw new VendorLookupError('Gusto refused the refresh token (400)', true, 401);
        throw err;
      });
      const next: Stored = {
        accessToken: answer.access_token,
        refreshToken: answer.refresh_token,
        expiresAt: this.ctx.clock().getTime() + answer.expires_in * 1000,
      };
      await this.ctx.redis.set(this.key, this.box().seal(JSON.stringify(next)));
      return next.accessToken;
    } finally {
      await this.ctx.redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
        1,
        lock,
        token,
      );
    }
  }

  /** Runs `call` with the current token; on a 401 refreshes once and runs it again. */
  async withToken<T>(call: (accessToken: string) => Promise<T>): Promise<T> {
    const token = await this.current();
    try {
      return await call(token);
    } catch (err) {
      if (err instanceof VendorLookupError && err.status === 401 && this.refreshable) {
        return call(await this.refresh(token));
      }
      throw err;
    }
  }
}
