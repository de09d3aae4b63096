import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.ts';
import { connectionLine } from '../connections/connection-status.ts';
import { describeTarget } from '../domain/target.ts';
import { signHrDelivery } from '../hr/index.ts';
import type { RequestRecord } from '../intake/types.ts';
import { createLogger } from '../log.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { type RunningService, startService } from '../service.ts';
import { SlackHttpStandIn } from '../slack-contract/index.ts';
import { type DemoGrant, type Probe, printTable, probe, signIn } from './demo-tokens.ts';
import { ensureRedis } from './ensure-redis.ts';
import { type NotesApp, showBothSystems, signInAtNotes, startNotesApp } from './gtr-app-demo.ts';
import { SlackDriver } from './slack-driver.ts';

const write = (line = '') => process.stdout.write(`${line}\n`);
const step = (title: string) => write(`\n== ${title}`);

/** Every sign-in of the story, and what the story should leave of it. */
const GRANTS: Omit<DemoGrant, 'accessToken' | 'refreshToken' | 'accessTokenId'>[] = [
  {
    label: 'alice @ Expense Portal (#1)',
    user: 'alice',
    app: 'expense-portal',
    expect: { access: 'dies', refresh: 'lives', by: 'one token (CLI)' },
  },
  {
    label: 'alice @ Expense Portal (#2)',
    user: 'alice',
    app: 'expense-portal',
    expect: { access: 'lives', refresh: 'lives' },
  },
  {
    label: 'alice @ Expense Portal → Payroll API',
    user: 'alice',
    app: 'expense-portal',
    resource: 'payroll-api',
    expect: { access: 'lives', refresh: 'lives' },
  },
  {
    label: 'alice @ Team Wiki',
    user: 'alice',
    app: 'team-wiki',
    expect: { access: 'dies', refresh: 'dies', by: 'application (Slack)' },
  },
  {
    label: 'alice @ Expense Portal → Reports API',
    user: 'alice',
    app: 'expense-portal',
    resource: 'reports-api',
    expect: { access: 'dies', refresh: 'dies', by: 'resource server (CLI)' },
  },
  {
    label: 'bob @ Expense Portal',
    user: 'bob',
    app: 'expense-portal',
    expect: { access: 'dies', refresh: 'dies', by: 'user (Slack)' },
  },
  {
    label: 'bob @ Expense Portal → Payroll API',
    user: 'bob',
    app: 'expense-portal',
    resource: 'payroll-api',
    expect: { access: 'dies', refresh: 'dies', by: 'user (Slack)' },
  },
  {
    label: 'carol @ Expense Portal',
    user: 'carol',
    app: 'expense-portal',
    expect: { access: 'dies', refresh: 'dies', by: 'SCIM deactivation' },
  },
  {
    label: 'carol @ Team Wiki',
    user: 'carol',
    app: 'team-wiki',
    expect: { access: 'dies', refresh: 'dies', by: 'application (Slack)' },
  },
  {
    label: 'dave @ Expense Portal',
    user: 'dave',
    app: 'expense-portal',
    expect: { access: 'dies', refresh: 'dies', by: 'HR offboarding' },
  },
  {
    label: 'dave @ Expense Portal → Reports API',
    user: 'dave',
    app: 'expense-portal',
    resource: 'reports-api',
    expect: { access: 'dies', refresh: 'dies', by: 'HR offboarding' },
  },
];

interface DemoContext {
  rt: Runtime;
  service: RunningService;
  grants: DemoGrant[];
  hrSecret: string;
  scimToken: string;
  slack: SlackDriver;
  /** The second system: a SaaS app with its own IDaaS, reached through Global Token Revocation. */
  notes: NotesApp;
  /** Whether the HR termination reached both systems (set by that play). */
  bothSystems?: boolean;
}

const ADMIN = 'UDEMOADMIN';
const APPROVERS = ['UDEMOAPPR1', 'UDEMOAPPR2'] as const;

/**
 * `npm run demo`: the whole story on a fresh machine, with nothing configured. Real tokens from the
 * embedded IDaaS's authorization-code flow; revocations through the real entry points and the real
 * queue; a before/after table; exit 0 only if exactly the right tokens died.
 */
