/**
 * Condition compiler: resolved AST → specialised closures, with libsinsp's field/operator checks,
 * plus the event-type set of a condition (for the per-event-type rule index).
 */
import { RE2JS } from 're2js';
import type { AnyExtractor, FieldScalar, FieldSpec, FieldType, FieldValue } from './api.js';
import {
  compileGlob,
  compilePathPrefixes,
  hexToBinary,
  type IpNet,
  netContains,
  parseIp,
  parseNet,
} from './matchers.js';
import type { BinaryCheckExpr, Expr, FieldExpr, FieldLike, Pos, RhsExpr, TransformerExpr } from './parser.js';

export type Getter = (ev: unknown) => FieldValue;
export type Pred = (ev: unknown) => boolean;

export class CompileError extends Error {
  constructor(
    message: string,
    readonly pos: Pos | undefined,
    /** Unknown field or event type: downgraded by `skip-if-unknown-filter`. */
    readonly unknownFilter = false,
  ) {
    super(message);
  }
}

export interface CompileWarning {
  message: string;
  pos?: Pos;
  code: 'LOAD_COMPILE_CONDITION' | 'LOAD_UNSAFE_NA_CHECK' | 'LOAD_DEPRECATED_ITEM';
  deprecatedField?: string;
}

/** A source as the compiler sees it: its field table, optional extractor, known event types. */
export interface SourceDef {
  name: string;
  fields: Map<string, FieldSpec>;
  extractor?: AnyExtractor;
  /** Known event-type names (syscall only); undefined = no evt.type validation and no index. */
  eventTypes?: ReadonlySet<string>;
  /** Engine-provided getters for generic fields the extractor does not bind (evt.time, ...). */
  builtin?: (name: string, arg: string | undefined) => Getter | undefined;
}

export interface CompileCtx {
  src: SourceDef;
  warnings: CompileWarning[];
  fields: Set<string>;
  operators: Set<string>;
  /** When false, extraction is not bound (validation only). */
  bind: boolean;
}

type Cat = 'str' | 'num' | 'bool' | 'ip' | 'net' | 'buf';

export function category(t: FieldType): Cat {
  switch (t) {
    case 'string':
    case 'charbuf':
    case 'fspath':
    case 'fsrelpath':
      return 'str';
    case 'bytebuf':
      return 'buf';
    case 'bool':
      return 'bool';
    case 'ipaddr':
      return 'ip';
    case 'ipnet':
      return 'net';
    default:
      return 'num';
  }
}

export const NUMERIC_TYPES: ReadonlySet<FieldType> = new Set<FieldType>([
  'uint64',
  'int64',
  'uint32',
  'int32',
  'uint16',
  'int16',
  'uint8',
  'port',
  'relativetime',
  'abstime',
  'fd',
  'pid',
  'errno',
  'flags',
  'mode',
  'sigtype',
  'double',
]);

export interface ResolvedField {
  spec: FieldSpec;
  name: string;
  arg: string | undefined;
}

/** Resolve `name` / `name[arg]` / `name.key` (dot-argument fields) against a field table. */
export function resolveField(
  fields: Map<string, FieldSpec>,
  name: string,
  arg: string | undefined,
  pos?: Pos,
): ResolvedField {
  let spec = fields.get(name);
  let fname = name;
  if (!spec) {
    for (let k = name.lastIndexOf('.'); k > 0; k = name.lastIndexOf('.', k - 1)) {
      const cand = fields.get(name.slice(0, k));
      if (cand?.dotArg) {
        if (arg !== undefined) break;
        spec = cand;
        fname = cand.name;
        arg = name.slice(k + 1);
        break;
      }
    }
  }
  if (!spec) throw new CompileError(`filter_check called with nonexistent field ${name}`, pos, true);
  if (arg !== undefined && (spec.arg === undefined || spec.arg === 'none')) {
    throw new CompileError(`filter error: field '${fname}' does not accept an argument`, pos);
  }
  if (arg === undefined && spec.arg === 'required') {
    throw new CompileError(`filter error: field '${fname}' requires an argument`, pos);
  }
  if (
    arg !== undefined &&
    spec.argKind === 'index' &&
    !/^[0-9]+$/.test(arg) &&
    !fname.startsWith('container.mount')
  ) {
    throw new CompileError(
      `filter error: field '${fname}' requires a numeric index argument, got '${arg}'`,
      pos,
    );
  }
  return { spec, name: fname, arg };
}

