/** The engine facade: load rule files, index compiled rules per event type, match events, build alerts. */
import { hostname as osHostname } from 'node:os';
import type { FalcoAlert, OutputFieldValue } from '../alert/falco-alert.js';
import { type PriorityLevel, parsePriority, priorityName } from '../alert/priority.js';
import { FALCO_ENGINE_VERSION } from '../version.js';
import type {
  AlertOptions,
  AnyExtractor,
  Engine,
  EngineOptions,
  FieldSpec,
  FileLoadResult,
  LoadResult,
  Match,
  RuleFile,
  RuleInfo,
  RuleSelection,
} from './api.js';
import { type Getter, resolveField, type SourceDef } from './compiler.js';
import { K8S_AUDIT_FIELDS } from './fields/k8s_audit.js';
import { SUGGESTED_OUTPUT_FIELDS, SYSCALL_EVENT_TYPES, SYSCALL_FIELDS } from './fields/syscall.js';
import {
  type Collection,
  cloneCollection,
  compatibleWith,
  FileReader,
  LoadError,
  newCollection,
} from './loader.js';
import { renderFields, renderText } from './output.js';
import { ALL_OPS, exprToString, parseCondition } from './parser.js';
import { makeLoadResult, makeMessage } from './results.js';
import { type CompiledRule, type CompileResult, compileCollection } from './rule-compiler.js';

/** Plugins whose function peregrine provides natively, with the version it is compatible with. */
export const PROVIDED_PLUGINS: Record<string, string> = {
  container: '0.6.0',
  k8saudit: '0.18.0',
  'k8saudit-eks': '0.18.0',
  'k8saudit-gke': '0.18.0',
  'k8saudit-aks': '0.18.0',
  'k8saudit-ovh': '0.18.0',
  json: '0.7.4',
};

/** Default field tables per known source. */
export const SOURCE_FIELDS: Record<string, readonly FieldSpec[]> = {
  syscall: SYSCALL_FIELDS,
  k8s_audit: K8S_AUDIT_FIELDS,
};

interface Active {
  rule: CompiledRule;
  info: RuleInfo;
  match: Match;
  level: PriorityLevel;
  enabled: boolean;
  /**
   * Position in the buckets. Rules enabled at load time keep their first-definition order; a rule
   * enabled later by a selection goes to the end of its buckets, as in Falco.
   */
  order: number;
}

/** Rules of one event type, in evaluation order, with a generated first-match dispatcher. */
interface Bucket {
  rules: Active[];
  /** Index of the first matching rule, or -1. */
  first: (ev: unknown) => number;
}

/**
 * One generated function per distinct bucket: `if (p0(ev)) return 0; if (p1(ev)) return 1; ...`.
 * Each call site then has a single target, so V8 can inline the rule functions.
 */
function makeBucket(rules: Active[]): Bucket {
  if (rules.length === 0) return { rules, first: () => -1 };
  const preds = rules.map((a) => a.rule.pred);
  const body = preds.map((_, i) => `  if (p${i}(ev)) return ${i};`).join('\n');
  const decl = preds.map((_, i) => `p${i} = P[${i}]`).join(', ');
  try {
    const first = new Function(
      'P',
      `const ${decl};\nreturn function bucket(ev) {\n${body}\n  return -1;\n};`,
    )(preds) as (ev: unknown) => number;
    return { rules, first };
  } catch {
    return {
      rules,
      first: (ev) => {
        for (let i = 0; i < preds.length; i++) if (preds[i]!(ev)) return i;
        return -1;
      },
    };
  }
}

interface SourceState {
  def: SourceDef;
  indexed: boolean;
  /** Enabled rules of this source in evaluation order. */
  all: Active[];
  byType: Map<string, Bucket>;
  /** Buckets with the same rules share one dispatcher (most event types have identical buckets). */
  shared: Map<string, Bucket>;
  allBucket?: Bucket;
}

const EMPTY: Match[] = [];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function nsParts(ns: bigint): { ms: number; frac: string } {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return { ms, frac };
}

