/**
 * Runs collector/build/peregrine-collector as a child process (root + BPF),
 * splits its stdout into frames, and restarts it with exponential backoff when
 * it dies. Corrupt framing counts a decode error and restarts the collector
 * (a byte stream cannot be resynchronised).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/log.js';
import { type Frame, FrameError, FrameReader } from './frame.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Default binary: <repo>/collector/build/peregrine-collector (from src/ or dist/). */
export function defaultCollectorPath(): string {
  const candidates = [
    process.env.PEREGRINE_COLLECTOR,
    resolve(HERE, '../../../collector/build/peregrine-collector'),
    resolve(HERE, '../../../../collector/build/peregrine-collector'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return resolve(HERE, '../../../collector/build/peregrine-collector');
}

export interface CollectorOptions {
  path?: string;
  /** Syscall names to emit in the kernel (exec/fork/exit records are always on). */
  syscalls: readonly string[];
  /** tgids excluded in the kernel (the agent's own pid is added). */
  excludePids?: readonly number[];
  ringbufMb?: number;
  wakeupKb?: number;
  statsMs?: number;
  /** How often the collector drains the ring buffer and writes (ms). */
  pollMs?: number;
  /** Restart backoff: first delay, cap (ms). */
  restartInitialMs?: number;
  restartMaxMs?: number;
  log?: Logger;
}

export interface CollectorCallbacks {
  frame(f: Frame): void;
  /** Collector exited (code or signal), with its last stderr lines. */
  exited?(info: { code: number | null; signal: string | null; stderr: string; willRestart: boolean }): void;
  decodeError?(msg: string): void;
  started?(pid: number): void;
}

export class CollectorProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private startedAt = 0;
  private stderrTail: string[] = [];
  restarts = 0;
  readonly path: string;

  constructor(
    private readonly opts: CollectorOptions,
    private readonly cb: CollectorCallbacks,
  ) {
    this.path = opts.path ?? defaultCollectorPath();
    this.delay = opts.restartInitialMs ?? 500;
  }

  args(): string[] {
    const a = ['--format', 'bin'];
    if (this.opts.syscalls.length) a.push('--syscalls', this.opts.syscalls.join(','));
    const excl = new Set([process.pid, ...(this.opts.excludePids ?? [])]);
    for (const p of excl) a.push('--exclude-pid', String(p));
    if (this.opts.ringbufMb) a.push('--ringbuf-mb', String(this.opts.ringbufMb));
    if (this.opts.wakeupKb !== undefined) a.push('--wakeup-kb', String(this.opts.wakeupKb));
    if (this.opts.statsMs) a.push('--stats-ms', String(this.opts.statsMs));
    if (this.opts.pollMs) a.push('--poll-ms', String(this.opts.pollMs));
    return a;
  }

  /** Start; resolves when the hello frame arrived (programs loaded), rejects on early failure. */
  start(): Promise<void> {
    if (!existsSync(this.path))
      return Promise.reject(
        new Error(`collector binary not found at ${this.path} (build it: scripts/setup.d/collector.sh)`),
      );
    this.stopping = false;
    return this.spawnOnce();
  }

  private spawnOnce(): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.path, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      this.startedAt = Date.now();
      this.stderrTail = [];
      const reader = new FrameReader();
      let ready = false;
      child.stdout!.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk, (f) => {
            if (!ready) {
              ready = true;
              this.cb.started?.(child.pid ?? 0);
              resolvePromise();
            }
            this.cb.frame(f);
          });
        } catch (e) {
          const msg = e instanceof FrameError ? e.message : String(e);
          this.cb.decodeError?.(msg);
          this.opts.log?.error('collector stream corrupt; restarting', { error: msg });
          child.kill('SIGTERM');
        }
      });
      child.stderr!.on('data', (c: Buffer) => {
        for (const line of c.toString('utf8').split('\n')) {
          if (!line) continue;
          this.stderrTail.push(line);
          if (this.stderrTail.length > 40) this.stderrTail.shift();
        }
      });
      child.on('error', (e) => {
        if (!ready) reject(e);
      });
      child.on('exit', (code, signal) => {
        this.child = undefined;
        const stderr = this.stderrTail
          .filter((l) => !l.startsWith(';') && !/^\d+: /.test(l))
          .slice(-8)
          .join('\n');
        const willRestart = !this.stopping && ready;
        this.cb.exited?.({ code, signal, stderr, willRestart });
        if (!ready) {
          reject(
            new Error(`collector exited before it was ready (code ${code}, signal ${signal}): ${stderr}`),
          );
          return;
        }
        if (willRestart) this.scheduleRestart();
      });
    });
  }

  private scheduleRestart(): void {
    const healthy = Date.now() - this.startedAt > 60_000;
    if (healthy) this.delay = this.opts.restartInitialMs ?? 500;
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.restartMaxMs ?? 30_000);
    this.opts.log?.warn('collector exited; restarting', { inMs: d, restarts: this.restarts + 1 });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawnOnce().catch((e: unknown) => {
        this.opts.log?.error('collector restart failed', { error: String(e) });
        if (!this.stopping) this.scheduleRestart();
      });
    }, d);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c) return;
    await new Promise<void>((res) => {
      const t = setTimeout(() => c.kill('SIGKILL'), 3000);
      c.once('exit', () => {
        clearTimeout(t);
        res();
      });
      c.kill('SIGTERM');
    });
  }
}
