/**
 * Live (root + BPF + podman): the real collector through the syscall source, the
 * rules engine loaded with rules/syscall_rules.yaml, and `peregrine generate all`
 * run as a separate process. Every action raises an alert of its rule with the
 * right process, parent, container and pod; then a benign developer workload
 * (npm install of a local package, a C compile, git, reading /etc/hosts) raises
 * nothing at Warning or above.
 *
 * PEREGRINE_RECORD_FIXTURE=DIR also writes the matched events (positives) and a
 * sample of the benign workload's events (negatives) as captures into DIR.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FalcoAlert } from '../../../src/alert/falco-alert.js';
import { parsePriority } from '../../../src/alert/priority.js';
import { createEngine, type Engine, type FieldValue } from '../../../src/engine/index.js';
import type { GenerateReport } from '../../../src/generate/run.js';
import { eventToLine } from '../../../src/sources/syscall/capture.js';
import type { SyscallEvent } from '../../../src/sources/syscall/event.js';
import { SyscallExtractor } from '../../../src/sources/syscall/extractor.js';
import { SyscallSource } from '../../../src/sources/syscall/source.js';
import { type PodmanEnv, podmanUnavailableReason, startPodman } from '../../harness/containers.js';
import { liveOrSkip } from '../../harness/live.js';
import { waitFor } from '../../harness/servers.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/peregrine.js');
const RULES = join(ROOT, 'rules/syscall_rules.yaml');

function liveContainersOrSkip(): boolean {
  if (!liveOrSkip('generate e2e')) return false;
  const why =
    podmanUnavailableReason() ?? (existsSync(join(ROOT, 'dist/cli/main.js')) ? undefined : 'dist/ not built');
  if (!why) return true;
  if (process.env.CI === 'true') throw new Error(`generate e2e: cannot run under CI: ${why}`);
  process.stderr.write(`[live] generate e2e skipped: ${why}\n`);
  return false;
}

function captureText(lines: string[]): string {
  const header = {
    format: 'peregrine-syscall-capture',
    version: 1,
    created: new Date().toISOString(),
    hostname: 'recorded',
  };
  return `${[JSON.stringify(header), ...lines].join('\n')}\n`;
}

interface Seen {
  /** The capture line, taken when the event arrived (the state moves on). */
  line: string;
  alert: FalcoAlert;
  pid: number;
  apids: number[];
}

