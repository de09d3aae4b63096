import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { describeReport } from '../../../src/cli/revoke-leaked.ts';
import { checkIdp } from '../../../src/doctor/idp-checks.ts';
import type { Actor } from '../../../src/domain/request.ts';
import { seedClients, startIdaas } from '../../../src/idaas/index.ts';
import { OAuthIdentityProvider } from '../../../src/identity/adapters/oauth.ts';
import {
  IdpBadResponseError,
  IdpNotFoundError,
  IdpTransientError,
  IdpUnauthorizedError,
} from '../../../src/identity/errors.ts';
import { loadOAuthClients, type OAuthClient } from '../../../src/identity/oauth-clients.ts';
import { LeakedTokenService } from '../../../src/intake/leaked-token-service.ts';
import { REDACT_PATHS, silentLogger } from '../../../src/log.ts';
import type { WorkflowEngine } from '../../../src/workflows/types.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { OAuthTestServer, type TestServerOptions } from '../../helpers/oauth-test-server.ts';
import { isAlive, startTestService } from '../../helpers/service.ts';

/**
 * Revocation by value against a server that behaves as real third-party ones do (test/helpers/
 * oauth-test-server.ts: raw Basic secrets, `active: false` to clients that do not own a token, a wrong
 * `token_type_hint` not widened, one registered authentication method per client). The oracle is that
 * server's own state (`isActive`), never Revoker's verification.
 */
const RESERVED = 'p@ss:w+rd/with= spaces';
const ME: Actor = { source: 'cli', id: 'sec-oncall' };

/** The workflow lets the requester revoke a token at once (a leaked token cannot wait for approval). */
const allowAll: WorkflowEngine = {
  async decide() {
    return {
      workflow: 'test',
      allowed: true,
      approvals: { required: 0, approvers: [], allowSelfApproval: false, expiresAfterMs: 0 },
      graceMs: 0,
      steps: [],
    };
  },
  async canApprove() {
    return { ok: true };
  },
};

const servers: OAuthTestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: TestServerOptions): Promise<OAuthTestServer> {
  const s = await OAuthTestServer.start(options);
  servers.push(s);
  return s;
}

/** Three confidential clients, as the server of issue 19 had: Revoker is given only some of them. */
const THREE: TestServerOptions = {
  clients: [
    { clientId: 'wiki', method: 'client_secret_basic', secret: 'wiki-secret-0123456789' },
    { clientId: 'expenses', method: 'client_secret_post', secret: RESERVED },
    { clientId: 'hidden-app', method: 'client_secret_basic', secret: 'hidden-secret-0123456789' },
  ],
};
const GIVEN: OAuthClient[] = [
  { clientId: 'wiki', clientSecret: 'wiki-secret-0123456789' },
  { clientId: 'expenses', clientSecret: RESERVED, authMethod: 'client_secret_post' },
];

function service(issuer: string, clients: OAuthClient[]) {
  const idp = new OAuthIdentityProvider({ issuer, clients });
  const audit = new MemoryAuditLog();
  const leaked = new LeakedTokenService({ idp, audit, workflows: allowAll, logger: silentLogger });
  return { idp, audit, leaked };
}

