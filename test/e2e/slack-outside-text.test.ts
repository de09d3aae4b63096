import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverHr, signHrDelivery } from '../helpers/hr-signing.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SlackApiStub, type SlackCall, slackServiceEnv } from '../helpers/slack.ts';

/**
 * Issue 20 items 4/5 at the boundary: outside text is sanitised where it enters (sanitizeOutsideText). A
 * signed HR delivery whose employeeId carries a lone surrogate, for a person whose IdP display name carries a
 * right-to-left override, is stored clean and reaches Slack (the one Web API stand-in, which refuses a lone
 * surrogate as Slack cannot decode one) clean, and the Slack call succeeds.
 */
const SLACK = slackServiceEnv('outside-text');
const HR_SECRET = `whsec_${Buffer.from('e2e-outside-text-secret-0123456').toString('base64')}`;
const stub = new SlackApiStub(SLACK.api);
let t: TestService;

beforeAll(async () => {
  stub.listen();
  t = await startTestService({ ...SLACK.env, HR_STANDARD_SECRET: HR_SECRET });
});
afterAll(async () => {
  await t?.close();
  stub.close();
});

const text = (c: SlackCall) => JSON.stringify(c.args);

describe('outside text entering Revoker', () => {
  it('a lone surrogate in an HR employeeId and a bidi override in an IdP name reach Slack sanitised, and the call succeeds', async () => {
    const user = await t.idaas.addUser({
      userId: 'mallory',
      email: 'mallory@example.com',
      name: 'Mallory \u202Egnp.exe',
      password: 'mallory-password-1',
    });
    // The IdP boundary: every adapter's users pass through the budgeted provider, sanitised.
    const seen = await t.rt.idp.getUser(user.id);
    expect(seen.displayName).toBe('Mallory gnp.exe');

    const since = stub.calls.length;
    const refusedBefore = stub.refused.length;
    const body = JSON.stringify({
      type: 'employee.terminated',
      data: {
        employeeId: 'E\ud800x',
        email: 'mallory@example.com',
        effectiveAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    });
    const delivered = await deliverHr(t.url, 'standard', body, signHrDelivery('standard', HR_SECRET, body));
    expect(delivered.status).toBe(202);
    const notice = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0NOTIFY' && text(c).includes('scheduled_cancel'),
      since,
      15_000,
    );
    // Answered ok by the stand-in (it refuses a lone surrogate with invalid_arguments, as Slack cannot decode it).
    expect(notice.answer?.ok).toBe(true);
    expect(stub.refused.slice(refusedBefore)).toEqual([]);
    const shown = text(notice);
    expect(shown).toContain('E\ufffdx');
    expect(shown).not.toMatch(/\\ud800/i);
    expect(shown).not.toContain('\u202E');
    expect(shown).toContain('Mallory gnp.exe');

    // The HR boundary: the request is stored with the sanitised id, not only displayed so.
    const requestId = String(
      ((notice.args.blocks as { block_id?: string; elements?: { value?: string }[] }[]).find(
        (b) => b.block_id?.startsWith('scheduled_actions') === true,
      )?.elements ?? [])[0]?.value,
    );
    const request = await t.rt.intake.get(requestId);
    expect(request?.reason).toContain('E\ufffdx');
    expect(request?.reason.isWellFormed()).toBe(true);
  });
});
