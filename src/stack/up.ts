/**
 * `peregrine up`: the whole stack on one machine with embedded defaults — the
 * agent (live syscall source when root with BPF, else the audit source alone),
 * the relay (spool, console and stdout sinks) and the console (SQLite) — as three
 * child processes wired together, stopped together on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { demoAuditEvents } from './demo-audit.js';

const BIN = fileURLToPath(new URL('../../bin/peregrine.js', import.meta.url));

export interface UpOptions {
  dataDir: string;
  consolePort: number;
  relayPort: number;
  agentPort: number;
  auditPort: number;
  /** Turn the live syscall source off (it is on by default when root with BPF). */
  syscall: boolean;
  /** Also produce alerts: demo audit events now and every minute, and `peregrine generate all` once. */
  demo: boolean;
  /** Children log at info instead of warn. */
  verbose: boolean;
  out?: (line: string) => void;
  /** Called once the stack stopped on its own (a component died). */
  onStopped?: (code: number) => void;
}

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

/** The stack's own secret: the console ingest token the relay uses, kept in the data dir (mode 0600). */
function stackSecrets(dataDir: string): { ingestToken: string } {
  const file = join(dataDir, 'stack-secrets.json');
  if (existsSync(file)) {
    const s = JSON.parse(readFileSync(file, 'utf8')) as { ingestToken?: string };
    if (s.ingestToken && s.ingestToken.length >= 16) return { ingestToken: s.ingestToken };
  }
  const secrets = { ingestToken: `pgr_stack_${randomBytes(24).toString('hex')}` };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

async function waitHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void child.exited.then(() => {
    dead = true;
  });
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${child.name} exited during startup (see its lines above)`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} did not answer on ${url} within ${timeoutMs / 1000} s`);
}

/** One alert JSON line from the relay's stdout sink, as a readable line. */
function alertLine(json: string): string | undefined {
  try {
    const a = JSON.parse(json) as { time?: string; priority?: string; rule?: string; output?: string };
    if (!a.rule) return undefined;
    const msg = (a.output ?? '').replace(/^\S+: \S+ /, '');
    return `ALERT ${a.time ?? ''} ${a.priority ?? ''} [${a.rule}] ${msg}`;
  } catch {
    return undefined;
  }
}

export class Stack {
  private children: Child[] = [];
  private stopping = false;
  private demoTimer: NodeJS.Timeout | undefined;
  adminPassword: string | undefined;
  syscallState = 'unknown';
  readonly urls: { console: string; relay: string; agent: string; audit: string };

  constructor(private readonly opts: UpOptions) {
    this.urls = {
      console: `http://localhost:${opts.consolePort}`,
      relay: `http://127.0.0.1:${opts.relayPort}`,
      agent: `http://127.0.0.1:${opts.agentPort}`,
      audit: `http://127.0.0.1:${opts.auditPort}/k8s-audit`,
    };
  }

