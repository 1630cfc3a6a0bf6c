import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../harness/servers.js';
import { testDir } from '../../harness/tmpdir.js';
import { type AgentProc, auditEvent, postEvents, startAgent, writeText } from './agent-process.js';

// processes under a loaded machine: generous per-test limit (the waits inside are bounded)
vi.setConfig({ testTimeout: 90_000 });

/** Local HTTP receiver recording what http_output posts. */
async function receiver(delayMs = 0) {
  const bodies: Array<{ body: string; ctype: string | undefined; ua: string | undefined }> = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => {
      b += d;
    });
    req.on('end', () => {
      setTimeout(() => {
        bodies.push({ body: b, ctype: req.headers['content-type'], ua: req.headers['user-agent'] });
        res.writeHead(200).end();
      }, delayMs);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`,
    bodies,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

describe('peregrine agent: audit webhook → rules → channels', () => {
  let agent: AgentProc;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let alertsFile: string;
  beforeAll(async () => {
    rx = await receiver();
    agent = await startAgent({
      cluster_name: 'prod-eu-1',
      file_output: { enabled: true, keep_alive: true, filename: 'alerts.json' },
      http_output: { enabled: true, url: rx.url },
    });
    alertsFile = join(agent.dir, 'alerts.json');
  });
  afterAll(async () => {
    await agent?.stop();
    await rx?.close();
  });

  it('raises alerts on stdout, in the file and on the HTTP receiver', async () => {
    const r = await postEvents(agent.auditUrl, [
      auditEvent(1),
      auditEvent(2),
      auditEvent(3, { verb: 'delete' }),
    ]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ accepted: 3 });
    await waitFor(() => agent.alerts().length >= 2 && rx.bodies.length >= 2, 20_000, 'alerts');
    const out = agent.alerts();
    expect(out.map((a) => a.rule)).toEqual(['Namespace Created', 'Namespace Created']);
    expect(out[0]).toMatchObject({ priority: 'Notice', source: 'k8s_audit', cluster: 'prod-eu-1' });
    expect((out[0]!.output_fields as Record<string, unknown>)['ka.target.name']).toBe('team-1');
    expect(out[0]!.time).toBe('2025-06-02T10:00:00.100000000Z');
    const file = readFileSync(alertsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(file.map((a) => (a.output_fields as Record<string, string>)['ka.target.name'])).toEqual([
      'team-1',
      'team-2',
    ]);
    expect(rx.bodies[0]!.ctype).toBe('application/json');
    expect(rx.bodies[0]!.ua).toBe('falcosecurity/falco');
    // http_output sends with up to 4 requests in flight: compare as a set
    expect(rx.bodies.map((b) => JSON.parse(b.body).output_fields['ka.target.name']).sort()).toEqual([
      'team-1',
      'team-2',
    ]);
  });

  it('serves /healthz, /versions and /metrics', async () => {
    const base = `http://127.0.0.1:${agent.webPort}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const v = (await (await fetch(`${base}/versions`)).json()) as Record<string, unknown>;
    expect(v.engine_version_semver).toBe('0.63.0');
    expect(v.sources).toEqual(['k8s_audit']);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/peregrine_events_total\{source="k8s_audit"\} 3/);
    expect(m).toMatch(
      /peregrine_alerts_total\{rule="Namespace Created",priority="Notice",source="k8s_audit"\} 2/,
    );
    expect(m).toMatch(/peregrine_channel_alerts_sent_total\{channel="http"\} 2/);
    expect(m).toMatch(/peregrine_outputs_queue_depth 0/);
    expect(m).toMatch(/peregrine_k8s_audit_webhook_requests_total\{code="200"\} 1/);
    expect(m).toContain('peregrine_rule_evaluation_seconds_bucket');
    expect(m).toContain('process_resident_memory_bytes');
    expect(m).toContain('process_cpu_seconds_total');
  });

  it('reopens the alert file on SIGUSR1', async () => {
    const { renameSync } = await import('node:fs');
    renameSync(alertsFile, `${alertsFile}.1`);
    agent.child.kill('SIGUSR1');
    await waitFor(() => agent.stderr().includes('outputs reopened'), 15_000, 'reopen log');
    await postEvents(agent.auditUrl, [auditEvent(10)]);
    await waitFor(
      () => {
        try {
          return readFileSync(alertsFile, 'utf8').includes('team-10');
        } catch {
          return false;
        }
      },
      15_000,
      'new file',
    );
  });
});

