import { afterEach, describe, expect, it } from 'vitest';
import type { Idaas } from '../../../src/idaas/index.ts';
import {
  admin,
  expected,
  type Held,
  issueMatrix,
  probeAll,
  type StoreKind,
  startWith,
  tokenRef,
} from './fixtures/token-matrix.ts';

/**
 * The acceptance matrix: tokens from the real authorization-code flow for 3 users × 2 applications ×
 * (OIDC, 2 resource servers); each revocation scope and each automatic trigger kills exactly the
 * tokens in scope (UserInfo/whoami 401, introspection inactive, refresh invalid_grant) and no other.
 */
interface Case {
  name: string;
  revoke(idaas: Idaas, held: Held[]): Promise<unknown[]>;
  inScope(h: Held): boolean;
}

const pick = (held: Held[], user: string, app: string, rs: string | null) =>
  held.find((h) => h.user === user && h.app === app && h.resourceServerId === rs)!;

const cases: Case[] = [
  {
    name: 'one token (an access token and a refresh token, by their tok_ ids)',
    async revoke(idaas, held) {
      const target = pick(held, 'alice', 'expense-portal', 'payroll-api');
      const a = await admin(idaas, 'DELETE', `/users/alice/tokens/${tokenRef(target.accessToken)}`);
      const r = await admin(idaas, 'DELETE', `/users/alice/tokens/${tokenRef(target.refreshToken)}`);
      expect([a.status, r.status]).toEqual([200, 200]);
      return [...(a.body.revoked as unknown[]), ...(r.body.revoked as unknown[])];
    },
    inScope: (h) => h.user === 'alice' && h.app === 'expense-portal' && h.resourceServerId === 'payroll-api',
  },
  {
    name: 'all tokens of a user',
    async revoke(idaas) {
      const r = await admin(idaas, 'DELETE', '/users/bob@example.com/tokens');
      expect(r.status).toBe(200);
      return r.body.revoked as unknown[];
    },
    inScope: (h) => h.user === 'bob',
  },
  {
    name: 'all tokens of an application',
    async revoke(idaas) {
      const r = await admin(idaas, 'DELETE', '/applications/team-wiki/tokens');
      expect(r.status).toBe(200);
      return r.body.revoked as unknown[];
    },
    inScope: (h) => h.app === 'team-wiki',
  },
  {
    name: 'all tokens of a resource server',
    async revoke(idaas) {
      const r = await admin(idaas, 'DELETE', '/resource-servers/payroll-api/tokens');
      expect(r.status).toBe(200);
      return r.body.revoked as unknown[];
    },
    inScope: (h) => h.resourceServerId === 'payroll-api',
  },
  ...(
    [
      ['disabling a user', { state: 'disabled' }],
      ['changing the user id', { userId: 'carol.new' }],
      ['changing the password', { password: 'a-brand-new-password' }],
    ] as const
  ).map(
    ([name, patch]): Case => ({
      name: `automatically on ${name}`,
      async revoke(idaas) {
        const r = await admin(idaas, 'PATCH', '/users/carol', patch);
        expect(r.status).toBe(200);
        return r.body.revoked as unknown[];
      },
      inScope: (h) => h.user === 'carol',
    }),
  ),
];

describe.each<StoreKind>(['memory', 'redis'])('revocation scopes and triggers (%s store)', (kind) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it.each(cases)('$name', async (c) => {
    const started = await startWith(kind);
    cleanup = started.cleanup;
    const { idaas } = started;
    const held = await issueMatrix(idaas);
    expect(held).toHaveLength(18);

    // Before: every token works.
    expect(await probeAll(idaas, held)).toEqual(expected(held, () => false));

    const revoked = await c.revoke(idaas, held);
    // Each in-scope pair is an access and a refresh token (after one rotation: the live ones).
    expect(revoked.length).toBeGreaterThanOrEqual(held.filter(c.inScope).length * 2);

    // After: exactly the tokens in scope are dead.
    expect(await probeAll(idaas, held)).toEqual(expected(held, c.inScope));
  });
});
