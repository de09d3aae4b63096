import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScimRouter } from '../../../src/scim/scim-router.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

const TOKEN = 'scim-secret-token';
/** Every request SCIM made, from the intake's store. */
const requests = () => pipe.intake.list({ source: 'scim', limit: 100 });
let redis: Redis;
let prefix: string;
let pipe: Pipeline;
let audit: MemoryAuditLog;
let idp: MemoryIdp;
let server: http.Server;
let base: string;

beforeEach(async () => {
  redis = connectRedis();
  prefix = randomPrefix('scim');
  audit = new MemoryAuditLog();
  idp = new MemoryIdp();
  // The real intake and workflow engine (a test workflow: any source, no approval); no workers needed.
  pipe = await createPipeline({ idp });
  const intake = pipe.intake;
  idp.addUser('u_alice', 'alice@example.com');
  idp.addUser('u_bob', 'bob@example.com');
  idp.addUser('u_carol', 'carol@example.com');
  const app = express();
  app.use('/scim/v2', createScimRouter({ token: TOKEN, idp, intake, audit, redis, prefix }));
  server = app.listen(0);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pipe.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

function call(method: string, path: string, body?: unknown, token = TOKEN) {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('SCIM /scim/v2', () => {
  it('401s a wrong or missing bearer in SCIM error format, audited', async () => {
    for (const res of [await call('GET', '/Users', undefined, 'wrong'), await fetch(`${base}/Users`)]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/scim+json');
      expect(await res.json()).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '401',
      });
    }
    expect(audit.of('scim.rejected')).toHaveLength(2);
  });

  it('serves ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const spc = await (await call('GET', '/ServiceProviderConfig')).json();
    expect(spc).toMatchObject({ patch: { supported: true }, filter: { supported: true } });
    expect(await (await call('GET', '/ResourceTypes')).json()).toMatchObject({ Resources: [{ id: 'User' }] });
    const schemas = (await (await call('GET', '/Schemas')).json()) as { Resources: { id: string }[] };
    expect(schemas.Resources[0]!.id).toBe('urn:ietf:params:scim:schemas:core:2.0:User');
  });

  it('filters by userName and emails.value, pages with startIndex/count', async () => {
    const byName = await (
      await call('GET', `/Users?filter=${encodeURIComponent('userName eq "U_ALICE"')}`)
    ).json();
    expect(byName).toMatchObject({ totalResults: 1, Resources: [{ id: 'u_alice', active: true }] });
    const byEmail = await (
      await call('GET', `/Users?filter=${encodeURIComponent('emails.value eq "bob@example.com"')}`)
    ).json();
    expect(byEmail).toMatchObject({
      totalResults: 1,
      Resources: [{ id: 'u_bob', emails: [{ value: 'bob@example.com' }] }],
    });
    const none = await (
      await call('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody"')}`)
    ).json();
    expect(none).toMatchObject({ totalResults: 0, Resources: [] });
    const page = (await (await call('GET', '/Users?startIndex=2&count=1')).json()) as Record<string, unknown>;
    expect(page).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    const bad = await call('GET', `/Users?filter=${encodeURIComponent('title sw "x"')}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });

  it.each([
    ['RFC / Okta', { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }],
    [
      'no path, value object',
      { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] },
    ],
    ['Entra "Replace"', { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: false }] }],
    [
      'Entra "False" string',
      { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
    ],
  ])('PATCH active=false (%s) ⇒ one revoke-all request, user now inactive', async (_label, body) => {
    const res = await call('PATCH', '/Users/u_alice', body);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'u_alice', active: false });
    // Repeating it (clients retry) creates nothing new.
    expect((await call('PATCH', '/Users/u_alice', body)).status).toBe(200);
    const made = await requests();
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({
      target: { kind: 'user', userId: 'u_alice' },
      source: 'scim',
      requestedBy: { source: 'scim', id: 'scim-client' },
    });
    expect(await (await call('GET', '/Users/u_alice')).json()).toMatchObject({ active: false });
  });

  it('PATCH of other attributes changes nothing; active=true then false again revokes again', async () => {
    const other = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Al' }] };
    expect((await call('PATCH', '/Users/u_bob', other)).status).toBe(200);
    expect(await requests()).toEqual([]);
    const off = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] };
    const on = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] };
    await call('PATCH', '/Users/u_bob', off);
    expect(await (await call('PATCH', '/Users/u_bob', on)).json()).toMatchObject({ active: true });
    await call('PATCH', '/Users/u_bob', off);
    expect(await requests()).toHaveLength(2);
  });

  it('DELETE ⇒ revoke all, 204, idempotent; unknown user ⇒ 404 in SCIM format', async () => {
    expect((await call('DELETE', '/Users/u_carol')).status).toBe(204);
    expect((await call('DELETE', '/Users/u_carol')).status).toBe(204);
    expect(await requests()).toHaveLength(1);
    const missing = await call('DELETE', '/Users/u_nobody');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: '404', detail: 'User not found' });
  });

  it('400s a malformed PATCH with invalidSyntax, audited', async () => {
    const res = await call('PATCH', '/Users/u_alice', '{nope');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ scimType: 'invalidSyntax' });
    const bad = await call('PATCH', '/Users/u_alice', {
      Operations: [{ op: 'replace', path: 'active', value: 'maybe' }],
    });
    expect(bad.status).toBe(400);
    expect(audit.of('scim.rejected').length).toBe(2);
    expect(await requests()).toEqual([]);
  });

  it('refuses an id or filter that sanitizeOutsideText would change (bidi override, lone surrogate), 400, nothing revoked', async () => {
    // Cleaned, `u_al\u202Eice` would name u_alice: an identifier is refused at the boundary, never cleaned.
    const patch = await call('PATCH', `/Users/${encodeURIComponent('u_al\u202Eice')}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(patch.status).toBe(400);
    expect(await patch.json()).toMatchObject({ scimType: 'invalidValue' });
    const filter = encodeURIComponent('userName eq "alice\u202E@example.com"');
    const list = await call('GET', `/Users?filter=${filter}`);
    expect(list.status).toBe(400);
    expect(await list.json()).toMatchObject({ scimType: 'invalidFilter' });
    expect(await requests()).toEqual([]);
  });
});
