import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSlackIdpUserMap } from '../../../src/config/slack-idp-user-map.ts';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError, ForbiddenError } from '../../../src/domain/errors.ts';
import type { Actor } from '../../../src/domain/request.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { testWorkflowEngine } from '../../helpers/test-workflows.ts';

/**
 * Issue 21 items 2 and 7: an explicit Slack → IdP identity mapping (SLACK_IDP_USER_MAP), consulted first
 * when a Slack voter must be told apart from the person leaving; without one, a confirmed email that is
 * exactly one IdP user's; otherwise the vote is refused.
 */
let pipe: Pipeline | undefined;
afterEach(async () => {
  await pipe?.close();
  pipe = undefined;
});

const slack = (id: string, email?: string): Actor & { email?: string } => ({
  source: 'slack',
  id,
  ...(email ? { email } : {}),
});

async function forbidden(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ForbiddenError);
  return (err as Error).message;
}

describe('SLACK_IDP_USER_MAP: who a Slack voter is at the IdP', () => {
  it('a mapped voter who is the person leaving is refused, whatever their Slack email; mapped others count', async () => {
    const idp = new MemoryIdp();
    for (const id of ['bob', 'alice', 'carol', 'dave']) {
      idp.addUser(id);
      idp.addToken(id, 'team-wiki');
    }
    const map = loadSlackIdpUserMap({
      SLACK_IDP_USER_MAP: JSON.stringify({ UBOB: 'bob', UALICE: 'alice', UCAROL: 'carol' }),
    });
    pipe = await createPipeline({
      idp,
      workflows: await testWorkflowEngine([{ name: 'hr', sources: ['hr'], required: 0 }]),
      intakeOptions: { slackIdpUserMap: map },
    });
    const { request } = await pipe.intake.submit({
      target: { kind: 'user', userId: 'bob' },
      reason: 'terminated',
      requestedBy: { source: 'hr', id: 'standard' },
      source: 'hr',
      effectiveAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(request.state).toBe('scheduled');

    // Bob's Slack email (confirmed) is dave's address at the IdP: by email he would pass as dave. The
    // mapping says who he is.
    expect(
      await forbidden(pipe.intake.requestCancel(request.id, slack('UBOB', 'dave@example.com'))),
    ).toContain('your own access');
    // Unmapped and no confirmed email: cannot be told apart from the person leaving.
    expect(await forbidden(pipe.intake.requestCancel(request.id, slack('UEVE')))).toContain(
      'cannot tell who you are',
    );
    expect((await pipe.store.get(request.id))?.cancelVotes ?? []).toHaveLength(0);

    // Mapped others count without any Slack email: the two-person rule is met.
    const first = await pipe.intake.requestCancel(request.id, slack('UALICE'));
    expect(first).toMatchObject({ cancelled: false, votes: 1, required: 2 });
    const second = await pipe.intake.requestCancel(request.id, slack('UCAROL'));
    expect(second).toMatchObject({ cancelled: true, votes: 2 });
    expect((await pipe.store.get(request.id))?.state).toBe('cancelled');
    // The IdP's own state: bob's token is untouched.
    expect(await idp.listUserTokens('bob')).toHaveLength(1);
  });

  it('is a JSON object inline or in a file, validated: Slack user ids to IdP user ids', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'revoker-map-'));
    try {
      const file = join(dir, 'map.json');
      await writeFile(file, JSON.stringify({ W012ABC: '00u1abcd' }));
      expect([...loadSlackIdpUserMap({ SLACK_IDP_USER_MAP: file })]).toEqual([['W012ABC', '00u1abcd']]);
      expect(loadSlackIdpUserMap({}).size).toBe(0);
      // Through the service's own configuration: read at start-up, a bad map stops it with the variable named.
      expect(loadConfig({ SLACK_IDP_USER_MAP: '{"U1":"bob"}' }).slackIdpUserMap?.get('U1')).toBe('bob');
      expect(() => loadConfig({ SLACK_IDP_USER_MAP: '{"bob":"U1"}' })).toThrow(/SLACK_IDP_USER_MAP/);
      for (const bad of [
        '{"alice": "00u1"}',
        '{"U1": ""}',
        '{"U1": 5}',
        '{nope',
        join(dir, 'missing.json'),
        '["U1"]',
      ]) {
        expect(() => loadSlackIdpUserMap({ SLACK_IDP_USER_MAP: bad }), bad).toThrow(ConfigError);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
