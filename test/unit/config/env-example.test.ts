import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HrEnvSchema } from '../../../src/config/hr-settings.ts';
import { EnvSchema, loadConfig } from '../../../src/config.ts';
import { HR_SOURCES } from '../../../src/hr/registry.ts';

const text = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');

/** Every variable the example names, set or commented out (`# NAME=`). */
function documented(): string[] {
  return [...text.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

/** Every variable src/config.ts reads: the schemas' keys and HR_<SOURCE>_SECRET/_DOMAINS/_GROUPS/_TIME_ZONE per HR source. */
function known(): string[] {
  return [
    ...Object.keys(EnvSchema.shape),
    ...Object.keys(HrEnvSchema.shape),
    ...Object.keys(HR_SOURCES).flatMap((s) =>
      ['SECRET', 'DOMAINS', 'GROUPS', 'TIME_ZONE'].map((v) => `HR_${s.toUpperCase()}_${v}`),
    ),
  ];
}

describe('.env.example', () => {
  it('names every variable src/config.ts knows, and no other', () => {
    const names = documented();
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect([...names].sort()).toEqual([...new Set(known())].sort());
  });

  it('gives every variable a one-line description right above it', () => {
    const lines = text.split('\n');
    const bare = lines.flatMap((line, i) => {
      const m = /^(?:# )?([A-Z][A-Z0-9_]*)=/.exec(line);
      if (!m) return [];
      const above = lines[i - 1] ?? '';
      return above.startsWith('# ') && !/^# [A-Z][A-Z0-9_]*=/.test(above) ? [] : [m[1]];
    });
    expect(bare).toEqual([]);
  });

  it('its set values are the defaults, and load as a valid configuration', () => {
    const env = parseEnv(text);
    const config = loadConfig(env);
    const defaults = loadConfig({});
    for (const [name, value] of Object.entries(env)) {
      expect(
        String(config[name as keyof typeof config] ?? config.hr[name as keyof typeof config.hr]),
        name,
      ).toBe(
        String(defaults[name as keyof typeof defaults] ?? defaults.hr[name as keyof typeof defaults.hr]),
      );
      expect(value, name).not.toBe('');
    }
  });
});
