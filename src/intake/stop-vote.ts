import type { Redis } from 'ioredis';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { type Actor, isAutomatedSource } from '../domain/request.ts';
import type { IdentityProvider } from '../identity/port.ts';
import type { Metrics } from '../metrics.ts';
import type { RevocationQueues } from '../queue/revocation-queues.ts';
import { confirmReplicated, durabilityMark } from '../redis/durability.ts';
import { actorOf, type RequestChronicle } from './request-chronicle.ts';
import type { RedisRequestStore } from './request-store.ts';
import { stateWord } from './state-words.ts';
import type { CancelVoteResult, RequestRecord } from './types.ts';

export interface StopVoteOptions {
  store: RedisRequestStore;
  queues: RevocationQueues;
  metrics: Metrics;
  /** The shared connection whose replicas confirm a vote before the voter is told (REDIS_MIN_REPLICAS_ACK). */
  redis: Redis;
  /** Where a Slack voter is identified by their confirmed email. */
  idp: IdentityProvider;
  /** SLACK_IDP_USER_MAP: Slack user id → IdP user id, consulted first. */
  slackIdpUserMap?: ReadonlyMap<string, string> | undefined;
}

/**
 * Stopping a waiting request: an automated (HR, SCIM) one by the agreed number of votes, and what follows
 * a cancellation whichever way it came.
 */
export class StopVote {
  constructor(
    private readonly o: StopVoteOptions,
    private readonly clock: () => Date,
    private readonly chronicle: RequestChronicle,
  ) {}

  /** A Cancel on `rec` from Slack: one vote to stop an automated request; refused on any other. */
  async requestCancel(rec: RequestRecord, actor: Actor & { email?: string }): Promise<CancelVoteResult> {
    // Only automated offboardings are called off this way; a pending Slack request is denied, not cancelled.
    if (!isAutomatedSource(rec.source)) {
      return this.chronicle.refuse(
        actor,
        rec,
        {
          ok: false,
          code: 'not_automated',
          reason: 'only a scheduled HR or SCIM revocation can be cancelled here',
        },
        'cancel',
      );
    }
    return this.vote(rec, actor, 'cancelled from Slack during the grace window', 'cancel');
  }

  /**
   * The one rule for stopping an automated (HR, SCIM) request, whatever the button (Deny, Cancel): the
   * workflow's `cancellation.required` people (two by default) must agree, each identified at the IdP
   * (never the person leaving), while it is still waiting (scheduled, or pending approval).
   */
  async vote(
    rec: RequestRecord,
    actor: Actor & { email?: string },
    reason: string,
    attempted: 'cancel' | 'deny',
  ): Promise<CancelVoteResult> {
    const voter: Actor = actorOf(actor) as Actor;
    if (rec.state !== 'scheduled' && rec.state !== 'pending_approval') {
      throw new ConflictError(
        `this request is already ${stateWord(rec.state)}; it can no longer be cancelled`,
      );
    }
    const who = await this.identify(rec, actor);
    if (who === 'unknown') {
      return this.chronicle.refuse(
        voter,
        rec,
        {
          ok: false,
          code: 'identity_unknown',
          reason:
            'Revoker cannot tell who you are at the identity provider (you need an entry in SLACK_IDP_USER_MAP, or a confirmed Slack email that is exactly one IdP user’s), so it cannot tell you are not the person leaving',
        },
        attempted,
      );
    }
    if (who === 'self') {
      return this.chronicle.refuse(
        voter,
        rec,
        {
          ok: false,
          code: 'own_offboarding',
          reason: 'you cannot cancel the revocation of your own access',
        },
        attempted,
      );
    }
    const required = rec.cancelApprovals ?? 2;
    const mark = durabilityMark(this.o.redis);
    const res = await this.o.store.voteCancel(rec.id, voter, required, this.clock());
    switch (res.outcome) {
      case 'missing':
        throw new NotFoundError(`no request ${rec.id}`);
      case 'state':
        throw new ConflictError(
          `this request is already ${stateWord(res.record.state)}; it can no longer be cancelled`,
        );
      case 'already':
        throw new ConflictError(
          'you have already asked to cancel this; a second admin or approver must confirm',
        );
      case 'recorded': {
        const votes = res.record.cancelVotes?.length ?? 0;
        await this.chronicle.audit('request.cancel_requested', voter, res.record, {
          votes,
          required,
          attempted,
        });
        await confirmReplicated(this.o.redis, mark);
        return { request: res.record, cancelled: false, votes, required };
      }
      case 'cancelled': {
        if (res.record.state === 'denied') {
          await this.o.queues.cancelExpiry(rec.id);
          await this.chronicle.record('request.denied', res.record, voter, { reason });
          this.o.metrics.outcomes.inc({ outcome: 'denied', scope: res.record.target.kind });
          await this.chronicle.announce('request.denied', res.record);
        } else {
          await this.afterCancel(res.record, voter, reason);
        }
        await confirmReplicated(this.o.redis, mark);
        return { request: res.record, cancelled: true, votes: required, required };
      }
    }
  }

  /**
   * Who is this voter at the IdP? Their entry in SLACK_IDP_USER_MAP (Slack user id → IdP user id) when
   * they have one; else their Slack email (confirmed by Slack) must name exactly one IdP user, whose own
   * email is that very address (no plus-address or alias folding); that user is then compared
   * with the request's target by IdP user id, and the address with the HR delivery's. Unknown when it
   * cannot be established: the vote is refused.
   */
  private async identify(
    rec: RequestRecord,
    actor: Actor & { email?: string },
  ): Promise<'self' | 'other' | 'unknown'> {
    const targetUser =
      rec.target.kind === 'user' || rec.target.kind === 'token' ? rec.target.userId : undefined;
    // The operator's explicit mapping comes first: an identity the user cannot edit.
    const norm = (e: string | undefined) => e?.trim().toLowerCase();
    const email = actor.email;
    // The HR delivery's own address is the person leaving, whatever any mapping says (only ever narrows).
    if (email && norm(rec.context?.email) === norm(email)) return 'self';
    const mapped = actor.source === 'slack' ? this.o.slackIdpUserMap?.get(actor.id) : undefined;
    if (mapped !== undefined) return mapped === targetUser ? 'self' : 'other';
    if (!email) return 'unknown';
    const user = await this.o.idp.findUserByEmail(email.trim().toLowerCase()).catch(() => undefined);
    if (!user || norm(user.email) !== norm(email)) return 'unknown';
    return targetUser === user.id ? 'self' : 'other';
  }

  /** After a cancellation: its timers dropped, audited once, counted and announced. */
  async afterCancel(rec: RequestRecord, actor: Actor, reason: string): Promise<void> {
    await Promise.all([this.o.queues.cancelStart(rec.id), this.o.queues.cancelExpiry(rec.id)]);
    await this.chronicle.record('request.cancelled', rec, actor, { reason });
    this.o.metrics.outcomes.inc({ outcome: 'cancelled', scope: rec.target.kind });
    await this.chronicle.announce('request.cancelled', rec);
  }
}