describe('revocation by value never claims what it did not see (issue 19 item 1)', () => {
  it('a live token of a client Revoker was not given ends unverifiable, audited, and is never "nothing to revoke"', async () => {
    const as = await start(THREE);
    const { leaked, audit } = service(as.issuer, GIVEN);
    const live = as.issue('hidden-app', 'access_token');
    const report = await leaked.inspect(live, ME);
    expect(report.active).toBe(false);
    expect(describeReport(report)).not.toMatch(/nothing to revoke/);
    expect(describeReport(report)).toContain('OAUTH_CLIENTS');
    const done = await leaked.revoke(live, { requestedBy: ME, reason: 'pasted in a ticket' });
    expect(done).toMatchObject({ outcome: 'unverifiable', verified: false });
    expect(as.isActive(live)).toBe(true); // nothing was claimed, and nothing else was revoked
    // Revoked with each configured client anyway: the server refused both (not their token).
    expect(as.calls.filter((c) => c.endpoint === 'revoke').map((c) => c.client)).toEqual([
      'wiki',
      'expenses',
    ]);
    const [entry] = audit.of('token.revoked_by_value');
    expect(entry?.detail).toMatchObject({ outcome: 'unverifiable', verified: false });
  });

  it('a token of a configured client is revoked and seen revoked by the client that saw it active', async () => {
    const as = await start(THREE);
    const { leaked, audit } = service(as.issuer, GIVEN);
    const value = as.issue('expenses', 'refresh_token');
    const done = await leaked.revoke(value, { requestedBy: ME, reason: 'leaked' });
    expect(done).toMatchObject({ outcome: 'revoked', verified: true });
    expect(as.isActive(value)).toBe(false);
    expect(audit.of('token.revoked_by_value')[0]?.detail).toMatchObject({
      outcome: 'revoked',
      type: 'refresh_token',
    });
  });
});

describe('token types as introspection says (issue 19 item 2)', () => {
  it('an id_token is shown as one, revoked without a hint, and audited as an id_token', async () => {
    const as = await start(THREE);
    const { leaked, audit } = service(as.issuer, GIVEN);
    const idToken = as.issue('wiki', 'id_token');
    const report = await leaked.inspect(idToken, ME);
    expect(report.type).toBe('id_token');
    expect(describeReport(report)).toContain('active ID token (id_token)');
    const done = await leaked.revoke(idToken, { requestedBy: ME, reason: 'leaked' });
    expect(done.outcome).toBe('revoked');
    expect(as.isActive(idToken)).toBe(false);
    // RFC 7009 §2.1 defines only access_token and refresh_token as hints.
    expect(as.calls.filter((c) => c.endpoint === 'revoke').map((c) => c.hint)).toEqual([null]);
    expect(audit.of('token.revoked_by_value')[0]?.detail).toMatchObject({
      type: 'id_token',
      outcome: 'revoked',
    });
  });

  it('a hint the server does not widen is retried without it; the audit says what really happened', async () => {
    // This server calls every token "Bearer" at introspection (the RFC 7662 access token type).
    const as = await start({ ...THREE, typeWords: { refresh_token: 'Bearer' } });
    const { leaked, audit } = service(as.issuer, GIVEN);
    const refresh = as.issue('wiki', 'refresh_token');
    const done = await leaked.revoke(refresh, { requestedBy: ME, reason: 'leaked' });
    expect(as.calls.filter((c) => c.endpoint === 'revoke').map((c) => c.hint)).toEqual([
      'access_token',
      null,
    ]);
    expect(done.outcome).toBe('revoked');
    expect(as.isActive(refresh)).toBe(false);
    expect(audit.of('token.revoked_by_value')[0]?.detail).toMatchObject({
      outcome: 'revoked',
      verified: true,
    });
  });

  it('a token that stays active is audited still_active, never revoked', async () => {
    const as = await start({ ...THREE, keeps: ['id_token'] });
    const { leaked, audit } = service(as.issuer, GIVEN);
    const idToken = as.issue('wiki', 'id_token');
    const done = await leaked.revoke(idToken, { requestedBy: ME, reason: 'leaked' });
    expect(done).toMatchObject({ outcome: 'still_active', verified: false });
    expect(as.isActive(idToken)).toBe(true);
    expect(audit.of('token.revoked_by_value')[0]?.detail).toMatchObject({
      outcome: 'still_active',
      verified: false,
      type: 'id_token',
    });
  });
});