describe.runIf(liveContainersOrSkip())('peregrine generate against the live syscall source', () => {
  let env: PodmanEnv;
  let src: SyscallSource;
  let engine: Engine;
  const extractor = new SyscallExtractor();
  const seen: Seen[] = [];
  const recordDir = process.env.PEREGRINE_RECORD_FIXTURE;
  const benignPids = new Set<number>();
  const benignSample: { ev: SyscallEvent; line: string }[] = [];
  let reports: GenerateReport[] = [];
  let cliPid = 0;
  const get = (ev: SyscallEvent, f: string, arg?: string): FieldValue => extractor.bind(f, arg)!(ev);
  const apidsOf = (ev: SyscallEvent): number[] => {
    const v = get(ev, 'proc.apid');
    return Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : [];
  };

  beforeAll(async () => {
    engine = createEngine({ extractors: [extractor], ruleMatching: 'first' });
    const res = engine.load([{ name: 'syscall_rules.yaml', content: readFileSync(RULES, 'utf8') }]);
    expect(res.successful, res.toText()).toBe(true);
    env = await startPodman();
    src = new SyscallSource({ eventTypes: [...engine.eventTypes('syscall')], containerSocket: env.socket });
    await src.start((ev) => {
      const pid = ev.frame.tgid;
      if (benignPids.size && benignSample.length < 4000 && ev.type !== 'close') {
        const apids = apidsOf(ev);
        if ([...benignPids].some((p) => p === pid || apids.includes(p)))
          benignSample.push({ ev, line: JSON.stringify(eventToLine(ev)) });
      }
      for (const m of engine.process('syscall', ev)) {
        seen.push({
          line: recordDir ? JSON.stringify(eventToLine(ev)) : '',
          alert: engine.toAlert(m, ev),
          pid,
          apids: apidsOf(ev),
        });
      }
    });
  }, 90_000);

  afterAll(async () => {
    await src?.stop();
    await env?.stop();
  }, 60_000);

  const ours = (s: Seen, containerId: string | undefined) =>
    s.pid === cliPid ||
    s.apids.includes(cliPid) ||
    (containerId !== undefined && s.alert.output_fields['container.id'] === containerId.slice(0, 12));

  it('generate all: one alert of the right rule per action, with process, parent, container and pod', async () => {
    const child = spawn(process.execPath, [BIN, 'generate', 'all', '--json', '--sandbox', 'container'], {
      env: {
        ...process.env,
        CONTAINERS_CONF: join(env.dir, 'containers.conf'),
        CONTAINERS_STORAGE_CONF: join(env.dir, 'storage.conf'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cliPid = child.pid!;
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, err).toBe(0);
    reports = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as GenerateReport);
    expect(reports.length).toBe(19);
    for (const r of reports) expect(r.error ?? r.skipped, `${r.action}`).toBeUndefined();
    const ctr = reports.find((r) => r.container)!.container!;
    // Every action cleaned up: no container, no image it imported, no temp file left.
    expect(env.podman(['ps', '-a', '--format', '{{.Names}}']).split('\n')).not.toContain(ctr.name);
    expect(env.podman(['images', '--format', '{{.Repository}}'])).not.toContain('peregrine/generate');
    expect(readdirSync('/etc').filter((f) => f.startsWith('peregrine-generate-'))).toEqual([]);
    expect(readdirSync('/var/log').filter((f) => f.startsWith('peregrine-generate-'))).toEqual([]);
    const rules = new Set(reports.map((r) => r.rule));
    await waitFor(
      () => [...rules].every((rule) => seen.some((s) => s.alert.rule === rule && ours(s, ctr.id))),
      20_000,
      `alerts for ${[...rules].filter((rule) => !seen.some((s) => s.alert.rule === rule && ours(s, ctr.id))).join(', ')}`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const mine = seen.filter((s) => ours(s, ctr.id));
    const summary = mine.map((s) => `${s.alert.rule} | ${s.pid} ${s.alert.output}`);
    // No alert of a rule no action was meant to trigger (e.g. the shell rule on the reverse shell).
    for (const s of mine) expect(rules.has(s.alert.rule), summary.join('\n')).toBe(true);
    for (const r of reports) {
      const hits = mine.filter((s) => s.alert.rule === r.rule);
      // ssh: the connecting and the accepting end; drift: create, rename, delete.
      expect(hits.length, `${r.action}: ${summary.join('\n')}`).toBe(r.alerts);
      const f = hits[0]!.alert.output_fields;
      if (r.proc) expect(f['proc.name'], r.action).toBe(r.proc);
      if (r.parent) expect(f['proc.pname'], r.action).toBe(r.parent);
      // podman exec: the runtime starts the program; conmon adopts it when runc exits first.
      else expect(['runc', 'conmon'], r.action).toContain(f['proc.pname']);
      if (r.where === 'container') {
        expect(f['container.id'], r.action).toBe(ctr.id.slice(0, 12));
        expect(f['container.name'], r.action).toBe(ctr.name);
        expect(f['container.image.repository'], r.action).toBe(ctr.image.replace(/:[^:/]+$/, ''));
        expect(f['k8s.pod.name'], r.action).toBe(ctr.podName);
        expect(f['k8s.ns.name'], r.action).toBe(ctr.podNamespace);
      } else if (r.action !== 'host_changes_container') {
        expect(f['container.id'], r.action).toBe('host');
      }
    }
    if (recordDir) {
      mkdirSync(recordDir, { recursive: true });
      writeFileSync(join(recordDir, 'generate-positive.capture.jsonl'), captureText(mine.map((s) => s.line)));
      writeFileSync(
        join(recordDir, 'generate-positive.rules.json'),
        `${JSON.stringify(
          mine.map((s) => ({ n: JSON.parse(s.line).n, rule: s.alert.rule })),
          null,
          2,
        )}\n`,
      );
    }
  }, 120_000);

  it('without a container: the network actions run in fresh namespaces and are seen on the host', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'generate', 'reverse_shell', 'mining_pool', 'shell', '--json', '--sandbox', 'namespaces'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pid = child.pid!;
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    const rs = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as GenerateReport);
    expect(rs.map((r) => [r.action, r.skipped === undefined])).toEqual([
      ['reverse_shell', true],
      ['mining_pool', true],
      ['shell', false],
    ]);
    const mineNs = () => seen.filter((s) => s.apids.includes(pid));
    await waitFor(
      () =>
        ['Reverse Shell', 'Connection To Mining Pool Port'].every((rule) =>
          mineNs().some((s) => s.alert.rule === rule),
        ),
      15_000,
      'namespace alerts',
    );
    for (const s of mineNs()) expect(s.alert.output_fields['container.id']).toBe('host');
  }, 60_000);

  it('a benign developer workload raises nothing at Warning or above', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-benign-'));
    try {
      mkdirSync(join(dir, 'lib'));
      writeFileSync(
        join(dir, 'lib', 'package.json'),
        JSON.stringify({ name: 'pg-benign-lib', version: '1.0.0', main: 'index.js' }),
      );
      writeFileSync(join(dir, 'lib', 'index.js'), 'module.exports = 42;\n');
      mkdirSync(join(dir, 'app'));
      writeFileSync(
        join(dir, 'app', 'package.json'),
        JSON.stringify({ name: 'pg-benign-app', version: '1.0.0' }),
      );
      writeFileSync(join(dir, 'hello.c'), '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n');
      const script = [
        'set -e',
        `cd ${dir}/app`,
        'npm install --offline --no-audit --no-fund ../lib >/dev/null 2>&1',
        'node -e "require(\'pg-benign-lib\')"',
        `cd ${dir}`,
        'cc -o hello hello.c && ./hello >/dev/null',
        'mkdir repo && cd repo && git init -q . && echo a > a.txt && git add a.txt',
        'git -c user.email=t@example.com -c user.name=t commit -q -m one && git log --oneline >/dev/null',
        'cat /etc/hosts >/dev/null',
      ].join('\n');
      const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      benignPids.add(child.pid!);
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code, err).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
      const benign = seen.filter((s) => s.pid === child.pid || s.apids.includes(child.pid!));
      const loud = benign.filter((s) => (parsePriority(s.alert.priority) ?? 7) <= 4);
      expect(loud.map((s) => s.alert.output)).toEqual([]);
      // The workload was seen (the filter above is not vacuous).
      expect(benignSample.some((b) => b.ev.type === 'execve' && get(b.ev, 'proc.name') === 'git')).toBe(true);
      if (recordDir) {
        writeFileSync(
          join(recordDir, 'benign-workload.capture.jsonl'),
          captureText(benignSample.map((b) => b.line)),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.runIf(existsSync(join(ROOT, 'dist/cli/main.js')))('peregrine generate command line', () => {
  it('--list names an existing default rule for every action; unknown actions fail with exit 2', async () => {
    const { execFileSync, spawnSync } = await import('node:child_process');
    const list = execFileSync(process.execPath, [BIN, 'generate', '--list', '--json'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; rule: string });
    expect(list.length).toBe(19);
    const rules = readFileSync(RULES, 'utf8');
    for (const a of list) expect(rules, a.action).toContain(`- rule: ${a.rule}\n`);
    const bad = spawnSync(process.execPath, [BIN, 'generate', 'no_such_action'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown action 'no_such_action'");
    const badMode = spawnSync(process.execPath, [BIN, 'generate', '--sandbox', 'vm'], { encoding: 'utf8' });
    expect(badMode.status).toBe(2);
    expect(badMode.stderr).toContain('--sandbox');
  });
});
