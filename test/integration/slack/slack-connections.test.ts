import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../../../src/connections/connection-registry.ts';
import { BudgetedIdentityProvider } from '../../../src/identity/budgeted-identity-provider.ts';
import { IdpBudget } from '../../../src/identity/idp-budget.ts';
import { currentIdpCall } from '../../../src/identity/idp-call-context.ts';
import type { IdpApplication } from '../../../src/identity/port.ts';
import { silentLogger } from '../../../src/log.ts';
import {
  createSlackApp,
  createSlackNotifications,
  interactiveConnections,
  type SlackNotifications,
} from '../../../src/slack/index.ts';
import { FakeSlackIdp } from '../../helpers/fake-intake-slack.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';
import {
  blockSuggestionPayload,
  interactivityBody,
  postSlack,
  SlackApiStub,
  type SlackCall,
  slashCommandBody,
  viewActionPayload,
  viewSubmissionPayload,
} from '../../helpers/slack.ts';
import { submitConfirm } from '../../helpers/slack-flows.ts';
import { type SlackTestPipeline, slackTestPipeline } from '../../helpers/slack-intake.ts';
import { serveSlackEvents } from '../../helpers/slack-server.ts';

/**
 * Issue 22 in Slack: with two connections (`a`, the primary, and `b`, each behind its own budget), the
 * "Revoke Tokens" dialog asks which connection an application, API or token belongs to, searches that
 * one in the interactive lane, and the request, its confirmation and its approval message name it.
 */
const SECRET = 'test-signing-secret';
const config = {
  SLACK_SIGNING_SECRET: SECRET,
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: undefined,
  SLACK_API_URL: 'http://slack.test/api/',
  SLACK_APPROVALS_CHANNEL: 'C0APPROVALS',
  SLACK_NOTIFY_CHANNEL: 'C0NOTIFY',
};

/** A fake IdP that remembers the call context (budget, lane) of every application search. */
class RecordingIdp extends FakeSlackIdp {
  readonly searches: { query: string; lane?: string; budget?: unknown }[] = [];
  override async searchApplications(q: string): Promise<IdpApplication[]> {
    const call = currentIdpCall();
    this.searches.push({ query: q, ...(call ? { lane: call.lane, budget: call.budget } : {}) });
    return super.searchApplications(q);
  }
}

const stub = new SlackApiStub(config.SLACK_API_URL);
let redis: Redis;
let prefix: string;
let server: Awaited<ReturnType<typeof serveSlackEvents>>;
let url: string;
let pipe: SlackTestPipeline;
let notifications: SlackNotifications;
const a = new RecordingIdp();
const b = new RecordingIdp();
let budgetB: IdpBudget;

const viewOf = (c: SlackCall) =>
  c.args.view as { private_metadata: string; blocks: Record<string, unknown>[]; callback_id: string };
const text = (c: SlackCall) => JSON.stringify(c.args.blocks ?? c.args.view ?? '');
const post = (payload: object) => postSlack(url, interactivityBody(payload), { secret: SECRET });

beforeAll(async () => {
  stub.listen();
  redis = connectRedis();
  prefix = randomPrefix('slack-conn');
  b.apps = [{ id: 'app_notes', name: 'Notes' }];
  const budgetA = new IdpBudget({ redis, prefix, ratePerSecond: 100 });
  budgetB = new IdpBudget({ redis, prefix, keySuffix: '.b', ratePerSecond: 100 });
  const registry = new ConnectionRegistry([
    { id: 'a', kind: 'fake', idp: new BudgetedIdentityProvider(a, budgetA), budget: budgetA, suffix: '' },
    { id: 'b', kind: 'fake', idp: new BudgetedIdentityProvider(b, budgetB), budget: budgetB, suffix: '.b' },
  ]);
  notifications = createSlackNotifications(
    { config, redis, prefix, logger: silentLogger },
    { settleMs: 50, backoffMs: 50, severalConnections: true },
  );
  notifications.startWorker();
  pipe = await slackTestPipeline({
    idp: registry.primary.idp,
    connections: registry,
    alsoNotify: notifications.notifier,
  });
  const connections = interactiveConnections(registry);
  const slack = createSlackApp({
    config,
    intake: pipe.intake,
    idp: connections[0]!.idp,
    connections,
    redis,
    prefix,
    logger: silentLogger,
    access: pipe.access,
  });
  server = await serveSlackEvents(slack.handler);
  url = server.url;
});

afterAll(async () => {
  await server.close();
  await pipe.close();
  await notifications.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  stub.close();
});

/** Picks a scope in the open dialog `viewId`; answers the re-rendered dialog. */
async function pickScope(viewId: string, scope: string) {
  const since = stub.calls.length;
  const res = await post(
    viewActionPayload({
      userId: 'U0REQUESTER',
      viewId,
      callbackId: 'revoke_scope',
      privateMetadata: '{}',
      action: {
        type: 'radio_buttons',
        action_id: 'scope_select',
        block_id: 'scope_block',
        selected_option: { text: { type: 'plain_text', text: scope }, value: scope },
      },
    }),
  );
  expect(res.status).toBe(200);
  return viewOf(await stub.next('views.update', (c) => c.args.view_id === viewId, since));
}