/** Compiled left-hand side: getter, type, list-ness, display name. */
export interface Lhs {
  get: Getter;
  type: FieldType;
  isList: boolean;
  /** name as written for output_fields (`proc.aname[2]`), undefined for transformers. */
  key?: string;
  field?: ResolvedField;
}

const NO_VALUE: Getter = () => undefined;

function bindField(ctx: CompileCtx, rf: ResolvedField, pos: Pos | undefined): Getter {
  if (!ctx.bind) return NO_VALUE;
  const ex = ctx.src.extractor;
  // evt.dir is constant since Falco drops enter events: always the engine's '<'.
  const g =
    (rf.name === 'evt.dir' ? ctx.src.builtin?.(rf.name, rf.arg) : undefined) ??
    ex?.bind(rf.name, rf.arg) ??
    ctx.src.builtin?.(rf.name, rf.arg);
  if (g) return g as Getter;
  if (!ex) return NO_VALUE;
  throw new CompileError(`filter_check called with nonexistent field ${rf.name}`, pos, true);
}

export function compileFieldRef(ctx: CompileCtx, f: FieldExpr): Lhs {
  const rf = resolveField(ctx.src.fields, f.name, f.arg, f.pos);
  ctx.fields.add(rf.name);
  if (
    rf.spec.deprecated &&
    [
      'evt.dir',
      'evt.latency',
      'evt.latency.s',
      'evt.latency.ns',
      'evt.latency.human',
      'evt.wait_latency',
    ].includes(rf.name)
  ) {
    ctx.warnings.push({
      code: 'LOAD_DEPRECATED_ITEM',
      message: `field '${rf.name}' is deprecated and will be removed in a future Falco version`,
      pos: f.pos,
      deprecatedField: rf.name,
    });
  }
  const key = rf.arg === undefined ? rf.name : `${rf.name}[${rf.arg}]`;
  // An indexed list field (`ka.req.pod.containers.image[0]`) yields one value.
  const isList = !!rf.spec.isList && rf.arg === undefined;
  return { get: bindField(ctx, rf, f.pos), type: rf.spec.type, isList, key, field: rf };
}

function toStr(v: FieldScalar): string {
  return typeof v === 'string' ? v : String(v);
}

function mapValue(v: FieldValue, fn: (s: string) => FieldScalar): FieldValue {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map((x) => fn(toStr(x)));
  return fn(toStr(v));
}

