import { describe, expect, it } from 'vitest';
import { REQUEST_STATES, type RequestState } from '../../../src/domain/request.ts';
import type { IdpUser, TokenInfo } from '../../../src/identity/port.ts';
import type { RequestRecord } from '../../../src/intake/types.ts';
import { silentLogger } from '../../../src/log.ts';
import type { SlackAccess } from '../../../src/slack/access.ts';
import { refusalText } from '../../../src/slack/access.ts';
import { searchTargetOptions } from '../../../src/slack/actions/target-options.ts';
import { submittedView } from '../../../src/slack/actions/view-submissions.ts';
import { USAGE } from '../../../src/slack/commands/parse-revoke-command.ts';
import { statusText } from '../../../src/slack/commands/revoke-command.ts';
import { buildHomeView } from '../../../src/slack/home/home-view.ts';
import { buildApprovalMessage } from '../../../src/slack/messages/approval-message.ts';
import {
  buildAutomatedRequestNotice,
  buildCancelledNotice,
  buildDeadLetterNotice,
  buildOutcomeNotice,
  buildUnknownEmployeeNotice,
} from '../../../src/slack/messages/notify-messages.ts';
import { buildOutcomeDm } from '../../../src/slack/messages/outcome-message.ts';
import { buildConfirmModal } from '../../../src/slack/views/confirm-modal.ts';
import { buildDenyModal } from '../../../src/slack/views/deny-modal.ts';
import { buildLoadingModal, buildNoticeModal } from '../../../src/slack/views/modal-views.ts';
import { buildScopeModal } from '../../../src/slack/views/scope-modal.ts';
import { buildUserTokensModal } from '../../../src/slack/views/user-tokens-modal.ts';
import { checkSlackPayload, type PayloadKind } from '../../../src/slack-contract/index.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';

/**
 * Every builder fed the worst input its fields allow — names and reasons at their maximum length made of
 * `&`, `<`, `>`, emoji and `<!channel>`; 0, 1 and 1,000 tokens; 100+ search results — must still produce
 * what Slack accepts (the Block Kit contract) and stay readable (hostile text shown escaped, not parsed).
 */
const PIECES = ['&', '<', '>', '😀', '<!channel>', '👩‍💻', 'a'];

/** Exactly `n` UTF-16 code units of hostile text, never ending in half an emoji. */
function hostile(n: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) {
    for (const ch of PIECES[i % PIECES.length]!) {
      if (s.length + ch.length > n) return s.padEnd(n, '&');
      s += ch;
    }
  }
  return s;
}

/** Every text Slack parses as mrkdwn: mrkdwn text objects and a message's top-level `text`. */
function mrkdwnTexts(v: unknown, top = true): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => mrkdwnTexts(x, false));
  if (typeof v !== 'object' || v === null) return [];
  const o = v as Record<string, unknown>;
  const own = (o.type === 'mrkdwn' || top) && typeof o.text === 'string' ? [o.text] : [];
  return [...own, ...Object.values(o).flatMap((x) => mrkdwnTexts(x, false))];
}

function accept(kind: PayloadKind, payload: unknown): void {
  const v = checkSlackPayload(kind, payload);
  expect(v, v ? `${v.rule} at ${v.path}` : '').toBeUndefined();
  // Readable: a mention or link from user text never reaches mrkdwn unescaped (plain_text is not parsed).
  for (const text of mrkdwnTexts(payload)) expect(text).not.toContain('<!channel>');
}

const LONG_ID = `req_${'x'.repeat(124)}`;
const NAME = hostile(256);
const REASON = hostile(2000);

function record(state: RequestState, over: Partial<RequestRecord> = {}): RequestRecord {
  const now = new Date().toISOString();
  return {
    id: LONG_ID,
    target: { kind: 'token', userId: hostile(256), tokenId: hostile(256) },
    reason: REASON,
    requestedBy: { source: 'hr', id: hostile(256), name: NAME },
    source: 'hr',
    createdAt: now,
    updatedAt: now,
    effectiveAt: now,
    state,
    workflow: hostile(100),
    requiredApprovals: 3,
    approvers: ['UAPPROVER1'],
    allowSelfApproval: false,
    approvals: [
      { by: 'UAPPROVER1', name: NAME, at: now },
      { by: hostile(256), name: NAME, at: now },
    ],
    approvalExpiresAt: now,
    targetName: hostile(500),
    impact: { tokenCount: 1000, userCount: 1000 },
    progress: { done: 400, total: 1000 },
    result: { ok: false, revoked: 400, remaining: 600, error: hostile(2000) },
    denial: { by: hostile(256), at: now, reason: REASON },
    ...over,
  };
}

const STATES = REQUEST_STATES;

const user: IdpUser = {
  id: hostile(256),
  userName: hostile(256),
  email: hostile(256),
  displayName: hostile(500),
  active: true,
};

function tokens(n: number): TokenInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `tok_${i}_${hostile(200)}`,
    userId: user.id,
    type: i % 2 ? 'refresh_token' : 'access_token',
    applicationId: hostile(256),
    resourceServerId: hostile(256),
    scopes: Array.from({ length: 50 }, () => hostile(40)),
    issuedAt: '2026-01-01T00:00:00Z',
    expiresAt: '2026-01-01T01:00:00Z',
  }));
}

