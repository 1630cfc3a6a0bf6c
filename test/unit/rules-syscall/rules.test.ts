/**
 * rules/syscall_rules.yaml replayed through the engine with the real syscall
 * extractor. Positives: events recorded on this kernel while `peregrine generate
 * all` ran in a real podman container (test/fixtures/captures, see trim.py).
 * Negatives: each positive with the one detail its rule keys on changed (host
 * instead of container, an allowed peer, a trusted program …), and a recorded
 * benign developer workload (npm, cc, git, cat /etc/hosts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYAML } from 'yaml';
import { createEngine, createValidator, type Engine } from '../../../src/engine/index.js';
import { parseCapture } from '../../../src/sources/syscall/capture.js';
import { SyscallExtractor } from '../../../src/sources/syscall/extractor.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const RULES_PATH = join(ROOT, 'rules/syscall_rules.yaml');
const RULES = readFileSync(RULES_PATH, 'utf8');
const FIX = join(ROOT, 'test/fixtures/captures');
const POSITIVE = readFileSync(join(FIX, 'generate-positive.capture.jsonl'), 'utf8');
const EXPECTED = JSON.parse(readFileSync(join(FIX, 'generate-positive.rules.json'), 'utf8')) as {
  n: number;
  rule: string;
}[];
const BENIGN = readFileSync(join(FIX, 'benign-workload.capture.jsonl'), 'utf8');

function engineWith(matching: 'first' | 'all'): Engine {
  const e = createEngine({ extractors: [new SyscallExtractor()], ruleMatching: matching });
  const r = e.load([{ name: 'syscall_rules.yaml', content: RULES }]);
  if (!r.successful) throw new Error(r.toText());
  return e;
}

// biome-ignore lint/suspicious/noExplicitAny: capture lines are free-form JSON edited by the mutations
type Line = any;

function positives(): { header: string; lines: Map<number, Line> } {
  const all = POSITIVE.trim().split('\n');
  const lines = new Map<number, Line>();
  for (const l of all.slice(1)) {
    const j = JSON.parse(l) as Line;
    lines.set(j.n as number, j);
  }
  return { header: all[0]!, lines };
}

function rulesFor(engine: Engine, header: string, line: Line): string[] {
  const [ev] = parseCapture(`${header}\n${JSON.stringify(line)}\n`, 'mutated');
  return engine.process('syscall', ev).map((m) => m.rule.name);
}

const setComm = (c: string) => (j: Line) => {
  j.p[0].comm = c;
};
const toHost = (j: Line) => {
  delete j.c;
  j.p[0].containerId = '';
};
const setPorts = (port: number) => (j: Line) => {
  j.fd.rport = port;
  j.fd.lport = port;
};

/** For each rule: how to turn its recorded positive into a negative, and why. */
/** `true` as third element: the mutation applies to every recorded positive of the rule. */
const NEGATIVES: Record<string, [string, (j: Line) => void, boolean?][]> = {
  'Package Manager Run In Container': [
    ['on the host', toHost],
    ['not a package manager', setComm('ls')],
  ],
  'Terminal Shell In Container': [
    [
      'no terminal',
      (j) => {
        j.p[0].tty = 0;
      },
    ],
  ],
  'Reverse Shell': [
    [
      'stdio not sockets',
      (j) => {
        for (const k of ['0', '1', '2'])
          if (j.std?.[k]) j.std[k] = { num: Number(k), type: 'pipe', name: 'pipe:[1]' };
      },
    ],
  ],
  'Shell Run In Container': [
    ['on the host', toHost],
    ['not a shell', setComm('cat')],
    [
      'the container entrypoint',
      (j) => {
        j.p[0].vpid = 1;
      },
    ],
  ],
  'Sensitive Program Run In Container': [
    ['on the host', toHost],
    ['an ordinary program', setComm('ls')],
  ],
  'Execution From Memory File': [
    [
      'executable on disk',
      (j) => {
        j.p[0].exepath = '/usr/bin/true';
      },
    ],
  ],
  'System Directory Changed In Running Container': [
    [
      'below /tmp',
      (j) => {
        j.fd.name = '/tmp/pg-generate-drift';
      },
    ],
    [
      'container still starting',
      (j) => {
        j.c.startTs = Number(Buffer.from(j.f, 'base64').readBigUInt64LE(8)) - 500_000_000;
      },
      true,
    ],
    ['the runtime itself', setComm('runc:[2:INIT]'), true],
    ['on the host', toHost, true],
  ],
  'Host Process Changed Container Files': [['the container runtime', setComm('conmon')]],
  'Sensitive File Opened For Reading': [
    [
      'an ordinary file',
      (j) => {
        j.fd.name = '/etc/hosts';
      },
    ],
    ['a credential program', setComm('unix_chkpwd')],
  ],
  'Write Below Etc On Host': [
    ['the package manager', setComm('dpkg')],
    [
      'outside /etc',
      (j) => {
        j.fd.name = '/tmp/peregrine-generate';
      },
    ],
  ],
  'Log File Cleared': [['log rotation', setComm('logrotate')]],
  'SSH Connection In Container': [
    ['not an ssh port', setPorts(8443)],
    ['on the host', toHost],
  ],
  'Connection To Mining Pool Port': [['an ordinary port', setPorts(8080)]],
  'Outbound Connection Outside Allow-List From Container': [
    [
      'allowed network',
      (j) => {
        j.fd.rip = '10.1.2.3';
      },
    ],
    [
      'loopback',
      (j) => {
        j.fd.rip = '127.0.0.1';
      },
    ],
    ['allowed port (DNS)', setPorts(53)],
    ['on the host', toHost],
  ],
  'Ptrace Attach': [['a debugger', setComm('strace')]],
  'Setuid To Root By Non-Root User': [
    [
      'caller already root',
      (j) => {
        const b = Buffer.from(j.f, 'base64');
        b.writeUInt32LE(0, 24);
        j.f = b.toString('base64');
      },
    ],
    ['sudo', setComm('sudo')],
  ],
  'Kernel Module Load Attempt': [['modprobe', setComm('modprobe')]],
  'Mount In Container': [['on the host', toHost]],
  'Namespace Change In Container': [['on the host', toHost]],
};