export function compileTransformer(ctx: CompileCtx, t: TransformerExpr): Lhs {
  const args = t.args.map((a) =>
    a.kind === 'value' ? a : a.kind === 'field' ? compileFieldRef(ctx, a) : compileTransformer(ctx, a),
  );
  const need = (n: number) => {
    if (args.length !== n)
      throw new CompileError(`transformer '${t.name}' expects ${n} argument(s), got ${args.length}`, t.pos);
  };
  const fieldArg = (i: number, cats: Cat[], listOk = false): Lhs => {
    const a = args[i]!;
    if ('kind' in a)
      throw new CompileError(`transformer '${t.name}' expects a field argument, got a value`, t.pos);
    if (!cats.includes(category(a.type)) || (a.isList && !listOk)) {
      throw new CompileError(
        `transformer '${t.name}' does not support field type ${a.isList ? `list of ${a.type}` : a.type}`,
        t.pos,
      );
    }
    return a;
  };
  if (t.arg !== undefined)
    throw new CompileError(`transformer '${t.name}' does not accept an index argument`, t.pos);
  switch (t.name) {
    case 'tolower':
    case 'toupper': {
      need(1);
      const a = fieldArg(0, ['str'], true);
      const up = t.name === 'toupper';
      const g = a.get;
      return {
        get: (ev) => mapValue(g(ev), up ? (s) => s.toUpperCase() : (s) => s.toLowerCase()),
        type: a.type,
        isList: a.isList,
      };
    }
    case 'b64': {
      need(1);
      const a = fieldArg(0, ['str', 'buf'], true);
      const g = a.get;
      return {
        get: (ev) => mapValue(g(ev), (s) => Buffer.from(s, 'base64').toString('utf8')),
        type: a.type,
        isList: a.isList,
      };
    }
    case 'basename': {
      need(1);
      const a = fieldArg(0, ['str'], true);
      const g = a.get;
      return {
        get: (ev) => mapValue(g(ev), (s) => s.slice(s.lastIndexOf('/') + 1)),
        type: 'charbuf',
        isList: a.isList,
      };
    }
    case 'len': {
      need(1);
      const a = fieldArg(0, ['str', 'buf'], true);
      const g = a.get;
      if (a.isList) {
        return {
          get: (ev) => {
            const v = g(ev);
            return v === undefined ? undefined : Array.isArray(v) ? v.length : 1;
          },
          type: 'uint64',
          isList: false,
        };
      }
      return {
        get: (ev) => {
          const v = g(ev);
          return v === undefined
            ? undefined
            : Array.isArray(v)
              ? v.map((x) => Buffer.byteLength(toStr(x)))
              : Buffer.byteLength(toStr(v));
        },
        type: 'uint64',
        isList: false,
      };
    }
    case 'join': {
      need(2);
      const sep = args[0]!;
      if (!('kind' in sep))
        throw new CompileError(`transformer 'join' expects a string separator as first argument`, t.pos);
      const a = fieldArg(1, ['str', 'num', 'bool', 'ip'], true);
      const g = a.get;
      const s = sep.value;
      return {
        get: (ev) => {
          const v = g(ev);
          return v === undefined ? undefined : Array.isArray(v) ? v.map(toStr).join(s) : toStr(v);
        },
        type: 'charbuf',
        isList: false,
      };
    }
    case 'concat': {
      if (args.length < 2) throw new CompileError(`transformer 'concat' expects at least 2 arguments`, t.pos);
      const parts: Getter[] = args.map((a) => {
        if ('kind' in a) {
          const v = a.value;
          return () => v;
        }
        if (a.isList || category(a.type) !== 'str') {
          throw new CompileError(`transformer 'concat' expects string arguments`, t.pos);
        }
        return a.get;
      });
      return {
        get: (ev) => {
          let out = '';
          for (const p of parts) {
            const v = p(ev);
            if (v === undefined) return undefined;
            out += Array.isArray(v) ? v.map(toStr).join(',') : toStr(v);
          }
          return out;
        },
        type: 'charbuf',
        isList: false,
      };
    }
    default:
      throw new CompileError(`transformer '${t.name}' is not supported`, t.pos);
  }
}

function compileLhs(ctx: CompileCtx, f: FieldLike): Lhs {
  return f.kind === 'field' ? compileFieldRef(ctx, f) : compileTransformer(ctx, f);
}

const OP_ALLOWED: Record<Cat, Set<string>> = {
  str: new Set([
    '=',
    '==',
    '!=',
    '<',
    '<=',
    '>',
    '>=',
    'contains',
    'icontains',
    'startswith',
    'endswith',
    'glob',
    'iglob',
    'regex',
    'in',
    'intersects',
    'pmatch',
    'exists',
  ]),
  buf: new Set([
    '=',
    '==',
    '!=',
    'contains',
    'bcontains',
    'startswith',
    'bstartswith',
    'endswith',
    'in',
    'intersects',
    'exists',
  ]),
  num: new Set(['=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects', 'exists']),
  bool: new Set(['=', '==', '!=', 'in', 'intersects', 'exists']),
  ip: new Set(['=', '==', '!=', 'in', 'intersects', 'exists']),
  net: new Set(['=', '==', '!=', 'in', 'intersects', 'exists']),
};
const CAT_NAME: Record<Cat, string> = {
  str: 'string',
  buf: 'buffer',
  num: 'numeric',
  bool: 'boolean',
  ip: 'ip address',
  net: 'ip network',
};

