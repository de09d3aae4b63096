import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A test-owned `redis-server` (from PATH) on a free port with AOF persistence (`appendfsync always`) in a
 * temp dir, so a test can shut it down and start it again with its data.
 */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'revoker-redis-'));
  private proc: ChildProcess | undefined;
  private output = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on the same port and dir; resolves once it answers PING. */
  async launch(timeoutMs = 10_000): Promise<void> {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
    });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
    });
    const probe = new Redis(this.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => undefined);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`redis-server exited:\n${this.output}`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          // not listening yet, or still loading the AOF
        }
        if (Date.now() > deadline)
          throw new Error(`redis-server not ready after ${timeoutMs} ms:\n${this.output}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      probe.disconnect();
    }
  }

  /** `SHUTDOWN` (which flushes the AOF), then waits for the process to exit. */
  async shutdown(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const admin = new Redis(this.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    admin.on('error', () => undefined);
    // The server closes the connection instead of answering.
    await admin.call('SHUTDOWN').catch(() => undefined);
    admin.disconnect();
    await exited;
  }

  async restart(): Promise<void> {
    await this.shutdown();
    await this.launch();
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
