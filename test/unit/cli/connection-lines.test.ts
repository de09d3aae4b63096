import { describe, expect, it } from 'vitest';
import { describeRequest, resultOf, waitWithProgress } from '../../../src/cli/revoke.ts';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { hostileWhy, threeConnections, userRecord } from '../../helpers/connection-records.ts';

/** Issue 22: `revoker revoke … --wait` and `--json` show a fanned-out user revocation per connection. */
const running = userRecord({
  id: 'req_dana',
  source: 'cli',
  requestedBy: { source: 'cli', id: 'ops' },
  progress: { done: 3, total: 5 },
  connections: threeConnections('req_dana'),
});

/**
 * An intake whose request goes through `states`, one per poll: `waitForOutcome` answers only a terminal
 * state (as the real one does) and times out at once otherwise, so `get` is asked.
 */
function scripted(states: RequestRecord[]) {
  let i = 0;
  const current = () => states[Math.min(i, states.length - 1)]!;
  return {
    waitForOutcome: async () => {
      const rec = current();
      if (['verified', 'unverifiable', 'failed'].includes(rec.state)) return rec;
      throw new Error('timeout');
    },
    get: async () => {
      const rec = current();
      i++;
      return rec;
    },
  };
}

describe('the CLI, per connection', () => {
  it('prints the summary, then one line per connection; the same request without connections, one line', () => {
    expect(describeRequest(running).split('\n')).toEqual([
      'req_dana running: all tokens of user usr_dana',
      '  okta: verified',
      '  google: waiting for it (retrying): IDP_UNAVAILABLE: Google answered 503',
      '  gtr-notes: no account (nothing to revoke)',
    ]);
    expect(describeRequest({ ...running, connections: undefined })).toBe(
      'req_dana running: all tokens of user usr_dana',
    );
  });

  it('--wait prints each connection’s line when it changes, and the outcome with every connection', async () => {
    const said: string[] = [];
    const [okta, google, notes] = threeConnections('req_dana');
    const start = { ...running, progress: { done: 0, total: 5 } };
    const done = await waitWithProgress(
      scripted([
        {
          ...start,
          connections: [okta!, google!, notes!].map((c) => ({
            ...c,
            status: 'pending' as const,
            why: undefined,
          })),
        },
        running,
        running,
        {
          ...running,
          state: 'verified',
          connections: [okta!, { ...google!, status: 'verified', why: undefined }, notes!],
        },
      ]),
      'req_dana',
      10_000,
      (line) => said.push(line),
    );
    expect(said).toEqual([
      'running: revoked 0 of 5',
      '  okta: waiting to start',
      '  google: waiting to start',
      '  gtr-notes: waiting to start',
      'running: revoked 3 of 5',
      '  okta: verified',
      '  google: waiting for it (retrying): IDP_UNAVAILABLE: Google answered 503',
      '  gtr-notes: no account (nothing to revoke)',
    ]);
    expect(describeRequest(done)).toContain('  google: verified');
  });

  it('a why with control characters, bidi overrides and markup stays one line per connection', () => {
    const why = `denied\n\u001b[31mforged line\u202e <&> ${hostileWhy(400)}`.slice(0, 500);
    const rec = { ...running, connections: [{ ...threeConnections()[0]!, status: 'failed' as const, why }] };
    const lines = describeRequest(rec).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}okta: failed: denied\ufffd\ufffd\[31mforged line <&> /);
    expect(lines[1]).not.toContain('\u202e');
  });

  it('--json includes the connections (and leaves them out when there are none)', () => {
    const json = JSON.parse(JSON.stringify(resultOf(running, false)));
    expect(json.connections).toEqual(threeConnections('req_dana'));
    expect(resultOf({ ...running, connections: undefined }, false)).not.toHaveProperty('connections');
  });
});