function parseNumber(v: string, pos: Pos | undefined): number {
  const n = /^[+-]?0[xX][0-9a-fA-F]+$/.test(v) ? Number.parseInt(v, 16) : Number(v);
  if (v.trim() === '' || Number.isNaN(n))
    throw new CompileError(`filter error: could not parse '${v}' as a number`, pos);
  return n;
}

function parseBool(v: string, pos: Pos | undefined): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new CompileError(`filter error: could not parse '${v}' as a boolean (expected true or false)`, pos);
}

type Test = (x: FieldScalar) => boolean;

/** Scalar test for one operator and one constant operand. */
function scalarTest(op: string, cat: Cat, value: string, pos: Pos | undefined, ctx: CompileCtx): Test {
  switch (cat) {
    case 'num': {
      const n = parseNumber(value, pos);
      const num = (x: FieldScalar) => (typeof x === 'number' ? x : typeof x === 'boolean' ? +x : Number(x));
      switch (op) {
        case '=':
        case '==':
        case 'in':
        case 'intersects':
          return (x) => num(x) === n;
        case '!=':
          return (x) => num(x) !== n;
        case '<':
          return (x) => num(x) < n;
        case '<=':
          return (x) => num(x) <= n;
        case '>':
          return (x) => num(x) > n;
        case '>=':
          return (x) => num(x) >= n;
      }
      break;
    }
    case 'bool': {
      const b = parseBool(value, pos);
      const bool = (x: FieldScalar) => (typeof x === 'boolean' ? x : x === 'true' || x === 1);
      return op === '!=' ? (x) => bool(x) !== b : (x) => bool(x) === b;
    }
    case 'ip':
    case 'net': {
      const net = parseNet(value);
      if (!net)
        throw new CompileError(
          `filter error: could not parse '${value}' as an ${cat === 'ip' ? 'IP address' : 'IP network'}`,
          pos,
        );
      const test = (x: FieldScalar) => {
        const ip = parseIp(toStr(x));
        return ip !== undefined && netContains(net, ip);
      };
      return op === '!=' ? (x) => !test(x) : test;
    }
    case 'buf':
    case 'str': {
      const s = value;
      switch (op) {
        case '=':
        case '==':
        case 'in':
        case 'intersects':
          return (x) => x === s || (typeof x !== 'string' && String(x) === s);
        case '!=':
          return (x) => toStr(x) !== s;
        case '<':
          return (x) => toStr(x) < s;
        case '<=':
          return (x) => toStr(x) <= s;
        case '>':
          return (x) => toStr(x) > s;
        case '>=':
          return (x) => toStr(x) >= s;
        case 'contains':
          return (x) => toStr(x).includes(s);
        case 'icontains': {
          const ls = s.toLowerCase();
          return (x) => toStr(x).toLowerCase().includes(ls);
        }
        case 'startswith':
          return (x) => toStr(x).startsWith(s);
        case 'endswith':
          return (x) => toStr(x).endsWith(s);
        case 'bcontains':
        case 'bstartswith': {
          const bin = hexToBinary(s);
          if (bin === undefined)
            throw new CompileError(
              'filter error: bcontains and bstartswith operator support hex strings only',
              pos,
            );
          return op === 'bcontains' ? (x) => toStr(x).includes(bin) : (x) => toStr(x).startsWith(bin);
        }
        case 'glob':
        case 'iglob': {
          const m = compileGlob(s, op === 'iglob');
          return (x) => m(toStr(x));
        }
        case 'regex': {
          let re: RE2JS;
          try {
            re = RE2JS.compile(s);
          } catch (e) {
            throw new CompileError(
              `filter error: invalid regular expression '${s}': ${(e as Error).message}`,
              pos,
            );
          }
          if (!/[\\^$.|?*+()[\]{}]/.test(s)) {
            ctx.warnings.push({
              code: 'LOAD_COMPILE_CONDITION',
              message: `regex check with '${s}' may be optimized with simpler operators such as '=', 'contains', 'startswith', 'endswith'`,
              pos,
            });
          }
          return (x) => re.matches(toStr(x));
        }
        case 'pmatch': {
          const m = compilePathPrefixes([s]);
          return (x) => m(toStr(x));
        }
      }
    }
  }
  throw new CompileError(`filter error: '${op}' operator not supported for ${CAT_NAME[cat]} filters`, pos);
}

