/** Starts `peregrine agent` (built CLI) as a child process with a config written to a temp dir. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitFor } from '../../harness/servers.js';

export const BIN = new URL('../../../bin/peregrine.js', import.meta.url).pathname;
export const DIST_MAIN = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
export const ROOT = new URL('../../../', import.meta.url).pathname;

export interface AgentProc {
  dir: string;
  webPort: number;
  auditPort: number;
  auditUrl: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Alert JSON lines printed on stdout so far. */
  alerts(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startAgent(
  config: Record<string, unknown>,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<AgentProc> {
  if (!existsSync(DIST_MAIN))
    throw new Error('dist/ missing: run `npm run build` before the integration tests');
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-agent-'));
  const webPort = await freePort();
  const auditPort = await freePort();
  const cfg = {
    rules_files: [join(ROOT, 'rules/k8s_audit_rules.yaml')],
    rule_matching: 'all',
    json_output: true,
    syslog_output: { enabled: false },
    watch_config_files: true,
    // The live syscall source is tested in test/e2e/agent; these tests exercise the audit path alone.
    syscall: { enabled: false },
    ...config,
    webserver: {
      listen_address: '127.0.0.1',
      listen_port: webPort,
      prometheus_metrics_enabled: true,
      ...((config.webserver as object) ?? {}),
    },
    k8s_audit: {
      listen_address: '127.0.0.1',
      listen_port: auditPort,
      ...((config.k8s_audit as object) ?? {}),
    },
  };
  const file = join(dir, 'peregrine.yaml');
  writeFileSync(file, stringify(cfg));
  const child = spawn(process.execPath, [BIN, 'agent', '-c', file, ...extraArgs], {
    cwd: dir,
    env: { ...process.env, PEREGRINE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await waitFor(
    async () => {
      if (gone) throw new Error(`agent exited early:\n${err}`);
      try {
        const r = await fetch(`http://127.0.0.1:${webPort}/healthz`);
        return r.ok && err.includes('event source started');
      } catch {
        return false;
      }
    },
    20_000,
    'agent /healthz',
  );
  const proc: AgentProc = {
    dir,
    webPort,
    auditPort,
    auditUrl: `http://127.0.0.1:${auditPort}/k8s-audit`,
    child,
    stdout: () => out,
    stderr: () => err,
    alerts: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    stop: async () => {
      if (!gone) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return proc;
}

/** A minimal audit Event written for the tests. */
export function auditEvent(id: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `5b3c9a1e-1111-4000-8000-${String(id).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces',
    verb: 'create',
    user: { username: 'alice@example.com', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.9'],
    objectRef: { resource: 'namespaces', name: `team-${id}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestReceivedTimestamp: '2025-06-02T10:00:00.000000Z',
    stageTimestamp: '2025-06-02T10:00:00.100000Z',
    ...over,
  };
}

export async function postEvents(url: string, events: unknown[], headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: events }),
  });
  return { status: res.status, body: await res.text() };
}

export function writeText(path: string, text: string): void {
  writeFileSync(path, text);
}