export function rfc3339Nano(ns: bigint): string {
  const { ms, frac } = nsParts(ns);
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

export function isoPlus0000(ns: bigint): string {
  const { ms, frac } = nsParts(ns);
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}+0000`;
}

export function localTime(ns: bigint): string {
  const { ms, frac } = nsParts(ns);
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac}`;
}

function localDate(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Falco's wildcard match (`*` only). */
export function matchesWildcard(pattern: string, s: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === s;
  if (!s.startsWith(parts[0]!)) return false;
  let pos = parts[0]!.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const k = s.indexOf(parts[i]!, pos);
    if (k < 0) return false;
    pos = k + parts[i]!.length;
  }
  const last = parts.at(-1)!;
  return s.length - pos >= last.length && s.endsWith(last);
}

function escapeControl(s: string): string {
  // As Falco's JSON string encoder: control characters escaped, broken UTF-16 replaced by U+FFFD.
  return (s as string & { toWellFormed(): string })
    .toWellFormed()
    .replace(/[\u0000-\u001f]/g, (c: string) => {
      switch (c) {
        case '\n':
          return '\\n';
        case '\t':
          return '\\t';
        case '\r':
          return '\\r';
        default:
          return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
      }
    });
}

class EngineImpl implements Engine {
  private col: Collection = newCollection();
  private compiled: CompileResult | undefined;
  private readonly defs = new Map<string, SourceDef>();
  private states = new Map<string, SourceState>();
  private actives: Active[] = [];
  private readonly threshold: PriorityLevel;
  private readonly first: boolean;
  private readonly hostname: string;
  private readonly contents = new Map<string, string>();
  private selection: RuleSelection[];
  /** Incremented for every event evaluated: generated macro functions memoise per event. */
  private readonly epoch = { v: 0 };
  private lastSource = '';
  private nextOrder = 0;
  private lastState: SourceState | undefined;

  constructor(private readonly opts: EngineOptions & ExtraOptions & { bind?: boolean }) {
    const p = opts.priority;
    this.threshold = (
      typeof p === 'number' ? p : p === undefined ? 7 : (parsePriority(p) ?? 7)
    ) as PriorityLevel;
    this.first = (opts.ruleMatching ?? 'first') === 'first';
    this.hostname = opts.hostname ?? process.env.FALCO_HOSTNAME ?? osHostname();
    this.selection = [...(opts.selection ?? [])];
    const known = new Set(opts.knownSources ?? ['syscall', 'k8s_audit']);
    for (const ex of opts.extractors) known.add(ex.source);
    for (const name of known) {
      const ex = opts.extractors.find((e) => e.source === name);
      const table = ex?.fields ?? SOURCE_FIELDS[name] ?? [];
      const fields = new Map<string, FieldSpec>(table.map((f) => [f.name, f]));
      const def: SourceDef = {
        name,
        fields,
        builtin: ex ? builtinGetters(ex, this.hostname, name) : undefined,
      };
      if (ex) def.extractor = ex;
      if (name === 'syscall') def.eventTypes = new Set(SYSCALL_EVENT_TYPES);
      this.defs.set(name, def);
    }
  }

  load(files: readonly RuleFile[], selection?: readonly RuleSelection[]): LoadResult {
    const work = cloneCollection(this.col);
    const results: FileLoadResult[] = [];
    let last: CompileResult | undefined;
    let ok = true;
    for (const f of files) {
      this.contents.set(f.name, f.content);
      const reader = new FileReader(f.name, f.content, work, {
        knownSource: (s) => this.defs.has(s),
        checkField: (s, field) => this.checkField(s, field),
        isOperator: (op) =>
          ALL_OPS.includes(op) ||
          /^(==|=|!=|contains|icontains|bcontains|startswith|bstartswith|endswith|glob|iglob|regex) (oneof|anyof|allof)$/.test(
            op,
          ),
      });
      const res: FileLoadResult = { name: f.name, successful: true, errors: [], warnings: [] };
      results.push(res);
      try {
        reader.read();
        res.warnings.push(...reader.warnings);
        last = compileCollection(work, {
          sources: this.defs,
          bind: this.opts.bind !== false,
          codegen: this.opts.codegen,
          epoch: this.epoch,
          suggestedFields: this.opts.suggestedOutput === false ? undefined : SUGGESTED_OUTPUT_FIELDS,
          contents: this.contents,
        });
        res.warnings.push(...last.warnings);
        this.checkPlugins(work);
      } catch (e) {
        if (!(e instanceof LoadError)) throw e;
        res.warnings.splice(0, res.warnings.length, ...reader.warnings);
        res.successful = false;
        res.errors.push(e.msg);
        ok = false;
        break;
      }
    }
    if (ok && last) {
      this.col = work;
      this.compiled = last;
      if (selection) this.selection = [...selection];
      this.install();
    }
    return makeLoadResult(results);
  }

