import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/domain/errors.ts';

const LIST = [
  { client_id: 'revoker', client_secret: 'r-secret' },
  { client_id: 'expense-portal', client_secret: 'e-secret' },
];
const base = { IDP: 'oauth', OAUTH_ISSUER: 'https://as.test' };

describe('OAUTH_CLIENTS', () => {
  it('reads one entry per client, inline JSON or from a file', () => {
    const inline = loadConfig({ ...base, OAUTH_CLIENTS: JSON.stringify(LIST) });
    const file = join(mkdtempSync(join(tmpdir(), 'oauth-clients-')), 'clients.json');
    writeFileSync(file, JSON.stringify(LIST));
    const fromFile = loadConfig({ ...base, OAUTH_CLIENTS: file });
    const expected = [
      { clientId: 'revoker', clientSecret: 'r-secret' },
      { clientId: 'expense-portal', clientSecret: 'e-secret' },
    ];
    expect(inline.oauthClients).toEqual(expected);
    expect(fromFile.oauthClients).toEqual(expected);
  });

  it('keeps OAUTH_CLIENT_ID/_SECRET as a one-entry shorthand', () => {
    const cfg = loadConfig({ ...base, OAUTH_CLIENT_ID: 'c', OAUTH_CLIENT_SECRET: 's' });
    expect(cfg.oauthClients).toEqual([{ clientId: 'c', clientSecret: 's' }]);
  });

  it.each([
    [{}, 'is required when IDP=oauth'],
    [{ OAUTH_CLIENTS: '[]' }, 'at least one client'],
    [{ OAUTH_CLIENTS: '[{"client_id":"a"}]' }, 'client_secret'],
    [{ OAUTH_CLIENTS: JSON.stringify([LIST[0], LIST[0]]) }, 'twice'],
    [{ OAUTH_CLIENTS: '/no/such/file.json' }, 'neither JSON nor the path of a file'],
    [{ OAUTH_CLIENTS: '[{"client_id":"a","client_secret":' }, 'not valid JSON'],
  ])('refuses %j with one line naming OAUTH_CLIENTS, never a secret', (env, message) => {
    let err: unknown;
    try {
      loadConfig({ ...base, ...env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('OAUTH_CLIENTS');
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).not.toContain('r-secret');
  });
});
