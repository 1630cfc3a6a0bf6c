/**
 * Rules-file reader and collector: YAML → lists, macros, rules (with positions), accumulated
 * across files with Falco's define / append / override semantics.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type YAMLMap,
} from 'yaml';
import { type PriorityLevel, parsePriority } from '../alert/priority.js';
import { FALCO_ENGINE_VERSION } from '../version.js';
import type { LoadCode, LoadLocation, LoadMessage, Position } from './api.js';
import { makeMessage, snippetAt } from './results.js';

export interface ExceptionInfo {
  name: string;
  /** undefined when not given (allowed on append); `list` = fields given as a sequence. */
  fields?: { list: boolean; items: string[] };
  comps?: { list: boolean; items: string[] };
  values: (string | string[])[];
  loc: LoadLocation[];
}

export interface ListInfo {
  name: string;
  items: string[];
  index: number;
  visibility: number;
  loc: LoadLocation[];
  used: boolean;
}

export interface MacroInfo {
  name: string;
  cond: string;
  index: number;
  visibility: number;
  loc: LoadLocation[];
  condLoc: LoadLocation[];
  used: boolean;
}

export interface RuleRaw {
  name: string;
  cond: string;
  output: string;
  desc: string;
  priority: PriorityLevel;
  source: string;
  enabled: boolean;
  tags: string[];
  exceptions: ExceptionInfo[];
  warn_evttypes: boolean;
  skip_if_unknown_filter: boolean;
  capture: boolean;
  capture_duration: number;
  index: number;
  visibility: number;
  loc: LoadLocation[];
  condLoc: LoadLocation[];
  outputLoc: LoadLocation[];
}

export interface PluginReq {
  name: string;
  version: string;
  alternatives: { name: string; version: string }[];
}

/** Accumulated content of every file loaded so far. Maps keep first-definition order. */
export interface Collection {
  lists: Map<string, ListInfo>;
  macros: Map<string, MacroInfo>;
  rules: Map<string, RuleRaw>;
  requiredEngineVersion: string;
  requiredPlugins: { req: PluginReq[]; loc: LoadLocation[] }[];
  nextId: number;
}

export function newCollection(): Collection {
  return {
    lists: new Map(),
    macros: new Map(),
    rules: new Map(),
    requiredEngineVersion: '0.0.0',
    requiredPlugins: [],
    nextId: 0,
  };
}

export function cloneCollection(c: Collection): Collection {
  return structuredClone(c);
}

/** Thrown to stop reading a file at its first error. */
export class LoadError extends Error {
  constructor(readonly msg: LoadMessage) {
    super(msg.message);
  }
}

/** Checks the source table for exception fields (injected by the engine). */
export interface ReadEnv {
  knownSource(source: string): boolean;
  /** Undefined if the field expression is valid for the source, else an error message. */
  checkField(source: string, field: string): string | undefined;
  isOperator(op: string): boolean;
}

const LIST_KEYS = new Set(['list', 'items', 'append', 'override']);
const MACRO_KEYS = new Set(['macro', 'condition', 'append', 'override']);
const RULE_KEYS = new Set([
  'rule',
  'condition',
  'output',
  'desc',
  'priority',
  'source',
  'enabled',
  'tags',
  'exceptions',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'capture',
  'capture_duration',
  'append',
  'override',
]);
const RULE_APPENDABLE = new Set(['condition', 'output', 'desc', 'tags', 'exceptions']);
const RULE_REPLACEABLE = new Set([
  'condition',
  'output',
  'desc',
  'priority',
  'capture',
  'capture_duration',
  'tags',
  'exceptions',
  'enabled',
  'warn_evttypes',
  'skip-if-unknown-filter',
]);

/**
 * Replace aliases by copies of their anchored nodes, in document order. The budget bounds the
 * nodes copied, so nested aliases ("billion laughs") cannot explode; aliases left over read as
 * non-scalar values and give a load error.
 */
