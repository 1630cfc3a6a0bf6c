/**
 * The agent daemon with the live syscall source (root + BPF; must run in CI):
 * default rules on real syscalls, the audit source beside it, the collector
 * killed mid-run and restarted while the audit source keeps answering, and a
 * clean SIGTERM.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveOrSkip } from '../../harness/live.js';
import { waitFor } from '../../harness/servers.js';
import {
  type AgentProc,
  auditEvent,
  postEvents,
  ROOT,
  startAgent,
} from '../../integration/agent/agent-process.js';

const live = liveOrSkip('agent with the syscall source');

/** Pids of the agent's collector children. */
function collectorPids(agentPid: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === agentPid && stat.includes('(peregrine-coll')) pids.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return pids;
}

describe.skipIf(!live)('agent: live syscall source beside the audit webhook', () => {
  let agent: AgentProc;
  beforeAll(async () => {
    agent = await startAgent({
      rules_files: [join(ROOT, 'rules/syscall_rules.yaml'), join(ROOT, 'rules/k8s_audit_rules.yaml')],
      syscall: { enabled: true },
    });
    await waitFor(() => agent.stderr().includes('syscall source running'), 30_000, 'syscall source running');
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
  });

  const shadowAlerts = () =>
    agent
      .alerts()
      .filter(
        (a) =>
          a.rule === 'Sensitive File Opened For Reading' &&
          (a.output_fields as Record<string, unknown>)['fd.name'] === '/etc/shadow',
      );

  it('alerts on a real sensitive-file read with process and parent', async () => {
    spawnSync('cat', ['/etc/shadow'], { stdio: 'ignore' });
    await waitFor(() => shadowAlerts().length > 0, 10_000, 'sensitive-file alert');
    const a = shadowAlerts()[0]!;
    const f = a.output_fields as Record<string, unknown>;
    expect(a.source).toBe('syscall');
    expect(a.priority).toBe('Warning');
    expect(f['proc.name']).toBe('cat');
    expect(f['proc.cmdline']).toBe('cat /etc/shadow');
    expect(f['container.id']).toBe('host');
  });

  it('serves the audit webhook at the same time', async () => {
    const r = await postEvents(agent.auditUrl, [auditEvent(1)]);
    expect(r.status).toBe(200);
    await waitFor(() => agent.alerts().some((a) => a.rule === 'Namespace Created'), 5000, 'audit alert');
  });

  it('restarts a killed collector while the audit source keeps answering', async () => {
    const before = collectorPids(agent.child.pid!);
    expect(before.length).toBe(1);
    execFileSync('kill', ['-9', String(before[0])]);
    // The audit source answers while the collector is down.
    const r = await postEvents(agent.auditUrl, [auditEvent(2)]);
    expect(r.status).toBe(200);
    await waitFor(
      () => {
        const now = collectorPids(agent.child.pid!);
        return now.length === 1 && now[0] !== before[0];
      },
      30_000,
      'collector restart',
    );
    expect(agent.stderr()).toContain('collector died');
    await waitFor(
      () => /collector ready/.test(agent.stderr().split('collector died')[1] ?? ''),
      30_000,
      'ready',
    );
    const n = shadowAlerts().length;
    spawnSync('cat', ['/etc/shadow'], { stdio: 'ignore' });
    await waitFor(() => shadowAlerts().length > n, 10_000, 'alert after restart');
    await waitFor(
      () => agent.alerts().filter((a) => a.rule === 'Namespace Created').length >= 2,
      5000,
      'second audit alert',
    );
  }, 90_000);

  it('stops cleanly on SIGTERM, collector included', async () => {
    const pid = agent.child.pid!;
    agent.child.kill('SIGTERM');
    const { code } = await agent.exited;
    expect(code).toBe(0);
    expect(collectorPids(pid)).toEqual([]);
  });
});

describe.skipIf(!live)('peregrine capture → replay --source syscall', () => {
  it('records live events that replay into the same alert', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { spawn } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'peregrine-capture-'));
    const file = join(dir, 'live.capture.jsonl');
    try {
      const bin = join(ROOT, 'bin/peregrine.js');
      const cap = spawn(process.execPath, [bin, 'capture', '-w', file, '--types', 'openat,open,execve'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      cap.stderr!.on('data', (d) => {
        err += d;
      });
      await waitFor(() => err.includes('recording to'), 30_000, 'capture started');
      spawnSync('cat', ['/etc/shadow'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
      cap.kill('SIGINT');
      await new Promise((r) => cap.once('exit', r));
      expect(err).toMatch(/\d+ events written/);
      const r = spawnSync(
        process.execPath,
        [bin, 'replay', '--source', 'syscall', file, '-r', join(ROOT, 'rules/syscall_rules.yaml')],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      const hits = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { rule: string; output_fields: Record<string, unknown> })
        .filter(
          (a) =>
            a.rule === 'Sensitive File Opened For Reading' && a.output_fields['fd.name'] === '/etc/shadow',
        );
      expect(hits.length).toBeGreaterThanOrEqual(1);
      expect(hits[0]!.output_fields['proc.name']).toBe('cat');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
