import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Idaas, startIdaas } from '../../../src/idaas/index.ts';
import { SlackHttpStandIn } from '../../../src/slack-contract/index.ts';
import { RedisServer } from '../../helpers/redis-server.ts';
import { WorkerProcess } from '../../helpers/worker-process.ts';
import { GtrTestServer } from '../../simulators/gtr-app-server.ts';

/** `revoker doctor` and `revoker serve`'s start-up checks, run as the operator runs them (child processes). */
const BOT_TOKEN = `xoxb-${randomBytes(12).toString('hex')}`;
const APPROVALS = 'C0APPROVALS';
const NOTIFY = 'C0NOTIFY';
const ALL_SCOPES = [
  'commands',
  'chat:write',
  'im:write',
  'usergroups:read',
  'users:read',
  'users:read.email',
  'channels:read',
  'groups:read',
];

let lruRedis: RedisServer;
let goodRedis: RedisServer;
let okta: Server;
let oktaUrl: string;
let idaas: Idaas;
const stands: SlackHttpStandIn[] = [];

beforeAll(async () => {
  [lruRedis, goodRedis] = await Promise.all([
    RedisServer.start({ persistence: false, args: ['--maxmemory-policy', 'allkeys-lru'] }),
    RedisServer.start(),
  ]);
  // Okta answers a token without the needed admin role 403 E0000006
  // (https://developer.okta.com/docs/reference/error-codes/#E0000006).
  okta = createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        errorCode: 'E0000006',
        errorSummary: 'You do not have permission to perform the requested action',
        errorLink: 'E0000006',
        errorId: 'oae-doctor-test',
        errorCauses: [],
      }),
    );
  });
  await new Promise<void>((resolve) => okta.listen(0, '127.0.0.1', resolve));
  oktaUrl = `http://127.0.0.1:${(okta.address() as AddressInfo).port}`;
  idaas = await startIdaas({ port: 0, store: 'memory' });
}, 30_000);

afterAll(async () => {
  await Promise.all(stands.map((s) => s.close()));
  okta?.closeAllConnections();
  await new Promise<void>((resolve) => (okta ? okta.close(() => resolve()) : resolve()));
  await idaas?.close();
  await Promise.all([lruRedis?.stop(), goodRedis?.stop()]);
});

async function slack(scopes: string[], notifyMember: boolean): Promise<string> {
  const s = await new SlackHttpStandIn({
    teamId: 'T0REVOKER',
    workspace: {
      token: BOT_TOKEN,
      scopes,
      channels: {
        [APPROVALS]: { name: 'revoker-approvals', member: true },
        [NOTIFY]: { name: 'revoker-notify', member: notifyMember },
      },
    },
  }).start();
  stands.push(s);
  return s.apiUrl;
}

async function run(args: string[], env: Record<string, string>) {
  const p = new WorkerProcess({ args, env });
  const exit = await p.waitForExit(50_000);
  return { code: exit.code, stdout: p.stdout, stderr: p.stderr };
}

const slackEnv = (apiUrl: string) => ({
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: 'doctor-test-signing-secret',
  SLACK_API_URL: apiUrl,
  SLACK_APPROVALS_CHANNEL: APPROVALS,
  SLACK_NOTIFY_CHANNEL: NOTIFY,
  SLACK_ADMIN_USERS: 'U0ADMIN',
  SLACK_APPROVER_USERS: 'U0APPROVER1,U0APPROVER2',
});