/** Test for a list operand (`in`, `intersects`, `pmatch`) or a modifier list. */
function listTest(op: string, cat: Cat, values: string[], pos: Pos | undefined, ctx: CompileCtx): Test {
  if (op === 'pmatch') {
    if (cat !== 'str')
      throw new CompileError(
        `filter error: 'pmatch' operator not supported for ${CAT_NAME[cat]} filters`,
        pos,
      );
    const m = compilePathPrefixes(values);
    return (x) => m(toStr(x));
  }
  if (cat === 'str' || cat === 'buf') {
    const set = new Set(values);
    return (x) => set.has(toStr(x));
  }
  if (cat === 'num') {
    const set = new Set(values.map((v) => parseNumber(v, pos)));
    return (x) => set.has(typeof x === 'number' ? x : Number(x));
  }
  const tests = values.map((v) => scalarTest('=', cat, v, pos, ctx));
  return (x) => {
    for (const t of tests) if (t(x)) return true;
    return false;
  };
}

function modifierTest(
  op: string,
  mod: 'oneof' | 'anyof' | 'allof',
  cat: Cat,
  values: string[],
  pos: Pos | undefined,
  ctx: CompileCtx,
): Test {
  if (mod === 'anyof' && (op === '=' || op === '==') && (cat === 'str' || cat === 'num'))
    return listTest('in', cat, values, pos, ctx);
  const tests = values.map((v) => scalarTest(op, cat, v, pos, ctx));
  if (mod === 'anyof') {
    return (x) => {
      for (const t of tests) if (t(x)) return true;
      return false;
    };
  }
  if (mod === 'allof') {
    return (x) => {
      for (const t of tests) if (!t(x)) return false;
      return true;
    };
  }
  return (x) => {
    let n = 0;
    for (const t of tests) if (t(x) && ++n > 1) return false;
    return n === 1;
  };
}

const NA_OPS = new Set(['=', '==', '!=', 'in', 'intersects', 'pmatch']);

/**
 * How a compiled check on a plain field with constant operands works, so that the code generator
 * can inline it instead of calling the closure.
 */
export interface LeafPlan {
  get: Getter;
  key: string;
  cat: Cat;
  op: string;
  modifier?: string;
  values: string[];
  listRhs: boolean;
  test: (x: FieldScalar) => boolean;
}

export const LEAF_PLANS = new WeakMap<Pred, LeafPlan>();

export type { Cat };

