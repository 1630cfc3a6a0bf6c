/**
 * Code generation for rule conditions: one JavaScript function per rule, which V8 optimises as a
 * unit (monomorphic calls to the field getters, inlined comparisons). Only identifiers and
 * operators are written into the source; every constant (strings, sets, matchers, getters) is
 * passed in as a captured array element, so rule content can never become code.
 * Checks that are not plain field-vs-constant comparisons call their compiled closure.
 *
 * With `bucketTypes` (the rule's finite event-type set), the generated function is only valid for
 * events of those types: the engine calls it from the per-event-type buckets only.
 */
import {
  type CompileCtx,
  type CompileWarning,
  compileExpr,
  LEAF_PLANS,
  type LeafPlan,
  type Pred,
} from './compiler.js';

/**
 * Macros shared by the rules of one source in one compile. A macro body is generated once as its
 * own function and memoised on the engine's event counter, so a macro used by several rules of a
 * bucket (`open_read`, `spawned_process`, ...) is evaluated once per event.
 */
export interface MacroCache {
  epoch: { v: number };
  fns: Map<string, { fn: Pred; fields: Set<string>; operators: Set<string>; warnings: CompileWarning[] }>;
}

/** Macros smaller than this are inlined (a call and a memo check cost more than a check or two). */
const MIN_MACRO_LEAVES = 3;

function leafCount(e: Expr, limit: number): number {
  switch (e.kind) {
    case 'and':
    case 'or': {
      let n = 0;
      for (const c of e.children) {
        n += leafCount(c, limit - n);
        if (n >= limit) break;
      }
      return n;
    }
    case 'not':
      return leafCount(e.child, limit);
    default:
      return 1;
  }
}

import type { Expr } from './parser.js';

const MAX_NODES = 5000;

class Gen {
  readonly consts: unknown[] = [];
  readonly slots = new Map<string, number>();
  nodes = 0;

  constructor(
    private readonly ctx: CompileCtx,
    private readonly bucketTypes?: ReadonlySet<string>,
    private readonly macros?: MacroCache,
  ) {}

  private macroCall(name: string, e: Expr): string {
    const cache = this.macros!;
    let m = cache.fns.get(name);
    if (!m) {
      const sub: CompileCtx = { ...this.ctx, warnings: [], fields: new Set(), operators: new Set() };
      const body = { ...e } as Expr & { macro?: string };
      delete body.macro;
      const fn = generatePredicate(sub, body, undefined, cache, cache.epoch);
      m = { fn, fields: sub.fields, operators: sub.operators, warnings: sub.warnings };
      cache.fns.set(name, m);
    }
    for (const f of m.fields) this.ctx.fields.add(f);
    for (const o of m.operators) this.ctx.operators.add(o);
    this.ctx.warnings.push(...m.warnings);
    return `${this.c(m.fn)}(ev)`;
  }

  /**
   * An `evt.type` check that holds for every event type the rule is indexed under is always true
   * when the rule runs (rules only run from their event-type buckets), so it is not generated.
   */
  private impliedByIndex(e: Expr): boolean {
    const types = this.bucketTypes;
    if (!types || types.size === 0 || e.kind !== 'binary' || e.modifier) return false;
    if (
      e.left.kind !== 'field' ||
      e.left.arg !== undefined ||
      (e.left.name !== 'evt.type' && e.left.name !== 'syscall.type')
    )
      return false;
    if (e.right.kind !== 'list' && e.right.kind !== 'value') return false;
    const vals = new Set(e.right.kind === 'list' ? e.right.values.map((v) => v.value) : [e.right.value]);
    if (e.op === '=' || e.op === '==' || e.op === 'in' || e.op === 'intersects')
      return [...types].every((t) => vals.has(t));
    if (e.op === '!=') return [...types].every((t) => !vals.has(t));
    return false;
  }

  c(v: unknown): string {
    this.consts.push(v);
    return `c${this.consts.length - 1}`;
  }

