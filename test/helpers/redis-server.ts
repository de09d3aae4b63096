import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServerOptions {
  /** Extra command-line settings, e.g. `['--replicaof', '127.0.0.1', '6400']`. */
  args?: string[];
  /** A config file's text (`{port}` and `{dir}` filled in), passed first: a Sentinel needs a writable one. */
  config?: string;
  /** Run as `redis-server <config> --sentinel`. */
  sentinel?: boolean;
  /** Default AOF with `appendfsync always`; `false`: no persistence at all. */
  persistence?: boolean;
}

/**
 * A test-owned `redis-server` (from PATH) on a free port with AOF persistence (`appendfsync always`) in a
 * temp dir, so a test can shut it down and start it again with its data.
 */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'revoker-redis-'));
  private proc: ChildProcess | undefined;
  private output = '';
  private relaunchArgs: string[] = [];

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions = {},
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options);
    await server.launch();
    return server;
  }

  /** Its pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.exitCode === null ? this.proc.pid : undefined;
  }

  private commandLine(): string[] {
    const o = this.options;
    const args: string[] = [];
    if (o.config !== undefined) {
      const file = join(this.dir, o.sentinel ? 'sentinel.conf' : 'redis.conf');
      writeFileSync(file, o.config.replaceAll('{port}', String(this.port)).replaceAll('{dir}', this.dir));
      args.push(file);
      if (o.sentinel) args.push('--sentinel');
    }
    args.push('--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir);
    if (!o.sentinel) {
      args.push('--save', '');
      args.push(
        ...(o.persistence === false
          ? ['--appendonly', 'no']
          : ['--appendonly', 'yes', '--appendfsync', 'always']),
      );
    }
    return [...args, ...(o.args ?? [])];
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on the same port and dir (plus `extraArgs` this time); resolves once it answers PING. */
  async launch(timeoutMs = 10_000, extraArgs: string[] = []): Promise<void> {
    // A config file is rewritten only on the first launch: a Sentinel keeps what it learnt in it.
    const args = this.proc === undefined ? this.commandLine() : this.relaunchArgs;
    this.relaunchArgs = args;
    const proc = spawn('redis-server', [...args, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  /** SIGKILL: no shutdown, no flush (a crashed machine); `launch()` starts it again on the same port and dir. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      await exited;
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
