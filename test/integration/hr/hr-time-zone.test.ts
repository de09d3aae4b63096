import { Command } from 'commander';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { register } from '../../../src/cli/hr.ts';
import { loadConfig } from '../../../src/config.ts';
import { HrEventSchema } from '../../../src/hr/hr-event.ts';
import { processHrEvent } from '../../../src/hr/hr-event-processor.ts';
import { buildAutomatedRequestNotice } from '../../../src/slack/messages/notify-messages.ts';
import { startHrRouter } from '../../helpers/hr-router-fixture.ts';
import { deliverHr, HR_TEST_SECRETS } from '../../helpers/hr-signing.ts';
import { HrVendorApis } from '../../helpers/hr-vendor-apis.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { MemoryIdp } from '../../helpers/memory-idp.ts';
import { createPipeline, RecordingNotifier } from '../../helpers/pipeline.ts';
import { connectRedis, deleteKeys, randomPrefix } from '../../helpers/redis.ts';

// Before every date below, so each termination is scheduled rather than immediate.
const NOW = new Date('2026-06-01T12:00:00Z');
const LA = 'America/Los_Angeles';

const apis = new HrVendorApis(
  {
    bamboohr: 'https://bamboo.test/api/gateway.php/acme',
    hibob: 'https://hibob.test',
    gusto: 'https://gusto.test',
    deel: 'https://deel.test',
  },
  {
    BAMBOOHR_API_KEY: 'bk',
    HIBOB_API_USER: 'hu',
    HIBOB_API_TOKEN: 'ht',
    GUSTO_API_TOKEN: 'gt',
    DEEL_API_TOKEN: 'dt',
  },
  () => NOW.toISOString().slice(0, 10),
);
const vendors = setupServer(...apis.handlers());
beforeAll(() => vendors.listen({ onUnhandledFrame: 'error' }));
afterAll(() => vendors.close());

/** The configuration a company in California sets: the Gusto source keeps Los Angeles, Deel runs on Tokyo. */
const config = loadConfig({
  HR_TIME_ZONE: LA,
  HR_DEEL_TIME_ZONE: 'Asia/Tokyo',
  HR_STANDARD_SECRET: HR_TEST_SECRETS.standard,
  GUSTO_API_URL: 'https://gusto.test',
  GUSTO_API_TOKEN: 'gt',
});