describe('peregrine agent: rule reload', () => {
  it('a broken rules file is refused and the running rules stay; a good one is taken', async () => {
    const rulesDir = testDir('peregrine-rules');
    const rules = join(rulesDir, 'mine.yaml');
    const rule = (name: string) =>
      `- rule: ${name}\n  desc: test rule\n  condition: ka.verb = create and ka.target.resource = namespaces\n  output: ns %ka.target.name by %ka.user.name\n  priority: WARNING\n  source: k8s_audit\n`;
    writeText(rules, rule('Old Rule'));
    const agent = await startAgent({ rules_files: [rules] });
    try {
      await postEvents(agent.auditUrl, [auditEvent(1)]);
      await waitFor(() => agent.alerts().length === 1, 15_000, 'first alert');
      // broken: picked up by the file watcher, refused with a position
      writeText(rules, `${rule('New Rule')}  condition: [oops\n`);
      await waitFor(() => agent.stderr().includes('rules reload failed'), 10_000, 'reload failure log');
      expect(agent.stderr()).toMatch(/mine\.yaml/);
      expect(agent.stderr()).toMatch(/LOAD_ERR_YAML|line \d+|:\d+:\d+/);
      agent.child.kill('SIGHUP');
      await waitFor(
        () => agent.stderr().includes('rules reload failed (SIGHUP)'),
        10_000,
        'SIGHUP reload failure',
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${agent.stderr()}`);
      });
      await postEvents(agent.auditUrl, [auditEvent(2)]);
      await waitFor(() => agent.alerts().length === 2, 15_000, 'second alert');
      expect(agent.alerts()[1]!.rule).toBe('Old Rule');
      // fixed: the new rule is in force
      writeText(rules, rule('New Rule'));
      await waitFor(() => agent.stderr().includes('rules reloaded'), 10_000, 'reload ok');
      await postEvents(agent.auditUrl, [auditEvent(3)]);
      await waitFor(() => agent.alerts().length === 3, 15_000, 'third alert');
      expect(agent.alerts()[2]!.rule).toBe('New Rule');
      const m = await (await fetch(`http://127.0.0.1:${agent.webPort}/metrics`)).text();
      expect(m).toMatch(/peregrine_rules_reloads_total\{result="error"\} [1-9]/);
    } finally {
      await agent.stop();
    }
  });

  it('refuses to start on a broken rules file, with the reason', async () => {
    const { spawnSync } = await import('node:child_process');
    const { BIN } = await import('./agent-process.js');
    const d = testDir('peregrine-bad');
    writeText(
      join(d, 'bad.yaml'),
      '- rule: X\n  desc: d\n  condition: ka.nosuchfield = 1\n  output: o\n  priority: WARNING\n  source: k8s_audit\n',
    );
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'agent',
        '-r',
        join(d, 'bad.yaml'),
        '-o',
        'webserver.enabled=false',
        '-o',
        'k8s_audit.enabled=false',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('rules failed to load');
    expect(r.stderr).toContain('ka.nosuchfield');
    // --check validates config and rules without starting anything
    const bad = spawnSync(process.execPath, [BIN, 'agent', '--check', '-r', join(d, 'bad.yaml')], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('ka.nosuchfield');
    const good = spawnSync(process.execPath, [BIN, 'agent', '--check'], { encoding: 'utf8' });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain('config and rules ok');
    const wrong = spawnSync(
      process.execPath,
      [BIN, 'agent', '--check', '-o', 'outputs_queue.capacity=lots'],
      { encoding: 'utf8' },
    );
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('outputs_queue.capacity: expected a non-negative integer');
  });
});

describe('peregrine agent: graceful shutdown', () => {
  it('SIGTERM stops intake, drains the queue to a slow receiver and exits 0', async () => {
    const rx = await receiver(40);
    const agent = await startAgent({
      http_output: { enabled: true, url: rx.url },
      stdout_output: { enabled: false },
      shutdown_timeout_ms: 30_000,
    });
    try {
      const events = Array.from({ length: 25 }, (_, i) => auditEvent(100 + i));
      const r = await postEvents(agent.auditUrl, events);
      expect(r.status).toBe(200);
      agent.child.kill('SIGTERM');
      const exit = await agent.exited;
      expect(exit.code).toBe(0);
      expect(rx.bodies).toHaveLength(25); // 25 × 40 ms: delivered during the drain
      expect(agent.stderr()).toContain('stopping: intake closed');
      expect(agent.stderr()).toMatch(/stopped undelivered=0/);
    } finally {
      await agent.stop();
      await rx.close();
    }
  });
});