function compileBinary(ctx: CompileCtx, e: BinaryCheckExpr): Pred {
  const lhs = compileLhs(ctx, e.left);
  const op = e.op;
  ctx.operators.add(e.modifier ? `${op} ${e.modifier}` : op);
  const cat = category(lhs.type);
  const lname = lhs.key ?? 'transformer';
  if (lhs.isList && op !== 'in' && op !== 'intersects') {
    throw new CompileError(
      `filter error: field '${lname}' is a list and only supports operators 'exists', 'in' and 'intersects'`,
      e.pos,
    );
  }
  if (!OP_ALLOWED[cat].has(op)) {
    throw new CompileError(
      `filter error: '${op}' operator not supported for ${CAT_NAME[cat]} filters`,
      e.pos,
    );
  }
  const right: RhsExpr = e.right;
  const g = lhs.get;
  // Field-to-field comparison: val(field) or a transformer on the right.
  if (right.kind === 'val' || right.kind === 'transformer') {
    const r = right.kind === 'val' ? compileFieldRef(ctx, right.field) : compileTransformer(ctx, right);
    if (category(r.type) !== cat || r.isList) {
      throw new CompileError(
        `filter error: field '${lname}' has type ${lhs.type} while the right-hand side field '${r.key ?? 'transformer'}' has incompatible type ${r.type}`,
        e.pos,
      );
    }
    const rg = r.get;
    const cmp = dynamicCompare(op, cat, e.pos);
    return (ev) => {
      const a = g(ev);
      if (a === undefined) return false;
      const b = rg(ev);
      if (b === undefined || Array.isArray(b)) return false;
      if (Array.isArray(a)) {
        for (const x of a) if (cmp(x, b)) return true;
        return false;
      }
      return cmp(a, b);
    };
  }
  let values: string[];
  let test: Test;
  if (right.kind === 'list') {
    values = right.values.map((v) => v.value);
    if (e.modifier) {
      if (op === 'in' || op === 'intersects' || op === 'pmatch')
        throw new CompileError(`filter error: '${op}' does not accept a modifier`, e.pos);
      test = modifierTest(op, e.modifier, cat, values, right.pos, ctx);
    } else if (op === 'in' || op === 'intersects' || op === 'pmatch') {
      test = listTest(op, cat, values, right.pos, ctx);
    } else {
      throw new CompileError(`filter error: operator '${op}' expects a single value, not a list`, right.pos);
    }
  } else {
    values = [right.value];
    test =
      op === 'in' || op === 'intersects' || op === 'pmatch'
        ? listTest(op, cat, values, right.pos, ctx)
        : scalarTest(op, cat, right.value, right.pos, ctx);
  }
  // warnings
  const fname = lhs.field?.name ?? '';
  if ((fname.startsWith('ka.') || fname.startsWith('jevt.')) && NA_OPS.has(op) && values.includes('<NA>')) {
    ctx.warnings.push({
      code: 'LOAD_UNSAFE_NA_CHECK',
      message: `comparing '${lname}' with '<NA>' is unsafe: a field with no value never equals '<NA>', use 'exists' instead`,
      pos: e.pos,
    });
  }
  for (const v of values) {
    if (/^(tolower|toupper|b64|basename|len|join|concat|getopt)\(.*\)$/.test(v)) {
      ctx.warnings.push({
        code: 'LOAD_COMPILE_CONDITION',
        message: `'${v}' may be a valid field transformer misused as a const string value`,
        pos: e.pos,
      });
    }
    if (/^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_]+)+$/.test(v) && ctx.src.fields.has(v)) {
      ctx.warnings.push({
        code: 'LOAD_COMPILE_CONDITION',
        message: `'${v}' may be a valid field misused as a const string value`,
        pos: e.pos,
      });
    }
  }
  if (
    (fname === 'evt.type' || fname === 'syscall.type') &&
    !lhs.field?.arg &&
    ctx.src.eventTypes &&
    e.left.kind === 'field'
  ) {
    if (op === '=' || op === '==' || op === '!=' || op === 'in' || op === 'intersects') {
      for (const v of values) {
        if (!ctx.src.eventTypes.has(v)) throw new CompileError(`unknown event type ${v}`, right.pos, true);
      }
    }
  }
  if (!lhs.isList && lhs.key !== undefined && e.left.kind === 'field') {
    const plan: LeafPlan = { get: g, key: lhs.key, cat, op, values, listRhs: right.kind === 'list', test };
    if (e.modifier) plan.modifier = e.modifier;
    const pred = scalarPred(g, cat, test);
    LEAF_PLANS.set(pred, plan);
    return pred;
  }
  if (lhs.isList) {
    if (op === 'in') {
      return (ev) => {
        const v = g(ev);
        if (v === undefined) return false;
        if (!Array.isArray(v)) return test(v);
        if (v.length === 0) return false;
        for (const x of v) if (!test(x)) return false;
        return true;
      };
    }
    return (ev) => {
      const v = g(ev);
      if (v === undefined) return false;
      if (!Array.isArray(v)) return test(v);
      for (const x of v) if (test(x)) return true;
      return false;
    };
  }
  return scalarPred(g, cat, test);
}

function scalarPred(g: Getter, cat: Cat, test: (x: FieldScalar) => boolean): Pred {
  if (cat === 'str') {
    return (ev) => {
      const v = g(ev);
      if (typeof v === 'string') return test(v);
      if (v === undefined) return false;
      if (Array.isArray(v)) {
        for (const x of v) if (test(x)) return true;
        return false;
      }
      return test(v);
    };
  }
  return (ev) => {
    const v = g(ev);
    if (v === undefined) return false;
    if (Array.isArray(v)) {
      for (const x of v) if (test(x)) return true;
      return false;
    }
    return test(v);
  };
}

