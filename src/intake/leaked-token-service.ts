import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/types.ts';
import { ForbiddenError, ValidationError } from '../domain/errors.ts';
import type { Actor } from '../domain/request.ts';
import { IdpUnsupportedError } from '../identity/errors.ts';
import type {
  IdentityProvider,
  TokenValueInfo,
  TokenValueRevocation,
  ValueRevocationOutcome,
} from '../identity/port.ts';
import type { Logger } from '../log.ts';
import type { WorkflowEngine } from '../workflows/types.ts';

/** A pasted token: printable ASCII without spaces (RFC 6750 b64token, JWTs, opaque strings). */
export const TokenValueSchema = z
  .string()
  .trim()
  .min(8, 'that is too short to be a token')
  .max(16_384, 'that is too long to be a token')
  .regex(/^[\x21-\x7e]+$/, 'a token is printable characters without spaces');

/** What the confirmation shows: introspection's facts plus the owner's name when the IdP has a directory. */
export interface LeakedTokenReport extends TokenValueInfo {
  ownerName?: string;
}

export interface LeakedTokenOutcome {
  report: LeakedTokenReport;
  /**
   * `revoked`: a configured client saw it active before and sees it inactive now. `still_active`: some
   * client still sees it active. `unverifiable`: no configured client could see it (an owner missing from
   * OAUTH_CLIENTS, or expired, or revoked: introspection cannot tell which); revoked with each client anyway.
   */
  outcome: ValueRevocationOutcome;
  /** Introspection after the revocation says inactive, to a client that saw it active before. */
  verified: boolean;
}

/** How the CLI and Slack name a token type (README "A leaked token, revoked by its value"). */
export function tokenTypeWords(type: string | undefined): string {
  switch (type) {
    case 'access_token':
      return 'access token';
    case 'refresh_token':
      return 'refresh token';
    case 'id_token':
      return 'ID token (id_token)';
    case undefined:
      return 'token (the server did not say which type)';
    default:
      return `token of type "${type}"`;
  }
}

/** What to tell a person when no configured client can see a token. */
export const NOT_VISIBLE =
  'none of the configured clients can see this token; add its client to OAUTH_CLIENTS';

export interface LeakedTokenServiceOptions {
  idp: IdentityProvider;
  audit: AuditLog;
  workflows: WorkflowEngine;
  logger: Logger;
}

/**
 * Revokes a token by its value, for a token pasted into a ticket, a chat or a public repository:
 * introspect (RFC 7662) to learn its owner, client, resource and expiry; revoke (RFC 7009) with the
 * owning client's credentials; introspect again to verify. The value lives only in this call: it is
 * never queued, stored, logged or audited — the audit gets the token id (`tok_…`) and a salted hash,
 * enough to answer "was this the token?" later, never enough to use it. Runs at once: the workflow
 * must allow the requester the token scope with no approval, since nothing can hold the value while
 * an approval waits.
 */
export class LeakedTokenService {
  constructor(private readonly o: LeakedTokenServiceOptions) {}

  get available(): boolean {
    return this.o.idp.tokenValues !== undefined;
  }

  /** Introspection, for someone the workflow lets revoke a token: what it reveals is theirs to see only then. */
  async inspect(raw: string, requestedBy: Actor): Promise<LeakedTokenReport> {
    const value = parseValue(raw);
    await this.#authorize(requestedBy);
    return this.#inspect(value);
  }

  async #inspect(value: string): Promise<LeakedTokenReport> {
    const info = await this.#values().inspect(value);
    if (!info.active || !info.subject) return info;
    const ownerName = await this.o.idp
      .getUser(info.subject)
      .then((u) => `${u.displayName ?? u.userName}${u.email ? ` <${u.email}>` : ''}`)
      .catch(() => undefined); // a plain OAuth server has no directory: the subject is all there is
    return { ...info, ...(ownerName ? { ownerName } : {}) };
  }

  async revoke(raw: string, input: { requestedBy: Actor; reason: string }): Promise<LeakedTokenOutcome> {
    const value = parseValue(raw);
    const reason = z.string().trim().min(1, 'a reason is required').max(2000).parse(input.reason);
    await this.#authorize(input.requestedBy);
    const report = await this.#inspect(value);
    // Inactive to every configured client is not "nothing to revoke" (RFC 7662 §2.2 lets a server hide
    // another client's token): the revocation runs either way, and says only what it saw.
    const done = await this.#values().revoke(value, report);
    const outcome: LeakedTokenOutcome = {
      report,
      outcome: done.outcome ?? (done.verified ? 'revoked' : 'still_active'),
      verified: done.verified,
    };
    await this.o.audit.append({
      action: 'token.revoked_by_value',
      actor: actorOf(input.requestedBy),
      target: { kind: 'token', userId: report.subject ?? 'unknown', tokenId: report.tokenId },
      detail: {
        tokenHash: saltedHash(value),
        outcome: outcome.outcome,
        verified: outcome.verified,
        reason,
        clientId: report.clientId ?? null,
        type: report.type ?? null,
        username: report.username ?? null,
        audience: report.audience?.join(' ') ?? null,
        expiresAt: report.expiresAt ?? null,
      },
    });
    this.o.logger.info(
      {
        tokenId: report.tokenId,
        outcome: outcome.outcome,
        verified: outcome.verified,
        by: input.requestedBy.id,
      },
      'leaked token revoked by value',
    );
    return outcome;
  }

  async #authorize(requestedBy: Actor): Promise<void> {
    const decision = await this.o.workflows.decide({
      source: requestedBy.source,
      scope: 'token',
      requestedBy,
    });
    const refusal = !decision.allowed
      ? (decision.reason ?? 'no workflow allows you to revoke a token')
      : decision.approvals.required > 0
        ? `workflow ${decision.workflow} needs approval for a token, and a leaked token cannot wait: its value is never stored`
        : undefined;
    if (refusal === undefined) return;
    await this.o.audit.append({
      action: 'request.rejected',
      actor: actorOf(requestedBy),
      detail: { reason: refusal, attempted: 'revoke_leaked_token', source: requestedBy.source },
    });
    throw new ForbiddenError(refusal);
  }

  #values(): TokenValueRevocation {
    const values = this.o.idp.tokenValues;
    if (!values) {
      throw new IdpUnsupportedError(
        `${this.o.idp.name} cannot revoke a token by its value here (set OAUTH_CLIENTS: the clients whose tokens to revoke)`,
      );
    }
    return values;
  }
}

function parseValue(raw: string): string {
  const parsed = TokenValueSchema.safeParse(raw);
  // The message names the rule, never the input.
  if (!parsed.success)
    throw new ValidationError(`not a token: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** `sha256$<salt>$<digest>`: a fresh salt per entry, so the audit cannot be used as a lookup table. */
export function saltedHash(value: string): string {
  const salt = randomBytes(16).toString('base64url');
  const digest = createHash('sha256').update(salt).update(value).digest('base64url');
  return `sha256$${salt}$${digest}`;
}

/** Whether `value` is the token an audit entry's `tokenHash` was made from. */
export function matchesSaltedHash(value: string, hash: string): boolean {
  const [alg, salt, digest] = hash.split('$');
  if (alg !== 'sha256' || !salt || !digest) return false;
  return createHash('sha256').update(salt).update(value).digest('base64url') === digest;
}

function actorOf(a: Actor) {
  return { source: a.source, id: a.id, ...(a.name ? { name: a.name } : {}) };
}
