import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';

describe('config: Global Token Revocation', () => {
  it('GTR_TOKEN and GTR_APPS are off by default', () => {
    const c = loadConfig({});
    expect(c.GTR_TOKEN).toBeUndefined();
    expect(c.gtrApps).toEqual([]);
  });

  it('GTR_TOKEN must be a real secret; GTR_APPS is validated at start-up', () => {
    expect(() => loadConfig({ GTR_TOKEN: 'short' })).toThrow(/GTR_TOKEN/);
    expect(loadConfig({ GTR_TOKEN: 'x'.repeat(32) }).GTR_TOKEN).toBe('x'.repeat(32));
    expect(() => loadConfig({ GTR_APPS: '[{"name":"a"}]' })).toThrow(/GTR_APPS/);
    const c = loadConfig({
      GTR_APPS: JSON.stringify([
        {
          name: 'notes',
          endpoint: 'https://notes.example.com/gtr',
          auth: { method: 'bearer_token', token: 't' },
        },
      ]),
    });
    expect(c.gtrApps.map((a) => a.name)).toEqual(['notes']);
  });
});