async function world() {
  const redis = connectRedis();
  const idp = new MemoryIdp();
  for (const who of ['alice', 'bob', 'carol']) idp.addUser(`u_${who}`, `${who}@example.com`);
  const pipe = await createPipeline({ idp, clock: () => NOW });
  const prefix = randomPrefix('hrtz');
  const deps = {
    idp,
    intake: pipe.intake,
    audit: new MemoryAuditLog(),
    notifier: new RecordingNotifier(),
    redis,
    prefix,
    clock: () => NOW,
    hrConfig: config.hr,
    clocks: config.hrClocks,
  };
  onTestFinished(async () => {
    await pipe.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  return { deps, pipe };
}

describe('offboarding on the company’s clock (HR_TIME_ZONE=America/Los_Angeles)', () => {
  it('a date-only termination over HTTP takes effect at the end of that day in Los Angeles, and is shown so', async () => {
    const { deps, pipe } = await world();
    const router = await startHrRouter({ secrets: config.hrSecrets, clocks: config.hrClocks });
    onTestFinished(() => router.close());
    const body = JSON.stringify({
      type: 'employee.terminated',
      data: { employeeId: 'E-ALICE', email: 'alice@example.com', effectiveAt: '2026-12-12' },
    });
    expect((await deliverHr(router.base, 'standard', body)).status).toBe(202);
    const [job] = await router.queue.getJobs(['waiting']);
    const event = HrEventSchema.parse(job!.data);
    expect(event.effectiveAt).toBe('2026-12-13T08:00:00.000Z');

    const out = (await processHrEvent(event, deps)) as { requestId: string };
    const rec = await pipe.intake.get(out.requestId);
    expect(rec).toMatchObject({ state: 'scheduled', effectiveAt: '2026-12-13T08:00:00.000Z' });
    expect(rec!.context?.timeZone).toBe(LA);

    // Slack: the reader's own zone (<!date>), then the company's and UTC.
    const notice = JSON.stringify(buildAutomatedRequestNotice(rec!));
    expect(notice).toContain('2026-12-13 00:00 -08:00 America/Los_Angeles (2026-12-13 08:00 UTC)');
  });

  it('dates from a vendor API (Gusto) land on the spring-forward and fall-back days as the zone says', async () => {
    const { deps, pipe } = await world();
    apis.add('gusto', { employeeId: 'g-bob', email: 'bob@example.com', lastDay: '2027-03-14' });
    apis.add('gusto', { employeeId: 'g-carol', email: 'carol@example.com', lastDay: '2026-11-01' });
    const idOf = async (employeeId: string) =>
      (
        (await processHrEvent(
          {
            source: 'gusto',
            eventId: `e-${employeeId}`,
            employeeId,
            kind: 'terminate',
            type: 'employee.terminated',
            needsLookup: true,
          },
          deps,
        )) as { requestId: string }
      ).requestId;
    expect((await pipe.intake.get(await idOf('g-bob')))!.effectiveAt).toBe('2027-03-15T07:00:00.000Z');
    expect((await pipe.intake.get(await idOf('g-carol')))!.effectiveAt).toBe('2026-11-02T08:00:00.000Z');
  });

  it('`revoker hr pending` (table and --json) shows each time in the zone and in UTC', async () => {
    const { deps, pipe } = await world();
    await processHrEvent(
      {
        source: 'standard',
        eventId: 'a',
        employeeId: 'E-ALICE',
        email: 'alice@example.com',
        kind: 'terminate',
        effectiveAt: '2026-12-13T08:00:00.000Z',
      },
      deps,
    );
    await processHrEvent(
      {
        source: 'deel',
        eventId: 'b',
        employeeId: 'c-bob',
        email: 'bob@example.com',
        kind: 'terminate',
        effectiveAt: '2026-12-12T15:00:00.000Z',
      },
      deps,
    );
    vi.stubEnv('HR_TIME_ZONE', LA);
    vi.stubEnv('HR_DEEL_TIME_ZONE', 'Asia/Tokyo');
    onTestFinished(() => void vi.unstubAllEnvs());
    const run = async (args: string[]) => {
      const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const program = new Command().exitOverride();
      register(program, async () => ({ intake: pipe.intake, close: async () => {} }));
      await program.parseAsync(['node', 'revoker', 'hr', 'pending', ...args]);
      const text = out.mock.calls.map((c) => String(c[0])).join('');
      out.mockRestore();
      return text;
    };
    const lines = (await run([])).trim().split('\n');
    expect(lines[0]).toMatch(/^EMPLOYEE\s+EMAIL\s+EFFECTIVE\s+ZONE\s+UTC\s+REQUEST\s+STATE$/);
    expect(lines[1]).toMatch(
      /^deel:c-bob\s+bob@example.com\s+2026-12-13 00:00 \+09:00\s+Asia\/Tokyo\s+2026-12-12T15:00:00.000Z\s+req_\S+\s+scheduled$/,
    );
    expect(lines[2]).toMatch(
      /^standard:E-ALICE\s+alice@example.com\s+2026-12-13 00:00 -08:00\s+America\/Los_Angeles\s+2026-12-13T08:00:00.000Z\s+req_\S+\s+scheduled$/,
    );
    const json = JSON.parse(await run(['--json'])) as Record<string, unknown>[];
    expect(json.map((r) => [r.timeZone, r.effectiveLocal, r.effectiveAt])).toEqual([
      ['Asia/Tokyo', '2026-12-13T00:00:00+09:00', '2026-12-12T15:00:00.000Z'],
      [LA, '2026-12-13T00:00:00-08:00', '2026-12-13T08:00:00.000Z'],
    ]);
  });
});
