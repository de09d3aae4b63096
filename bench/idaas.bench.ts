/**
 * The embedded IDaaS's admin API under revocation load: real tokens are minted (through the provider's
 * own models), then revoked one by one with `DELETE /admin/v1/users/{user}/tokens/{tok}` over keep-alive
 * connections at a fixed concurrency, flat out. The baseline is a bare Node `http` server answering 200
 * with a same-shaped JSON body to the very same request pattern, in the same run.
 *
 * Target: ≥ 500 revocations/s, ten times the 50 calls/s the pipeline bench rate-limits the IDaaS to, so
 * that bench measures the limiter and the workers, not the server. Every DELETE must answer 200.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startIdaas } from '../src/idaas/index.ts';
import { closedLoad, type LoadResult, printFigure, printHeader } from './lib.ts';

/** Grants to mint; each has an access and a refresh token, both revoked: 2 × GRANTS DELETEs. */
const GRANTS = Number(process.env.BENCH_IDAAS_GRANTS ?? 8000);
const CONNECTIONS = Number(process.env.BENCH_IDAAS_CONNECTIONS ?? 10);
const WARMUP_GRANTS = 500;
const USERS = ['alice', 'bob', 'carol', 'dave'];
const TARGET_RPS = 500;

/** What the bare server answers to a GET: the IDaaS's own listing, to time the same bytes. */
let bareListBody = '{}';

async function startBare(): Promise<{ url: string; close: () => Promise<void> }> {
  const pattern = /^\/admin\/v1\/users\/([^/]+)\/tokens\/([^/?]+)/;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(bareListBody),
      });
      res.end(bareListBody);
      return;
    }
    const m = pattern.exec(req.url ?? '');
    const body = JSON.stringify({ revoked: m ? [{ id: m[2], userId: m[1] }] : [] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export default async function run(): Promise<void> {
  printHeader(
    `idaas: admin-API revocations (${2 * GRANTS} DELETEs, ${CONNECTIONS} keep-alive connections) vs bare node http`,
  );
  const idaas = await startIdaas({ port: 0 });
  const bare = await startBare();
  try {
    const mintStarted = Date.now();
    // Paths of every token, users interleaved: [warm-up ones..., measured ones...].
    const mintPaths = async (grants: number): Promise<string[]> => {
      const paths: string[] = [];
      const per = Math.ceil(grants / USERS.length);
      for (const user of USERS) {
        const issued = await idaas.mintTokens({ user, application: 'expense-portal', count: per });
        for (const t of issued) {
          paths.push(`/admin/v1/users/${t.userId}/tokens/${t.accessTokenId}`);
          if (t.refreshTokenId) paths.push(`/admin/v1/users/${t.userId}/tokens/${t.refreshTokenId}`);
        }
      }
      // Shuffle, so consecutive DELETEs hit different users and grants, as a real fan-out does.
      for (let i = paths.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [paths[i], paths[j]] = [paths[j]!, paths[i]!];
      }
      return paths;
    };
    const warmPaths = await mintPaths(WARMUP_GRANTS);
    const paths = await mintPaths(GRANTS);
    process.stdout.write(
      `   minted ${warmPaths.length + paths.length} tokens in ${((Date.now() - mintStarted) / 1000).toFixed(1)} s\n`,
    );
    const headers = { authorization: `Bearer ${idaas.adminToken}` };

    // Listing a user's tokens (the console's view, and the adapter's plan), timed per 1,000 tokens; this
    // floor used to sit in test/integration/idaas/admin-api.test.ts (1,000 tokens in < 500 ms).
    const listPath = `/admin/v1/users/${USERS[0]}/tokens`;
    const timed = async (url: string): Promise<{ ms: number; body: string }> => {
      const started = performance.now();
      const res = await fetch(`${url}${listPath}`, { headers });
      const body = await res.text();
      if (!res.ok) throw new Error(`GET ${listPath} answered ${res.status}`);
      return { ms: performance.now() - started, body };
    };
    await timed(idaas.url); // warm
    const listed = await timed(idaas.url);
    bareListBody = listed.body;
    await timed(bare.url); // warm
    const bareListed = await timed(bare.url);
    const listedCount = (JSON.parse(listed.body) as { tokens: unknown[] }).tokens.length;
    printFigure({
      name: `list tokens (${listedCount})`,
      value: (listed.ms * 1000) / listedCount,
      unit: 'ms/1000',
      baseline: (bareListed.ms * 1000) / listedCount,
      baselineName: 'bare node, same body',
      target: { op: '<=', value: 500 },
      higherIsBetter: false,
    });
    const load = (url: string, list: string[]): Promise<LoadResult> =>
      closedLoad({
        url,
        method: 'DELETE',
        headers,
        paths: (i) => list[i % list.length]!,
        amount: list.length,
        connections: CONNECTIONS,
      });

    // Warm both servers (JIT, sockets) on tokens that are not measured.
    await load(bare.url, warmPaths);
    const warm = await load(idaas.url, warmPaths);
    if (warm.non2xx > 0) throw new Error(`IDaaS warm-up: ${warm.non2xx} DELETEs were not 200`);

    const base = await load(bare.url, paths);
    const statsBefore = idaas.stats();
    const result = await load(idaas.url, paths);
    const calls = idaas.stats().calls - statsBefore.calls;

    printFigure({
      name: 'idaas revocations/s',
      value: result.rps,
      unit: 'req/s',
      baseline: base.rps,
      baselineName: 'bare node 200',
      target: { op: '>=', value: TARGET_RPS },
      higherIsBetter: true,
    });
    printFigure({
      name: 'idaas revoke p50',
      value: result.p50Ms,
      unit: 'ms',
      baseline: base.p50Ms,
      baselineName: 'bare node 200',
      higherIsBetter: false,
    });
    printFigure({
      name: 'idaas revoke p99',
      value: result.p99Ms,
      unit: 'ms',
      baseline: base.p99Ms,
      baselineName: 'bare node 200',
      higherIsBetter: false,
    });
    printFigure({
      name: 'idaas DELETEs answered 200',
      value: result.completed - result.non2xx,
      unit: 'calls',
      baseline: base.completed - base.non2xx,
      baselineName: 'bare node 200',
      target: { op: '>=', value: paths.length },
      higherIsBetter: true,
    });
    if (result.non2xx > 0 || result.errors > 0 || calls !== paths.length) {
      process.stdout.write(
        `   idaas: ${result.non2xx} non-2xx, ${result.errors} errors, ${calls} admin calls counted, of ${paths.length}\n`,
      );
    }
  } finally {
    await bare.close();
    await idaas.close();
  }
}