function dynamicCompare(
  op: string,
  cat: Cat,
  pos: Pos | undefined,
): (a: FieldScalar, b: FieldScalar) => boolean {
  if (cat === 'num') {
    const n = (x: FieldScalar) => (typeof x === 'number' ? x : Number(x));
    switch (op) {
      case '=':
      case '==':
      case 'in':
      case 'intersects':
        return (a, b) => n(a) === n(b);
      case '!=':
        return (a, b) => n(a) !== n(b);
      case '<':
        return (a, b) => n(a) < n(b);
      case '<=':
        return (a, b) => n(a) <= n(b);
      case '>':
        return (a, b) => n(a) > n(b);
      case '>=':
        return (a, b) => n(a) >= n(b);
    }
  }
  if (cat === 'ip' || cat === 'net') {
    const eq = (a: FieldScalar, b: FieldScalar) => {
      const x = parseIp(toStr(a));
      const y: IpNet | undefined = parseNet(toStr(b));
      return x !== undefined && y !== undefined && netContains(y, x);
    };
    if (op === '!=') return (a, b) => !eq(a, b);
    if (op === '=' || op === '==' || op === 'in' || op === 'intersects') return eq;
  }
  switch (op) {
    case '=':
    case '==':
    case 'in':
    case 'intersects':
      return (a, b) => toStr(a) === toStr(b);
    case '!=':
      return (a, b) => toStr(a) !== toStr(b);
    case '<':
      return (a, b) => toStr(a) < toStr(b);
    case '<=':
      return (a, b) => toStr(a) <= toStr(b);
    case '>':
      return (a, b) => toStr(a) > toStr(b);
    case '>=':
      return (a, b) => toStr(a) >= toStr(b);
    case 'contains':
      return (a, b) => toStr(a).includes(toStr(b));
    case 'icontains':
      return (a, b) => toStr(a).toLowerCase().includes(toStr(b).toLowerCase());
    case 'startswith':
      return (a, b) => toStr(a).startsWith(toStr(b));
    case 'endswith':
      return (a, b) => toStr(a).endsWith(toStr(b));
    case 'glob':
      return (a, b) => compileGlob(toStr(b))(toStr(a));
    case 'iglob':
      return (a, b) => compileGlob(toStr(b), true)(toStr(a));
  }
  throw new CompileError(
    `filter error: '${op}' operator does not support a field on the right-hand side`,
    pos,
  );
}

/** Compile a macro-resolved condition AST to a predicate. */
export function compileExpr(ctx: CompileCtx, e: Expr): Pred {
  switch (e.kind) {
    case 'and': {
      const ps = e.children.map((c) => compileExpr(ctx, c));
      if (ps.length === 2) {
        const [a, b] = ps as [Pred, Pred];
        return (ev) => a(ev) && b(ev);
      }
      if (ps.length === 3) {
        const [a, b, c] = ps as [Pred, Pred, Pred];
        return (ev) => a(ev) && b(ev) && c(ev);
      }
      return (ev) => {
        for (let i = 0; i < ps.length; i++) if (!ps[i]!(ev)) return false;
        return true;
      };
    }
    case 'or': {
      const ps = e.children.map((c) => compileExpr(ctx, c));
      if (ps.length === 2) {
        const [a, b] = ps as [Pred, Pred];
        return (ev) => a(ev) || b(ev);
      }
      if (ps.length === 3) {
        const [a, b, c] = ps as [Pred, Pred, Pred];
        return (ev) => a(ev) || b(ev) || c(ev);
      }
      return (ev) => {
        for (let i = 0; i < ps.length; i++) if (ps[i]!(ev)) return true;
        return false;
      };
    }
    case 'not': {
      const p = compileExpr(ctx, e.child);
      return (ev) => !p(ev);
    }
    case 'identifier':
      throw new CompileError(`filter error: unexpected identifier '${e.name}'`, e.pos);
    case 'unary': {
      const lhs = compileLhs(ctx, e.left);
      ctx.operators.add('exists');
      const g = lhs.get;
      return (ev) => {
        const v = g(ev);
        return v !== undefined && !(Array.isArray(v) && v.length === 0);
      };
    }
    case 'binary':
      return compileBinary(ctx, e);
  }
}

