import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError } from '../../src/domain/errors.ts';
import type { Actor, RequestState } from '../../src/domain/request.ts';
import { SCOPES, type Target } from '../../src/domain/target.ts';
import { IdpNotFoundError } from '../../src/identity/errors.ts';
import type {
  Capabilities,
  IdentityProvider,
  IdpApplication,
  IdpResourceServer,
  IdpUser,
  RevocationPlan,
  TokenInfo,
} from '../../src/identity/port.ts';
import type { Notifier, RequestEventType } from '../../src/intake/notifier.ts';
import type {
  CancelVoteResult,
  Intake,
  ListFilter,
  RequestRecord,
  SubmitInput,
  SubmitResult,
} from '../../src/intake/types.ts';
import { refusalText, type SlackAccess } from '../../src/slack/access.ts';

/**
 * In-memory Intake for Slack tests, with the approval rules the real workflow enforces (no self-approval,
 * approvers only, a second click changes nothing, expired requests refuse) as coded errors, and the
 * pipeline events a notifier would receive.
 */
export class FakeSlackIntake implements Intake {
  readonly records = new Map<string, RequestRecord>();
  readonly submissions: SubmitInput[] = [];
  readonly approvals: { requestId: string; approver: Actor }[] = [];
  readonly denials: { requestId: string; approver: Actor; reason: string }[] = [];
  /** Slack user ids refused at submit (ForbiddenError). */
  readonly forbiddenRequesters = new Set<string>();
  /** Slack user ids in no workflow: `access()` refuses them before any look-up. */
  readonly outsiders = new Set<string>();
  requiredApprovals = 1;
  approvers: string[] = ['U0APPROVER1', 'U0APPROVER2'];
  notifier: Notifier | undefined;
  /** Delays every submit (to exercise the 3-second budget). */
  submitDelayMs = 0;
  private readonly byKey = new Map<string, string>();

  constructor(private readonly idp?: IdentityProvider) {}

  private async emit(type: RequestEventType, r: RequestRecord): Promise<void> {
    await this.notifier?.notify({ type, request: structuredClone(r) });
  }

  private touch(r: RequestRecord, state?: RequestState): void {
    if (state) r.state = state;
    // Strictly increasing, so stores that keep "the newest" see every step even within one millisecond.
    const prev = Date.parse(r.updatedAt);
    r.updatedAt = new Date(Math.max(Date.now(), prev + 1)).toISOString();
  }

