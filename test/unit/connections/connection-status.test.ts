import { describe, expect, it } from 'vitest';
import {
  aggregateConnections,
  type ConnectionStatus,
  connectionLine,
  everyConnectionEnded,
  waitingFor,
} from '../../../src/connections/connection-status.ts';

const line = (connection: string, status: ConnectionStatus['status'], why?: string): ConnectionStatus => ({
  connection,
  requestId: `req_x.${connection}`,
  status,
  ...(why ? { why } : {}),
});

describe('one outcome per connection (issue 22)', () => {
  it('verified when every connection is verified or has no account', () => {
    expect(aggregateConnections([line('okta', 'verified'), line('google', 'no_account')])).toBe('verified');
  });
  it("unverifiable when none failed and one is unverifiable (a GTR app's 204)", () => {
    expect(
      aggregateConnections([line('okta', 'verified'), line('gtr-notes', 'unverifiable', 'accepted')]),
    ).toBe('unverifiable');
  });
  it('failed when any failed, whatever the others', () => {
    expect(aggregateConnections([line('okta', 'unverifiable'), line('google', 'failed', 'x')])).toBe(
      'failed',
    );
  });
  it('not ended while one is pending, running or waiting; waitingFor names the ones retried', () => {
    const lines = [line('okta', 'verified'), line('google', 'waiting', 'idp_unavailable: 503')];
    expect(everyConnectionEnded(lines)).toBe(false);
    expect(waitingFor(lines)).toEqual(['google']);
    expect(everyConnectionEnded([line('okta', 'verified'), line('google', 'no_account')])).toBe(true);
  });
  it('a line in words, the outside reason sanitised and bounded', () => {
    expect(connectionLine(line('google', 'no_account'))).toBe('google: no account (nothing to revoke)');
    const long = connectionLine(line('okta', 'failed', `bad\u0000${'x'.repeat(1000)}`), { maxWhy: 50 });
    expect(long.startsWith('okta: failed: bad')).toBe(true);
    expect(long).not.toContain('\u0000');
    expect(long.length).toBeLessThan(80);
    expect(connectionLine({ ...line('okta', 'running'), progress: { done: 2, total: 5 } })).toBe(
      'okta: running (2 of 5 calls)',
    );
  });
});