function expandAliases(root: Node): Node {
  const anchors = new Map<string, Node>();
  let budget = 20_000;
  /** Node count of `n`, stopping once it exceeds `limit`. */
  const size = (n: unknown, limit: number): number => {
    let count = 0;
    const stack: unknown[] = [n];
    while (stack.length > 0 && count <= limit) {
      const x = stack.pop();
      count++;
      if (isMap(x)) for (const p of x.items) stack.push(p.value);
      else if (isSeq(x)) for (const it of x.items) stack.push(it);
    }
    return count;
  };
  const walk = (n: Node): Node => {
    if (isAlias(n)) {
      const target = anchors.get(n.source);
      if (!target || budget <= 0) return n;
      budget -= size(target, budget);
      return budget < 0 ? n : (target.clone() as Node);
    }
    if (isMap(n)) for (const p of n.items) if (p.value) p.value = walk(p.value as Node);
    if (isSeq(n)) n.items = n.items.map((it) => (it ? walk(it as Node) : it));
    if ((n as { anchor?: string }).anchor) anchors.set((n as { anchor?: string }).anchor!, n);
    return n;
  };
  return walk(root);
}

function quoteListItem(s: string): string {
  return s.includes(' ') && !s.startsWith('"') && !s.startsWith("'") ? `"${s}"` : s;
}

