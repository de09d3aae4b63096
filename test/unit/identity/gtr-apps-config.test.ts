import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAllowedGtrUrl, loadGtrApps } from '../../../src/identity/gtr/gtr-apps-config.ts';

const jwt = {
  method: 'private_key_jwt',
  client_id: 'revoker',
  private_key: '-----BEGIN PRIVATE KEY-----x',
  kid: 'k1',
};

describe('GTR_APPS', () => {
  it('unset is no apps; an entry gets its defaults (email, RS256)', () => {
    expect(loadGtrApps({})).toEqual([]);
    const [a] = loadGtrApps({
      GTR_APPS: JSON.stringify([{ name: 'notes', endpoint: 'https://notes.example.com/gtr', auth: jwt }]),
    });
    expect(a).toMatchObject({ subject_format: 'email', auth: { alg: 'RS256' } });
  });

  it('reads a file path like OAUTH_CLIENTS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gtr-'));
    const file = join(dir, 'apps.json');
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'crm', issuer: 'https://crm.example.com', auth: { method: 'bearer_token', token: 't' } },
      ]),
    );
    expect(loadGtrApps({ GTR_APPS: file })[0]).toMatchObject({
      name: 'crm',
      issuer: 'https://crm.example.com',
    });
  });

  it('endpoints must be https except on loopback (draft §3.1)', () => {
    expect(isAllowedGtrUrl('https://a.example.com/x')).toBe(true);
    expect(isAllowedGtrUrl('http://127.0.0.1:8080/x')).toBe(true);
    expect(isAllowedGtrUrl('http://[::1]:8080/x')).toBe(true);
    expect(isAllowedGtrUrl('http://localhost/x')).toBe(true);
    expect(isAllowedGtrUrl('http://a.example.com/x')).toBe(false);
    expect(isAllowedGtrUrl('http://127.0.0.1.evil.com/x')).toBe(false);
    expect(() =>
      loadGtrApps({
        GTR_APPS: JSON.stringify([{ name: 'n', endpoint: 'http://notes.example.com/gtr', auth: jwt }]),
      }),
    ).toThrow(/GTR_APPS.*https.*endpoint/);
  });

  it('refuses bad entries with the variable and position, never a secret', () => {
    const bad = (apps: unknown) => () => loadGtrApps({ GTR_APPS: JSON.stringify(apps) });
    expect(bad([{ name: 'n', auth: jwt }])).toThrow(/exactly one of endpoint or issuer/);
    expect(
      bad([{ name: 'n', endpoint: 'https://a.example.com', issuer: 'https://a.example.com', auth: jwt }]),
    ).toThrow(/exactly one/);
    expect(
      bad([
        {
          name: 'n',
          endpoint: 'https://a.example.com',
          auth: { method: 'client_credentials', client_id: 'c', client_secret: 'SECRETVALUE' },
        },
      ]),
    ).toThrow(/token_endpoint/);
    expect(bad([{ name: 'n', endpoint: 'https://a.example.com', auth: { method: 'magic' } }])).toThrow(
      /GTR_APPS/,
    );
    expect(
      bad([{ name: 'n', endpoint: 'https://a.example.com', auth: jwt, subject_format: 'opaque' }]),
    ).toThrow(/opaque_ids/);
    expect(
      bad([
        { name: 'a', endpoint: 'https://a.example.com', auth: jwt },
        { name: 'a', endpoint: 'https://b.example.com', auth: jwt },
      ]),
    ).toThrow(/twice/);
    expect(() => loadGtrApps({ GTR_APPS: '[not json' })).toThrow(/not valid JSON/);
    try {
      bad([
        {
          name: 'n',
          endpoint: 'https://a.example.com',
          auth: { method: 'client_credentials', client_id: 'c', client_secret: 'SECRETVALUE' },
        },
      ])();
    } catch (err) {
      expect((err as Error).message).not.toContain('SECRETVALUE');
    }
  });
});