  private checkField(source: string, field: string): string | undefined {
    const def = this.defs.get(source);
    if (!def) return undefined;
    try {
      const ast = parseCondition(`${field} exists`);
      if (ast.kind !== 'unary') return 'not a field';
      const check = (f: typeof ast.left): void => {
        if (f.kind === 'field') resolveField(def.fields, f.name, f.arg);
        else for (const a of f.args) if (a.kind !== 'value') check(a);
      };
      check(ast.left);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private checkPlugins(col: Collection): void {
    for (const group of col.requiredPlugins) {
      for (const req of group.req) {
        const options = [{ name: req.name, version: req.version }, ...req.alternatives];
        const ok = options.some(
          (o) =>
            PROVIDED_PLUGINS[o.name] !== undefined && compatibleWith(PROVIDED_PLUGINS[o.name]!, o.version),
        );
        if (!ok) {
          const list = options.map((o) => `${o.name} (>= ${o.version})`).join(', ');
          throw new LoadError(
            makeMessage(
              'LOAD_ERR_VALIDATE',
              `Plugin requirement not satisfied, must load one of: ${list}`,
              group.loc,
              '',
            ),
          );
        }
      }
    }
  }

  /** Build active rule lists and per-source indexes from the last compile. */
  private install(): void {
    const compiled = this.compiled;
    this.actives = [];
    if (!compiled) return;
    this.nextOrder = compiled.rules.length;
    for (const r of compiled.rules) {
      if (r.raw.priority > this.threshold) continue;
      const info: RuleInfo = {
        name: r.raw.name,
        desc: r.raw.desc,
        condition: r.raw.cond,
        output: r.raw.output,
        priority: priorityName(r.raw.priority),
        source: r.raw.source,
        enabled: r.raw.enabled,
        tags: r.raw.tags.slice(),
        capture: r.raw.capture,
        capture_duration: r.raw.capture_duration,
      };
      const a: Active = {
        order: this.actives.length,
        rule: r,
        info,
        level: r.raw.priority,
        enabled: r.raw.enabled,
        match: { rule: info, source: r.raw.source, ref: undefined },
      };
      (a.match as { ref: unknown }).ref = a;
      this.actives.push(a);
    }
    this.applySelection(this.selection);
  }

  private applySelection(sel: readonly RuleSelection[]): void {
    for (const s of sel) {
      const enable = 'enable' in s;
      const spec = 'enable' in s ? s.enable : s.disable;
      for (const a of this.actives) {
        const byName = spec.rule !== undefined && matchesWildcard(spec.rule, a.info.name);
        const byTag = spec.tag !== undefined && a.info.tags.includes(spec.tag);
        if (byName || byTag) {
          if (enable && !a.enabled) a.order = this.nextOrder++;
          a.enabled = enable;
          a.info.enabled = enable;
        }
      }
    }
    this.rebuildIndex();
  }

  select(selection: readonly RuleSelection[]): void {
    this.selection.push(...selection);
    this.applySelection(selection);
  }

  private rebuildIndex(): void {
    this.states = new Map();
    this.lastSource = '';
    this.lastState = undefined;
    for (const [name, def] of this.defs) {
      this.states.set(name, {
        def,
        indexed: def.eventTypes !== undefined,
        all: [],
        byType: new Map(),
        shared: new Map(),
      });
    }
    const enabled = this.actives.filter((a) => a.enabled).sort((x, y) => x.order - y.order);
    for (const a of enabled) this.states.get(a.rule.raw.source)?.all.push(a);
    for (const st of this.states.values()) {
      if (!st.indexed) continue;
      for (const t of st.def.eventTypes!) st.byType.set(t, this.bucket(st, t));
    }
  }

  private bucket(st: SourceState, t: string): Bucket {
    const out: Active[] = [];
    const ids: number[] = [];
    st.all.forEach((a, i) => {
      const e = a.rule.evt;
      if (e.neg ? !e.names.has(t) : e.names.has(t)) {
        out.push(a);
        ids.push(i);
      }
    });
    const key = ids.join(',');
    let b = st.shared.get(key);
    if (!b) {
      b = makeBucket(out);
      st.shared.set(key, b);
    }
    return b;
  }

  process(source: string, ev: unknown): Match[] {
    let st: SourceState | undefined;
    if (source === this.lastSource) st = this.lastState;
    else {
      st = this.states.get(source);
      this.lastSource = source;
      this.lastState = st;
    }
    if (!st) return EMPTY;
    this.epoch.v = (this.epoch.v + 1) | 0;
    let b: Bucket | undefined;
    if (st.indexed) {
      const t = st.def.extractor ? st.def.extractor.eventType(ev) : '';
      b = st.byType.get(t);
      if (b === undefined) {
        b = this.bucket(st, t);
        if (st.byType.size < 4096) st.byType.set(t, b);
      }
    } else {
      b = st.allBucket ??= makeBucket(st.all);
    }
    if (this.first) {
      const i = b.first(ev);
      return i < 0 ? EMPTY : [b.rules[i]!.match];
    }
    const rules = b.rules;
    let out: Match[] | undefined;
    for (let i = 0; i < rules.length; i++) {
      const a = rules[i]!;
      if (a.rule.pred(ev)) (out ??= []).push(a.match);
    }
    return out ?? EMPTY;
  }

  toAlert(match: Match, ev: unknown, opts: AlertOptions = {}): FalcoAlert {
    const a = match.ref as Active;
    const ex = this.defs.get(a.rule.raw.source)?.extractor;
    const ns = ex ? ex.timeNs(ev) : BigInt(Date.now()) * 1_000_000n;
    const iso = opts.time_format_iso_8601 === true;
    const message = escapeControl(renderText(a.rule.output, ev));
    const prio = priorityName(a.level);
    const alert: Record<string, unknown> = {
      hostname: this.hostname,
      priority: prio,
      rule: a.info.name,
      source: a.rule.raw.source,
      time: rfc3339Nano(ns),
    };
    if (opts.json_include_output_property !== false)
      alert.output = `${iso ? isoPlus0000(ns) : localTime(ns)}: ${prio} ${message}`;
    if (opts.json_include_message_property === true) alert.message = message;
    if (opts.json_include_output_fields_property !== false) {
      const fields: Record<string, OutputFieldValue> = {};
      // Falco writes the time field of the line prefix as the nanosecond timestamp number.
      if (iso) fields['evt.time.iso8601'] = Number(ns);
      else fields['evt.time'] = Number(ns);
      renderFields(a.rule.output, ev, fields);
      if ('evt.time' in fields) fields['evt.time'] = Number(ns);
      if ('evt.time.iso8601' in fields) fields['evt.time.iso8601'] = Number(ns);
      alert.output_fields = fields;
    }
    if (opts.json_include_tags_property !== false) alert.tags = a.info.tags.slice();
    return alert as unknown as FalcoAlert;
  }

  eventTypes(source: string): Set<string> {
    const st = this.states.get(source);
    const out = new Set<string>();
    if (!st?.indexed) return out;
    for (const [t, b] of st.byType) if (b.rules.length > 0 && st.def.eventTypes!.has(t)) out.add(t);
    return out;
  }

  rules(): RuleInfo[] {
    return this.actives.map((a) => ({ ...a.info, tags: a.info.tags.slice() }));
  }

  describe(): Record<string, unknown> {
    const c = this.compiled;
    const col = this.col;
    const rules = (c?.rules ?? []).map((r) => {
      const src = this.defs.get(r.raw.source);
      const events = src?.eventTypes
        ? [
            ...(r.evt.neg ? [...src.eventTypes].filter((t) => !r.evt.names.has(t)) : r.evt.names),
            'asyncevent',
          ].sort()
        : ['asyncevent', 'pluginevent'];
      return {
        info: {
          name: r.raw.name,
          condition: r.raw.cond,
          priority: priorityName(r.raw.priority),
          output: r.raw.output,
          description: r.raw.desc,
          enabled: this.actives.find((a) => a.rule === r)?.enabled ?? r.raw.enabled,
          source: r.raw.source,
          capture: r.raw.capture,
          capture_duration: r.raw.capture_duration,
          tags: r.raw.tags,
        },
        details: {
          macros: [...r.macros].sort(),
          lists: [...r.lists].sort(),
          condition_operators: [...r.operators].sort(),
          condition_fields: [...r.fields].sort(),
          output_fields: [...r.output.fields].sort(),
          exception_fields: [...r.exceptionFields].sort(),
          exception_names: r.raw.exceptions.map((e) => e.name).sort(),
          exception_operators: [...r.exceptionOperators].sort(),
          events,
          condition_compiled: exprToString(r.ast),
          output_compiled: r.outputFormat,
          plugins:
            r.raw.source === 'k8s_audit'
              ? ['k8saudit', 'json']
              : [...r.output.fields, ...r.fields].some(
                    (f) => f.startsWith('container.') || f.startsWith('k8s.'),
                  )
                ? ['container']
                : [],
        },
      };
    });
    const macros = [...col.macros.values()].map((m) => {
      const ast = c?.macroAsts.get(m.name);
      return {
        info: { name: m.name, condition: m.cond },
        details: { used: m.used, condition_compiled: ast ? exprToString(ast) : '', plugins: [] },
      };
    });
    const lists = [...col.lists.values()].map((l) => ({
      info: { name: l.name, items: l.items },
      details: { used: l.used, items_compiled: c?.listItems.get(l.name) ?? l.items, plugins: [] },
    }));
    const plugins = col.requiredPlugins.flatMap((g) =>
      g.req.map((r) => ({ name: r.name, version: r.version, alternatives: r.alternatives })),
    );
    return {
      required_engine_version: col.requiredEngineVersion,
      required_plugin_versions: plugins,
      rules,
      macros,
      lists,
    };
  }
}

/** Engine-provided generic fields computed from the event time / source / host when the extractor lacks them. */
function builtinGetters(
  ex: AnyExtractor,
  host: string,
  source: string,
): (name: string, arg: string | undefined) => Getter | undefined {
  return (name) => {
    const t = (ev: unknown) => ex.timeNs(ev) as bigint;
    switch (name) {
      case 'evt.time':
        return (ev) => localTime(t(ev));
      case 'evt.time.s':
        return (ev) => localTime(t(ev)).slice(0, 8);
      case 'evt.time.iso8601':
        return (ev) => isoPlus0000(t(ev));
      case 'evt.datetime':
        return (ev) => `${localDate(t(ev))} ${localTime(t(ev))}`;
      case 'evt.datetime.s':
        return (ev) => `${localDate(t(ev))} ${localTime(t(ev)).slice(0, 8)}`;
      case 'evt.rawtime':
        return (ev) => Number(t(ev));
      case 'evt.rawtime.s':
        return (ev) => Number(t(ev) / 1_000_000_000n);
      case 'evt.rawtime.ns':
        return (ev) => Number(t(ev) % 1_000_000_000n);
      case 'evt.hostname':
        return () => host;
      case 'evt.dir':
        // Falco only processes exit events since 0.42: `evt.dir = <` is always true.
        return () => '<';
      case 'evt.source':
        return () => source;
      default:
        return undefined;
    }
  };
}

/** Options beyond the public contract. */
export interface ExtraOptions {
  /** Append the container plugin's suggested fields to syscall rule outputs (Falco default: true). */
  suggestedOutput?: boolean;
  /** Compile conditions to generated functions (default true) or to closure trees. */
  codegen?: boolean;
}

export function createEngine(opts: EngineOptions & ExtraOptions): Engine {
  return new EngineImpl(opts);
}

/** Validation-only engine (no extraction bound): used by `peregrine validate`. */
export function createValidator(opts: Partial<EngineOptions> = {}): Engine {
  return new EngineImpl({ extractors: [], ...opts, bind: false });
}

export { FALCO_ENGINE_VERSION };
