import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Idaas, type IssuedTokens, seedClients, startIdaas, tokenRef } from '../../src/idaas/index.ts';
import { matchesSaltedHash } from '../../src/intake/leaked-token-service.ts';
import { REDACT_PATHS } from '../../src/log.ts';
import { runRevoker } from '../helpers/cli.ts';
import { connectRedis } from '../helpers/redis.ts';
import { isAlive, isDead, startTestService, type TestService } from '../helpers/service.ts';
import {
  interactivityBody,
  postSlack,
  SlackApiStub,
  slashCommandBody,
  viewActionPayload,
  viewSubmissionPayload,
} from '../helpers/slack.ts';

/**
 * A leaked token, killed by its value from the CLI and from Slack, through IDP=idaas (the embedded IDaaS
 * in-process) and IDP=oauth (the generic RFC 7009/7662 adapter pointed at an IDaaS): real tokens, real
 * introspection and revocation. Then the value is looked for everywhere Revoker writes — every log line
 * (debug level), every Redis key under the prefix (jobs, requests, audit, Slack outbox), every Slack
 * call and answer, the CLI's output — and must be nowhere.
 */
const SECRET = 'leaked-e2e-signing-secret';
const ADMIN = 'UADMIN1';

describe.each(['idaas', 'oauth'] as const)('revoking a leaked token by its value (IDP=%s)', (idp) => {
  const stub = new SlackApiStub(`http://slack.leaked-${idp}.test/api/`);
  const logs: string[] = [];
  const outputs: string[] = [];
  const slackAnswers: string[] = [];
  const values: string[] = [];
  let t: TestService;
  let idaas: Idaas;
  let external: Idaas | undefined;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    stub.listen();
    const logger = pino(
      { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logs.push(chunk.toString());
          done();
        },
      }),
    );
    const slackEnv = {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-leaked',
      SLACK_API_URL: stub.apiUrl,
    };
    if (idp === 'oauth') {
      external = await startIdaas();
      idaas = external;
      const clients = JSON.stringify(
        seedClients(idaas.seed).map((c) => ({ client_id: c.clientId, client_secret: c.clientSecret })),
      );
      const env = { IDP: 'oauth', OAUTH_ISSUER: idaas.issuer, OAUTH_CLIENTS: clients };
      t = await startTestService({ ...env, ...slackEnv }, { logger, prefixLabel: 'leaked' });
      cliEnv = env;
    } else {
      t = await startTestService(slackEnv, { logger, prefixLabel: 'leaked' });
      idaas = t.idaas;
      // The CLI reaches an IDaaS it does not run: its URL, admin token, and the apps' credentials.
      const clients = JSON.stringify(
        seedClients(idaas.seed).map((c) => ({ client_id: c.clientId, client_secret: c.clientSecret })),
      );
      cliEnv = { IDAAS_URL: idaas.url, IDAAS_ADMIN_TOKEN: idaas.adminToken, OAUTH_CLIENTS: clients };
    }
  });

  afterAll(async () => {
    await t?.close();
    await external?.close();
    stub.close();
  });

  async function mint(user: string, application: string, resourceServer?: string): Promise<IssuedTokens> {
    const [tok] = await idaas.mintTokens({
      user,
      application,
      ...(resourceServer ? { resourceServer } : {}),
    });
    values.push(tok!.access_token, tok!.refresh_token!);
    return tok!;
  }

  /**
   * A token whose value begins with `-` (base64url does one time in 64), minted on purpose: on argv a
   * parser would read it as an option, and must still refuse it without printing it.
   */
  async function mintDashed(user: string, application: string): Promise<IssuedTokens> {
    for (let round = 0; round < 20; round++) {
      const batch = await idaas.mintTokens({ user, application, count: 64 });
      const dashed = batch.find((t) => t.access_token.startsWith('-'));
      if (dashed) {
        values.push(dashed.access_token, dashed.refresh_token!);
        return dashed;
      }
    }
    throw new Error('no minted token began with "-" in 1280 tries');
  }

  async function revoker(args: string[], stdin: string) {
    const env = { REDIS_URL: t.rt.config.REDIS_URL, REVOKER_PREFIX: t.prefix, LOG_LEVEL: 'debug', ...cliEnv };
    const run = await runRevoker(args, env, { stdin });
    outputs.push(run.stdout, run.stderr);
    return run;
  }

  async function slack(payload: object): Promise<Record<string, unknown>> {
    const res = await postSlack(`${t.url}/slack/events`, interactivityBody(payload), { secret: SECRET });
    expect(res.status).toBe(200);
    const text = await res.text();
    slackAnswers.push(text);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  it('revoker revoke leaked: reads stdin, shows owner and client, revokes with the owning client, verifies', async () => {
    const leaked = await mint('alice', 'expense-portal', 'payroll-api');
    const bystander = await mint('alice', 'team-wiki');
    const run = await revoker(
      ['revoke', 'leaked', '--yes', '--reason', 'pasted in ticket SEC-1'],
      leaked.access_token,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${tokenRef(leaked.access_token)}: active access token`);
    expect(run.stdout).toMatch(/owner: +usr_\S+/);
    expect(run.stdout).toMatch(/client: +expense-portal/);
    expect(run.stdout).toContain('resource: https://payroll.example.com/api');
    expect(run.stdout).toContain('introspection now says inactive');
    expect(await isDead(idaas, leaked)).toBe(true);
    expect(await isAlive(idaas, bystander)).toBe(true);
  }, 90_000);

  it('refuses a token on the command line, and asks for --yes when stdin carried it', async () => {
    const tok = await mint('bob', 'team-wiki');
    const argv = await revoker(['revoke', 'leaked', tok.access_token], '');
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('never from the command line');
    const dashed = await mintDashed('bob', 'team-wiki');
    const asOption = await revoker(['revoke', 'leaked', dashed.access_token], '');
    expect(asOption.code).toBe(2);
    expect(asOption.stderr).toContain('never from the command line');
    expect(`${asOption.stdout}${asOption.stderr}`).not.toContain(dashed.access_token.slice(1));
    expect(await isAlive(idaas, dashed)).toBe(true);
    const unconfirmed = await revoker(['revoke', 'leaked'], tok.access_token);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stdout).toContain('confirm with --yes');
    expect(await isAlive(idaas, tok)).toBe(true);
  }, 90_000);

  it('Slack: "A leaked token (paste it)" → confirmation without the value → revoked and verified', async () => {
    const leaked = await mint('carol', 'team-wiki');
    const bystander = await mint('carol', 'expense-portal');
    const since = stub.calls.length;
    await postSlack(`${t.url}/slack/events`, slashCommandBody({ userId: ADMIN, triggerId: 'trig-leaked' }), {
      secret: SECRET,
    });
    const opened = await stub.next('views.open', () => true, since);
    const scopeView = opened.args.view as { private_metadata: string; blocks: unknown[] };
    expect(JSON.stringify(scopeView.blocks)).toContain('A leaked token (paste it)');

    const s2 = stub.calls.length;
    await slack(
      viewActionPayload({
        userId: ADMIN,
        viewId: 'V_LEAKED',
        callbackId: 'revoke_scope',
        privateMetadata: scopeView.private_metadata,
        action: {
          type: 'radio_buttons',
          action_id: 'scope_select',
          block_id: 'scope_block',
          selected_option: {
            value: 'leaked',
            text: { type: 'plain_text', text: 'A leaked token (paste it)' },
          },
        },
      }),
    );
    const paste = (await stub.next('views.update', (c) => c.args.view_id === 'V_LEAKED', s2)).args.view as {
      private_metadata: string;
      submit?: unknown;
      blocks: { block_id?: string }[];
    };
    expect(paste.submit).toBeDefined(); // a modal with input blocks needs a submit button (Slack's rule)
    expect(paste.blocks.some((b) => b.block_id === 'leaked_token_block')).toBe(true);

    const next = await slack(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_LEAKED',
        callbackId: 'revoke_scope',
        privateMetadata: paste.private_metadata,
        values: {
          leaked_token_block: {
            leaked_token_input: { type: 'plain_text_input', value: `\n${leaked.access_token}\n` },
          },
        },
      }),
    );
    expect(next.response_action).toBe('update');
    const confirm = next.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(confirm.callback_id).toBe('revoke_leaked_confirm');
    const shown = JSON.stringify(confirm.blocks);
    expect(shown).toContain(tokenRef(leaked.access_token));
    expect(shown).toContain('team-wiki');
    expect(shown).toMatch(/usr_/);
    expect(await isAlive(idaas, bystander)).toBe(true);

    const done = await slack(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_LEAKED',
        callbackId: 'revoke_leaked_confirm',
        privateMetadata: confirm.private_metadata,
        values: { reason_block: { reason_input: { type: 'plain_text_input', value: 'posted in #general' } } },
      }),
    );
    expect(done).toMatchObject({ response_action: 'update', view: { title: { text: 'Token revoked' } } });
    expect(await isDead(idaas, leaked)).toBe(true);
    expect(await isAlive(idaas, bystander)).toBe(true);

    // A replayed confirmation finds nothing held: the value was taken once. (Replayed from a copy of the
    // confirmation: Slack itself no longer shows the one that was answered with the outcome.)
    const replay = await slack(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_LEAKED_REPLAY',
        callbackId: 'revoke_leaked_confirm',
        privateMetadata: confirm.private_metadata,
        values: { reason_block: { reason_input: { type: 'plain_text_input', value: 'again' } } },
      }),
    );
    expect(replay).toMatchObject({ response_action: 'errors' });
  });

  it('Slack: a value no configured client sees is revoked with each and reported "could not confirm", never "nothing to revoke"', async () => {
    // Never issued, or issued to a client Revoker was not given: introspection cannot tell (RFC 7662 §2.2).
    const unseen = `unseen-${randomBytes(24).toString('base64url')}`;
    values.push(unseen);
    const next = await slack(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_UNSEEN',
        callbackId: 'revoke_scope',
        privateMetadata: JSON.stringify({ scope: 'leaked' }),
        values: { leaked_token_block: { leaked_token_input: { type: 'plain_text_input', value: unseen } } },
      }),
    );
    expect(JSON.stringify(next)).not.toMatch(/Nothing to revoke|nothing to revoke/);
    const confirm = next.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(confirm.callback_id).toBe('revoke_leaked_confirm');
    expect(JSON.stringify(confirm.blocks)).toContain('OAUTH_CLIENTS');
    const done = await slack(
      viewSubmissionPayload({
        userId: ADMIN,
        viewId: 'V_UNSEEN',
        callbackId: 'revoke_leaked_confirm',
        privateMetadata: confirm.private_metadata,
        values: { reason_block: { reason_input: { type: 'plain_text_input', value: 'found in a paste' } } },
      }),
    );
    expect(done).toMatchObject({ response_action: 'update', view: { title: { text: 'Could not confirm' } } });
    expect(JSON.stringify(done)).toContain(
      'none of the configured clients can see this token; add its client to OAUTH_CLIENTS',
    );
    let audited: Record<string, unknown> | undefined;
    for await (const e of t.rt.audit.entries()) {
      if (
        e.action === 'token.revoked_by_value' &&
        e.target?.kind === 'token' &&
        e.target.tokenId === tokenRef(unseen)
      )
        audited = e.detail;
    }
    expect(audited).toMatchObject({ outcome: 'unverifiable', verified: false });
  });

  it('someone outside the token workflow learns nothing about the token, and nothing is revoked', async () => {
    const tok = await mint('dave', 'expense-portal');
    const refused = await slack(
      viewSubmissionPayload({
        userId: 'UOUTSIDER',
        viewId: 'V_OUT',
        callbackId: 'revoke_scope',
        privateMetadata: JSON.stringify({ scope: 'leaked' }),
        values: {
          leaked_token_block: { leaked_token_input: { type: 'plain_text_input', value: tok.access_token } },
        },
      }),
    );
    // The deny-by-default gate answers before the value is even read: one refusal, nothing looked up.
    expect(refused).toMatchObject({ response_action: 'update' });
    expect(JSON.stringify(refused)).toMatch(/not allowed to request revocations/);
    expect(JSON.stringify(refused)).not.toMatch(/usr_|expense-portal|tok_/);
    expect(await isAlive(idaas, tok)).toBe(true);
  });

  it('the audit has the token id and a salted hash; the value is in no log, Redis key, Slack call or CLI output', async () => {
    const byValue: { tokenId: string; detail: Record<string, unknown> }[] = [];
    for await (const e of t.rt.audit.entries()) {
      if (e.action === 'token.revoked_by_value' && e.target?.kind === 'token') {
        byValue.push({ tokenId: e.target.tokenId, detail: e.detail ?? {} });
      }
    }
    // Two revoked (CLI, Slack) and one unverifiable (Slack, a value no configured client sees).
    expect(byValue.map((e) => e.detail.outcome).sort()).toEqual(['revoked', 'revoked', 'unverifiable']);
    for (const e of byValue) {
      const value = values.find((v) => tokenRef(v) === e.tokenId);
      expect(value).toBeDefined();
      expect(matchesSaltedHash(value!, String(e.detail?.tokenHash))).toBe(true);
      if (e.detail.outcome === 'revoked') expect(e.detail).toMatchObject({ verified: true });
    }

    const redis = connectRedis();
    const stored: string[] = [];
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${t.prefix}*`, 'COUNT', 500);
        cursor = next;
        for (const key of keys) stored.push(key, await dump(redis, key));
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    expect(stored.length).toBeGreaterThan(10);
    expect(stored.join('\n')).toMatch(/token\.revoked_by_value/); // the audit stream was read

    const slackCalls = [
      ...stub.calls.map((c) => JSON.stringify(c)),
      ...stub.responses.map((r) => JSON.stringify(r)),
      ...slackAnswers,
    ];
    expect(slackCalls.length).toBeGreaterThan(3);
    expect(logs.length).toBeGreaterThan(10);
    const haystacks = {
      logs: logs.join(''),
      redis: stored.join('\n'),
      slack: slackCalls.join('\n'),
      cli: outputs.join('\n'),
    };
    // The search looks where the revocations were written: their token ids are there.
    for (const [where, text] of Object.entries(haystacks)) {
      expect(
        byValue.some((e) => text.includes(e.tokenId)),
        `${where} names a revoked token id`,
      ).toBe(true);
    }
    for (const value of values) {
      for (const [where, text] of Object.entries(haystacks)) {
        expect(text.includes(value), `${where} holds a token value`).toBe(false);
      }
    }
  });
});

