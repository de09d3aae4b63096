import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createHrEventQueue } from '../../../src/hr/hr-event-queue.ts';
import { createHrRouter } from '../../../src/hr/hr-router.ts';
import { connectRedis, redisOptions } from '../../../src/redis/connect.ts';
import { confirmReplicated } from '../../../src/redis/durability.ts';
import { HR_TEST_SECRETS, signHrDelivery } from '../../helpers/hr-signing.ts';
import { MemoryAuditLog } from '../../helpers/memory-audit.ts';
import { freePort, RedisServer } from '../../helpers/redis-server.ts';

/** The one connection factory: TLS against a real redis-server with a test CA, Sentinel options, WAIT. */
let dir: string;
let server: RedisServer;
let tlsPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'revoker-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=Revoker Test CA',
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  tlsPort = await freePort();
  server = await RedisServer.start({
    persistence: false,
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      join(dir, 'server.crt'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
    ],
  });
}, 30_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('connectRedis', () => {
  it('rediss:// with REDIS_TLS_CA talks TLS to a server whose certificate that CA signed', async () => {
    const redis = connectRedis(
      loadConfig({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}`, REDIS_TLS_CA: join(dir, 'ca.crt') }),
      { purpose: 'command' },
    );
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('without the CA the certificate is refused (no silent downgrade, no unverified TLS)', async () => {
    const redis = connectRedis(loadConfig({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}` }), {
      purpose: 'command',
      extra: { lazyConnect: true, retryStrategy: () => null },
    });
    const refused = new Promise<Error>((resolve) => redis.once('error', resolve));
    try {
      await expect(redis.connect()).rejects.toThrow();
      expect((await refused).message).toMatch(/certificate/i);
      expect(redis.status).not.toBe('ready');
    } finally {
      redis.disconnect();
    }
  });

  it('a CA file that cannot be read stops start-up naming REDIS_TLS_CA', () => {
    expect(() =>
      redisOptions(loadConfig({ REDIS_URL: 'rediss://127.0.0.1:1', REDIS_TLS_CA: join(dir, 'missing.pem') })),
    ).toThrow(/^REDIS_TLS_CA: cannot read/);
  });

  it('Sentinel: sentinels, master name and passwords from the environment; TLS to the sentinels on request', () => {
    const o = redisOptions(
      loadConfig({
        REDIS_URL: 'rediss://:data-pass@ignored:6379/3',
        REDIS_SENTINELS: 's1.example:26379, s2.example:26380',
        REDIS_SENTINEL_NAME: 'revoker',
        REDIS_SENTINEL_PASSWORD: 'sentinel-pass',
        REDIS_SENTINEL_TLS: 'true',
        REDIS_TLS_CA: join(dir, 'ca.crt'),
      }),
    );
    expect(o).toMatchObject({
      sentinels: [
        { host: 's1.example', port: 26379 },
        { host: 's2.example', port: 26380 },
      ],
      name: 'revoker',
      password: 'data-pass',
      db: 3,
      sentinelPassword: 'sentinel-pass',
      enableTLSForSentinelMode: true,
      maxRetriesPerRequest: null,
    });
    expect(o.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(o.sentinelTLS?.ca).toContain('BEGIN CERTIFICATE');
    expect(() => loadConfig({ REDIS_SENTINELS: 's1:26379' })).toThrow(/^REDIS_SENTINEL_NAME: is required/);
  });

  it('REDIS_MIN_REPLICAS_ACK: a write that no replica confirms is refused as not replicated', async () => {
    const redis = connectRedis(
      loadConfig({ REDIS_URL: server.url, REDIS_MIN_REPLICAS_ACK: '1', REDIS_WAIT_TIMEOUT_MS: '50' }),
    );
    try {
      await redis.set('revoker-test:wait', '1');
      await expect(confirmReplicated(redis)).rejects.toMatchObject({
        code: 'redis_not_replicated',
        wanted: 1,
        acknowledged: 0,
      });
      const single = connectRedis(loadConfig({ REDIS_URL: server.url }));
      await expect(confirmReplicated(single)).resolves.toBeUndefined();
      single.disconnect();
    } finally {
      redis.disconnect();
    }
  });

  it('an HR delivery no replica confirmed is answered 503 (the vendor retries), not 202', async () => {
    const redis = connectRedis(
      loadConfig({ REDIS_URL: server.url, REDIS_MIN_REPLICAS_ACK: '1', REDIS_WAIT_TIMEOUT_MS: '50' }),
    );
    const queue = createHrEventQueue({ connection: redis, prefix: 'revoker-test-wait' });
    const app = express().use(
      '/webhooks/hr',
      createHrRouter({
        secrets: { standard: HR_TEST_SECRETS.standard! },
        queue,
        audit: new MemoryAuditLog(),
      }),
    );
    const http = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => http.once('listening', resolve));
    try {
      const body = JSON.stringify({
        type: 'employee.terminated',
        data: { employeeId: 'E1', email: 'alice@example.com' },
      });
      const res = await fetch(
        `http://127.0.0.1:${(http.address() as AddressInfo).port}/webhooks/hr/standard`,
        {
          method: 'POST',
          headers: signHrDelivery('standard', HR_TEST_SECRETS.standard!, body),
          body,
        },
      );
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'enqueue_failed' });
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await queue.close();
      redis.disconnect();
    }
  });
});
