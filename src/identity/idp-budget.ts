import type { Redis } from 'ioredis';

/**
 * Who is waiting for a call: a person in a Slack dialog, a batch (revocations), or a health probe
 * (`/readyz`'s background refresh), which has a small share of its own and never jumps the queue.
 */
export type IdpLane = 'interactive' | 'batch' | 'probe';

export interface IdpBudgetOptions {
  /** Shared by every process on this Redis: the web role and all workers draw from one budget. */
  redis: Redis;
  /** REVOKER_PREFIX; the budget lives at `{prefix}:idp:budget`. */
  prefix: string;
  /**
   * Appended to the key, one budget per connection (`.okta-eu` → `{prefix}:idp:budget.okta-eu`). Default
   * '': the key of a single-IdP deployment.
   */
  keySuffix?: string;
  /** IdP calls per second across every process (IDP_RATE_LIMIT, else the adapter's documented default). */
  ratePerSecond: number;
  /**
   * Share of the rate kept for interactive calls while someone is waiting (0–0.9). A batch runs at
   * `(1 - share) × rate` only while an interactive call was seen in the last `interactiveHoldMs`, and at
   * the whole rate otherwise. Default 0.2.
   */
  interactiveShare?: number;
  /** How long an interactive call keeps the share reserved after it asked. Default 5,000 ms. */
  interactiveHoldMs?: number;
  /**
   * Most of the rate health probes may ever use (0–0.5): probe calls are paced at `probeShare × rate`
   * on a schedule of their own (and count against the whole rate too), so no number of `/readyz`
   * callers can take more than this from revocations. Default 0.05.
   */
  probeShare?: number;
}

/**
 * One generic-cell-rate (GCRA) schedule for every process, in one Lua script on Redis's own clock (so
 * processes on different hosts agree). Fields of the hash:
 *   tat    theoretical arrival time of the next call (ms), all lanes
 *   tatb   the same for batch calls, paced at (1 - share) × rate while an interactive call is recent
 *   pause  no call before this (a 429 / 503 named the time)
 *   seen   an interactive call asked until this time (+ hold)
 *   tatp   the same for probe calls, paced at probeShare × rate always
 *   slowu / slowi  until `slowu`, space calls at least `slowi` ms apart (the IdP reported little quota left)
 * ARGV[6] permits are asked for at once (the waiters of one lane in this process): returns how many
 * were granted now, and how many ms to wait before asking for the rest.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'tat', 'tatb', 'pause', 'seen', 'slowu', 'slowi', 'tatp')
local tat = tonumber(h[1]) or 0
local tatb = tonumber(h[2]) or 0
local pause = tonumber(h[3]) or 0
local seen = tonumber(h[4]) or 0
local slowu = tonumber(h[5]) or 0
local slowi = tonumber(h[6]) or 0
local tatp = tonumber(h[7]) or 0
local pshare = tonumber(ARGV[7])
local probe = ARGV[1] == 'p'
local interval = tonumber(ARGV[2])
local tol = tonumber(ARGV[3])
local share = tonumber(ARGV[4])
local want = tonumber(ARGV[6])
if ARGV[1] == 'i' then
  seen = now + tonumber(ARGV[5])
  redis.call('HSET', KEYS[1], 'seen', seen)
end
if pause > now then return {0, math.ceil(pause - now)} end
if slowu > now and slowi > interval then interval = slowi end
local limited = ARGV[1] == 'b' and seen > now and share > 0
local got = 0
local wait = 0
while got < want do
  local a = math.max(tat, now)
  if a - now > tol then wait = math.max(1, math.ceil(a - now - tol)); break end
  if limited then
    local b = math.max(tatb, now)
    if b - now > tol then wait = math.max(1, math.ceil(b - now - tol)); break end
    tatb = b + interval / (1 - share)
  end
  if probe then
    local p = math.max(tatp, now)
    local ptol = tonumber(ARGV[8])
    if p - now > ptol then wait = math.max(1, math.ceil(p - now - ptol)); break end
    tatp = p + interval / pshare
  end
  tat = a + interval
  got = got + 1
end
if got > 0 then
  redis.call('HSET', KEYS[1], 'tat', tat)
  if limited then redis.call('HSET', KEYS[1], 'tatb', tatb) end
  if probe then redis.call('HSET', KEYS[1], 'tatp', tatp) end
  redis.call('PEXPIRE', KEYS[1], 3600000)
end
return {got, wait}
`;

/** Extends the pause to now + ARGV[1] ms (never shortens it); returns the pause's end, in ms. */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('HGET', KEYS[1], 'pause')) or 0
local untilMs = now + tonumber(ARGV[1])
if untilMs > pause then redis.call('HSET', KEYS[1], 'pause', untilMs) else untilMs = pause end
redis.call('PEXPIRE', KEYS[1], 3600000)
return untilMs
`;

/** Spaces calls at least ARGV[2] ms apart for the next ARGV[1] ms. */
const SLOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'slowu', now + tonumber(ARGV[1]), 'slowi', tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], 3600000)
return 1
`;

/** Calls one readiness refresh may make at once (the IdP's ping plus one per OAuth client). */
const PROBE_BURST = 8;

/** Waits between polls are capped so a waiter notices a lifted or shortened wait soon enough. */
const MAX_POLL_MS = 1000;