export async function runDemo(): Promise<number> {
  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `revoker-demo-${randomBytes(4).toString('hex')}`;
  const hrSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const scimToken = randomBytes(24).toString('base64url');
  const slackSecret = randomBytes(16).toString('hex');
  const standIn = new SlackHttpStandIn({
    print: write,
    teamId: 'TDEMO',
    botUserId: 'UREVOKERBOT',
    botId: 'BREVOKER',
    viewIdPrefix: 'VDEMO',
    homeViewId: 'VHOME',
    tsSeconds: '1800000000',
  });
  await standIn.start();
  const notesApp = await startNotesApp();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redis.url,
    REVOKER_PREFIX: prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    IDAAS_PORT: '0',
    IDP: 'idaas',
    HR_STANDARD_SECRET: hrSecret,
    SCIM_TOKEN: scimToken,
    SLACK_SIGNING_SECRET: slackSecret,
    SLACK_BOT_TOKEN: 'xoxb-demo-stand-in',
    SLACK_API_URL: standIn.apiUrl,
    SLACK_APPROVALS_CHANNEL: 'CAPPROVALS',
    SLACK_NOTIFY_CHANNEL: 'CSECURITY',
    SLACK_ADMIN_USERS: ADMIN,
    SLACK_APPROVER_USERS: APPROVERS.join(','),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // The second system, as an app that accepts Global Token Revocation: one more connection.
    GTR_APPS: notesApp.gtrApps,
  };
  delete env.IDAAS_URL;
  Object.assign(process.env, env);
  const config = loadConfig(env);
  const rt = await createRuntime(config, { logger: createLogger({ level: config.LOG_LEVEL, name: 'demo' }) });
  const service = await startService(rt, { role: 'all', port: 0 });
  const idaas = rt.idaas!;
  try {
    step(
      `Embedded IDaaS at ${idaas.url}; Revoker at ${service.http!.url}; Redis ${redis.url} (prefix ${prefix})`,
    );
    write(
      `   A second system: "Notes", a SaaS app with its own IDaaS at ${notesApp.idaas.url}, in GTR_APPS ` +
        `(its Global Token Revocation endpoint from its metadata; Revoker signs a private-key JWT per call)`,
    );
    write(`   Connections: ${rt.connections.all.map((c) => `${c.id} (${c.kind})`).join(', ')}`);
    step('Signing in through the real authorization-code flow (login form, consent, PKCE)');
    const grants: DemoGrant[] = [];
    for (const spec of GRANTS) grants.push(await signIn(idaas, idaas.seed, spec));
    write(`${grants.length} sign-ins, ${grants.length * 2} tokens`);
    const notesGrants = await signInAtNotes(notesApp.idaas);
    const notes: NotesApp = { ...notesApp, ...notesGrants };
    write(`At Notes' own IDaaS: ${notes.grants.length} sign-ins, ${notes.grants.length * 2} tokens`);
    const before: Probe[] = [];
    for (const g of grants) before.push(await probe(idaas, idaas.seed, g));

    const slack = new SlackDriver(`${service.http!.url}/slack/events`, slackSecret, standIn);
    const ctx: DemoContext = { rt, service, grants, hrSecret, scimToken, slack, notes };
    for (const play of [
      revokeOneToken,
      revokeUser,
      revokeApplication,
      revokeResourceServer,
      offboardThroughHr,
      deactivateThroughScim,
    ]) {
      await play(ctx);
      await settleSlack(ctx);
    }

    step('After: every sign-in probed again');
    const after: Probe[] = [];
    for (const g of grants) after.push(await probe(idaas, idaas.seed, g));
    const wrong = printTable(grants, before, after, write);

    step('Audit log: $ revoker audit verify');
    const verify = await cli(ctx, ['audit', 'verify']);
    write(`   ${verify.out.trim()}`);
    step('Slack: what the stand-in received');
    const { updates, identicalUpdates } = standIn.iterations;
    write(
      `   ${updates} chat.update calls, ${identicalUpdates} identical to what the message already showed; ` +
        `${standIn.refusals.length} payloads Slack would refuse; ${standIn.wasted.length} wasted or reused-id updates`,
    );
    for (const line of [...standIn.refusals, ...standIn.wasted]) write(`   ${line}`);
    const slackOk = standIn.refusals.length === 0 && standIn.wasted.length === 0;
    const evidenceOk = await evidenceForAuditors(ctx);
    const ok = wrong.length === 0 && verify.code === 0 && slackOk && evidenceOk && ctx.bothSystems === true;
    write(
      ok
        ? '\nDEMO OK: every token that should die died, in both systems; every other token still works.'
        : '\nDEMO FAILED',
    );
    if (!ctx.bothSystems) write('  not as expected: the HR termination did not end dave in both systems');
    for (const g of wrong) write(`  not as expected: ${g.label}`);
    return ok ? 0 : 1;
  } finally {
    await service.close(2000);
    await cleanup(rt, prefix);
    await rt.close();
    await redis.stop();
    await standIn.close();
    await notesApp.idaas.close();
  }
}