  async submit(input: SubmitInput): Promise<SubmitResult> {
    this.submissions.push(input);
    if (this.submitDelayMs) await new Promise((r) => setTimeout(r, this.submitDelayMs));
    if (this.forbiddenRequesters.has(input.requestedBy.id)) {
      throw new ForbiddenError('You may not request revocations under workflow "default".');
    }
    const existing = input.idempotencyKey ? this.byKey.get(input.idempotencyKey) : undefined;
    if (existing) return { request: this.records.get(existing)!, duplicate: true };
    const now = new Date().toISOString();
    const plan = this.idp ? await this.idp.plan(input.target) : undefined;
    const r: RequestRecord = {
      id: `req_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
      target: input.target,
      reason: input.reason,
      requestedBy: input.requestedBy,
      source: input.source,
      createdAt: now,
      updatedAt: now,
      state: this.requiredApprovals > 0 ? 'pending_approval' : 'queued',
      workflow: 'default',
      requiredApprovals: this.requiredApprovals,
      approvers: [...this.approvers],
      allowSelfApproval: false,
      approvals: [],
      approvalExpiresAt: new Date(Date.now() + 3600_000).toISOString(),
      impact: { tokenCount: plan?.tokenCount ?? 3, userCount: plan?.userCount ?? 1 },
      progress: { done: 0, total: 0 },
      ...(input.context ? { context: input.context } : {}),
    };
    this.records.set(r.id, r);
    if (input.idempotencyKey) this.byKey.set(input.idempotencyKey, r.id);
    await this.emit('request.created', r);
    return { request: structuredClone(r), duplicate: false };
  }

  private must(requestId: string): RequestRecord {
    const r = this.records.get(requestId);
    if (!r) throw new NotFoundError(`No request ${requestId}.`);
    return r;
  }

  private checkApprover(r: RequestRecord, approver: Actor): void {
    if (r.state === 'expired') throw new ConflictError(`Request ${r.id} expired before it was approved.`);
    if (r.state !== 'pending_approval') throw new ConflictError(`Request ${r.id} is already ${r.state}.`);
    if (approver.id === r.requestedBy.id) throw new ForbiddenError('You cannot approve your own request.');
    if (!this.approvers.includes(approver.id))
      throw new ForbiddenError('You are not an approver for this workflow.');
    if (r.approvals.some((a) => a.by === approver.id)) {
      throw new ConflictError('You have already approved this request.');
    }
  }

  async approve(requestId: string, approver: Actor): Promise<RequestRecord> {
    const r = this.must(requestId);
    this.checkApprover(r, approver);
    this.approvals.push({ requestId, approver });
    r.approvals.push({ by: approver.id, name: approver.name, at: new Date().toISOString() });
    this.touch(r);
    await this.emit('request.approval_recorded', r);
    if (r.approvals.length >= r.requiredApprovals) {
      this.touch(r, 'approved');
      await this.emit('request.approved', r);
      this.touch(r, 'queued');
      await this.emit('request.queued', r);
    }
    return structuredClone(r);
  }

  async deny(requestId: string, approver: Actor, reason: string): Promise<RequestRecord> {
    const r = this.must(requestId);
    this.checkApprover(r, approver);
    this.denials.push({ requestId, approver, reason });
    r.denial = { by: approver.id, name: approver.name, at: new Date().toISOString(), reason };
    this.touch(r, 'denied');
    await this.emit('request.denied', r);
    return structuredClone(r);
  }

  /** Test control: the approval window lapses. */
  async expire(requestId: string): Promise<void> {
    const r = this.must(requestId);
    this.touch(r, 'expired');
    await this.emit('request.expired', r);
  }

  /** Test control: a worker reports progress. */
  async progress(requestId: string, done: number, total: number): Promise<void> {
    const r = this.must(requestId);
    r.progress = { done, total };
    this.touch(r, 'running');
    await this.emit('request.progress', r);
  }

  /** Test control: the request ends. */
  async finish(requestId: string, ok: boolean): Promise<void> {
    const r = this.must(requestId);
    r.result = ok
      ? { ok, revoked: r.progress.total, remaining: 0 }
      : {
          ok,
          revoked: r.progress.done,
          remaining: r.progress.total - r.progress.done,
          error: 'idp_transient',
        };
    this.touch(r, ok ? 'verified' : 'failed');
    await this.emit(ok ? 'request.verified' : 'request.failed', r);
  }

  async cancel(requestId: string, _actor: Actor, _reason: string): Promise<RequestRecord> {
    const r = this.must(requestId);
    this.touch(r, 'cancelled');
    await this.emit('request.cancelled', r);
    return structuredClone(r);
  }

  /** One person is enough here; the two-person rule is the real intake's (tested end to end). */
  async requestCancel(requestId: string, actor: Actor): Promise<CancelVoteResult> {
    const request = await this.cancel(requestId, actor, 'cancelled from Slack');
    return { request, cancelled: true, votes: 1, required: 1 };
  }

  /** Slack access matching these rules: everyone but `outsiders` is a requester; approvers are staff. */
  access(): SlackAccess {
    return {
      refusal: refusalText(),
      requestableScopes: async (userId) => (this.outsiders.has(userId) ? [] : [...SCOPES]),
      maySee: async (userId, r) => r.requestedBy.id === userId || this.approvers.includes(userId),
      isStaff: async (userId) => this.approvers.includes(userId),
    };
  }

  async reschedule(requestId: string, effectiveAt: string): Promise<RequestRecord> {
    const r = this.must(requestId);
    r.effectiveAt = effectiveAt;
    this.touch(r, 'scheduled');
    return structuredClone(r);
  }

  async get(requestId: string): Promise<RequestRecord | undefined> {
    const r = this.records.get(requestId);
    return r ? structuredClone(r) : undefined;
  }

  async list(filter: ListFilter): Promise<RequestRecord[]> {
    return [...this.records.values()]
      .filter((r) => !filter.requestedBy || r.requestedBy.id === filter.requestedBy)
      .filter(
        (r) =>
          !filter.awaitingApprovalFrom ||
          (r.state === 'pending_approval' &&
            this.approvers.includes(filter.awaitingApprovalFrom) &&
            r.requestedBy.id !== filter.awaitingApprovalFrom),
      )
      .filter((r) => !filter.source || r.source === filter.source)
      .filter((r) => !filter.states || filter.states.includes(r.state))
      .slice(0, filter.limit ?? 50)
      .map((r) => structuredClone(r));
  }

  async preview(target: Target): Promise<RevocationPlan> {
    if (this.idp) return this.idp.plan(target);
    return { target, steps: [target], tokens: [], userCount: 1, tokenCount: 3 };
  }

  async waitForOutcome(requestId: string): Promise<RequestRecord> {
    return structuredClone(this.must(requestId));
  }
}

/** A small IdP for Slack tests: searchable users, apps and APIs, listable tokens, configurable capabilities. */
export class FakeSlackIdp implements IdentityProvider {
  readonly name = 'fake';
  capabilities: Capabilities = {
    scopes: { token: true, user: true, application: true, resourceServer: true },
    unsupportedReasons: {},
    listTokens: true,
    search: true,
  };
  users: IdpUser[] = [
    {
      id: 'usr_alice',
      userName: 'alice',
      email: 'alice@example.com',
      displayName: 'Alice Liddell',
      active: true,
    },
    {
      id: 'usr_alfred',
      userName: 'alfred',
      email: 'alfred@example.com',
      displayName: 'Alfred',
      active: true,
    },
    { id: 'usr_bob', userName: 'bob', email: 'bob@example.com', displayName: 'Bob <!channel>', active: true },
  ];
  apps: IdpApplication[] = [
    { id: 'app_crm', name: 'CRM' },
    { id: 'app_wiki', name: 'Wiki' },
  ];
  apis: IdpResourceServer[] = [
    { id: 'rs_billing', name: 'Billing API', audience: 'https://api.example.com/billing' },
  ];
  tokens: TokenInfo[] = [
    {
      id: 'tok_a1',
      userId: 'usr_alice',
      type: 'access_token',
      applicationId: 'app_crm',
      resourceServerId: 'rs_billing',
      scopes: ['openid', 'billing:read'],
      issuedAt: '2026-01-01T00:00:00Z',
      expiresAt: '2026-01-01T01:00:00Z',
    },
    {
      id: 'tok_a2',
      userId: 'usr_alice',
      type: 'refresh_token',
      applicationId: 'app_wiki',
      scopes: ['openid'],
    },
  ];
  /** Makes every look-up slower (to exercise the loading modal path). */
  delayMs = 0;

  private async wait(): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
  }
  async searchUsers(q: string): Promise<IdpUser[]> {
    await this.wait();
    const s = q.toLowerCase();
    return this.users.filter((u) =>
      [u.id, u.userName, u.email ?? '', u.displayName ?? ''].some((v) => v.toLowerCase().includes(s)),
    );
  }
  async getUser(id: string): Promise<IdpUser> {
    await this.wait();
    const u = this.users.find((x) => x.id === id);
    if (!u) throw new IdpNotFoundError(`no user ${id}`, { status: 404 });
    return u;
  }
  async findUserByEmail(email: string): Promise<IdpUser | undefined> {
    await this.wait();
    return this.users.find((u) => u.email === email);
  }
  async searchApplications(q: string): Promise<IdpApplication[]> {
    return this.apps.filter((a) => `${a.id} ${a.name}`.toLowerCase().includes(q.toLowerCase()));
  }
  async getApplication(id: string): Promise<IdpApplication> {
    const a = this.apps.find((x) => x.id === id);
    if (!a) throw new IdpNotFoundError(`no app ${id}`, { status: 404 });
    return a;
  }
  async searchResourceServers(q: string): Promise<IdpResourceServer[]> {
    return this.apis.filter((a) => `${a.id} ${a.name} ${a.audience}`.toLowerCase().includes(q.toLowerCase()));
  }
  async getResourceServer(id: string): Promise<IdpResourceServer> {
    const a = this.apis.find((x) => x.id === id);
    if (!a) throw new IdpNotFoundError(`no api ${id}`, { status: 404 });
    return a;
  }
  async listUserTokens(userId: string): Promise<TokenInfo[]> {
    return this.tokens.filter((t) => t.userId === userId);
  }
  async plan(target: Target): Promise<RevocationPlan> {
    const tokens = this.tokens.filter((t) =>
      target.kind === 'token'
        ? t.id === target.tokenId
        : target.kind === 'user'
          ? t.userId === target.userId
          : target.kind === 'application'
            ? t.applicationId === target.applicationId
            : t.resourceServerId === target.resourceServerId,
    );
    return {
      target,
      steps: [target],
      tokens: tokens.map((t) => ({ id: t.id, userId: t.userId })),
      userCount: new Set(tokens.map((t) => t.userId)).size,
      tokenCount: tokens.length,
    };
  }
  async revoke(): Promise<{ revoked: [] }> {
    return { revoked: [] };
  }
  async verify(): Promise<{ ok: true; remaining: []; method: 'list' }> {
    return { ok: true, remaining: [], method: 'list' };
  }
  async ping(): Promise<void> {}
}