interface Waiter {
  lane: IdpLane;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The one budget of IdP calls shared by every Revoker process on a Redis: a GCRA rate limit, a pause
 * that a 429 (or a 503 with Retry-After) sets for exactly the time the IdP named, and a slow-down when
 * the IdP says little quota is left. In each process only the first waiter asks Redis (interactive ones
 * first), so waiting costs Redis one call per admitted IdP call, not one per waiter.
 */
export class IdpBudget {
  readonly ratePerSecond: number;
  readonly intervalMs: number;
  private readonly key: string;
  private readonly share: number;
  private readonly holdMs: number;
  private readonly probeShare: number;
  /** A probe may burst this many calls (one readiness refresh), then its share refills them. */
  private readonly probeToleranceMs: number;
  /** A probe waiter was refused until then: the pump serves the other lanes meanwhile. */
  private probeBlockedUntil = 0;
  /** Burst tolerated so a waiter woken a few ms late does not lose its slot: 1/10 s of calls, at least one. */
  private readonly toleranceMs: number;
  private readonly waiting: Waiter[] = [];
  private pumping = false;

  constructor(private readonly o: IdpBudgetOptions) {
    if (!(o.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    this.ratePerSecond = o.ratePerSecond;
    this.intervalMs = 1000 / o.ratePerSecond;
    this.key = `${o.prefix}:idp:budget${o.keySuffix ?? ''}`;
    this.share = Math.min(0.9, Math.max(0, o.interactiveShare ?? 0.2));
    this.holdMs = o.interactiveHoldMs ?? 5000;
    this.probeShare = Math.min(0.5, Math.max(0.01, o.probeShare ?? 0.05));
    this.toleranceMs = Math.max(this.intervalMs, 100);
    this.probeToleranceMs = this.toleranceMs + (PROBE_BURST - 1) * (this.intervalMs / this.probeShare);
  }

  /**
   * Resolves when this process may make one IdP call. Interactive callers are served first, then probes
   * (paced by their own small share, so going ahead costs batches at most that share), then batches.
   */
  acquire(lane: IdpLane = 'batch'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = { lane, resolve, reject };
      if (lane !== 'batch') {
        const rank = (l: IdpLane) => (l === 'interactive' ? 0 : l === 'probe' ? 1 : 2);
        const after = this.waiting.findIndex((w) => rank(w.lane) > rank(lane));
        this.waiting.splice(after === -1 ? this.waiting.length : after, 0, waiter);
      } else {
        this.waiting.push(waiter);
      }
      if (!this.pumping) void this.pump();
    });
  }

  /** No call from any process before `ms` from now (Redis's clock). Returns when the pause ends (epoch ms). */
  async pause(ms: number): Promise<number> {
    return Number(await this.o.redis.eval(PAUSE, 1, this.key, String(Math.max(0, Math.ceil(ms)))));
  }

  /**
   * The IdP reported `remaining` calls until `resetInMs` from now. Nothing left ⇒ pause until the reset.
   * Few left (under a tenth of `limit`, and fewer than this budget would spend before the reset) ⇒ spread
   * them evenly until the reset instead of running into a 429.
   */
  async observe(remaining: number, resetInMs: number, limit?: number): Promise<void> {
    if (!(resetInMs > 0)) return;
    if (remaining <= 0) {
      await this.pause(resetInMs);
      return;
    }
    if (!this.shouldSlow(remaining, resetInMs, limit)) return;
    await this.o.redis.eval(SLOW, 1, this.key, String(Math.ceil(resetInMs)), String(resetInMs / remaining));
  }

  /** Whether a reported quota calls for slowing down (cheap: checked on every response without Redis). */
  shouldSlow(remaining: number, resetInMs: number, limit?: number): boolean {
    const low =
      limit !== undefined && limit > 0 ? remaining < limit / 10 : remaining < this.ratePerSecond / 10;
    return low && resetInMs / remaining > this.intervalMs;
  }

  /** Forgets the schedule and any pause (tests, and `revoker` after an IdP change). */
  async reset(): Promise<void> {
    await this.o.redis.del(this.key);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiting.length > 0) {
        // Probes refused by their own share step aside: the lanes behind them are served meanwhile.
        let start = 0;
        if (this.waiting[0]!.lane === 'probe' && Date.now() < this.probeBlockedUntil) {
          start = this.waiting.findIndex((w) => w.lane !== 'probe');
          if (start === -1) {
            await new Promise((r) =>
              setTimeout(r, Math.min(this.probeBlockedUntil - Date.now(), MAX_POLL_MS)),
            );
            continue;
          }
        }
        const lane = this.waiting[start]!.lane;
        // One Redis call for every waiter of the head's lane: a loaded machine's round trips do not cap
        // the rate at one call per round trip.
        let want = 0;
        while (start + want < this.waiting.length && this.waiting[start + want]!.lane === lane) want++;
        let granted: number;
        let wait: number;
        try {
          const out = (await this.o.redis.eval(
            ACQUIRE,
            1,
            this.key,
            lane === 'interactive' ? 'i' : lane === 'probe' ? 'p' : 'b',
            String(this.intervalMs),
            String(this.toleranceMs),
            String(this.share),
            String(this.holdMs),
            String(want),
            String(this.probeShare),
            String(this.probeToleranceMs),
          )) as [number, number];
          [granted, wait] = [Number(out[0]), Number(out[1])];
        } catch (err) {
          // Redis unreachable: every waiter learns it (their jobs retry), none waits forever.
          for (const w of this.waiting.splice(0)) w.reject(err);
          return;
        }
        for (const w of this.waiting.splice(start, granted)) w.resolve();
        if (granted < want) {
          if (lane === 'probe') {
            this.probeBlockedUntil = Date.now() + Math.max(1, wait);
            continue;
          }
          await new Promise((r) => setTimeout(r, Math.min(Math.max(1, wait), MAX_POLL_MS)));
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