/** The failing line and the fix under it. */
function failure(stdout: string, pattern: RegExp): { line: string; fix: string } {
  const lines = stdout.split('\n');
  const i = lines.findIndex((l) => l.startsWith('✗') && pattern.test(l));
  expect(i, `no failing line matching ${pattern} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  expect(lines[i + 1], `no fix under ${lines[i]}`).toMatch(/^ {4}fix: \S/);
  return { line: lines[i]!, fix: lines[i + 1]! };
}

describe('revoker doctor', () => {
  it('names each problem with its fix and exits 1: eviction, no persistence, a missing scope, a bot outside the notify channel, IdP 403, an HR source without a secret', {
    timeout: 60_000,
  }, async () => {
    const apiUrl = await slack(
      ALL_SCOPES.filter((s) => s !== 'usergroups:read'),
      false,
    );
    const r = await run(['doctor'], {
      REDIS_URL: lruRedis.url,
      IDP: 'okta',
      OKTA_ORG_URL: oktaUrl,
      OKTA_API_TOKEN: 'okta-token-without-admin-role',
      ...slackEnv(apiUrl),
      HR_STANDARD_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
      BAMBOOHR_API_URL: 'https://api.bamboohr.com/api/gateway.php/example',
      BAMBOOHR_API_KEY: 'bamboo-api-key',
    });
    expect(r.code, r.stderr).toBe(1);
    expect(failure(r.stdout, /maxmemory-policy is allkeys-lru/).fix).toContain('noeviction');
    expect(failure(r.stdout, /persistence off/).fix).toContain('appendonly yes');
    expect(failure(r.stdout, /slack: token lacks usergroups:read/).fix).toContain('usergroups:read');
    expect(failure(r.stdout, /bot is not a member of #revoker-notify/).fix).toContain('/invite');
    expect(failure(r.stdout, /idp: okta refused the credentials \(HTTP 403/).fix).toMatch(/OKTA_API_TOKEN/);
    expect(failure(r.stdout, /hr: bamboohr: .*HR_BAMBOOHR_SECRET/).fix).toContain('set HR_BAMBOOHR_SECRET');
    // What is right is said to be right.
    expect(r.stdout).toMatch(/^✓ redis: reachable/m);
    expect(r.stdout).toMatch(/^✓ slack: bot is a member of #revoker-approvals/m);
    expect(r.stdout).toMatch(/^✓ hr: standard: webhook secret set/m);
    expect(r.stdout).toMatch(/^doctor: 6 of \d+ checks failed$/m);
  });

  it('a correct setup passes every check and exits 0', { timeout: 60_000 }, async () => {
    const apiUrl = await slack(ALL_SCOPES, true);
    const r = await run(['doctor'], {
      REDIS_URL: goodRedis.url,
      IDP: 'idaas',
      IDAAS_URL: idaas.url,
      IDAAS_ADMIN_TOKEN: idaas.adminToken,
      ...slackEnv(apiUrl),
      HR_STANDARD_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
      SCIM_TOKEN: randomBytes(24).toString('hex'),
    });
    expect(r.stdout).not.toMatch(/^✗/m);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^✓ idp: IDaaS at \S+ can revoke: token, user, application, resourceServer/m);
    expect(r.stdout).toMatch(/^✓ idp: IDaaS at \S+ may read applications \(scope application\)$/m);
    expect(r.stdout).toMatch(/^✓ slack: scopes cover what Revoker calls/m);
    expect(r.stdout).toMatch(/^doctor: all \d+ checks passed$/m);
  });
});

describe('revoker doctor with several connections (issue 22)', () => {
  it('checks every connection IDP names, each under its own name and limit', {
    timeout: 60_000,
  }, async () => {
    const r = await run(['doctor'], {
      REDIS_URL: goodRedis.url,
      IDP: 'idaas,okta',
      IDAAS_URL: idaas.url,
      IDAAS_ADMIN_TOKEN: idaas.adminToken,
      OKTA_ORG_URL: oktaUrl,
      OKTA_API_TOKEN: 'okta-token-without-admin-role',
      OKTA_RATE_LIMIT: '5',
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/^✓ idp: connection idaas \(IDaaS at \S+, 50\/s\) can revoke: token, user/m);
    expect(
      failure(r.stdout, /idp: connection okta \(okta, 5\/s\) refused the credentials \(HTTP 403/).fix,
    ).toMatch(/OKTA_API_TOKEN/);
  });

  it('checks each GTR_APPS app as its connection gtr-<name>: metadata and authentication, a refused client secret named', {
    timeout: 60_000,
  }, async () => {
    const app = await new GtrTestServer({
      people: [],
      clients: [{ clientId: 'revoker', clientSecret: 'the-right-secret' }],
    }).start();
    try {
      const jwtKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      const r = await run(['doctor'], {
        REDIS_URL: goodRedis.url,
        IDP: 'idaas',
        IDAAS_URL: idaas.url,
        IDAAS_ADMIN_TOKEN: idaas.adminToken,
        GTR_APPS: JSON.stringify([
          {
            name: 'notes',
            issuer: app.issuer,
            auth: { method: 'private_key_jwt', client_id: 'revoker', private_key: jwtKey, kid: 'k1' },
          },
          {
            name: 'crm',
            issuer: app.issuer,
            auth: { method: 'client_credentials', client_id: 'revoker', client_secret: 'a-wrong-secret' },
            rate_limit: 3,
          },
        ]),
      });
      expect(r.code, r.stdout).toBe(1);
      // With apps, the IdP is one connection of several and named so.
      expect(r.stdout).toMatch(/^✓ idp: connection idaas \(IDaaS at \S+, 50\/s\) credentials work$/m);
      expect(r.stdout).toMatch(
        /^✓ idp: connection gtr-notes \(GTR app notes at issuer \S+, 10\/s\) can revoke: user \(/m,
      );
      expect(r.stdout).toMatch(
        /^✓ idp: connection gtr-notes \(GTR app notes at issuer \S+, 10\/s\): its metadata names the endpoint, Revoker signs its private-key JWT \(kid k1\)/m,
      );
      expect(
        failure(
          r.stdout,
          /idp: connection gtr-crm \(GTR app crm at issuer \S+, 3\/s\) refused the credentials/,
        ).fix,
      ).toContain('GTR_APPS');
      expect(r.stdout).toMatch(/^doctor: 1 of \d+ checks failed$/m);
    } finally {
      await app.close();
    }
  });
});

describe('revoker serve at start', () => {
  it('refuses to start on a contradiction, with one line', { timeout: 60_000 }, async () => {
    const r = await run(['serve'], {
      REDIS_URL: goodRedis.url,
      SLACK_SIGNING_SECRET: 'a-signing-secret',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'revoker: SLACK_BOT_TOKEN: is required with SLACK_SIGNING_SECRET: Revoker could hear Slack but not answer it',
    );
  });

  it('logs the configuration summary: IdP, Slack mode, HR sources, workflows', {
    timeout: 60_000,
  }, async () => {
    const p = new WorkerProcess({
      args: ['serve', '--role', 'worker'],
      env: {
        REDIS_URL: goodRedis.url,
        REVOKER_PREFIX: `doctor-${randomBytes(4).toString('hex')}`,
        IDAAS_URL: idaas.url,
        IDAAS_ADMIN_TOKEN: idaas.adminToken,
        HR_STANDARD_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
        LOG_LEVEL: 'info',
      },
    });
    try {
      const deadline = Date.now() + 45_000;
      let summary: Record<string, unknown> | undefined;
      while (!summary && Date.now() < deadline && p.running) {
        summary = p.logLines().find((l) => l.msg === 'revoker configuration');
        if (!summary) await new Promise((r) => setTimeout(r, 100));
      }
      expect(summary, p.stderr).toMatchObject({
        role: 'worker',
        idp: `idaas at ${idaas.url}`,
        slack: 'off',
        hrSources: ['standard'],
        workflows: expect.arrayContaining(['cli', 'hr-offboarding']),
        redis: 'single',
        replicasAck: 0,
      });
    } finally {
      p.kill('SIGTERM');
      await p.waitForExit(15_000).catch(() => p.stop());
    }
  });
});