/**
 * The auditor's view of the story: `revoker report` (summary and rows), the same as one HTML page kept
 * after the demo, and that page checked against the audit chain. True when the check passes.
 */
async function evidenceForAuditors(ctx: DemoContext): Promise<boolean> {
  step('Evidence for auditors: $ revoker report');
  const table = await cli(ctx, ['report']);
  for (const line of table.out.trim().split('\n')) write(`   ${line}`);
  const file = join(tmpdir(), `revoker-demo-report-${ctx.rt.config.REVOKER_PREFIX}.html`);
  write(`   $ revoker report --format html --out ${file}`);
  const html = await cli(ctx, ['report', '--format', 'html', '--out', file]);
  const csvFile = file.replace(/\.html$/, '.csv');
  write(`   $ revoker report --format csv --out ${csvFile}`);
  const csv = await cli(ctx, ['report', '--format', 'csv', '--out', csvFile]);
  const check = await cli(ctx, ['audit', 'verify', '--report', file]);
  write(`   $ revoker audit verify --report ${file}`);
  write(`   ${check.out.trim()}`);
  write(`   The report is one self-contained HTML page (summary, chart, rows): open ${file}`);
  write(`   The same rows as CSV (effective, verified, time to verified per person): ${csvFile}`);
  return table.code === 0 && html.code === 0 && csv.code === 0 && check.code === 0;
}

async function cleanup(rt: Runtime, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await rt.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await rt.redis.unlink(...keys);
  } while (cursor !== '0');
}

async function userId(ctx: DemoContext, login: string): Promise<string> {
  const users = await ctx.rt.idp.searchUsers(login, 5);
  const u = users.find((x) => x.userName === login);
  if (!u) throw new Error(`no user ${login}`);
  return u.id;
}

