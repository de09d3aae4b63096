import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { connectionSpecs } from '../../../src/connections/connection-specs.ts';
import { findContradiction, summarize } from '../../../src/doctor/config-checks.ts';
import { ConfigError } from '../../../src/domain/errors.ts';

const okta = { OKTA_ORG_URL: 'https://acme.okta.com', OKTA_API_TOKEN: 'okta-token' };
const google = { GOOGLE_SERVICE_ACCOUNT_JSON: '{}', GOOGLE_ADMIN_SUBJECT: 'admin@acme.com' };

function variableOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.variable;
    throw err;
  }
  return undefined;
}

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'conn-')), 'connections.yaml');
  writeFileSync(path, text);
  return path;
}

describe('IDP as a list (issue 22)', () => {
  it('each kind needs its own variables; a kind named twice is refused', () => {
    expect(variableOf(() => loadConfig({ IDP: 'okta,google', ...okta }))).toBe('GOOGLE_SERVICE_ACCOUNT_JSON');
    expect(variableOf(() => loadConfig({ IDP: 'okta,okta', ...okta }))).toBe('IDP');
    const config = loadConfig({ IDP: ' okta , google ', ...okta, ...google });
    expect([config.IDP, config.idpKinds]).toEqual(['okta', ['okta', 'google']]);
  });

  it('one connection per kind, with <KIND>_RATE_LIMIT; IDP_RATE_LIMIT is the limit of a single one only', () => {
    const env = { IDP: 'okta,google', ...okta, ...google, OKTA_RATE_LIMIT: '4', IDP_RATE_LIMIT: '7' };
    expect(connectionSpecs(loadConfig(env), env).map((s) => [s.id, s.kind, s.ratePerSecond])).toEqual([
      ['okta', 'okta', 4],
      ['google', 'google', 40],
    ]);
    const single = { IDP: 'okta', ...okta, IDP_RATE_LIMIT: '7' };
    expect(connectionSpecs(loadConfig(single), single).map((s) => s.ratePerSecond)).toEqual([7]);
    // Each connection's settings name its own kind, for its adapter.
    expect(connectionSpecs(loadConfig(env), env).map((s) => s.config.IDP)).toEqual(['okta', 'google']);
  });

  it('IDAAS_URL with the IDaaS in the list is no contradiction; without it, it is', () => {
    const url = { IDAAS_URL: 'http://127.0.0.1:4000', IDAAS_ADMIN_TOKEN: 't' };
    expect(findContradiction(loadConfig({ IDP: 'okta,idaas', ...okta, ...url }))).toBeUndefined();
    expect(findContradiction(loadConfig({ IDP: 'okta', ...okta, ...url }))?.variable).toBe('IDP');
  });

  it('the start-up summary names every connection', () => {
    expect(summarize(loadConfig({ IDP: 'okta,idaas', ...okta }), []).idp).toBe('okta, idaas');
    expect(summarize(loadConfig({ IDP: 'okta', ...okta }), []).idp).toBe('okta');
  });
});

describe('CONNECTIONS_FILE (issue 22)', () => {
  it('names two of one kind, each with its variables (references to the environment) and limit', () => {
    const path = file(
      [
        'connections:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the file's own ${VAR} reference
        '  - { id: okta-us, kind: okta, rate_limit: 9, env: { OKTA_ORG_URL: "https://us.okta.com", OKTA_API_TOKEN: "${US}" } }',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the file's own ${VAR} reference
        '  - { id: okta-eu, kind: okta, env: { OKTA_ORG_URL: "https://eu.okta.com", OKTA_API_TOKEN: "${EU}" } }',
      ].join('\n'),
    );
    const env = { CONNECTIONS_FILE: path, US: 'us-token', EU: 'eu-token' };
    const specs = connectionSpecs(loadConfig(env), env);
    expect(specs.map((s) => [s.id, s.ratePerSecond, s.config.OKTA_ORG_URL, s.config.OKTA_API_TOKEN])).toEqual(
      [
        ['okta-us', 9, 'https://us.okta.com', 'us-token'],
        ['okta-eu', 10, 'https://eu.okta.com', 'eu-token'],
      ],
    );
  });

  it('refuses, naming the problem but never a value: unknown key, missing variable, duplicate id, IDP set too', () => {
    const message = (text: string, extra: Record<string, string> = {}) => {
      const env = { CONNECTIONS_FILE: file(text), ...extra };
      try {
        connectionSpecs(loadConfig(env), env);
      } catch (err) {
        expect((err as ConfigError).variable).toBe(extra.IDP ? 'IDP' : 'CONNECTIONS_FILE');
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(message('connections:\n  - { id: a, kind: okta, colour: red }')).toMatch(/colour|unrecognized/i);
    expect(message('connections:\n  - { id: a, kind: okta, env: { OKTA_API_TOKEN: s3cret } }')).toMatch(
      /connection a: .*OKTA_ORG_URL/,
    );
    expect(message('connections:\n  - { id: a, kind: okta, env: { OKTA_API_TOKEN: s3cret } }')).not.toContain(
      's3cret',
    );
    const two = 'connections:\n  - { id: a, kind: idaas }\n  - { id: a, kind: idaas }';
    expect(message(two)).toContain('"a" twice');
    expect(message('connections:\n  - { id: a, kind: idaas }', { IDP: 'okta' })).toContain('not both');
  });
});
