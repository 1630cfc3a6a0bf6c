/**
 * `peregrine up` (what `npm start` runs): agent, relay and console come up wired
 * together on embedded defaults; a demo audit event becomes an alert that reaches
 * the console through the relay; Ctrl-C stops every process and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../harness/servers.js';

const BIN = new URL('../../../bin/peregrine.js', import.meta.url).pathname;

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The environment without PEREGRINE_ADMIN_PASSWORD, so the first start generates a one-time password. */
function withoutAdminPassword(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PEREGRINE_ADMIN_PASSWORD;
  return env;
}

describe('peregrine up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-up-'));
  let up: ChildProcess;
  let out = '';
  let exit: Promise<number | null>;
  const ports = { console: 0, relay: 0, agent: 0, audit: 0 };

  beforeAll(async () => {
    ports.console = await freePort();
    ports.relay = await freePort();
    ports.agent = await freePort();
    ports.audit = await freePort();
    up = spawn(
      process.execPath,
      [
        BIN,
        'up',
        '--demo',
        '--no-syscall',
        '--data-dir',
        dir,
        '--console-port',
        String(ports.console),
        '--relay-port',
        String(ports.relay),
        '--agent-port',
        String(ports.agent),
        '--audit-port',
        String(ports.audit),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: withoutAdminPassword() },
    );
    exit = new Promise((r) => up.once('exit', (c) => r(c)));
    up.stdout!.on('data', (d) => {
      out += d;
    });
    up.stderr!.on('data', (d) => {
      out += d;
    });
    await waitFor(() => out.includes('peregrine is up'), 90_000, 'stack up').catch((e: Error) => {
      throw new Error(`${e.message}; output:\n${out}`);
    });
  }, 120_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGKILL');
      for (const p of childPids(up.pid!)) process.kill(p, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the console URL and a one-time admin password, and keeps the stack secret private', () => {
    expect(out).toContain(`console   http://localhost:${ports.console}`);
    expect(out).toMatch(/log in as admin, password \S{12,} \(one-time/);
    expect(out).toContain('syscalls  off (disabled in the configuration');
    const secret = join(dir, 'stack-secrets.json');
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, 'console', 'events.db'))).toBe(true);
  });

  it('carries a demo audit alert agent → relay → console, shown in the terminal too', async () => {
    const password = /password (\S+) \(one-time/.exec(out)![1]!;
    await waitFor(() => out.includes('ALERT') && out.includes('[Namespace Created]'), 30_000, 'alert line');
    const login = await fetch(`http://127.0.0.1:${ports.console}/api/v2/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    let events: Array<{ rule: string; source: string; uuid: string }> = [];
    await waitFor(
      async () => {
        const r = await fetch(
          `http://127.0.0.1:${ports.console}/api/v2/events?rule=${encodeURIComponent('Namespace Created')}`,
          { headers: { cookie } },
        );
        events = ((await r.json()) as { events?: typeof events }).events ?? [];
        return events.length > 0;
      },
      30_000,
      'event in the console',
    );
    expect(events[0]!.source).toBe('k8s_audit');
    expect(events[0]!.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stops every component on Ctrl-C and exits 0', async () => {
    const kids = childPids(up.pid!);
    expect(kids.length).toBeGreaterThanOrEqual(3);
    up.kill('SIGINT');
    expect(await exit).toBe(0);
    for (const k of kids) expect(existsSync(`/proc/${k}`), `pid ${k}`).toBe(false);
    expect(out).toContain('peregrine up: stopped');
  }, 60_000);
});