describe('client authentication per client (issue 19 item 3)', () => {
  it('client_secret_post with reserved characters works where client_secret_basic is refused by a raw-comparing server', async () => {
    const as = await start(THREE);
    const post = service(as.issuer, GIVEN);
    await post.idp.ping();
    const value = as.issue('expenses', 'access_token');
    expect((await post.leaked.revoke(value, { requestedBy: ME, reason: 'leaked' })).outcome).toBe('revoked');
    expect(as.isActive(value)).toBe(false);
    expect(
      as.calls.filter((c) => c.client === 'expenses').every((c) => c.method === 'client_secret_post'),
    ).toBe(true);

    // The same secret over Basic (form-encoded, as RFC 6749 §2.3.1 requires) is refused by this server:
    // readiness names the client and what to try, never the secret.
    const basic = service(as.issuer, [
      { clientId: 'expenses', clientSecret: RESERVED, authMethod: 'client_secret_basic' },
    ]);
    const err = await basic.idp.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpUnauthorizedError);
    expect((err as Error).message).toContain('client expenses');
    expect((err as Error).message).toContain('client_secret_post');
    expect((err as Error).message).not.toContain(RESERVED);
  });

  it('without token_endpoint_auth_method, the first method the metadata lists that the entry can do (RFC 8414 §2)', async () => {
    const as = await start({
      clients: [{ clientId: 'expenses', method: 'client_secret_post', secret: RESERVED }],
      introspectionMethods: ['private_key_jwt', 'client_secret_post', 'client_secret_basic'],
      revocationMethods: ['client_secret_post'],
    });
    const { leaked } = service(as.issuer, [{ clientId: 'expenses', clientSecret: RESERVED }]);
    const value = as.issue('expenses', 'access_token');
    expect((await leaked.revoke(value, { requestedBy: ME, reason: 'leaked' })).outcome).toBe('revoked');
    expect(as.calls.map((c) => c.method)).toEqual(as.calls.map(() => 'client_secret_post'));
    expect(as.isActive(value)).toBe(false);
  });

  it('private_key_jwt signs an RFC 7523 assertion with the entry’s key (read from OAUTH_CLIENTS)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const as = await start({
      clients: [{ clientId: 'signer', method: 'private_key_jwt', publicJwk: await exportJWK(publicKey) }],
    });
    const clients = loadOAuthClients({
      OAUTH_CLIENTS: JSON.stringify([
        {
          client_id: 'signer',
          token_endpoint_auth_method: 'private_key_jwt',
          private_key_jwk: { ...(await exportJWK(privateKey)), alg: 'ES256' },
        },
      ]),
    });
    const { idp, leaked } = service(as.issuer, clients);
    await idp.ping();
    const value = as.issue('signer', 'access_token');
    expect((await leaked.revoke(value, { requestedBy: ME, reason: 'leaked' })).outcome).toBe('revoked');
    expect(as.isActive(value)).toBe(false);
    expect(as.calls.every((c) => c.client === 'signer' && c.method === 'private_key_jwt')).toBe(true);
  });
});

