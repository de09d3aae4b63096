import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/revoker.js', import.meta.url));
export const REPO_WORKFLOWS_DIR = fileURLToPath(new URL('../../workflows', import.meta.url));

export interface WorkerProcessOptions {
  /** Variables on top of a minimal environment (PATH, HOME); REDIS_URL, REVOKER_PREFIX, IDAAS_* are needed. */
  env: Record<string, string>;
  /** Default `serve --role worker`. */
  args?: string[];
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `revoker serve --role worker` child process, with its output captured. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What its workers are called (`PipelineWorkers` default `{host}:{pid}`): BullMQ `processedBy`. */
  readonly workerName: string;
  readonly exited: Promise<ExitInfo>;
  private out = '';
  private err = '';
  private exit: ExitInfo | undefined;

  constructor(options: WorkerProcessOptions) {
    this.child = spawn(process.execPath, [BIN, ...(options.args ?? ['serve', '--role', 'worker'])], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        IDP: 'idaas',
        WORKFLOWS_DIR: REPO_WORKFLOWS_DIR,
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error('could not spawn the worker process');
    this.pid = this.child.pid;
    this.workerName = `${hostname()}:${this.pid}`;
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.err += d;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Its stdout parsed as pino JSON lines (non-JSON lines skipped). */
  logLines(): Array<Record<string, unknown>> {
    const lines: Array<Record<string, unknown>> = [];
    for (const line of this.out.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by a kill
      }
    }
    return lines;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /**
   * Resolves once this process's workers are registered on `queue` (BullMQ lists named workers from
   * CLIENT LIST); rejects if the process exits first or `timeoutMs` passes.
   */
  // Starting a process bounds a hang, it measures nothing: generous for a loaded 2-core machine.
  async waitUntilReady(queue: Queue, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exit)
        throw new Error(`worker ${this.pid} exited (${describe(this.exit)}) before ready:\n${this.err}`);
      // BullMQ reports the queue's name as `name`; the connection name `{prefix}:{queue}:w:{worker}` is `rawname`.
      const workers = (await queue.getWorkers()) as Array<{ rawname?: string }>;
      if (workers.some((w) => w.rawname?.endsWith(`:w:${this.workerName}`))) return;
      if (Date.now() > deadline)
        throw new Error(`worker ${this.pid} not ready after ${timeoutMs} ms:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Waits for the exit, at most `timeoutMs`; rejects when it takes longer. */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`worker ${this.pid} still running after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Cleanup: SIGKILL if still running, then wait for the exit. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function describe(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${String(e.code)}`;
}

/** Starts a worker process; stop it with `stop()` in cleanup. */
export function spawnWorker(options: WorkerProcessOptions): WorkerProcess {
  return new WorkerProcess(options);
}
