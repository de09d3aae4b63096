import { describe, expect, it } from 'vitest';
import { AdminTokenListSchema } from '../../../src/idaas/admin-contract.ts';
import { startIdaas } from '../../../src/idaas/index.ts';
import {
  admin,
  expected,
  issue,
  issueMatrix,
  probeAll,
  startWith,
  tokenRef,
} from './fixtures/token-matrix.ts';

describe('Redis store across a restart', () => {
  it('keeps every grant and token, and resurrects no revoked one', async () => {
    const first = await startWith('redis');
    let cleanup = first.cleanup;
    try {
      const held = await issueMatrix(first.idaas);
      await probeAll(first.idaas, held); // rotates once, so listing holds the rotated refresh tokens
      const revokedPair = held.find(
        (h) => h.user === 'alice' && h.app === 'team-wiki' && h.resourceServerId === 'reports-api',
      )!;
      expect(
        (await admin(first.idaas, 'DELETE', `/users/alice/tokens/${tokenRef(revokedPair.accessToken)}`))
          .status,
      ).toBe(200);
      expect(
        (await admin(first.idaas, 'DELETE', `/users/alice/tokens/${tokenRef(revokedPair.refreshToken)}`))
          .status,
      ).toBe(200);
      expect((await admin(first.idaas, 'DELETE', '/users/bob/tokens')).status).toBe(200);
      const listedBefore = AdminTokenListSchema.parse(
        (await admin(first.idaas, 'GET', '/applications/expense-portal/tokens')).body,
      );
      await first.idaas.close();

      const second = await startIdaas(first.options);
      cleanup = async () => {
        await second.close();
        await first.cleanup().catch(() => {});
      };
      const listedAfter = AdminTokenListSchema.parse(
        (await admin(second, 'GET', '/applications/expense-portal/tokens')).body,
      );
      expect(listedAfter.tokens.map((t) => t.id).sort()).toEqual(listedBefore.tokens.map((t) => t.id).sort());
      expect(await probeAll(second, held)).toEqual(
        expected(held, (h) => h === revokedPair || h.user === 'bob'),
      );
    } finally {
      await cleanup();
    }
  });

  it('keeps console changes: a disabled user stays disabled, a changed user id and password stay changed', async () => {
    const first = await startWith('redis');
    let cleanup = first.cleanup;
    try {
      expect((await admin(first.idaas, 'PATCH', '/users/bob', { state: 'disabled' })).status).toBe(200);
      expect(
        (
          await admin(first.idaas, 'PATCH', '/users/carol', {
            userId: 'carol2',
            password: 'carol-password-2',
          })
        ).status,
      ).toBe(200);
      await first.idaas.close();

      const second = await startIdaas(first.options);
      cleanup = async () => {
        await second.close();
        await first.cleanup().catch(() => {});
      };
      expect((await admin(second, 'GET', '/users/bob')).body).toMatchObject({ state: 'disabled' });
      await expect(issue(second, 'bob', 'bob-password-1', 'expense-portal', null)).rejects.toThrow(
        /disabled/,
      );
      await expect(issue(second, 'carol', 'carol-password-1', 'expense-portal', null)).rejects.toThrow();
      await expect(issue(second, 'carol2', 'carol-password-1', 'expense-portal', null)).rejects.toThrow();
      expect(
        (await issue(second, 'carol2', 'carol-password-2', 'expense-portal', null)).access_token,
      ).toBeTypeOf('string');
    } finally {
      await cleanup();
    }
  });
});
