import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../../src/domain/errors.ts';
import { type Actor, TERMINAL_STATES } from '../../src/domain/request.ts';
import type { Target } from '../../src/domain/target.ts';
import type { RevocationPlan } from '../../src/identity/port.ts';
import type {
  CancelVoteResult,
  Intake,
  ListFilter,
  RequestRecord,
  SubmitInput,
  SubmitResult,
} from '../../src/intake/types.ts';

/**
 * In-memory Intake for tests: records every call, honours idempotency keys, and moves requests
 * through scheduled / queued / cancelled like the real one would (no workflow, no approvals).
 */
export class FakeIntake implements Intake {
  readonly records = new Map<string, RequestRecord>();
  readonly submissions: SubmitInput[] = [];
  readonly cancellations: { requestId: string; actor: Actor; reason: string }[] = [];
  readonly reschedules: { requestId: string; effectiveAt: string; actor: Actor }[] = [];
  private readonly byKey = new Map<string, string>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async submit(input: SubmitInput): Promise<SubmitResult> {
    this.submissions.push(input);
    const existing = input.idempotencyKey ? this.byKey.get(input.idempotencyKey) : undefined;
    if (existing) return { request: this.records.get(existing)!, duplicate: true };
    const now = this.clock().toISOString();
    const future = input.effectiveAt !== undefined && Date.parse(input.effectiveAt) > this.clock().getTime();
    const record: RequestRecord = {
      id: `req_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
      target: input.target,
      reason: input.reason,
      requestedBy: input.requestedBy,
      source: input.source,
      effectiveAt: input.effectiveAt,
      createdAt: now,
      updatedAt: now,
      state: future ? 'scheduled' : 'queued',
      workflow: 'fake',
      requiredApprovals: 0,
      approvals: [],
      approvers: [],
      allowSelfApproval: false,
      progress: { done: 0, total: 0 },
      context: input.context,
    };
    this.records.set(record.id, record);
    if (input.idempotencyKey) this.byKey.set(input.idempotencyKey, record.id);
    return { request: record, duplicate: false };
  }

  async approve(): Promise<RequestRecord> {
    throw new Error('not used by these tests');
  }

  async deny(): Promise<RequestRecord> {
    throw new Error('not used by these tests');
  }

  async cancel(requestId: string, actor: Actor, reason: string): Promise<RequestRecord> {
    const r = this.mustGet(requestId);
    if (TERMINAL_STATES.includes(r.state) || r.state === 'running' || r.state === 'queued') {
      throw new ConflictError(`request ${requestId} is ${r.state}`);
    }
    this.cancellations.push({ requestId, actor, reason });
    return this.update(requestId, { state: 'cancelled' });
  }

  async requestCancel(): Promise<CancelVoteResult> {
    throw new Error('not used by these tests');
  }

  async reschedule(requestId: string, effectiveAt: string, actor: Actor): Promise<RequestRecord> {
    const r = this.mustGet(requestId);
    if (r.state !== 'scheduled') throw new ConflictError(`request ${requestId} is ${r.state}`);
    this.reschedules.push({ requestId, effectiveAt, actor });
    return this.update(requestId, { effectiveAt });
  }

  async get(requestId: string): Promise<RequestRecord | undefined> {
    return this.records.get(requestId);
  }

  async list(filter: ListFilter): Promise<RequestRecord[]> {
    return [...this.records.values()]
      .filter((r) => !filter.source || r.source === filter.source)
      .filter((r) => !filter.states || filter.states.includes(r.state))
      .slice(0, filter.limit ?? 100);
  }

  async preview(target: Target): Promise<RevocationPlan> {
    return { target, steps: [target], tokens: [], userCount: 1, tokenCount: undefined };
  }

  async waitForOutcome(requestId: string): Promise<RequestRecord> {
    return this.mustGet(requestId);
  }

  /** Test hook: force a state (e.g. the worker started the revocation). */
  setState(requestId: string, state: RequestRecord['state']): void {
    this.update(requestId, { state });
  }

  private mustGet(id: string): RequestRecord {
    const r = this.records.get(id);
    if (!r) throw new NotFoundError(`no request ${id}`);
    return r;
  }

  private update(id: string, patch: Partial<RequestRecord>): RequestRecord {
    const next = { ...this.mustGet(id), ...patch, updatedAt: this.clock().toISOString() };
    this.records.set(id, next);
    return next;
  }
}