// ---------------------------------------------------------------------------------------------
// Event-type sets: `and` = intersection, `or` = union, `not` pushed to the leaves (De Morgan).

/** `neg: false` = exactly `names`; `neg: true` = every event type except `names`. */
export interface EvtSet {
  neg: boolean;
  names: Set<string>;
}

const ALL = (): EvtSet => ({ neg: true, names: new Set() });
const NONE = (): EvtSet => ({ neg: false, names: new Set() });

function union(a: EvtSet, b: EvtSet): EvtSet {
  if (!a.neg && !b.neg) return { neg: false, names: new Set([...a.names, ...b.names]) };
  if (a.neg && b.neg) return { neg: true, names: new Set([...a.names].filter((x) => b.names.has(x))) };
  const [n, p] = a.neg ? [a, b] : [b, a];
  return { neg: true, names: new Set([...n.names].filter((x) => !p.names.has(x))) };
}

function intersect(a: EvtSet, b: EvtSet): EvtSet {
  if (!a.neg && !b.neg) return { neg: false, names: new Set([...a.names].filter((x) => b.names.has(x))) };
  if (a.neg && b.neg) return { neg: true, names: new Set([...a.names, ...b.names]) };
  const [n, p] = a.neg ? [a, b] : [b, a];
  return { neg: false, names: new Set([...p.names].filter((x) => !n.names.has(x))) };
}

export function evtTypeSet(e: Expr, negated = false): EvtSet {
  switch (e.kind) {
    case 'and':
    case 'or': {
      const sets = e.children.map((c) => evtTypeSet(c, negated));
      const isUnion = (e.kind === 'or') !== negated;
      return sets.reduce((acc, s) => (isUnion ? union(acc, s) : intersect(acc, s)));
    }
    case 'not':
      return evtTypeSet(e.child, !negated);
    case 'identifier':
    case 'unary':
      return ALL();
    case 'binary': {
      if (e.left.kind === 'transformer' && usesEvtType(e.left)) {
        throw new CompileError(
          'event code search does not support `evt.type` checks with transformers',
          e.pos,
        );
      }
      if (e.left.kind !== 'field' || e.left.arg !== undefined) return ALL();
      const name = e.left.name;
      if (
        (name === 'evt.type' || name === 'syscall.type') &&
        (e.right.kind === 'val' || e.right.kind === 'transformer')
      ) {
        throw new CompileError(
          'event code search does not support `evt.type` checks against other fields',
          e.pos,
        );
      }
      let s: EvtSet | undefined;
      if (
        (name === 'evt.type' || name === 'syscall.type') &&
        !e.modifier &&
        e.right.kind !== 'val' &&
        e.right.kind !== 'transformer'
      ) {
        const vals = e.right.kind === 'list' ? e.right.values.map((v) => v.value) : [e.right.value];
        if (e.op === '=' || e.op === '==' || e.op === 'in' || e.op === 'intersects')
          s = { neg: false, names: new Set(vals) };
        else if (e.op === '!=') s = { neg: true, names: new Set(vals) };
      } else if (
        name === 'evt.num' &&
        e.right.kind === 'value' &&
        (e.op === '=' || e.op === '==') &&
        Number(e.right.value) === 0
      ) {
        s = NONE();
      }
      if (!s) return ALL();
      return negated ? { neg: !s.neg, names: s.names } : s;
    }
  }
}

function usesEvtType(t: TransformerExpr): boolean {
  return t.args.some((a) =>
    a.kind === 'field'
      ? a.name === 'evt.type' || a.name === 'syscall.type'
      : a.kind === 'transformer' && usesEvtType(a),
  );
}

/** Concrete names of a set against the known universe. */
export function expandEvtSet(s: EvtSet, universe: Iterable<string>): Set<string> {
  if (!s.neg) return new Set(s.names);
  const out = new Set<string>();
  for (const n of universe) if (!s.names.has(n)) out.add(n);
  return out;
}