export function parseSemver(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** libsinsp `compatible_with`: same major, and at least the required version. */
export function compatibleWith(have: string, need: string): boolean {
  const a = parseSemver(have);
  const b = parseSemver(need);
  if (!a || !b) return false;
  if (a[0] !== b[0]) return false;
  if (a[1] !== b[1]) return a[1] > b[1];
  return a[2] >= b[2];
}

/** Reader for one file into a collection. Warnings are pushed; the first error is thrown. */
export class FileReader {
  readonly lc = new LineCounter();
  readonly warnings: LoadMessage[] = [];
  private readonly rootLoc: LoadLocation;

  constructor(
    readonly name: string,
    readonly content: string,
    readonly col: Collection,
    readonly env: ReadEnv,
  ) {
    this.rootLoc = {
      item_type: 'rules content',
      item_name: '',
      position: { name, line: 0, column: 0, offset: 0 },
    };
  }

  pos(node: Node | undefined | null): Position {
    const off = node?.range?.[0] ?? 0;
    const lp = this.lc.linePos(off);
    return { name: this.name, line: lp.line - 1, column: lp.col - 1, offset: off };
  }

  loc(item_type: string, item_name: string, node: Node | undefined | null): LoadLocation {
    return { item_type, item_name, position: this.pos(node) };
  }

  err(code: LoadCode, message: string, chain: LoadLocation[]): LoadError {
    const locs = [this.rootLoc, ...chain];
    return new LoadError(makeMessage(code, message, locs, snippetAt(this.content, locs.at(-1)?.position)));
  }

  warn(code: LoadCode, message: string, chain: LoadLocation[], deprecated?: string): void {
    const locs = [this.rootLoc, ...chain];
    this.warnings.push(
      makeMessage(code, message, locs, snippetAt(this.content, locs.at(-1)?.position), deprecated),
    );
  }

  read(): void {
    const docs = parseAllDocuments(this.content, {
      lineCounter: this.lc,
      prettyErrors: false,
      uniqueKeys: false,
    });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const doc of list) {
      const e = doc.errors[0];
      if (e) {
        const lp = e.linePos?.[0] ?? this.lc.linePos(e.pos[0]);
        const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        const where = lp ? `error at line ${lp.line}, column ${lp.col}: ` : '';
        throw this.err('LOAD_ERR_YAML_PARSE', `yaml: ${where}${first}`, []);
      }
    }
    for (const doc of list) {
      // Aliases (*anchor) read as their anchored node, as yaml-cpp presents them.
      if (doc.contents) doc.contents = expandAliases(doc.contents as Node) as typeof doc.contents;
      const root = doc.contents;
      if (root === null || root === undefined) continue;
      if (isScalar(root) && (root.value === null || root.value === '')) continue;
      if (!isSeq(root)) {
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          isMap(root) ? 'Rules content is not yaml array of objects' : 'Rules content is not yaml',
          [],
        );
      }
      for (const item of root.items) {
        if (item === null || item === undefined || (isScalar(item) && item.value === null)) continue;
        if (!isMap(item)) {
          throw this.err(
            'LOAD_ERR_YAML_VALIDATE',
            'Unexpected element type. Each element should be a yaml associative array.',
            [this.loc('rules content item', '', item as Node)],
          );
        }
        this.readItem(item as YAMLMap);
      }
    }
  }

  // -- small decoders -------------------------------------------------------------------------

  private keys(m: YAMLMap): string[] {
    return m.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)));
  }

  private node(m: YAMLMap, key: string): Node | undefined {
    return (m.get(key, true) as Node | undefined) ?? undefined;
  }

  private has(m: YAMLMap, key: string): boolean {
    return m.items.some((p) => isScalar(p.key) && p.key.value === key);
  }

  /** Required non-empty scalar string. */
  private str(m: YAMLMap, key: string, chain: LoadLocation[], required = true): string | undefined {
    if (!this.has(m, key)) {
      if (required) throw this.err('LOAD_ERR_YAML_VALIDATE', `Item has no mapping for key '${key}'`, chain);
      return undefined;
    }
    const n = this.node(m, key);
    if (n === undefined || n === null || (isScalar(n) && (n.value === null || n.value === ''))) {
      throw this.err('LOAD_ERR_YAML_VALIDATE', `Mapping for key '${key}' is empty`, chain);
    }
    if (!isScalar(n))
      throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a scalar value', [
        ...chain,
        this.loc('value for', key, n),
      ]);
    return String(n.value);
  }

  private optStr(m: YAMLMap, key: string, chain: LoadLocation[]): string | undefined {
    if (!this.has(m, key)) return undefined;
    const n = this.node(m, key);
    if (n === undefined || n === null || (isScalar(n) && n.value === null)) return '';
    if (!isScalar(n))
      throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a scalar value', [
        ...chain,
        this.loc('value for', key, n),
      ]);
    return String(n.value);
  }

  private bool(m: YAMLMap, key: string, chain: LoadLocation[]): boolean | undefined {
    if (!this.has(m, key)) return undefined;
    const n = this.node(m, key);
    if (isScalar(n)) {
      const v = n.value;
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    }
    throw this.err('LOAD_ERR_YAML_VALIDATE', "Can't decode YAML scalar value", [
      ...chain,
      this.loc('value for', key, n),
    ]);
  }

  private uint(m: YAMLMap, key: string, chain: LoadLocation[]): number | undefined {
    if (!this.has(m, key)) return undefined;
    const n = this.node(m, key);
    if (
      isScalar(n) &&
      (typeof n.value === 'number' || /^\d+$/.test(String(n.value))) &&
      Number(n.value) >= 0
    ) {
      return Number(n.value);
    }
    throw this.err('LOAD_ERR_YAML_VALIDATE', "Can't decode YAML scalar value", [
      ...chain,
      this.loc('value for', key, n),
    ]);
  }

  private scalarSeq(m: YAMLMap, key: string, chain: LoadLocation[], itemType: string): string[] | undefined {
    if (!this.has(m, key)) return undefined;
    const n = this.node(m, key);
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n))
      throw this.err('LOAD_ERR_YAML_VALIDATE', `Value is not a sequence`, [
        ...chain,
        this.loc('value for', key, n),
      ]);
    const out: string[] = [];
    for (const it of n.items) {
      if (!isScalar(it))
        throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a scalar value', [
          ...chain,
          this.loc(itemType, '', it as Node),
        ]);
      out.push(String(it.value));
    }
    return out;
  }

  private unknownKeys(m: YAMLMap, allowed: Set<string>, chain: LoadLocation[]): void {
    for (const p of m.items) {
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      if (!allowed.has(k))
        this.warn('LOAD_UNKNOWN_KEY', `Unknown key '${k}'. The key will be ignored.`, [
          ...chain,
          this.loc('value for', k, p.key as Node),
        ]);
    }
  }

  private overrides(
    m: YAMLMap,
    chain: LoadLocation[],
    appendable: Set<string>,
    replaceable: Set<string>,
    present: Set<string>,
  ): Map<string, 'append' | 'replace'> {
    const n = this.node(m, 'override');
    const out = new Map<string, 'append' | 'replace'>();
    if (!isMap(n))
      throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a map', [
        ...chain,
        this.loc('overrides', '', n),
      ]);
    const oc = [...chain, this.loc('overrides', '', n)];
    for (const p of n.items) {
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      const v = isScalar(p.value) ? String(p.value.value) : '';
      if (v !== 'append' && v !== 'replace') {
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          `Invalid override operation for key '${k}': '${v}'. Allowed values are: append replace`,
          oc,
        );
      }
      if (v === 'append' && !appendable.has(k))
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          `Key '${k}' cannot be appended to, use 'replace' instead`,
          oc,
        );
      if (v === 'replace' && !replaceable.has(k))
        throw this.err('LOAD_ERR_YAML_VALIDATE', `Key '${k}' cannot be replaced`, oc);
      if (!present.has(k)) {
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          `An ${v} override for '${k}' was specified but '${k}' is not defined`,
          oc,
        );
      }
      out.set(k, v);
    }
    for (const k of present) {
      if ((appendable.has(k) || replaceable.has(k)) && !out.has(k)) {
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          `Unexpected key '${k}': no corresponding entry under 'override' is defined.`,
          oc,
        );
      }
    }
    return out;
  }

  // -- items ----------------------------------------------------------------------------------

  private readItem(m: YAMLMap): void {
    if (this.has(m, 'required_engine_version')) this.readEngineVersion(m);
    else if (this.has(m, 'required_plugin_versions')) this.readPluginVersions(m);
    else if (this.has(m, 'list')) this.readList(m);
    else if (this.has(m, 'macro')) this.readMacro(m);
    else if (this.has(m, 'rule')) this.readRule(m);
    else this.warn('LOAD_UNKNOWN_ITEM', 'Unknown top level item', [this.loc('rules content item', '', m)]);
  }

  private readEngineVersion(m: YAMLMap): void {
    const n = this.node(m, 'required_engine_version');
    const chain = [this.loc('required_engine_version', '', m)];
    let ver: string;
    if (isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value) && n.value >= 0) {
      ver = `0.${n.value}.0`;
    } else if (isScalar(n) && typeof n.value === 'string' && /^\d+$/.test(n.value)) {
      ver = `0.${Number(n.value)}.0`;
    } else if (isScalar(n) && typeof n.value === 'string' && /^[0-9]/.test(n.value)) {
      if (!parseSemver(n.value)) {
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          `Unable to parse engine version '${n.value}' as a semver string. Expected "x.y.z" semver format.`,
          chain,
        );
      }
      ver = n.value.trim();
    } else {
      throw this.err('LOAD_ERR_YAML_VALIDATE', "Can't decode YAML scalar value", chain);
    }
    if (!compatibleWith(FALCO_ENGINE_VERSION, ver)) {
      throw this.err(
        'LOAD_ERR_VALIDATE',
        `Rules require engine version ${ver}, but engine version is ${FALCO_ENGINE_VERSION}`,
        chain,
      );
    }
    if (compatibleWith(ver, this.col.requiredEngineVersion) || !parseSemver(this.col.requiredEngineVersion)) {
      this.col.requiredEngineVersion = ver;
    }
  }

  private readPluginVersions(m: YAMLMap): void {
    const n = this.node(m, 'required_plugin_versions');
    const chain = [this.loc('required plugin versions', '', m)];
    if (!isSeq(n)) throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a sequence', chain);
    const reqs: PluginReq[] = [];
    for (const e of n.items) {
      const ec = [...chain, this.loc('required plugin versions entry', '', e as Node)];
      if (!isMap(e)) throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a map', ec);
      const name = this.str(e, 'name', ec)!;
      const version = this.str(e, 'version', ec)!;
      if (!parseSemver(version))
        throw this.err('LOAD_ERR_VALIDATE', `Invalid required version '${version}' for plugin '${name}'`, ec);
      const alternatives: { name: string; version: string }[] = [];
      const alts = this.node(e, 'alternatives');
      if (alts !== undefined && alts !== null) {
        if (!isSeq(alts)) throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a sequence', ec);
        for (const a of alts.items) {
          const ac = [...ec, this.loc('required plugin versions alternative', '', a as Node)];
          if (!isMap(a)) throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a map', ac);
          const an = this.str(a, 'name', ac)!;
          const av = this.str(a, 'version', ac)!;
          if (!parseSemver(av))
            throw this.err('LOAD_ERR_VALIDATE', `Invalid required version '${av}' for plugin '${an}'`, ac);
          if (an === name || alternatives.some((x) => x.name === an)) {
            throw this.err(
              'LOAD_ERR_VALIDATE',
              `Defined multiple alternative version requirements for plugin '${an}'`,
              ac,
            );
          }
          alternatives.push({ name: an, version: av });
        }
      }
      reqs.push({ name, version, alternatives });
    }
    this.col.requiredPlugins.push({ req: reqs, loc: [this.rootLoc, ...chain] });
  }

  private readList(m: YAMLMap): void {
    const nameNode = this.node(m, 'list');
    const name = isScalar(nameNode) && nameNode.value !== null ? String(nameNode.value) : '';
    const chain = [this.loc('list', name, m)];
    this.str(m, 'list', chain);
    this.unknownKeys(m, LIST_KEYS, chain);
    if (!/^[^()"'\s=,]+$/.test(name))
      this.warn(
        'LOAD_INVALID_LIST_NAME',
        `List has an invalid name. List names should match a regular expression: [^()"'[:space:]=,]+`,
        chain,
      );
    const items = this.scalarSeq(m, 'items', chain, 'list item');
    const append = this.bool(m, 'append', chain) ?? false;
    if (append)
      this.warn(
        'LOAD_DEPRECATED_ITEM',
        "'append' key is deprecated. Add an 'append' entry (e.g. 'items: append') under 'override' instead.",
        chain,
      );
    let mode: 'define' | 'append' = append ? 'append' : 'define';
    if (this.has(m, 'override')) {
      if (append)
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'items: append') under 'override' instead.",
          chain,
        );
      const ov = this.overrides(
        m,
        chain,
        new Set(['items']),
        new Set(['items']),
        new Set(items ? ['items'] : []),
      );
      mode = ov.get('items') === 'append' ? 'append' : 'define';
    }
    if (items === undefined)
      throw this.err('LOAD_ERR_YAML_VALIDATE', "Item has no mapping for key 'items'", chain);
    const id = this.col.nextId++;
    const prev = this.col.lists.get(name);
    if (mode === 'append') {
      if (!prev)
        throw this.err(
          'LOAD_ERR_VALIDATE',
          "List uses 'append' or 'override.items: append' but no list by that name already exists",
          chain,
        );
      prev.items.push(...items);
      prev.visibility = id;
      return;
    }
    if (prev) {
      prev.items = items;
      prev.visibility = id;
      prev.loc = [this.rootLoc, ...chain];
    } else {
      this.col.lists.set(name, {
        name,
        items,
        index: id,
        visibility: id,
        loc: [this.rootLoc, ...chain],
        used: false,
      });
    }
  }

  private readMacro(m: YAMLMap): void {
    const nameNode = this.node(m, 'macro');
    const name = isScalar(nameNode) && nameNode.value !== null ? String(nameNode.value) : '';
    const chain = [this.loc('macro', name, m)];
    this.str(m, 'macro', chain);
    this.unknownKeys(m, MACRO_KEYS, chain);
    if (!/^[a-zA-Z]+[a-zA-Z0-9_]*$/.test(name))
      this.warn(
        'LOAD_INVALID_MACRO_NAME',
        'Macro has an invalid name. Macro names should match a regular expression: ^[a-zA-Z]+[a-zA-Z0-9_]*$',
        chain,
      );
    const condNode = this.node(m, 'condition');
    const condLoc = [this.rootLoc, ...chain, this.loc('macro condition', '', condNode)];
    const append = this.bool(m, 'append', chain) ?? false;
    if (append)
      this.warn(
        'LOAD_DEPRECATED_ITEM',
        "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
        chain,
      );
    let mode: 'define' | 'append' = append ? 'append' : 'define';
    if (this.has(m, 'override')) {
      if (append)
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
          chain,
        );
      const ov = this.overrides(
        m,
        chain,
        new Set(['condition']),
        new Set(['condition']),
        new Set(this.has(m, 'condition') ? ['condition'] : []),
      );
      mode = ov.get('condition') === 'append' ? 'append' : 'define';
    }
    const cond = this.str(m, 'condition', chain)!;
    const id = this.col.nextId++;
    const prev = this.col.macros.get(name);
    if (mode === 'append') {
      if (!prev)
        throw this.err(
          'LOAD_ERR_VALIDATE',
          "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
          chain,
        );
      prev.cond = `${prev.cond} ${cond}`;
      prev.visibility = id;
      prev.condLoc = condLoc;
      return;
    }
    if (prev) {
      prev.cond = cond;
      prev.visibility = id;
      prev.loc = [this.rootLoc, ...chain];
      prev.condLoc = condLoc;
    } else {
      this.col.macros.set(name, {
        name,
        cond,
        index: id,
        visibility: id,
        loc: [this.rootLoc, ...chain],
        condLoc,
        used: false,
      });
    }
  }

  private readExceptions(m: YAMLMap, chain: LoadLocation[], isAppend: boolean): ExceptionInfo[] | undefined {
    if (!this.has(m, 'exceptions')) return undefined;
    const n = this.node(m, 'exceptions');
    const ec = [...chain, this.loc('exceptions', '', n)];
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) throw this.err('LOAD_ERR_YAML_VALIDATE', 'Rule exceptions must be a sequence', ec);
    const out: ExceptionInfo[] = [];
    for (const e of n.items) {
      if (!isMap(e))
        throw this.err('LOAD_ERR_YAML_VALIDATE', 'Rule exception must be a mapping', [
          ...ec,
          this.loc('exception', '', e as Node),
        ]);
      const nn = this.node(e, 'name');
      const ename = isScalar(nn) && nn.value !== null ? String(nn.value) : '';
      const xc = [...ec, this.loc('exception', ename, e)];
      this.str(e, 'name', xc);
      if (out.some((x) => x.name === ename)) {
        this.warn(
          'LOAD_EXCEPTION_NAME_NOT_UNIQUE',
          `Multiple definitions of exception '${ename}' in the same rule`,
          xc,
        );
      }
      const decodeStrOrSeq = (key: string): { list: boolean; items: string[] } | undefined => {
        if (!this.has(e, key)) return undefined;
        const v = this.node(e, key);
        if (isSeq(v)) {
          return {
            list: true,
            items: v.items.map((it) => {
              if (!isScalar(it)) throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a scalar value', xc);
              return String(it.value).trim();
            }),
          };
        }
        if (isScalar(v) && v.value !== null) return { list: false, items: [String(v.value).trim()] };
        throw this.err('LOAD_ERR_YAML_VALIDATE', `Mapping for key '${key}' is empty`, xc);
      };
      const fields = decodeStrOrSeq('fields');
      if (!fields && !isAppend)
        throw this.err('LOAD_ERR_YAML_VALIDATE', "Item has no mapping for key 'fields'", xc);
      const comps = decodeStrOrSeq('comps');
      const values: (string | string[])[] = [];
      const vn = this.node(e, 'values');
      const vc = [...xc, this.loc('exception values', '', vn)];
      if (vn !== undefined && vn !== null && !(isScalar(vn) && vn.value === null)) {
        if (!isSeq(vn))
          throw this.err('LOAD_ERR_YAML_VALIDATE', 'Rule exception values must be a sequence', vc);
        for (const v of vn.items) {
          if (isSeq(v)) {
            values.push(
              v.items.map((x) => {
                if (isSeq(x))
                  return `(${x.items.map((y) => quoteListItem(isScalar(y) ? String(y.value) : '')).join(', ')})`;
                if (!isScalar(x))
                  throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a scalar value', [
                    ...vc,
                    this.loc('exception value', '', x as Node),
                  ]);
                return String(x.value);
              }),
            );
          } else if (isScalar(v)) values.push(String(v.value));
          else
            throw this.err('LOAD_ERR_YAML_VALIDATE', 'Value is not a scalar value', [
              ...vc,
              this.loc('exception value', '', v as Node),
            ]);
        }
      }
      const info: ExceptionInfo = { name: ename, values, loc: [this.rootLoc, ...xc] };
      if (fields) info.fields = fields;
      if (comps) info.comps = comps;
      out.push(info);
    }
    return out;
  }

  /** validate_exception_info: defaults and shape checks (LOAD_ERR_VALIDATE). */
  private validateException(ex: ExceptionInfo, source: string): void {
    const e = (msg: string) =>
      new LoadError(
        makeMessage('LOAD_ERR_VALIDATE', msg, ex.loc, snippetAt(this.content, ex.loc.at(-1)?.position)),
      );
    if (!ex.fields) throw e('Rule exception must have fields property with a list of fields');
    if (ex.fields.list) {
      if (!ex.comps) ex.comps = { list: true, items: ex.fields.items.map(() => '=') };
      if (!ex.comps.list) throw e('Fields and comps lists must have equal length');
      if (ex.comps.items.length !== ex.fields.items.length)
        throw e('Fields and comps lists must have equal length');
      for (const c of ex.comps.items)
        if (!this.env.isOperator(c)) throw e(`'${c}' is not a supported comparison operator`);
      for (const f of ex.fields.items) {
        if (this.env.knownSource(source) && this.env.checkField(source, f) !== undefined)
          throw e(`'${f}' is not a supported filter field`);
      }
      for (const v of ex.values) {
        if (!Array.isArray(v) || v.length !== ex.fields.items.length)
          throw e('Fields and values lists must have equal length');
      }
    } else {
      if (!ex.comps) ex.comps = { list: false, items: ['in'] };
      if (ex.comps.list) throw e('Fields and comps must both be strings');
      const c = ex.comps.items[0]!;
      if (!['in', 'pmatch', 'intersects'].includes(c) && !/ (oneof|anyof|allof)$/.test(c)) {
        throw e(`'${c}' is not a supported comparison operator`);
      }
      const f = ex.fields.items[0]!;
      if (this.env.knownSource(source) && this.env.checkField(source, f) !== undefined)
        throw e(`'${f}' is not a supported filter field`);
      for (const v of ex.values)
        if (Array.isArray(v)) throw e('Expected values array to contain a list of strings');
    }
  }

  private readRule(m: YAMLMap): void {
    const nameNode = this.node(m, 'rule');
    const name = isScalar(nameNode) && nameNode.value !== null ? String(nameNode.value) : '';
    const chain = [this.loc('rule', name, m)];
    this.str(m, 'rule', chain);
    this.unknownKeys(m, RULE_KEYS, chain);
    const present = new Set(this.keys(m));
    const append = this.bool(m, 'append', chain) ?? false;
    if (append)
      this.warn(
        'LOAD_DEPRECATED_ITEM',
        "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
        chain,
      );
    const condNode = this.node(m, 'condition');
    const outNode = this.node(m, 'output');
    const condLoc = [this.rootLoc, ...chain, this.loc('rule condition', '', condNode)];
    const outputLoc = [this.rootLoc, ...chain, this.loc('rule output', '', outNode)];
    const id = this.col.nextId++;
    const prev = this.col.rules.get(name);
    const priorityOf = (): PriorityLevel | undefined => {
      const p = this.optStr(m, 'priority', chain);
      if (p === undefined) return undefined;
      const lvl = parsePriority(p);
      if (lvl === undefined)
        throw this.err('LOAD_ERR_YAML_VALIDATE', 'Invalid priority', [
          ...chain,
          this.loc('rule priority', '', this.node(m, 'priority')),
        ]);
      return lvl;
    };
    const tagsOf = () => this.scalarSeq(m, 'tags', chain, 'value for');

    if (this.has(m, 'override')) {
      if (append)
        throw this.err(
          'LOAD_ERR_YAML_VALIDATE',
          "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
          chain,
        );
      const ov = this.overrides(m, chain, RULE_APPENDABLE, RULE_REPLACEABLE, present);
      const exceptions = this.readExceptions(m, chain, true);
      for (const [k, op] of ov) {
        if (!prev) {
          if (op === 'append')
            throw this.err(
              'LOAD_ERR_VALIDATE',
              `Rule uses 'append' or 'override.${k}: append' but no rule by that name already exists`,
              chain,
            );
          throw this.err(
            'LOAD_ERR_VALIDATE',
            `An 'override.${k}: replace' to a rule was requested but no rule by that name already exists`,
            chain,
          );
        }
      }
      if (!prev) return;
      for (const [k, op] of ov) {
        switch (k) {
          case 'condition': {
            const v = this.str(m, 'condition', chain)!;
            prev.cond = op === 'append' ? `${prev.cond} ${v}` : v;
            prev.condLoc = condLoc;
            break;
          }
          case 'output': {
            const v = this.str(m, 'output', chain)!.trim();
            prev.output = op === 'append' ? `${prev.output} ${v}` : v;
            prev.outputLoc = outputLoc;
            break;
          }
          case 'desc': {
            const v = this.str(m, 'desc', chain)!;
            prev.desc = op === 'append' ? `${prev.desc} ${v}` : v;
            break;
          }
          case 'tags': {
            const t = tagsOf() ?? [];
            prev.tags = op === 'append' ? [...new Set([...prev.tags, ...t])].sort() : [...new Set(t)].sort();
            break;
          }
          case 'exceptions':
            if (op === 'append') this.appendExceptions(prev, exceptions ?? []);
            else {
              for (const ex of exceptions ?? []) this.validateException(ex, prev.source);
              prev.exceptions = exceptions ?? [];
            }
            break;
          case 'priority':
            prev.priority = priorityOf()!;
            break;
          case 'enabled':
            prev.enabled = this.bool(m, 'enabled', chain)!;
            break;
          case 'warn_evttypes':
            prev.warn_evttypes = this.bool(m, 'warn_evttypes', chain)!;
            break;
          case 'skip-if-unknown-filter':
            prev.skip_if_unknown_filter = this.bool(m, 'skip-if-unknown-filter', chain)!;
            break;
          case 'capture':
            prev.capture = this.bool(m, 'capture', chain)!;
            break;
          case 'capture_duration':
            prev.capture_duration = this.uint(m, 'capture_duration', chain)!;
            break;
        }
      }
      prev.visibility = id;
      return;
    }

    if (append) {
      const exceptions = this.readExceptions(m, chain, true);
      const cond = this.optStr(m, 'condition', chain);
      if (cond === undefined && exceptions === undefined) {
        throw this.err(
          'LOAD_ERR_VALIDATE',
          'Appended rule must have exceptions or condition property',
          chain,
        );
      }
      if (!prev)
        throw this.err(
          'LOAD_ERR_VALIDATE',
          "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
          chain,
        );
      if (cond) {
        prev.cond = `${prev.cond} ${cond}`;
        prev.condLoc = condLoc;
      }
      const out = this.optStr(m, 'output', chain);
      if (out) prev.output = `${prev.output} ${out.trim()}`;
      const desc = this.optStr(m, 'desc', chain);
      if (desc) prev.desc = `${prev.desc} ${desc}`;
      const t = tagsOf();
      if (t) prev.tags = [...new Set([...prev.tags, ...t])].sort();
      if (exceptions) this.appendExceptions(prev, exceptions);
      prev.visibility = id;
      return;
    }

    const hasDef = ['condition', 'output', 'desc', 'priority'].some((k) => present.has(k));
    if (!hasDef && present.has('enabled')) {
      const en = this.bool(m, 'enabled', chain)!;
      this.warn(
        'LOAD_DEPRECATED_ITEM',
        "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').",
        chain,
      );
      if (!prev)
        throw this.err(
          'LOAD_ERR_VALIDATE',
          "Rule has 'enabled' key but no rule by that name already exists",
          chain,
        );
      prev.enabled = en;
      return;
    }
    const cond = this.str(m, 'condition', chain)!;
    const output = this.str(m, 'output', chain)!.trim();
    const desc = this.str(m, 'desc', chain)!;
    this.str(m, 'priority', chain);
    const priority = priorityOf()!;
    const explicitSource = this.optStr(m, 'source', chain);
    const source = explicitSource || 'syscall';
    const exceptions = this.readExceptions(m, chain, false) ?? [];
    if (this.env.knownSource(source)) for (const ex of exceptions) this.validateException(ex, source);
    const rule: RuleRaw = {
      name,
      cond,
      output,
      desc,
      priority,
      source,
      enabled: this.bool(m, 'enabled', chain) ?? true,
      tags: [...new Set(tagsOf() ?? [])].sort(),
      exceptions,
      warn_evttypes: this.bool(m, 'warn_evttypes', chain) ?? true,
      skip_if_unknown_filter: this.bool(m, 'skip-if-unknown-filter', chain) ?? false,
      capture: this.bool(m, 'capture', chain) ?? false,
      capture_duration: this.uint(m, 'capture_duration', chain) ?? 0,
      index: id,
      visibility: id,
      loc: [this.rootLoc, ...chain],
      condLoc,
      outputLoc,
    };
    if (prev) {
      if (explicitSource && explicitSource !== prev.source) {
        throw this.err('LOAD_ERR_VALIDATE', 'Rule has been re-defined with a different source', chain);
      }
      rule.index = prev.index;
      this.col.rules.set(name, rule); // Map.set on an existing key keeps the original position
    } else {
      this.col.rules.set(name, rule);
    }
  }

  private appendExceptions(rule: RuleRaw, exceptions: ExceptionInfo[]): void {
    for (const ex of exceptions) {
      const e = (msg: string) =>
        new LoadError(
          makeMessage('LOAD_ERR_VALIDATE', msg, ex.loc, snippetAt(this.content, ex.loc.at(-1)?.position)),
        );
      const existing = rule.exceptions.find((x) => x.name === ex.name);
      if (existing) {
        if (ex.fields) throw e('Can not append exception fields to existing exception, only values');
        if (ex.comps) throw e('Can not append exception comps to existing exception, only values');
        if (ex.values.length === 0) {
          this.warnings.push(
            makeMessage(
              'LOAD_APPEND_NO_VALUES',
              'Overriding/appending exception with no values',
              ex.loc,
              snippetAt(this.content, ex.loc.at(-1)?.position),
            ),
          );
        }
        const probe: ExceptionInfo = { ...existing, values: ex.values, loc: ex.loc };
        this.validateException(probe, rule.source);
        existing.values.push(...ex.values);
      } else {
        if (!ex.fields) throw e('Rule exception must have fields property with a list of fields');
        if (ex.values.length === 0) {
          this.warnings.push(
            makeMessage(
              'LOAD_APPEND_NO_VALUES',
              'Overriding/appending exception with no values',
              ex.loc,
              snippetAt(this.content, ex.loc.at(-1)?.position),
            ),
          );
        }
        this.validateException(ex, rule.source);
        rule.exceptions.push(ex);
      }
    }
  }
}
