import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { checkGtr } from '../../../src/doctor/config-checks.ts';

describe('revoker doctor: Global Token Revocation', () => {
  it('says whether the route is served and which apps are configured', () => {
    expect(checkGtr(loadConfig({})).map((c) => c.ok)).toEqual([true, true]);
    const on = checkGtr(
      loadConfig({
        GTR_TOKEN: 'g'.repeat(40),
        GTR_APPS: JSON.stringify([
          {
            name: 'notes',
            endpoint: 'https://notes.example.com/gtr',
            auth: { method: 'bearer_token', token: 't' },
          },
        ]),
      }),
    );
    expect(on.every((c) => c.ok)).toBe(true);
    expect(JSON.stringify(on)).toContain('notes');
  });

  it('fails a guessable GTR_TOKEN with the fix', () => {
    const [check] = checkGtr(loadConfig({ GTR_TOKEN: 'g'.repeat(20) }));
    expect(check).toMatchObject({ ok: false });
    expect(JSON.stringify(check)).toMatch(/openssl rand/);
  });
});
