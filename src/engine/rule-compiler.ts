/**
 * Compiles a Collection: list-in-list expansion, exceptions → condition text, textual list
 * substitution, macro resolution on the AST (with Falco's visibility rules), condition and
 * output compilation, event-type sets and the unused-item warnings.
 */
import type { LoadCode, LoadLocation, LoadMessage } from './api.js';
import { generatePredicate, type MacroCache } from './codegen.js';
import {
  type CompileCtx,
  CompileError,
  compileExpr,
  type EvtSet,
  evtTypeSet,
  expandEvtSet,
  type Pred,
  type SourceDef,
} from './compiler.js';
import { type Collection, type ExceptionInfo, LoadError, type RuleRaw } from './loader.js';
import { type CompiledOutput, compileOutput } from './output.js';
import { type Expr, ParseError, type Pos, parseCondition } from './parser.js';
import { makeMessage } from './results.js';

export interface CompiledRule {
  raw: RuleRaw;
  /** Condition text after exceptions and list substitution. */
  condText: string;
  ast: Expr;
  pred: Pred;
  evt: EvtSet;
  output: CompiledOutput;
  /** Output format as compiled (after %container.info removal and suggested fields). */
  outputFormat: string;
  macros: Set<string>;
  lists: Set<string>;
  fields: Set<string>;
  operators: Set<string>;
  exceptionFields: Set<string>;
  exceptionOperators: Set<string>;
}

export interface CompileResult {
  rules: CompiledRule[];
  warnings: LoadMessage[];
  macroAsts: Map<string, Expr>;
  listItems: Map<string, string[]>;
}

export interface CompileOptions {
  sources: Map<string, SourceDef>;
  /** Bind extraction (false = validation only). */
  bind: boolean;
  /** Generate one JS function per rule (default); false = closure tree (used for differential tests). */
  codegen?: boolean;
  /** Event counter of the engine: generated macros are evaluated once per event. */
  epoch?: { v: number };
  /** Append the container plugin's suggested fields to syscall outputs. */
  suggestedFields?: readonly string[];
  /** Content of files by name (for snippets). */
  contents: Map<string, string>;
}

const BLANKS = new Set([' ', '\t', '\n', '\r']);
const DELIMS = new Set([' ', '\t', '\n', '\r', '(', ')', ',', '=']);

function quoteItem(s: string): string {
  return s.includes(' ') && !s.startsWith('"') && !s.startsWith("'") ? `"${s}"` : s;
}

/** Falco's resolve_list: replace bounded occurrences of `name` (and surrounding blanks) by the items. */
export function substituteList(
  cond: string,
  name: string,
  items: readonly string[],
): { text: string; used: boolean } {
  let start = cond.indexOf(name);
  if (start < 0) return { text: cond, used: false };
  let used = false;
  let cnd = cond;
  const sub = items.map(quoteItem).join(', ');
  while (start >= 0) {
    let end = start + name.length;
    if ((start === 0 || DELIMS.has(cnd[start - 1]!)) && (end >= cnd.length || DELIMS.has(cnd[end]!))) {
      while (start > 0 && BLANKS.has(cnd[start - 1]!)) start--;
      while (end < cnd.length && BLANKS.has(cnd[end]!)) end++;
      if (sub === '') {
        if (start > 0 && cnd[start - 1] === ',') start--;
        else if (end < cnd.length && cnd[end] === ',') end++;
      }
      let next = '';
      if (start > 0) next += `${cnd.slice(0, start)} `;
      next += `${sub} `;
      next += cnd.slice(end);
      cnd = next;
      start += sub.length + 1;
      used = true;
    }
    start = cnd.indexOf(name, start + 1);
  }
  return { text: cnd, used };
}

const LIST_OPS = new Set(['in', 'intersects', 'pmatch']);

function isListComp(c: string): boolean {
  return LIST_OPS.has(c) || / (oneof|anyof|allof)$/.test(c);
}

