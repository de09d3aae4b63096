import type { Redis } from 'ioredis';
import type { RefusalRecorder } from '../audit/refusal-log.ts';
import type { AuditLog } from '../audit/types.ts';
import type { Config } from '../config.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { LeakedTokenService } from '../intake/leaked-token-service.ts';
import type { Intake } from '../intake/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { OffboardingSummarySource } from '../report/report-summary-source.ts';
import type { SlackAccess } from './access.ts';
import type { LeakedTokenHold } from './leaked-token-hold.ts';
import type { SlackConnection } from './slack-connections.ts';

/**
 * What the Slack part needs from the rest of Revoker. Listeners receive it explicitly (never the `App`),
 * so each one can be unit-tested with fakes.
 */
export interface SlackDeps {
  /** SLACK_* variables: signing secret, tokens, API URL, approvals and notify channels. */
  config: Pick<
    Config,
    | 'SLACK_SIGNING_SECRET'
    | 'SLACK_BOT_TOKEN'
    | 'SLACK_APP_TOKEN'
    | 'SLACK_API_URL'
    | 'SLACK_APPROVALS_CHANNEL'
    | 'SLACK_NOTIFY_CHANNEL'
  >;
  intake: Intake;
  /** The primary connection's adapter (the interactive lane in `serve`). */
  idp: IdentityProvider;
  /**
   * Every connection, in the configured order (the first is `idp`'s), each in the interactive lane. With
   * more than one, the dialog asks which connection an application, API or single token belongs to.
   * Default: `idp` alone.
   */
  connections?: readonly SlackConnection[];
  /** Shared connection (`maxRetriesPerRequest: null`, as BullMQ requires). */
  redis: Redis;
  /** Key prefix (REVOKER_PREFIX): BullMQ queues and `{prefix}:slack:*` keys live under it. */
  prefix: string;
  logger: Logger;
  metrics?: Metrics;
  /** Refused Slack requests (forged, stale, malformed) are audited here. Default: not audited. */
  audit?: AuditLog;
  /**
   * Who may see and do what, asked before any look-up (deny by default): requesters per workflow,
   * admins and approvers (App Home's HR/SCIM section, Cancel on a scheduled offboarding).
   */
  access: SlackAccess;
  /** Refusals of outsiders, counted per minute into the audit log. Default: logged only. */
  refusals?: RefusalRecorder;
  /** Revocation of a pasted token by its value; offered in the dialog when available. Default: not offered. */
  leaked?: LeakedTokenService;
  /** The last 30 days' offboarding summary, shown on App Home to admins and approvers only. Default: none. */
  reportSummary?: OffboardingSummarySource;
}

/** The listeners' subset: no Redis, no queue. */
export type ListenerDeps = Pick<
  SlackDeps,
  'intake' | 'idp' | 'connections' | 'logger' | 'access' | 'refusals' | 'reportSummary'
> & {
  /** The leaked-token choice: the service, and this process's memory for values between the two steps. */
  leaked?: { service: LeakedTokenService; hold: LeakedTokenHold };
};