/** Runs the real `revoker` CLI as an operator would, against this demo's Redis and IDaaS. */
function cli(ctx: DemoContext, args: string[]): Promise<{ code: number; out: string }> {
  const { config, idaas } = ctx.rt;
  const env = {
    ...process.env,
    REDIS_URL: config.REDIS_URL,
    REVOKER_PREFIX: config.REVOKER_PREFIX,
    IDAAS_URL: idaas!.url,
    IDAAS_ADMIN_TOKEN: idaas!.adminToken,
    LOG_LEVEL: 'warn',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

const BIN = fileURLToPath(new URL('../../bin/revoker.js', import.meta.url));

/** `revoker revoke <scope> <ref> --wait` in a child process: the queue and workers of this demo do the work. */
async function revokeViaCli(ctx: DemoContext, args: string[]): Promise<void> {
  write(`   $ revoker revoke ${args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')} --wait`);
  const { code, out } = await cli(ctx, ['revoke', ...args, '--wait', '--timeout', '60']);
  for (const line of out.trim().split('\n')) write(`   ${line}`);
  if (code !== 0) throw new Error(`revoker revoke exited ${code}`);
}

/** Lets the Slack outbox deliver what the last step queued, so the stand-in's lines stay with their step. */
async function settleSlack(ctx: DemoContext): Promise<void> {
  const queue = ctx.rt.slack?.outbox.queue;
  if (!queue) return;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(c).every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function report(rec: RequestRecord): void {
  const r = rec.result;
  write(
    `   ${rec.id}: ${describeTarget(rec.target)} → ${rec.state}${r ? ` (revoked ${r.revoked}, still alive ${r.remaining})` : ''}`,
  );
  // A user revocation ran in every connection: one line each.
  for (const c of rec.connections ?? []) write(`     ${connectionLine(c)}`);
}

async function revokeOneToken(ctx: DemoContext): Promise<void> {
  step('1. An individual token: alice’s first Expense Portal access token');
  const g = ctx.grants[0]!;
  await revokeViaCli(ctx, [
    'token',
    g.accessTokenId,
    '--user',
    'alice@example.com',
    '--reason',
    'token pasted in a ticket',
  ]);
}

/** `/revoke …` in Slack, the confirmation submitted with a reason, then approvals by button clicks. */
async function revokeViaSlack(ctx: DemoContext, text: string, reason: string, approvers: readonly string[]) {
  write(`   ${ADMIN} types: /revoke ${text}`);
  const modal = await ctx.slack.slashCommand(ADMIN, text);
  write(`   ${ADMIN} submits the confirmation with the reason "${reason}"`);
  await ctx.slack.confirm(ADMIN, modal, reason);
  const [rec] = await ctx.rt.intake.list({ requestedBy: ADMIN, limit: 1 });
  if (!rec) throw new Error('the Slack request was not submitted');
  for (const approver of approvers) {
    write(`   ${approver} clicks Approve`);
    await ctx.slack.approve(approver, rec.id);
  }
  report(await ctx.rt.intake.waitForOutcome(rec.id, 60_000));
}

async function revokeUser(ctx: DemoContext): Promise<void> {
  step('2. All tokens for a user, from Slack: bob (laptop stolen), one approval');
  await revokeViaSlack(ctx, 'user bob@example.com', 'laptop stolen', APPROVERS.slice(0, 1));
}

async function revokeApplication(ctx: DemoContext): Promise<void> {
  step('3. All tokens issued to an application, from Slack: Team Wiki, two approvals (two-person rule)');
  await revokeViaSlack(ctx, 'app team-wiki', 'client secret leaked', APPROVERS);
}

async function revokeResourceServer(ctx: DemoContext): Promise<void> {
  step('4. All tokens issued to a resource server: Reports API');
  await revokeViaCli(ctx, ['api', 'https://reports.example.com/api', '--reason', 'API key rotation']);
}

async function offboardThroughHr(ctx: DemoContext): Promise<void> {
  step('5. HR offboarding: a signed Standard Webhooks delivery terminates dave, in both systems');
  const body = JSON.stringify({
    type: 'employee.terminated',
    data: {
      employeeId: 'E-DAVE',
      email: 'dave@example.com',
      effectiveAt: new Date().toISOString(),
      reason: 'last day',
    },
  });
  const headers = signHrDelivery(
    'standard',
    ctx.hrSecret,
    body,
    new Date(),
    `evt_${randomBytes(6).toString('hex')}`,
  );
  const res = await fetch(`${ctx.service.http!.url}/webhooks/hr/standard`, { method: 'POST', headers, body });
  write(`   POST /webhooks/hr/standard → ${res.status} ${await res.text()}`);
  const rec = await waitForHrRequest(ctx);
  const done = await ctx.rt.intake.waitForOutcome(rec.id, 60_000);
  report(done);
  ctx.bothSystems = await showBothSystems(ctx.notes, done.connections, write);
}

async function deactivateThroughScim(ctx: DemoContext): Promise<void> {
  step('6. SCIM: the identity governance tool deactivates carol (PATCH active=false)');
  const id = await userId(ctx, 'carol');
  const res = await fetch(`${ctx.service.http!.url}/scim/v2/Users/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${ctx.scimToken}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    }),
  });
  write(`   PATCH /scim/v2/Users/${id} → ${res.status}`);
  const [rec] = await ctx.rt.intake.list({ source: 'scim', limit: 1 });
  if (!rec) throw new Error('the SCIM deactivation did not become a request');
  report(await ctx.rt.intake.waitForOutcome(rec.id, 60_000));
}

async function waitForHrRequest(ctx: DemoContext): Promise<RequestRecord> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [rec] = await ctx.rt.intake.list({ source: 'hr', limit: 1 });
    if (rec) return rec;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the HR delivery did not become a request');
}