  private print(line: string): void {
    (this.opts.out ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
  }

  private spawnChild(
    name: string,
    args: string[],
    env: Record<string, string>,
    onLine?: (l: string) => void,
  ): Child {
    const proc = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, PEREGRINE_LOG_LEVEL: this.opts.verbose ? 'info' : 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const child: Child = { name, proc, exited };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (onLine?.(line) === undefined) this.print(`${name.padEnd(7)}| ${line}`);
      });
    }
    void exited.then((code) => {
      if (!this.stopping) {
        this.print(`peregrine up: ${name} exited unexpectedly (code ${code}); stopping the stack`);
        void this.stop(1).then((c) => this.opts.onStopped?.(c));
      }
    });
    this.children.push(child);
    return child;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const data = resolve(o.dataDir);
    mkdirSync(join(data, 'console'), { recursive: true });
    mkdirSync(join(data, 'relay'), { recursive: true });
    const { ingestToken } = stackSecrets(data);

    // Console: SQLite under the data dir; the ingest token comes from the stack's secret.
    const consoleCfg = join(data, 'console.yaml');
    writeFileSync(
      consoleCfg,
      stringify({
        listen_port: o.consolePort,
        store: { type: 'sqlite', path: join(data, 'console', 'events.db') },
      }),
    );
    const consoleChild = this.spawnChild(
      'console',
      ['console', '-c', consoleCfg],
      { PEREGRINE_CONSOLE_INGEST_TOKEN: ingestToken },
      (line) => {
        const m = /one-time password: (\S+)/.exec(line);
        if (m) this.adminPassword = m[1];
        return undefined;
      },
    );
    await waitHttp(`http://127.0.0.1:${o.consolePort}/healthz`, consoleChild, 30_000);

    // Relay: spool under the data dir; console and stdout sinks.
    const relayCfg = join(data, 'relay.yaml');
    writeFileSync(
      relayCfg,
      stringify({
        listenaddress: '127.0.0.1',
        listenport: o.relayPort,
        spool: { dir: join(data, 'relay') },
        stdout: { enabled: true },
        console: { url: `http://127.0.0.1:${o.consolePort}`, token: ingestToken },
      }),
    );
    const relayChild = this.spawnChild('relay', ['relay', '-c', relayCfg], {}, (line) => {
      if (!line.startsWith('{')) return undefined;
      const text = alertLine(line);
      if (text) this.print(text);
      return text ? null : undefined;
    });
    await waitHttp(`${this.urls.relay}/healthz`, relayChild, 30_000);

    // Agent: default rules and config; alerts go to the relay over Falco's http_output.
    const agentArgs = [
      'agent',
      '-o',
      'json_output=true',
      '-o',
      'stdout_output.enabled=false',
      '-o',
      'syslog_output.enabled=false',
      '-o',
      'http_output.enabled=true',
      '-o',
      `http_output.url=${this.urls.relay}/`,
      '-o',
      'http_output.keep_alive=true',
      '-o',
      'webserver.listen_address=127.0.0.1',
      '-o',
      `webserver.listen_port=${o.agentPort}`,
      '-o',
      `k8s_audit.listen_port=${o.auditPort}`,
    ];
    if (!o.syscall) agentArgs.push('-o', 'syscall.enabled=false');
    const agentChild = this.spawnChild('agent', agentArgs, {}, (line) => {
      const off = /syscall source off reason=(.*)$/.exec(line);
      if (off) this.syscallState = `off (${off[1]})`;
      return undefined;
    });
    await waitHttp(`${this.urls.agent}/healthz`, agentChild, 60_000);
    try {
      const v = (await (await fetch(`${this.urls.agent}/versions`)).json()) as { sources?: string[] };
      if (v.sources?.includes('syscall')) this.syscallState = 'on (live eBPF collector)';
    } catch {
      /* the banner says unknown */
    }
    this.banner();
    if (o.demo) this.startDemo();
  }

  private banner(): void {
    const pw = this.adminPassword
      ? `password ${this.adminPassword} (one-time, shown only on the first start; change it in the UI)`
      : process.env.PEREGRINE_ADMIN_PASSWORD
        ? 'password from PEREGRINE_ADMIN_PASSWORD'
        : 'the password printed on the first start (or set by you since)';
    const lines = [
      '',
      'peregrine is up',
      `  console   ${this.urls.console}  — log in as admin, ${pw}`,
      `  relay     ${this.urls.relay}/  (Falco http_output / Falcosidekick compatible)`,
      `  agent     ${this.urls.agent}/metrics ; audit webhook http://<this host>:${this.opts.auditPort}/k8s-audit`,
      `  syscalls  ${this.syscallState}`,
      `  data      ${resolve(this.opts.dataDir)}`,
      this.opts.demo
        ? '  demo      generating alerts (audit events now and every minute)'
        : '  demo      off (peregrine up --demo generates alerts)',
      'Ctrl-C stops everything.',
      '',
    ];
    for (const l of lines) this.print(l);
  }

  private startDemo(): void {
    const postAudit = async () => {
      try {
        const r = await fetch(this.urls.audit, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(demoAuditEvents()),
        });
        if (!r.ok) this.print(`demo   | audit webhook answered ${r.status}`);
      } catch (e) {
        this.print(`demo   | audit webhook: ${(e as Error).message}`);
      }
    };
    void postAudit();
    this.demoTimer = setInterval(() => void postAudit(), 60_000);
    this.demoTimer.unref();
    if (this.syscallState.startsWith('on')) {
      const gen = spawn(process.execPath, [BIN, 'generate', 'all'], { stdio: ['ignore', 'pipe', 'pipe'] });
      for (const s of [gen.stdout, gen.stderr])
        createInterface({ input: s }).on('line', (l) => this.print(`demo   | ${l}`));
    }
  }

  /** Stop agent, relay, console in that order (each drains), then resolve with the exit code. */
  async stop(code = 0): Promise<number> {
    if (this.stopping) return code;
    this.stopping = true;
    clearInterval(this.demoTimer);
    for (const name of ['agent', 'relay', 'console']) {
      const c = this.children.find((x) => x.name === name);
      if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      c.proc.kill('SIGTERM');
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 15_000);
      await c.exited;
      clearTimeout(t);
    }
    this.print(`peregrine up: stopped${code ? ' (after an error)' : ''}`);
    return code;
  }
}