describe('rules/syscall_rules.yaml', () => {
  it('validates with no warning and every rule is documented and tagged', () => {
    const v = createValidator();
    const r = v.load([{ name: 'syscall_rules.yaml', content: RULES }]);
    expect(r.successful, r.toText()).toBe(true);
    expect(r.files[0]!.warnings, r.toText(true)).toEqual([]);
    const rules = engineWith('first').rules();
    expect(rules.length).toBeGreaterThanOrEqual(19);
    for (const rule of rules) {
      expect(rule.desc.length, rule.name).toBeGreaterThan(40);
      expect(
        rule.tags.some((t) => t.startsWith('mitre_')),
        rule.name,
      ).toBe(true);
      expect(
        rule.tags.some((t) => /^T\d{4}/.test(t)),
        rule.name,
      ).toBe(true);
      for (const f of [
        '%proc.name',
        '%proc.pname',
        '%user.name',
        '%container.id',
        '%container.name',
        '%k8s.pod.name',
        '%k8s.ns.name',
      ])
        expect(rule.output, `${rule.name} output names ${f}`).toContain(f);
    }
  });

  it.runIf(refdataAvailable())(
    'loads after the upstream stable falco_rules.yaml without redefining any of its names',
    () => {
      const upstream = readFileSync(join(REFDATA, 'rules/falco_rules.yaml'), 'utf8');
      const names = (text: string) =>
        new Set(
          (parseYAML(text) as Record<string, unknown>[])
            .flatMap((d) => [d.rule, d.macro, d.list])
            .filter((n): n is string => typeof n === 'string'),
        );
      const theirs = names(upstream);
      const ours = [...names(RULES)];
      expect(ours.filter((n) => theirs.has(n))).toEqual([]);
      const e = createEngine({ extractors: [new SyscallExtractor()] });
      const r = e.load([
        { name: 'falco_rules.yaml', content: upstream },
        { name: 'syscall_rules.yaml', content: RULES },
      ]);
      expect(r.successful, r.toText()).toBe(true);
      expect(r.files[1]!.warnings, r.toText(true)).toEqual([]);
      expect(e.rules().filter((x) => x.name === 'Reverse Shell')).toHaveLength(1);
    },
  );

  it('each recorded positive raises exactly its rule, and every rule has one', () => {
    const e = engineWith('first');
    const all = engineWith('all');
    const { header, lines } = positives();
    for (const { n, rule } of EXPECTED) {
      const line = lines.get(n);
      expect(line, `event ${n}`).toBeDefined();
      expect(rulesFor(e, header, line), `event ${n}`).toEqual([rule]);
      expect(rulesFor(all, header, line), `event ${n} (rule_matching all)`).toContain(rule);
    }
    const covered = new Set(EXPECTED.map((x) => x.rule));
    for (const r of e.rules()) expect(covered.has(r.name), `a positive for ${r.name}`).toBe(true);
  });

  it('each rule stays quiet when the detail it keys on changes', () => {
    const all = engineWith('all');
    const { header, lines } = positives();
    for (const r of all.rules()) {
      const cases = NEGATIVES[r.name];
      expect(cases, `negatives for ${r.name}`).toBeDefined();
      const recorded = EXPECTED.filter((x) => x.rule === r.name);
      for (const [why, mutate, every] of cases!) {
        for (const positive of every ? recorded : recorded.slice(0, 1)) {
          const line = structuredClone(lines.get(positive.n));
          mutate(line);
          expect(rulesFor(all, header, line), `${r.name} (${line.t}): ${why}`).not.toContain(r.name);
        }
      }
    }
  });

  it('the recorded benign workload (npm, cc, git, cat /etc/hosts) raises nothing', () => {
    const e = engineWith('all');
    const events = parseCapture(BENIGN, 'benign-workload.capture.jsonl');
    expect(events.length).toBeGreaterThan(40);
    const types = new Set(events.map((ev) => ev.type));
    for (const t of ['execve', 'openat', 'rename', 'unlink', 'mkdir']) expect(types.has(t), t).toBe(true);
    const hits = events.flatMap((ev) =>
      e.process('syscall', ev).map((m) => `${m.rule.name} on ${ev.type} #${ev.num}`),
    );
    expect(hits).toEqual([]);
  });
});
