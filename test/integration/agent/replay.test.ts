import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';
import { auditEvent, BIN } from './agent-process.js';

// processes under a loaded machine: generous per-test limit (the waits inside are bounded)
vi.setConfig({ testTimeout: 90_000 });

const dir = mkdtempSync(join(tmpdir(), 'peregrine-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function replay(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'replay', '--source', 'k8s_audit', ...args], {
    encoding: 'utf8',
  });
  const alerts = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, alerts, stderr: r.stderr };
}

describe('peregrine replay --source k8s_audit', () => {
  const events = [auditEvent(1), auditEvent(2, { verb: 'get' }), auditEvent(3)];

  it('reads an EventList, a JSON array and NDJSON alike', () => {
    const list = join(dir, 'list.json');
    writeFileSync(list, JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events }));
    const arr = join(dir, 'array.json');
    writeFileSync(arr, JSON.stringify(events));
    const nd = join(dir, 'events.jsonl');
    writeFileSync(nd, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    for (const f of [list, arr, nd]) {
      const r = replay([f, '-o', 'cluster_name=staging']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.alerts.map((a) => a.rule)).toEqual(['Namespace Created', 'Namespace Created']);
      expect(r.alerts[0]).toMatchObject({ source: 'k8s_audit', priority: 'Notice', cluster: 'staging' });
      expect(Object.keys(r.alerts[0]!)).toEqual([...Object.keys(r.alerts[0]!)].sort());
    }
  });

  it.runIf(refdataAvailable())("runs Falco's k8s audit rules unmodified over an NDJSON sample", () => {
    const r = replay([
      join(REFDATA, 'k8saudit/events/create_configmap_sensitive_values.json'),
      '-r',
      join(REFDATA, 'rules/k8s_audit_rules.yaml'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const names = r.alerts.map((a) => a.rule);
    expect(names.filter((n) => n === 'Create/Modify Configmap With Private Credentials')).toHaveLength(6);
  });

  it('exits 1 with the reason on unreadable or malformed input and on broken rules', () => {
    const missing = replay([join(dir, 'nope.json')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"kind": 0}');
    const r = replay([bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('kind 0 is not Event or EventList');
    const nd = join(dir, 'bad.jsonl');
    writeFileSync(nd, `${JSON.stringify(events[0])}\n{"broken"\n`);
    const r2 = replay([nd]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/line 2: invalid JSON/);
    const rules = join(dir, 'broken-rules.yaml');
    writeFileSync(
      rules,
      '- rule: X\n  desc: d\n  condition: ka.verb = \n  output: o\n  priority: WARNING\n  source: k8s_audit\n',
    );
    const r3 = replay([join(dir, 'events.jsonl'), '-r', rules]);
    expect(r3.status).toBe(1);
    expect(r3.stderr).toContain('rules failed to load');
    const r4 = spawnSync(process.execPath, [BIN, 'replay', '--source', 'nosuch', bad], { encoding: 'utf8' });
    expect(r4.status).toBe(1);
    expect(r4.stderr).toContain("unknown source 'nosuch'");
    expect(readFileSync(bad, 'utf8')).toBe('{"kind": 0}');
  });
});