function renderExValue(v: string, comp: string): string {
  let s = v.includes(' ') && !v.startsWith("'") && !v.startsWith('"') && !v.startsWith('(') ? `"${v}"` : v;
  if (isListComp(comp) && !s.startsWith('(')) s = `(${s})`;
  return s;
}

/** Falco's build_rule_exception_infos: rewrite exceptions into the condition text. */
export function applyExceptions(cond: string, exceptions: readonly ExceptionInfo[]): string {
  let out = `(${cond})`;
  for (const ex of exceptions) {
    if (ex.values.length === 0 || !ex.fields || !ex.comps) continue;
    if (!ex.fields.list) {
      const f = ex.fields.items[0]!;
      const c = ex.comps.items[0]!;
      const vals = (ex.values as string[]).map((v) =>
        v.includes(' ') && !v.startsWith("'") && !v.startsWith('"') ? `"${v}"` : v,
      );
      out += ` and not (${f} ${c} (${vals.join(', ')}))`;
    } else {
      const groups = ex.values.map((vs) => {
        const arr = vs as string[];
        const terms = ex.fields!.items.map(
          (f, i) => `${f} ${ex.comps!.items[i]} ${renderExValue(arr[i] ?? '', ex.comps!.items[i]!)}`,
        );
        return `(${terms.join(' and ')})`;
      });
      out += ` and not (${groups.join(' or ')})`;
    }
  }
  return out;
}

class Failure extends Error {
  constructor(readonly msg: LoadMessage) {
    super(msg.message);
  }
}

