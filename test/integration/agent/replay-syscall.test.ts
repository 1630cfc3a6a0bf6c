import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { BIN, ROOT } from './agent-process.js';

vi.setConfig({ testTimeout: 90_000 });

const CAPTURES = `${ROOT}test/fixtures/captures/`;

function replay(file: string, extra: string[] = []) {
  const r = spawnSync(
    process.execPath,
    [BIN, 'replay', '--source', 'syscall', file, '-r', `${ROOT}rules/syscall_rules.yaml`, ...extra],
    { encoding: 'utf8' },
  );
  const alerts = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { rule: string; source: string; priority: string });
  return { status: r.status, alerts, stderr: r.stderr };
}

describe('peregrine replay --source syscall (capture files)', () => {
  it('raises every rule the recorded generate run should raise', () => {
    const expected = JSON.parse(readFileSync(`${CAPTURES}generate-positive.rules.json`, 'utf8')) as unknown;
    const rules = new Set(
      (Array.isArray(expected) ? expected : Object.keys(expected as object)).map((x) =>
        typeof x === 'string' ? x : (x as { rule: string }).rule,
      ),
    );
    const r = replay(`${CAPTURES}generate-positive.capture.jsonl`, ['-o', 'rule_matching=first']);
    expect(r.status, r.stderr).toBe(0);
    const seen = new Set(r.alerts.map((a) => a.rule));
    for (const rule of rules) expect(seen.has(rule), rule).toBe(true);
    expect(r.alerts.every((a) => a.source === 'syscall')).toBe(true);
  });

  it('raises nothing at Warning or above on the recorded benign workload', () => {
    const r = replay(`${CAPTURES}benign-workload.capture.jsonl`);
    expect(r.status, r.stderr).toBe(0);
    const loud = r.alerts.filter((a) =>
      ['Emergency', 'Alert', 'Critical', 'Error', 'Warning'].includes(a.priority),
    );
    expect(loud).toEqual([]);
  });

  it('exits 1 with the reason on an unreadable capture', () => {
    const r = replay(`${CAPTURES}does-not-exist.jsonl`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/does-not-exist\.jsonl/);
  });
});
