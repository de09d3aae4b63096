import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { silentLogger } from '../../../src/log.ts';
import { handleRevokeCommand } from '../../../src/slack/commands/revoke-command.ts';
import { buildAutomatedRequestNotice } from '../../../src/slack/messages/notify-messages.ts';
import { checkSlackShape } from '../../../src/slack/request-guard.ts';
import type { RespondFn } from '../../../src/slack/slack-client.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import type { Pipeline } from '../../helpers/pipeline.ts';
import { FORM, interactivityBody } from '../../helpers/slack.ts';
import { slackTestPipeline } from '../../helpers/slack-intake.ts';
import { fakeClient } from './fake-client.ts';

/** Item 11 of issue 20: four replies that said too much, said the wrong thing, or broke. */
const pipes: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(pipes.splice(0).map((p) => p.close()));
});

async function run(text: string, userId = 'U0REQ') {
  const idp = new FakeSlackIdp();
  const pipe = await slackTestPipeline({ idp });
  pipes.push(pipe);
  const get = vi.spyOn(pipe.intake, 'get');
  const respond = vi.fn<RespondFn>(async () => undefined);
  const acks: unknown[] = [];
  await handleRevokeCommand(
    {
      command: {
        command: '/revoke',
        text,
        user_id: userId,
        user_name: 'req',
        trigger_id: 'trig',
        response_url: 'https://hooks.slack.test/x',
      },
      ack: async (r) => {
        acks.push(r);
      },
      respond,
      client: fakeClient().client,
    },
    { idp, intake: pipe.intake, logger: silentLogger, access: pipe.access },
  );
  const said = JSON.stringify([acks, respond.mock.calls]);
  return { said, get };
}

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3JfYWxpY2UiLCJjbGllbnRfaWQiOiJ3aWtpIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi12YWx1ZQ';

describe('replies', () => {
  it('/revoke token <pasted value> <user>: the value is not echoed', async () => {
    const { said } = await run(`token ${JWT} alice@example.com`);
    expect(said).toMatch(/No token of .* has that id/);
    expect(said).not.toContain(JWT);
    expect(said).not.toContain(JWT.slice(0, 30));
  });

  it('/revoke user <pasted value>: not echoed either', async () => {
    const { said } = await run(`user ${JWT}`);
    expect(said).toContain('No user matches what you typed');
    expect(said).not.toContain(JWT.slice(0, 30));
  });

  it('/revoke status <anything>: no Redis read for a malformed id; the same answer as an unknown one', async () => {
    const odd = await run('status ../../idaas:keys');
    expect(odd.get).not.toHaveBeenCalled();
    expect(odd.said).toContain('No request `../../idaas:keys`.');
    const pasted = await run(`status ${JWT}`);
    expect(pasted.get).not.toHaveBeenCalled();
    expect(pasted.said).toContain('No request has that id.');
    expect(pasted.said).not.toContain(JWT.slice(0, 30));
    const unknown = await run('status req_AAAAAAAAAAAAAAAAAAAA');
    expect(unknown.get).toHaveBeenCalledWith('req_AAAAAAAAAAAAAAAAAAAA');
    expect(unknown.said).toContain('No request `req_AAAAAAAAAAAAAAAAAAAA`.');
    expect(unknown.said).not.toMatch(/went wrong/);
  });

  it('a view_submission (or view_closed) without its view is malformed (400 at the guard, not a 500 in Bolt)', () => {
    const user = { id: 'U1' };
    expect(checkSlackShape(interactivityBody({ type: 'view_submission', user }), FORM)).toBe(false);
    expect(checkSlackShape(interactivityBody({ type: 'view_closed', user, view: {} }), FORM)).toBe(false);
    expect(
      checkSlackShape(
        interactivityBody({
          type: 'view_submission',
          user,
          view: { id: 'V1', callback_id: 'revoke_confirm' },
        }),
        FORM,
      ),
    ).toBe(true);
  });

  it('the notify channel does not say "revoking now" for an offboarding that waits for approval', () => {
    const now = new Date().toISOString();
    const r = {
      id: 'req_AAAAAAAAAAAAAAAAAAAA',
      target: { kind: 'user', userId: 'usr_ceo' },
      reason: 'terminated',
      requestedBy: { source: 'hr', id: 'bamboohr' },
      source: 'hr',
      createdAt: now,
      updatedAt: now,
      effectiveAt: now,
      state: 'pending_approval',
      workflow: 'hr-offboarding',
      requiredApprovals: 1,
      approvers: ['UAPPROVER1'],
      allowSelfApproval: false,
      approvals: [],
      targetName: 'The CEO',
      impact: { tokenCount: 3, userCount: 1 },
    } as unknown as RequestRecord;
    const body = JSON.stringify(buildAutomatedRequestNotice(r));
    expect(body).not.toContain('revoking now');
    expect(body).toContain('waiting for approval');
  });
});