describe('the Revoke Tokens dialog with two connections (issue 22)', () => {
  it('offers the connection for an app; choosing b makes the search go to b (its budget, interactive lane), and the request, confirmation and approval message name b', async () => {
    const scoped = await pickScope('V_CONN_APP', 'application');
    const select = scoped.blocks.find((x) => x.block_id === 'connection_block') as {
      accessory: {
        type: string;
        options: { text: { text: string }; value: string }[];
        initial_option: unknown;
      };
    };
    expect(select.accessory.type).toBe('static_select');
    expect(select.accessory.options.map((o) => [o.text.text, o.value])).toEqual([
      ['a (fake)', 'a'],
      ['b (fake)', 'b'],
    ]);
    expect(select.accessory.initial_option).toMatchObject({ value: 'a' });
    expect(JSON.parse(scoped.private_metadata)).toEqual({ scope: 'application', connection: 'a' });

    // Choose b: the dialog comes back with b's picker.
    let since = stub.calls.length;
    await post(
      viewActionPayload({
        userId: 'U0REQUESTER',
        viewId: 'V_CONN_APP',
        callbackId: 'revoke_scope',
        privateMetadata: scoped.private_metadata,
        action: {
          type: 'static_select',
          action_id: 'connection_select',
          block_id: 'connection_block',
          selected_option: { text: { type: 'plain_text', text: 'b (fake)' }, value: 'b' },
        },
      }),
    );
    const inB = viewOf(await stub.next('views.update', (c) => c.args.view_id === 'V_CONN_APP', since));
    expect(JSON.parse(inB.private_metadata)).toEqual({ scope: 'application', connection: 'b' });
    const picker = inB.blocks.find((x) => x.type === 'input') as { block_id: string };
    expect(picker.block_id).toBe('target_block.application.b');

    // Typing in b's picker searches b, through b's budget in the interactive lane; a is not asked.
    const searchesOfA = a.searches.length;
    const res = await post(
      blockSuggestionPayload({
        userId: 'U0REQUESTER',
        actionId: 'target_select',
        blockId: picker.block_id,
        value: 'no',
        privateMetadata: inB.private_metadata,
      }),
    );
    const options = ((await res.json()) as { options: { value: string }[] }).options;
    expect(options.map((o) => o.value)).toEqual(['app_notes']);
    expect(b.searches.at(-1)).toMatchObject({ query: 'no', lane: 'interactive' });
    expect(b.searches.at(-1)?.budget).toBe(budgetB);
    expect(a.searches.length).toBe(searchesOfA);

    // Next: the confirmation names b and carries it.
    since = stub.calls.length;
    const submitted = await post(
      viewSubmissionPayload({
        userId: 'U0REQUESTER',
        viewId: 'V_CONN_APP',
        callbackId: 'revoke_scope',
        privateMetadata: inB.private_metadata,
        values: {
          [picker.block_id]: {
            target_select: {
              type: 'external_select',
              selected_option: { text: { type: 'plain_text', text: 'Notes' }, value: 'app_notes' },
            },
          },
        },
      }),
    );
    expect(submitted.status).toBe(200);
    const confirm = viewOf(
      await stub.next('views.update', (c) => viewOf(c)?.callback_id === 'revoke_confirm', since),
    );
    expect(JSON.stringify(confirm.blocks)).toContain('You are about to revoke *Notes (app_notes)* in *b*.');
    expect(JSON.parse(confirm.private_metadata)).toMatchObject({
      target: { kind: 'application', applicationId: 'app_notes' },
      connection: 'b',
    });

    since = stub.calls.length;
    const { requestId } = await submitConfirm(
      { url, secret: SECRET },
      { userId: 'U0REQUESTER', viewId: 'V_CONN_APP_CONFIRM', privateMetadata: confirm.private_metadata },
      stub,
    );
    expect((await pipe.intake.get(requestId!))?.connection).toBe('b');
    const approval = await stub.next(
      'chat.postMessage',
      (c) => c.args.channel === 'C0APPROVALS' && text(c).includes(requestId!),
      since,
    );
    expect(text(approval)).toContain('*Target*\\nall tokens issued to application app_notes (Notes) in b"');
  });

  it('the user scope says it runs in every connection, and offers no connection select', async () => {
    const scoped = await pickScope('V_CONN_USER', 'user');
    expect(scoped.blocks.some((x) => x.block_id === 'connection_block')).toBe(false);
    expect(JSON.stringify(scoped.blocks)).toContain('Runs in every connected system: a, b');
    expect(JSON.parse(scoped.private_metadata)).toEqual({ scope: 'user' });
  });

  it('/revoke app … --idp b resolves in b and names it; an unknown connection is refused naming the configured ones', async () => {
    let since = stub.calls.length;
    await postSlack(url, slashCommandBody({ text: 'app Notes --idp b', triggerId: 'trig-idp-b' }), {
      secret: SECRET,
    });
    const confirm = await stub.next(
      'views.update',
      (c) => viewOf(c)?.callback_id === 'revoke_confirm' && text(c).includes('app_notes'),
      since,
    );
    expect(text(confirm)).toContain('in *b*');
    expect(JSON.parse(viewOf(confirm).private_metadata)).toMatchObject({ connection: 'b' });

    since = stub.calls.length;
    const res = await postSlack(url, slashCommandBody({ text: 'app Notes --idp zz' }), { secret: SECRET });
    const reply = (await res.json()) as { response_type: string; text: string };
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('No connection “zz” (configured: a, b).');
    expect(stub.calls.slice(since).some((c) => c.method === 'views.open')).toBe(false);
  });
});
