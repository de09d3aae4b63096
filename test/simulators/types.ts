import type { HttpHandler } from 'msw';
import type { Target } from '../../src/domain/target.ts';

/**
 * A stateful simulator of one identity vendor: the test oracle for "what still works". It keeps the
 * vendor's state (users with status and type, refresh and access tokens, sessions, grants, app passwords,
 * offline sessions, not-before on the *server's* clock…) and changes it exactly as the vendor's reference
 * says each call does, answering with the documented status codes, bodies, headers and limits. Every rule
 * carries its source (the vendor page) in a comment beside it. Adapters reach it through msw handlers at
 * `baseUrl` (in-process: the pipeline's workers run in the test's process).
 *
 * Tests never ask the adapter's own `verify` whether a revocation worked: they ask `stillWorks`.
 */
export interface VendorSimulator {
  readonly vendor: 'okta' | 'auth0' | 'entra' | 'google' | 'keycloak';
  /** msw handlers that serve the vendor's API (and its token endpoint, where the adapter fetches one). */
  readonly handlers: HttpHandler[];
  /** Variables for `loadConfig`/the adapter factory that point the adapter at this simulator. */
  env(): Record<string, string>;
  /** Seeds the standard scenario and names one target per scope the vendor supports. */
  seedScenario(): ScenarioTargets;
  /**
   * The oracle: every credential in the target's scope that would still work at the vendor now (a refresh
   * token that still refreshes, an access token still accepted, a session still signed in, an app
   * password still usable…), as readable descriptions such as `refresh_token rt_1 (user u1, client c1)`.
   * Empty when nothing in scope works. Only credentials that existed before `before` count, when given
   * (tokens issued after the revocation started are out of its scope).
   */
  stillWorks(target: Target, options?: { before?: Date }): string[];
  /** Every call the adapter made, in order (method, path with query, status answered). */
  readonly calls: SimCall[];
  /**
   * Fails the next call matching `match` once with `fault`, then serves normally. `timeout-after-commit`
   * applies the call's effect to the state and then never answers (the client's timeout fires): the call
   * reached the vendor.
   */
  failOnce(match: CallMatch, fault: SimFault): void;
  /** The state with timestamps and generated ids normalised away, for "same as the no-fault run". */
  snapshot(): unknown;
  /** Forgets state, calls and pending faults. */
  reset(): void;
}

export interface ScenarioTargets {
  token?: Extract<Target, { kind: 'token' }>;
  user?: Extract<Target, { kind: 'user' }>;
  application?: Extract<Target, { kind: 'application' }>;
  resourceServer?: Extract<Target, { kind: 'resourceServer' }>;
}

export interface SimCall {
  method: string;
  /** Path and query as sent, e.g. `/api/v1/users/u1/sessions?oauthTokens=true`. */
  url: string;
  status: number;
}

export interface CallMatch {
  method: string;
  /** Matched against the path and query as sent. */
  url: RegExp;
}

/** The vendor's documented failure answers: `503`, `429` with the vendor's reset header, or a timeout after the effect. */
export type SimFault = '503' | '429' | 'timeout-after-commit';