export function compileCollection(col: Collection, opts: CompileOptions): CompileResult {
  const warnings: LoadMessage[] = [];
  const snippetFor = (locs: LoadLocation[], condText?: string, pos?: Pos): string => {
    if (condText !== undefined && pos) {
      const lines = condText.split('\n');
      const line = lines[pos.line - 1] ?? '';
      return `${line.slice(0, 160)}\n${' '.repeat(Math.min(pos.col - 1, 160))}^\n`;
    }
    const p = locs.at(-1)?.position;
    if (!p) return '';
    const content = opts.contents.get(p.name) ?? '';
    const line = content.split('\n')[p.line] ?? '';
    return `${line.slice(0, 160)}\n${' '.repeat(Math.min(p.column, 160))}^\n`;
  };
  const condLocs = (base: LoadLocation[], text: string, pos: Pos | undefined): LoadLocation[] => {
    if (!pos) return base;
    const short = text.length > 20 ? `"${text.slice(0, 17)}..."` : `"${text}"`;
    return [
      ...base,
      {
        item_type: 'condition expression',
        item_name: '',
        position: { name: short, line: pos.line, column: pos.col, offset: pos.idx },
      },
    ];
  };
  const fail = (code: LoadCode, message: string, locs: LoadLocation[], text?: string, pos?: Pos): never => {
    const l = text !== undefined ? condLocs(locs, text, pos) : locs;
    throw new Failure(makeMessage(code, message, l, snippetFor(l, text, pos)));
  };
  const warn = (
    code: LoadCode,
    message: string,
    locs: LoadLocation[],
    text?: string,
    pos?: Pos,
    dep?: string,
  ) => {
    const l = text !== undefined ? condLocs(locs, text, pos) : locs;
    warnings.push(makeMessage(code, message, l, snippetFor(l, text, pos), dep));
  };

  for (const l of col.lists.values()) l.used = false;
  for (const m of col.macros.values()) m.used = false;
  try {
    // 1. lists inside lists (visibility: referenced list first defined before this list's latest definition)
    const listItems = new Map<string, string[]>();
    for (const l of col.lists.values()) listItems.set(l.name, l.items.slice());
    for (const l of col.lists.values()) {
      const out: string[] = [];
      for (const it of l.items) {
        const ref = col.lists.get(it);
        if (ref && ref.index < l.visibility) {
          ref.used = true;
          out.push(...(listItems.get(it) ?? []));
        } else out.push(it);
      }
      listItems.set(l.name, out);
    }
    const substitute = (text: string, usedLists: Set<string>): string => {
      let t = text;
      for (const l of col.lists.values()) {
        const r = substituteList(t, l.name, listItems.get(l.name)!);
        if (r.used) {
          t = r.text;
          l.used = true;
          usedLists.add(l.name);
        }
      }
      return t;
    };

    // 2. macros: parse after list substitution
    const macroParsed = new Map<string, { ast: Expr; text: string; lists: Set<string> }>();
    for (const m of col.macros.values()) {
      const lists = new Set<string>();
      const text = substitute(m.cond, lists);
      try {
        macroParsed.set(m.name, { ast: parseCondition(text), text, lists });
      } catch (e) {
        if (e instanceof ParseError) fail('LOAD_ERR_COMPILE_CONDITION', e.message, m.condLoc, text, e.pos);
        throw e;
      }
    }
    const resolvedMacros = new Map<string, Expr>();
    const resolve = (
      ast: Expr,
      visible: (name: string) => boolean,
      stack: string[],
      usedMacros: Set<string>,
      locs: LoadLocation[],
      text: string,
    ): Expr => {
      const walk = (e: Expr): Expr => {
        switch (e.kind) {
          case 'and':
          case 'or':
            return { ...e, children: e.children.map(walk) };
          case 'not':
            return { ...e, child: walk(e.child) };
          case 'identifier': {
            const m = col.macros.get(e.name);
            if (!m || !visible(e.name))
              fail('LOAD_ERR_VALIDATE', `Undefined macro '${e.name}' used in filter.`, locs, text, e.pos);
            m!.used = true;
            usedMacros.add(e.name);
            // Resolved ASTs are never mutated, so the expansion shares the macro's tree (Falco
            // clones it; the result is the same). The root copy carries the macro's name:
            // generated code evaluates a shared macro once per event.
            const expansion: Expr & { macro?: string } = { ...resolveMacro(e.name, stack) };
            expansion.macro = e.name;
            return expansion;
          }
          default:
            return e;
        }
      };
      return walk(ast);
    };
    const resolveMacro = (name: string, stack: string[]): Expr => {
      const done = resolvedMacros.get(name);
      if (done) return done;
      const m = col.macros.get(name)!;
      if (stack.includes(name)) fail('LOAD_ERR_VALIDATE', `reference loop in macro '${name}'`, m.loc);
      const p = macroParsed.get(name)!;
      const used = new Set<string>();
      const r = resolve(
        p.ast,
        (n) => (col.macros.get(n)?.index ?? Number.POSITIVE_INFINITY) < m.visibility,
        [...stack, name],
        used,
        m.condLoc,
        p.text,
      );
      resolvedMacros.set(name, r);
      return r;
    };
    for (const m of col.macros.values()) resolveMacro(m.name, []);

    // 3. rules
    const rules: CompiledRule[] = [];
    const macroCaches = new Map<string, MacroCache>();
    const macroCache = (source: string): MacroCache | undefined => {
      if (!opts.epoch) return undefined;
      let c = macroCaches.get(source);
      if (!c) {
        c = { epoch: opts.epoch, fns: new Map() };
        macroCaches.set(source, c);
      }
      return c;
    };
    for (const r of col.rules.values()) {
      const src = opts.sources.get(r.source);
      if (!src) {
        warn('LOAD_UNKNOWN_SOURCE', `Unknown source ${r.source}, skipping`, r.loc);
        continue;
      }
      const lists = new Set<string>();
      const withEx = r.exceptions.length > 0 ? applyExceptions(r.cond, r.exceptions) : r.cond;
      const condText = substitute(withEx, lists);
      let ast: Expr;
      try {
        ast = parseCondition(condText);
      } catch (e) {
        if (e instanceof ParseError)
          fail('LOAD_ERR_COMPILE_CONDITION', e.message, r.condLoc, condText, e.pos);
        throw e;
      }
      const macros = new Set<string>();
      const resolved = resolve(ast!, () => true, [], macros, r.condLoc, condText);
      const ctx: CompileCtx = { src, warnings: [], fields: new Set(), operators: new Set(), bind: opts.bind };
      let pred: Pred;
      try {
        const types = src.eventTypes ? evtTypeSet(resolved) : undefined;
        pred =
          opts.bind && opts.codegen !== false
            ? generatePredicate(
                ctx,
                resolved,
                types && !types.neg ? types.names : undefined,
                macroCache(src.name),
              )
            : compileExpr(ctx, resolved);
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        if (r.skip_if_unknown_filter && e.unknownFilter) {
          warn('LOAD_UNKNOWN_FILTER', e.message, r.condLoc, condText, e.pos);
          continue;
        }
        fail('LOAD_ERR_COMPILE_CONDITION', e.message, r.condLoc, condText, e.pos);
      }
      for (const w of ctx.warnings) warn(w.code, w.message, r.condLoc, condText, w.pos, w.deprecatedField);
      // computed (and checked) in the try block above
      const evt = src.eventTypes ? evtTypeSet(resolved) : { neg: true, names: new Set<string>() };
      if (src.eventTypes && r.warn_evttypes) {
        const n = expandEvtSet(evt, src.eventTypes).size;
        if (n > 100)
          warn(
            'LOAD_NO_EVTTYPE',
            'Rule matches too many evt.type values. This has a significant performance penalty.',
            r.loc,
          );
      }
      // output
      let fmt = r.output;
      if (fmt.includes('%container.info')) {
        warn(
          'LOAD_DEPRECATED_ITEM',
          '%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.',
          r.outputLoc,
        );
        fmt = fmt.replace(/\s*%container\.info/g, '');
      }
      if (src.name === 'syscall' && opts.suggestedFields) {
        for (const f of opts.suggestedFields) {
          if (!new RegExp(`%${f.replace(/\./g, '\\.')}(?![a-zA-Z0-9_.[])`).test(fmt))
            fmt += ` ${f.replace(/\./g, '_')}=%${f}`;
        }
      }
      const octx: CompileCtx = {
        src,
        warnings: [],
        fields: new Set(),
        operators: new Set(),
        bind: opts.bind,
      };
      let output: CompiledOutput;
      try {
        output = compileOutput(octx, fmt);
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        if (r.skip_if_unknown_filter && e.unknownFilter) {
          warn('LOAD_UNKNOWN_FILTER', e.message, r.outputLoc);
          continue;
        }
        fail('LOAD_ERR_COMPILE_OUTPUT', e.message, r.outputLoc);
      }
      for (const w of octx.warnings)
        warn(w.code, w.message, r.outputLoc, undefined, undefined, w.deprecatedField);
      const exceptionFields = new Set<string>();
      const exceptionOperators = new Set<string>();
      for (const ex of r.exceptions) {
        for (const f of ex.fields?.items ?? []) exceptionFields.add(f);
        for (const c of ex.comps?.items ?? []) exceptionOperators.add(c);
      }
      rules.push({
        raw: r,
        condText,
        ast: resolved,
        pred: pred!,
        evt,
        output: output!,
        outputFormat: fmt,
        macros,
        lists,
        fields: ctx.fields,
        operators: ctx.operators,
        exceptionFields,
        exceptionOperators,
      });
    }

    // 4. unused items
    for (const m of col.macros.values()) {
      if (!m.used) warn('LOAD_UNUSED_MACRO', 'Macro not referred to by any other rule/macro', m.loc);
    }
    for (const l of col.lists.values()) {
      if (!l.used) warn('LOAD_UNUSED_LIST', 'List not referred to by any other rule/macro', l.loc);
    }
    const macroAsts = new Map<string, Expr>();
    for (const [k, v] of resolvedMacros) macroAsts.set(k, v);
    return { rules, warnings, macroAsts, listItems };
  } catch (e) {
    if (e instanceof Failure) throw new LoadError(e.msg);
    throw e;
  }
}