async function dump(redis: ReturnType<typeof connectRedis>, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string':
      return (await redis.get(key)) ?? '';
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, '0', '-1'));
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    default:
      return '';
  }
}

describe('IDP=oauth readiness authenticates', () => {
  it('/readyz is 503 while a configured client’s credentials are refused, 200 once they are right', async () => {
    const idaas = await startIdaas();
    const clients = (secret: string) =>
      JSON.stringify([
        { client_id: 'revoker', client_secret: 'revoker-introspection-secret-0123456789' },
        { client_id: 'team-wiki', client_secret: secret },
      ]);
    const bad = await startTestService({
      IDP: 'oauth',
      OAUTH_ISSUER: idaas.issuer,
      OAUTH_CLIENTS: clients('stale-secret'),
    });
    const good = await startTestService({
      IDP: 'oauth',
      OAUTH_ISSUER: idaas.issuer,
      OAUTH_CLIENTS: clients('team-wiki-secret-0123456789abcd'),
    });
    try {
      const [b, g] = await Promise.all([fetch(`${bad.url}/readyz`), fetch(`${good.url}/readyz`)]);
      const badBody = await b.text();
      await g.arrayBuffer();
      expect([b.status, g.status]).toEqual([503, 200]);
      expect(badBody).not.toContain('stale-secret');
    } finally {
      await bad.close();
      await good.close();
      await idaas.close();
    }
  });
});
