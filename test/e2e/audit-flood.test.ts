import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuditRetention } from '../../src/audit/audit-retention.ts';
import { silentLogger } from '../../src/log.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { slashCommandBody } from '../helpers/slack.ts';

/**
 * Issue 9, finding 5: every refused request used to be one audit entry (3,000 forged requests, 3,000
 * entries), with attacker text inside, and nothing ever left the stream. Now refusals are counted per
 * source, reason and minute; old entries move to an archive that `audit verify` proves with the stream.
 */
const FLOOD = 10_000;
const CONCURRENCY = 16;
let t: TestService;
let archiveDir: string;

beforeAll(async () => {
  archiveDir = mkdtempSync(join(tmpdir(), 'revoker-audit-archive-'));
  t = await startTestService({
    SLACK_SIGNING_SECRET: 'flood-slack-secret',
    SLACK_BOT_TOKEN: 'xoxb-flood',
    SLACK_API_URL: 'http://slack.flood.test/api/',
    HR_STANDARD_SECRET: `whsec_${Buffer.from('flood-hr-secret-0123456789').toString('base64')}`,
    SCIM_TOKEN: 'flood-scim-token',
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(archiveDir, { recursive: true, force: true });
});

const streamLength = () => t.rt.redis.xlen(t.rt.audit.streamKey);
const HOSTILE = `<script>alert(1)</script>${'\u202e'.repeat(10)}${'x'.repeat(300)}`;

/** Forged request number `i`: Slack with a wrong signature, HR with a wrong one or an unknown source, SCIM without the token. */
function forged(i: number): [string, RequestInit] {
  const body = slashCommandBody({ userId: 'UADMIN1', text: 'user alice@example.com' });
  switch (i % 4) {
    case 0:
      return [
        `${t.url}/slack/events`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
            'x-slack-signature': `v0=${'0'.repeat(64)}`,
          },
          body,
        },
      ];
    case 1:
      return [
        `${t.url}/webhooks/hr/standard`,
        {
          method: 'POST',
          headers: { 'webhook-id': `msg_${i}`, 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' },
          body: '{}',
        },
      ];
    case 2:
      return [
        `${t.url}/webhooks/hr/${encodeURIComponent(`${HOSTILE}${i % 7}`)}`,
        { method: 'POST', body: '{}' },
      ];
    default:
      return [`${t.url}/scim/v2/Users`, { headers: { authorization: `Bearer forged-${i}` } }];
  }
}

describe('a flood of forged requests', () => {
  it('10,000 across Slack, HR and SCIM add a few dozen audit entries; retention archives and trims; verify proves archive + stream', async () => {
    await t.rt.refusals.flush({ all: true });
    const before = await streamLength();
    let next = 0;
    const statuses = new Map<number, number>();
    // Keep-alive connections (fetch pools them per origin), a modest number at a time.
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < FLOOD; i = next++) {
          const [url, init] = forged(i);
          const res = await fetch(url, init);
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    await t.rt.refusals.flush({ all: true });
    const added = (await streamLength()) - before;
    // One entry per source, reason and minute: a handful even when the flood spans a minute boundary.
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(36);

    let counted = 0;
    for await (const e of t.rt.audit.entries()) {
      if (!['slack.rejected', 'webhook.rejected', 'scim.rejected'].includes(e.action)) continue;
      counted += Number(e.detail?.count);
      // Attacker text only as a bounded, escaped excerpt.
      const excerpt = String(e.detail?.excerpt ?? '');
      expect(excerpt.length).toBeLessThanOrEqual(64 * 6);
      expect(excerpt).not.toMatch(/[<>\u202e]/);
      expect(JSON.stringify(e)).not.toContain('<script>');
    }
    expect(counted).toBe(FLOOD);

    // Retention: everything before "now + 2 min" leaves the stream for the archive.
    const total = (await t.rt.audit.verify()).count;
    const job = startAuditRetention({
      audit: t.rt.audit,
      days: 0,
      dir: archiveDir,
      logger: silentLogger,
      clock: () => new Date(Date.now() + 120_000),
    });
    expect(await job.firstRun).toBe(total);
    job.stop();
    expect(await streamLength()).toBe(0);
    expect(readdirSync(archiveDir).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    expect(await t.rt.audit.verify({ archiveDir })).toEqual({ ok: true, count: total });

    // The stream goes on from the archive's head.
    await t.rt.audit.append({ action: 'request.created', actor: { source: 'cli', id: 'after-archive' } });
    expect(await t.rt.audit.verify({ archiveDir })).toEqual({ ok: true, count: total + 1 });
    expect(await t.rt.audit.verify()).toEqual({ ok: true, count: total + 1 });

    // An altered archived line is found.
    const file = join(archiveDir, readdirSync(archiveDir).find((f) => f.endsWith('.jsonl'))!);
    const original = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      original.replace(/"count":(\d+)/, (_m, n: string) => `"count":${Number(n) + 1}`),
    );
    const broken = await t.rt.audit.verify({ archiveDir });
    expect(broken).toMatchObject({ ok: false, badSeq: expect.any(Number) });
    expect(broken.ok === false && broken.reason).toContain('hash mismatch');
    // A missing archive is found too: the stream no longer joins anything.
    rmSync(file);
    expect((await t.rt.audit.verify({ archiveDir })).ok).toBe(false);
    writeFileSync(file, original);
    expect((await t.rt.audit.verify({ archiveDir })).ok).toBe(true);
  }, 240_000);
});
