import type { Redis } from 'ioredis';

/** What a source's worker-side look-up may use besides its configuration. */
export interface LookupContext {
  /** For credentials a vendor rotates (Gusto's OAuth pair), kept encrypted. */
  redis: Redis;
  /** Key prefix (REVOKER_PREFIX). */
  prefix: string;
  clock: () => Date;
}