describe('messages with extreme input', () => {
  it.each(STATES)('approval message, %s', (state) => {
    const body = buildApprovalMessage(record(state));
    accept('chat.postMessage', { channel: 'C1', ...body });
    // The reason is shown escaped, cut with an ellipsis, not dropped.
    expect(JSON.stringify(body)).toContain('&amp;&lt;&gt;😀&lt;!channel&gt;');
  });

  it.each(STATES)('outcome DM, notices, %s', (state) => {
    const r = record(state);
    for (const body of [
      buildOutcomeDm(r),
      buildAutomatedRequestNotice(r),
      buildCancelledNotice(r, 'U0CANCELLER'),
      buildOutcomeNotice(r),
      buildDeadLetterNotice(r),
    ]) {
      accept('chat.postMessage', { channel: 'C1', ...body });
    }
  });

  it('the scheduled notice’s Cancel confirmation fits as plain_text ≤ 300', () => {
    const body = buildAutomatedRequestNotice(record('scheduled'));
    accept('chat.postMessage', { channel: 'C1', ...body });
    expect(JSON.stringify(body)).toContain('scheduled_cancel');
  });

  it('unknown-employee notice', () => {
    accept('chat.postMessage', {
      channel: 'C1',
      ...buildUnknownEmployeeNotice({
        source: hostile(50),
        employeeId: hostile(256),
        email: hostile(256),
        eventId: hostile(256),
      }),
    });
  });

  it('status answer and usage (command ack / response_url)', () => {
    accept('command_ack', { response_type: 'ephemeral', text: USAGE });
    accept('response_url', { response_type: 'ephemeral', text: statusText(record('running'), LONG_ID) });
    accept('response_url', { response_type: 'ephemeral', text: statusText(undefined, hostile(256)) });
  });
});

describe('views with extreme input', () => {
  it.each([0, 1, 1000])('user tokens tab with %i tokens', (n) => {
    const view = buildUserTokensModal({
      user,
      tokens: tokens(n),
      listed: true,
      canRevokeToken: true,
      canRevokeUser: true,
    });
    accept('views.update', { view_id: 'V1', view });
    if (n === 1000) expect(JSON.stringify(view)).toContain('Tokens 1–40 of 1000.');
  });

  it('scope modal, every scope, with hostile unsupported reasons', () => {
    const idp = new FakeSlackIdp();
    const caps = {
      ...idp.capabilities,
      scopes: { token: true, user: true, application: false, resourceServer: false },
      unsupportedReasons: { application: hostile(2000), resourceServer: hostile(2000) },
    };
    accept('views.open', { trigger_id: 't', view: buildScopeModal({ idpName: NAME, capabilities: caps }) });
    for (const scope of ['token', 'user', 'application', 'resourceServer'] as const) {
      const view = buildScopeModal({ idpName: NAME, capabilities: idp.capabilities, scope });
      accept('views.update', { view_id: 'V1', view });
      accept('views.update', {
        view_id: 'V1',
        view: buildScopeModal({ idpName: NAME, capabilities: { ...idp.capabilities, search: false }, scope }),
      });
    }
  });

  it('confirmation, deny, loading, notice, submitted', () => {
    const target = { kind: 'token' as const, userId: hostile(256), tokenId: hostile(256) };
    const confirm = buildConfirmModal({
      target,
      label: hostile(5000),
      plan: { target, steps: [], tokens: [], userCount: 1000, tokenCount: 1000 },
    });
    accept('views.update', { view_id: 'V1', view: confirm });
    accept('views.open', {
      trigger_id: 't',
      view: buildDenyModal({ requestId: LONG_ID, responseUrl: 'https://hooks.slack.test/x' }),
    });
    accept('views.push', { trigger_id: 't', view: buildLoadingModal(hostile(5000)) });
    accept('views.update', { view_id: 'V1', view: buildNoticeModal(hostile(100), 'plain') });
    for (const state of STATES)
      accept('view_ack', { response_action: 'update', view: submittedView(record(state)) });
  });

  it('App Home with full lists of hostile requests and a notice', () => {
    const many = (state: RequestState) =>
      Array.from({ length: 25 }, (_, i) => record(state, { id: `${i}_${LONG_ID}`.slice(0, 128) }));
    const view = buildHomeView({
      awaiting: many('pending_approval'),
      mine: many('failed'),
      hr: many('verified'),
      notice: hostile(5000),
    });
    accept('views.publish', { user_id: 'U1', view });
  });
});

/** The picker is asked by someone who may request every scope (the deny-by-default gate lets them through). */
const requesterOfEverything: SlackAccess = {
  refusal: refusalText(),
  requestableScopes: async () => ['token', 'user', 'application', 'resourceServer'],
  maySee: async () => true,
  isStaff: async () => true,
};

describe('options with 100+ search results', () => {
  it.each(['user', 'token', 'application', 'resourceServer'] as const)('%s picker', async (scope) => {
    const idp = new FakeSlackIdp();
    const big = Array.from({ length: 150 }, (_, i) => ({ n: i, name: hostile(300) }));
    idp.users = big.map(({ n, name }) => ({ id: `u${n}`, userName: name, displayName: name, active: true }));
    idp.apps = big.map(({ n, name }) => ({ id: `a${n}`, name }));
    idp.apis = big.map(({ n, name }) => ({ id: `r${n}`, name, audience: name }));
    // A search that ignores the limit, as some IdPs do.
    idp.searchUsers = async () => idp.users;
    idp.searchApplications = async () => idp.apps;
    idp.searchResourceServers = async () => idp.apis;
    const options = await searchTargetOptions(
      {
        type: 'block_suggestion',
        value: '&',
        user: { id: 'U0ADMIN' },
        view: { private_metadata: JSON.stringify({ scope }) },
      },
      { idp, logger: silentLogger, intake: undefined as never, access: requesterOfEverything },
    );
    expect(options.length).toBeGreaterThan(0);
    accept('options', { options });
  });
});