describe('errors and doctor name what went wrong and for which client (issue 19 item 4)', () => {
  it('a refused introspection names the client; username is shown', async () => {
    const as = await start(THREE);
    const { leaked } = service(as.issuer, [
      GIVEN[0]!,
      { clientId: 'expenses', clientSecret: 'stale', authMethod: 'client_secret_post' },
    ]);
    const other = as.issue('expenses', 'access_token');
    const err = await leaked.inspect(other, ME).catch((e: unknown) => e);
    expect((err as Error).message).toContain('client expenses');
    const mine = as.issue('wiki', 'access_token', { sub: 'opaque-sub-1', username: 'bob@example.com' });
    expect(describeReport(await leaked.inspect(mine, ME))).toMatch(/username: +bob@example\.com/);
  });

  it('doctor tells refused credentials from unreachable, 404 and issuer mismatch, and lists the leaked-token path', async () => {
    const as = await start(THREE);
    const ok = await checkIdp(service(as.issuer, GIVEN).idp, 'oauth');
    expect(ok[0]?.detail).toContain('a leaked token by its value');
    expect(ok.every((c) => c.ok)).toBe(true);

    const refused = await checkIdp(
      service(as.issuer, [{ clientId: 'wiki', clientSecret: 'stale' }]).idp,
      'oauth',
    );
    expect(refused[1]).toMatchObject({ ok: false });
    expect(refused[1]?.detail).toMatch(/refused the credentials.*client wiki/);
    expect(refused[1]?.fix).toContain('OAUTH_CLIENTS');

    const mismatch = await start({ ...THREE, claimIssuer: 'https://elsewhere.test' });
    const wrongIssuer = await service(mismatch.issuer, GIVEN)
      .idp.ping()
      .catch((e: unknown) => e);
    expect(wrongIssuer).toBeInstanceOf(IdpBadResponseError);
    const mismatchChecks = await checkIdp(service(mismatch.issuer, GIVEN).idp, 'oauth');
    expect(mismatchChecks[1]?.detail).not.toMatch(/refused the credentials/);
    expect(mismatchChecks[1]?.fix).toContain('OAUTH_ISSUER');

    const empty = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => empty.listen(0, '127.0.0.1', resolve));
    const emptyUrl = `http://127.0.0.1:${(empty.address() as AddressInfo).port}`;
    try {
      const notFound = await service(emptyUrl, GIVEN)
        .idp.ping()
        .catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(IdpNotFoundError);
      const checks = await checkIdp(service(emptyUrl, GIVEN).idp, 'oauth');
      expect(checks[1]?.detail).toMatch(/answered 404/);
    } finally {
      empty.closeAllConnections();
      await new Promise<void>((resolve) => empty.close(() => resolve()));
    }
    // A port nobody listens on any more: unreachable.
    const down = await service(emptyUrl, GIVEN)
      .idp.ping()
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(IdpTransientError);
    const downChecks = await checkIdp(service(emptyUrl, GIVEN).idp, 'oauth');
    expect(downChecks[1]?.detail).toMatch(/unreachable/);
  });
});

describe('the start-up log (issue 19 item 4)', () => {
  it('says what the IdP can revoke without meeting the `*.token` redaction', async () => {
    const as = await start(THREE);
    let reachable: (line: Record<string, unknown>) => void = () => {};
    const seen = new Promise<Record<string, unknown>>((resolve) => {
      reachable = resolve;
    });
    const logger = pino(
      { level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          const line = JSON.parse(chunk.toString()) as Record<string, unknown>;
          if (line.msg === 'IdP reachable') reachable(line);
          done();
        },
      }),
    );
    const clients = JSON.stringify([{ client_id: 'wiki', client_secret: 'wiki-secret-0123456789' }]);
    const t = await startTestService(
      { IDP: 'oauth', OAUTH_ISSUER: as.issuer, OAUTH_CLIENTS: clients },
      { logger, prefixLabel: 'oauth-log' },
    );
    try {
      const line = await seen;
      expect(JSON.stringify(line)).not.toContain('[redacted]');
      expect(line).toMatchObject({ idp: 'oauth', revocableScopes: [], revokesByValue: true });
    } finally {
      await t.close();
    }
  });
});

describe('the embedded IDaaS, whose revoker client sees every token', () => {
  it('a token of a client not in OAUTH_CLIENTS is tried with each client, reported and audited still_active', async () => {
    const idaas = await startIdaas();
    try {
      const [tok] = await idaas.mintTokens({ user: 'alice', application: 'expense-portal' });
      const given = seedClients(idaas.seed).filter((c) => c.clientId !== 'expense-portal');
      const { leaked, audit } = service(idaas.issuer, given);
      const report = await leaked.inspect(tok!.access_token, ME);
      expect(report).toMatchObject({ active: true, clientId: 'expense-portal' });
      const done = await leaked.revoke(tok!.access_token, { requestedBy: ME, reason: 'leaked' });
      expect(done).toMatchObject({ outcome: 'still_active', verified: false });
      expect(await isAlive(idaas, tok!)).toBe(true);
      expect(audit.of('token.revoked_by_value')[0]?.detail).toMatchObject({
        outcome: 'still_active',
        clientId: 'expense-portal',
      });
    } finally {
      await idaas.close();
    }
  });
});