  /** Lazily extracted, per-evaluation cached field value. */
  field(plan: LeafPlan): string {
    let slot = this.slots.get(plan.key);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(plan.key, slot);
      (this.getters ??= []).push(this.c(plan.get));
    }
    return `(h${slot} ? v${slot} : (h${slot} = true, v${slot} = ${this.getters![slot]}(ev)))`;
  }
  getters: string[] | undefined;

  expr(e: Expr): string {
    if (++this.nodes > MAX_NODES) throw new Error('condition too large for code generation');
    const macro = (e as { macro?: string }).macro;
    if (macro !== undefined && this.macros && leafCount(e, MIN_MACRO_LEAVES) >= MIN_MACRO_LEAVES)
      return this.macroCall(macro, e);
    switch (e.kind) {
      case 'and':
        return `(${e.children.map((c) => this.expr(c)).join(' && ')})`;
      case 'or':
        return `(${e.children.map((c) => this.expr(c)).join(' || ')})`;
      case 'not':
        return `!${this.expr(e.child)}`;
      default:
        return this.leaf(e);
    }
  }

  leaf(e: Expr): string {
    const pred = compileExpr(this.ctx, e);
    if (this.impliedByIndex(e)) return 'true';
    const plan = LEAF_PLANS.get(pred);
    if (!plan) return `${this.c(pred)}(ev)`;
    const v = this.field(plan);
    const any = this.c((x: unknown) => {
      if (Array.isArray(x)) {
        for (const y of x) if (plan.test(y)) return true;
        return false;
      }
      return plan.test(x as string);
    });
    const inline = this.inlineTest(plan);
    if (!inline) return `((x = ${v}) !== undefined && ${any}(x))`;
    const type = plan.cat === 'str' ? 'string' : plan.cat === 'num' ? 'number' : 'boolean';
    return `((x = ${v}) !== undefined && (typeof x === '${type}' ? ${inline} : ${any}(x)))`;
  }

  /** Inline JS for the common operators on the field's native JS type; undefined = call the test. */
  inlineTest(p: LeafPlan): string | undefined {
    if (p.modifier) return undefined;
    const one = p.values.length === 1 ? p.values[0]! : undefined;
    if (p.cat === 'str') {
      if ((p.op === 'in' || p.op === 'intersects') && p.listRhs) return `${this.c(new Set(p.values))}.has(x)`;
      if (one === undefined) return undefined;
      const k = this.c(one);
      switch (p.op) {
        case '=':
        case '==':
        case 'in':
        case 'intersects':
          return `x === ${k}`;
        case '!=':
          return `x !== ${k}`;
        case 'contains':
          return `x.includes(${k})`;
        case 'startswith':
          return `x.startsWith(${k})`;
        case 'endswith':
          return `x.endsWith(${k})`;
        default:
          return undefined;
      }
    }
    if (p.cat === 'num') {
      const nums = p.values.map((s) => (/^[+-]?0[xX]/.test(s) ? Number.parseInt(s, 16) : Number(s)));
      if ((p.op === 'in' || p.op === 'intersects') && p.listRhs) return `${this.c(new Set(nums))}.has(x)`;
      if (nums.length !== 1) return undefined;
      const k = this.c(nums[0]);
      switch (p.op) {
        case '=':
        case '==':
        case 'in':
        case 'intersects':
          return `x === ${k}`;
        case '!=':
          return `x !== ${k}`;
        case '<':
        case '<=':
        case '>':
        case '>=':
          return `x ${p.op} ${k}`;
        default:
          return undefined;
      }
    }
    if (p.cat === 'bool' && one !== undefined && (p.op === '=' || p.op === '==' || p.op === '!=')) {
      return `x ${p.op === '!=' ? '!==' : '==='} ${one === 'true' ? 'true' : 'false'}`;
    }
    return undefined;
  }
}

/**
 * Compile a resolved condition into one generated function. Falls back to the closure tree when
 * generation is not possible (very large conditions). Type checks, warnings and errors are the
 * closure compiler's (every leaf is compiled through it).
 */
export function generatePredicate(
  ctx: CompileCtx,
  ast: Expr,
  bucketTypes?: ReadonlySet<string>,
  macros?: MacroCache,
  memoEpoch?: { v: number },
): Pred {
  const g = new Gen(ctx, bucketTypes, macros);
  let body: string;
  try {
    body = g.expr(ast);
  } catch (e) {
    if (e instanceof Error && e.message === 'condition too large for code generation')
      return compileExpr(ctx, ast);
    throw e;
  }
  let epochRef = '';
  if (memoEpoch) epochRef = g.c(memoEpoch);
  const decl = g.consts.map((_, i) => `c${i} = C[${i}]`).join(', ');
  const locals = [...g.slots.values()].map((i) => `v${i}, h${i} = false`).join(', ');
  const head = `${decl ? `const ${decl};\n` : ''}`;
  // A memoised function (macro body) is evaluated once per event: `epoch.v` changes per event.
  const src = memoEpoch
    ? `${head}let last = -1, val = false;\nreturn function macro(ev) {\n  if (${epochRef}.v === last) return val;\n  last = ${epochRef}.v;\n  let x${locals ? `, ${locals}` : ''};\n  return (val = ${body});\n};`
    : `${head}return function rule(ev) {\n  let x${locals ? `, ${locals}` : ''};\n  return ${body};\n};`;
  try {
    return new Function('C', src)(g.consts) as Pred;
  } catch {
    return compileExpr(ctx, ast);
  }
}
