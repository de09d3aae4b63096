import type { Redis } from 'ioredis';
import { RedisAuditLog, type RedisAuditLogOptions } from '../../src/audit/redis-audit-log.ts';
import type { AuditEntry } from '../../src/audit/types.ts';
import type { ConnectionRegistry } from '../../src/connections/connection-registry.ts';
import { BudgetedIdentityProvider } from '../../src/identity/budgeted-identity-provider.ts';
import { IdpBudget } from '../../src/identity/idp-budget.ts';
import type { IdentityProvider } from '../../src/identity/port.ts';
import type { Notifier, PipelineEvent } from '../../src/intake/notifier.ts';
import { RedisRequestStore } from '../../src/intake/request-store.ts';
import { RevocationService, type RevocationServiceOptions } from '../../src/intake/revocation-service.ts';
import type { RequestRecord, SubmitInput } from '../../src/intake/types.ts';
import { silentLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { PipelineWorkers, type PipelineWorkersOptions } from '../../src/queue/pipeline-workers.ts';
import { RevocationQueues } from '../../src/queue/revocation-queues.ts';
import type { WorkflowEngine } from '../../src/workflows/types.ts';
import { connectRedis, deleteKeys, randomPrefix } from './redis.ts';
import { approvalsPerScope } from './test-workflows.ts';

export class RecordingNotifier implements Notifier {
  readonly events: PipelineEvent[] = [];
  constructor(private readonly next?: Notifier) {}
  async notify(event: PipelineEvent): Promise<void> {
    this.events.push(event);
    await this.next?.notify(event);
  }
}

export interface Pipeline {
  prefix: string;
  redis: Redis;
  store: RedisRequestStore;
  queues: RevocationQueues;
  audit: RedisAuditLog;
  intake: RevocationService;
  notifier: RecordingNotifier;
  /** The IdP the intake and the workers call: budgeted when `rateLimitPerSecond` was given. */
  idp: IdentityProvider;
  startWorkers(overrides?: Partial<PipelineWorkersOptions>): Promise<PipelineWorkers>;
  auditEntries(): Promise<AuditEntry[]>;
  /** Submits through the real intake and waits (20 s by default) for the request's final state. */
  submitAndWait(input: SubmitInput, timeoutMs?: number): Promise<RequestRecord>;
  /** The token ids the audit records as revoked for `requestId` (`token.revoked`), sorted. */
  revokedTokenIds(requestId: string): Promise<string[]>;
  close(): Promise<void>;
}

/** The real intake, store, queues, audit log and workers on the real Redis, under a random prefix. */
export async function createPipeline(options: {
  idp: IdentityProvider;
  workflows?: WorkflowEngine;
  redisUrl?: string;
  /** The intake's clock (approval expiry); default real time. */
  clock?: () => Date;
  /** Put every IdP call of the intake and the workers under one shared budget of this many calls/s. */
  rateLimitPerSecond?: number;
  /** Where pipeline events go besides `notifier` (e.g. the Slack notifier under test). */
  alsoNotify?: Notifier;
  /** More options of the audit log (dedupe TTL, keys). */
  auditOptions?: Partial<RedisAuditLogOptions>;
  /** More options of the intake (protected users, a refusal log, …). */
  intakeOptions?: Partial<RevocationServiceOptions>;
  /** Several connections (src/connections/): queues per connection; the intake and workers use them. */
  connections?: ConnectionRegistry;
}): Promise<Pipeline> {
  const prefix = randomPrefix('pipe');
  const redis = connectRedis(options.redisUrl);
  const idp =
    options.rateLimitPerSecond === undefined
      ? options.idp
      : new BudgetedIdentityProvider(
          options.idp,
          new IdpBudget({ redis, prefix, ratePerSecond: options.rateLimitPerSecond }),
        );
  const metrics = createMetrics();
  const store = new RedisRequestStore({ redis, prefix });
  const queues = new RevocationQueues({
    connection: redis,
    prefix,
    ...(options.connections ? { connections: options.connections.all } : {}),
  });
  const audit = new RedisAuditLog({ redis, prefix, ...options.auditOptions });
  const notifier = new RecordingNotifier(options.alsoNotify);
  const workers: PipelineWorkers[] = [];
  const intake = new RevocationService({
    store,
    queues,
    workflows: options.workflows ?? (await approvalsPerScope()),
    idp,
    audit,
    notifier,
    metrics,
    logger: silentLogger,
    redis,
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.intakeOptions,
    ...(options.connections ? { connections: options.connections } : {}),
  });
  return {
    prefix,
    redis,
    store,
    queues,
    audit,
    intake,
    notifier,
    idp,
    async startWorkers(overrides = {}) {
      const w = new PipelineWorkers({
        connection: redis,
        prefix,
        store,
        queues,
        idp,
        audit,
        notifier,
        metrics,
        logger: silentLogger,
        reconcileIntervalMs: 0,
        ...(options.connections ? { connections: options.connections } : {}),
        ...overrides,
      });
      await w.start();
      workers.push(w);
      return w;
    },
    async auditEntries() {
      const out: AuditEntry[] = [];
      for await (const e of audit.entries()) out.push(e);
      return out;
    },
    async submitAndWait(input, timeoutMs = 20_000) {
      const { request } = await intake.submit(input);
      return intake.waitForOutcome(request.id, timeoutMs);
    },
    async revokedTokenIds(requestId) {
      const ids: string[] = [];
      for await (const e of audit.entries({ requestId })) {
        if (e.action === 'token.revoked') ids.push(String(e.detail?.tokenId));
      }
      return ids.sort();
    },
    async close() {
      await Promise.all(workers.map((w) => w.close(1000)));
      await queues.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}
