import type { Redis } from 'ioredis';
import type { HrClock } from '../domain/dates.ts';

/** What a source's worker-side look-up may use besides its configuration. */
export interface LookupContext {
  /** For credentials a vendor rotates (Gusto's OAuth pair), kept encrypted. */
  redis: Redis;
  /** Key prefix (REVOKER_PREFIX). */
  prefix: string;
  clock: () => Date;
  /** The source's time zone and OFFBOARDING_AT, for dates the vendor's API gives (default UTC, end of day). */
  hrClock?: HrClock;
}
