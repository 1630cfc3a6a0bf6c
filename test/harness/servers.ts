/**
 * Test-server harness: starts a Debian server binary on a free loopback port in
 * a temporary directory, waits until it answers, and stops it (whole process
 * group) and removes the directory at the end. Every started server is also
 * killed when the test process exits, so no process is ever left behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServerSpec {
  /** Name used in messages and the temp dir prefix. */
  name: string;
  /** Absolute path (or PATH name) of the server binary. */
  command: string;
  /** Arguments, given the chosen port and the temp dir. */
  args: (port: number, dir: string) => string[];
  /** Resolves true once the server answers. Polled until `timeoutMs`. */
  ready: (port: number, dir: string) => Promise<boolean>;
  /** Run the server as this system user (e.g. postgres refuses root). */
  user?: string;
  /** Prepare the directory before start (init a data dir, write a config file…). */
  prepare?: (port: number, dir: string) => void | Promise<void>;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Fixed port instead of a free one. */
  port?: number;
}

export interface RunningServer {
  name: string;
  host: string;
  port: number;
  dir: string;
  pid: number;
  /** Recent stdout+stderr of the server, for assertion messages. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<RunningServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const s of running) {
      try {
        process.kill(-s.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      rmSync(s.dir, { recursive: true, force: true });
    }
    running.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A TCP port nobody listens on right now (the kernel picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True once something accepts a TCP connection on host:port. */
export function tcpAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export function which(bin: string): string | undefined {
  if (bin.startsWith('/')) return existsSync(bin) ? bin : undefined;
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin'])) {
    const p = join(d, bin);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function uidOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  installExitHook();
  const bin = which(spec.command);
  if (!bin) throw new Error(`${spec.name}: binary ${spec.command} not found; run ./scripts/setup.sh`);
  const host = '127.0.0.1';
  const port = spec.port ?? (await freePort(host));
  const dir = mkdtempSync(join(tmpdir(), `peregrine-${spec.name}-`));
  let ids: { uid: number; gid: number } | undefined;
  if (spec.user && process.getuid?.() === 0) {
    ids = uidOf(spec.user);
    chownSync(dir, ids.uid, ids.gid);
    chmodSync(dir, 0o700);
  }
  let log = '';
  let child: ChildProcess | undefined;
  const server: RunningServer = {
    name: spec.name,
    host,
    port,
    dir,
    pid: 0,
    output: () => log,
    stop: async () => {
      running.delete(server);
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child!.once('exit', () => r()));
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          /* gone */
        }
        const t = setTimeout(() => {
          try {
            process.kill(-child!.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 5000);
        await exited;
        clearTimeout(t);
      }
      // Children that daemonised away from the group (rare) are found by their dir.
      killByDir(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (spec.prepare) await spec.prepare(port, dir);
    child = spawn(bin, spec.args(port, dir), {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env },
      uid: ids?.uid,
      gid: ids?.gid,
    });
    server.pid = child.pid!;
    running.add(server);
    const keep = (b: Buffer) => {
      log = (log + b.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + (spec.timeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${spec.name} exited (${child.exitCode ?? child.signalCode}) before answering:\n${log}`,
        );
      }
      if (await spec.ready(port, dir)) break;
      if (Date.now() > deadline) throw new Error(`${spec.name} did not answer on port ${port}:\n${log}`);
      await sleep(100);
    }
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Kill any process whose command line mentions `dir` (servers that fork into the background). */
function killByDir(dir: string): void {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(dir)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* raced with exit */
    }
  }
}

/** Retry `fn` until it resolves true or the timeout passes. */
export async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
