/**
 * Fuzzer for the condition parser and the rules loader (generated and mutated inputs).
 * Used by the unit tests (small run) and the engine benchmark (large run). The invariant:
 * no exception escapes, every input finishes quickly, and every rejection is a load error
 * with a position.
 */
import type { Engine, EngineOptions, LoadMessage } from './api.js';
import { createValidator } from './engine.js';
import { ParseError, parseCondition } from './parser.js';

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELDS = [
  'proc.name',
  'proc.aname[2]',
  'fd.name',
  'evt.type',
  'proc.pid',
  'fd.types',
  'evt.arg.flags',
  'user.uid',
  'fd.sip',
  'k8s.pod.label[app]',
];
const OPS = [
  '=',
  '!=',
  '<',
  '>=',
  'contains',
  'icontains',
  'startswith',
  'endswith',
  'glob',
  'regex',
  'in',
  'intersects',
  'pmatch',
  'exists',
  'startswith oneof',
  'bcontains',
];
const VALUES = [
  'bash',
  '"a b"',
  "'x'",
  '(a, b)',
  '()',
  '10',
  '0x1f',
  '/etc',
  '10.0.0.0/8',
  'open',
  '"(a+)+b"',
  'val(proc.pname)',
  'tolower(proc.name)',
  '<NA>',
  '"\\x41"',
];
const TOKENS = [
  '(',
  ')',
  'and',
  'or',
  'not',
  ',',
  '"',
  "'",
  '[',
  ']',
  '\\',
  '=',
  ' ',
  '\n',
  'in',
  'exists',
  'tolower(',
  'val(',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

export function genCondition(r: () => number, depth = 0): string {
  const k = r();
  if (depth > 4 || k < 0.45) {
    const op = pick(r, OPS);
    const f = r() < 0.1 ? `tolower(${pick(r, FIELDS)})` : pick(r, FIELDS);
    return op === 'exists' ? `${f} exists` : `${f} ${op} ${pick(r, VALUES)}`;
  }
  if (k < 0.6) return `not ${genCondition(r, depth + 1)}`;
  if (k < 0.7) return `(${genCondition(r, depth + 1)})`;
  if (k < 0.75) return pick(r, ['m1', 'm2', 'undefined_macro']);
  return `${genCondition(r, depth + 1)} ${r() < 0.5 ? 'and' : 'or'} ${genCondition(r, depth + 1)}`;
}

export function mutate(r: () => number, s: string): string {
  let out = s;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (out.length + 1));
    const m = r();
    if (m < 0.4) out = out.slice(0, at) + pick(r, TOKENS) + out.slice(at);
    else if (m < 0.7) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 5));
    else if (m < 0.85) out = out.slice(0, at) + String.fromCharCode(Math.floor(r() * 128)) + out.slice(at);
    else out = out.slice(0, at) + out.slice(Math.floor(r() * out.length));
  }
  return out;
}

const YAML_TEMPLATES = [
  (c: string) =>
    `- macro: m1\n  condition: evt.type = open\n- macro: m2\n  condition: proc.name in (l1)\n- list: l1\n  items: [a, "b c"]\n- rule: R\n  desc: d\n  condition: ${JSON.stringify(c)}\n  output: "x %proc.name %fd.name"\n  priority: WARNING\n`,
  (c: string) =>
    `- rule: R\n  desc: d\n  condition: ${JSON.stringify(c)}\n  output: "%proc.name"\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values: [[a, /b]]\n- rule: R\n  condition: and proc.pid > 1\n  override:\n    condition: append\n`,
  (c: string) =>
    `- required_engine_version: 0.40.0\n- list: l1\n  items: [x]\n- list: l1\n  items: [y]\n  override:\n    items: append\n- rule: R\n  desc: d\n  condition: ${JSON.stringify(c)}\n  output: "%evt.type"\n  priority: ERROR\n  tags: [a]\n`,
];

export interface FuzzStats {
  cases: number;
  parsed: number;
  parseRejected: number;
  loaded: number;
  loadRejected: number;
  /** Exceptions escaping the parser/loader (must be 0). */
  crashes: string[];
  /** Rejections without a code or a position (must be 0). */
  badRejections: string[];
  /** Inputs that took longer than `slowMs` (must be 0). */
  slow: string[];
  maxMs: number;
}

function hasPosition(m: LoadMessage): boolean {
  const locs = m.context.locations;
  return (
    m.code.startsWith('LOAD_ERR_') &&
    locs.length > 0 &&
    locs.every((l) => typeof l.position.line === 'number' && typeof l.position.column === 'number')
  );
}

/** Run `n` fuzz cases from `seed`. */
export function runFuzz(n: number, seed = 1, slowMs = 250, opts: Partial<EngineOptions> = {}): FuzzStats {
  const r = rng(seed);
  const stats: FuzzStats = {
    cases: 0,
    parsed: 0,
    parseRejected: 0,
    loaded: 0,
    loadRejected: 0,
    crashes: [],
    badRejections: [],
    slow: [],
    maxMs: 0,
  };
  let engine: Engine = createValidator(opts);
  for (let i = 0; i < n; i++) {
    stats.cases++;
    let cond = genCondition(r);
    if (r() < 0.6) cond = mutate(r, cond);
    const t0 = performance.now();
    try {
      parseCondition(cond);
      stats.parsed++;
    } catch (e) {
      if (e instanceof ParseError && typeof e.pos.line === 'number') stats.parseRejected++;
      else stats.crashes.push(`parse ${JSON.stringify(cond)}: ${(e as Error).stack}`);
    }
    let yaml = pick(r, YAML_TEMPLATES)(cond);
    if (r() < 0.3) yaml = mutate(r, yaml);
    try {
      if (i % 50 === 0) engine = createValidator(opts);
      const res = engine.load([{ name: 'fuzz.yaml', content: yaml }]);
      if (res.successful) stats.loaded++;
      else {
        stats.loadRejected++;
        const err = res.files.flatMap((f) => f.errors)[0];
        if (!err || !hasPosition(err)) stats.badRejections.push(JSON.stringify(yaml));
      }
    } catch (e) {
      stats.crashes.push(`load ${JSON.stringify(yaml)}: ${(e as Error).stack}`);
    }
    const ms = performance.now() - t0;
    if (ms > stats.maxMs) stats.maxMs = ms;
    if (ms > slowMs) stats.slow.push(`${ms.toFixed(0)}ms ${JSON.stringify(yaml).slice(0, 200)}`);
  }
  return stats;
}
