/**
 * Output format strings: `%field`, `%field[arg]`, `%20field` (width), transformers
 * (`%tolower(proc.name)`), `<NA>` for missing values. Compiled once per rule.
 */
import type { OutputFieldValue } from '../alert/falco-alert.js';
import type { FieldType, FieldValue } from './api.js';
import {
  type CompileCtx,
  CompileError,
  compileFieldRef,
  compileTransformer,
  type Getter,
  NUMERIC_TYPES,
} from './compiler.js';
import { ParseError, parseCondition, TRANSFORMERS } from './parser.js';

interface Token {
  get: Getter;
  width: number;
  /** JSON key; undefined for transformer tokens (rendered in text, skipped in JSON). */
  key?: string;
  type: FieldType;
  isList: boolean;
}

export interface CompiledOutput {
  /** Literal text and tokens, alternating. */
  parts: (string | Token)[];
  /** output_fields keys in order of appearance. */
  keys: string[];
  fields: Set<string>;
}

const NAME_CHARS = /[a-zA-Z0-9_.]/;

/** Compile a format string. Throws CompileError("invalid formatting token X"). */
export function compileOutput(ctx: CompileCtx, format: string): CompiledOutput {
  const parts: (string | Token)[] = [];
  const keys: string[] = [];
  const fields = new Set<string>();
  let lit = '';
  let i = 0;
  const s = format;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '%') {
      lit += c;
      i++;
      continue;
    }
    i++;
    if (i >= s.length)
      throw new CompileError('invalid formatting token: % at end of format string', undefined);
    let width = 0;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') width = width * 10 + Number(s[i++]);
    // transformer token
    const tr = TRANSFORMERS.find((t) => s.startsWith(`${t}(`, i));
    if (tr) {
      let depth = 0;
      let j = i;
      for (; j < s.length; j++) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')' && --depth === 0) break;
      }
      let end = j + 1;
      if (s[end] === '[') {
        const close = s.indexOf(']', end);
        if (close > 0) end = close + 1;
      }
      const text = s.slice(i, end);
      let lhs: ReturnType<typeof compileTransformer>;
      try {
        const ast = parseCondition(`${text} exists`);
        if (ast.kind !== 'unary' || ast.left.kind !== 'transformer') throw new Error('not a transformer');
        lhs = compileTransformer(ctx, ast.left);
      } catch (e) {
        if (e instanceof CompileError) throw e;
        throw new CompileError(
          `invalid formatting token ${text}${e instanceof ParseError ? `: ${e.message}` : ''}`,
          undefined,
          true,
        );
      }
      if (lit) parts.push(lit);
      lit = '';
      parts.push({ get: lhs.get, width, type: lhs.type, isList: lhs.isList });
      i = end;
      continue;
    }
    // field token: longest resolvable prefix
    let j = i;
    while (j < s.length && NAME_CHARS.test(s[j]!)) j++;
    const full = s.slice(i, j);
    let resolved: ReturnType<typeof compileFieldRef> | undefined;
    let end = j;
    let lastErr: CompileError | undefined;
    for (let k = j; k > i; k--) {
      const name = s.slice(i, k);
      if (name.endsWith('.') || !name.includes('.')) continue;
      let arg: string | undefined;
      let argEnd = k;
      if (s[k] === '[') {
        const close = s.indexOf(']', k);
        if (close > 0) {
          arg = s.slice(k + 1, close);
          if ((arg.startsWith('"') && arg.endsWith('"')) || (arg.startsWith("'") && arg.endsWith("'")))
            arg = arg.slice(1, -1);
          argEnd = close + 1;
        }
      }
      try {
        resolved = compileFieldRef(ctx, {
          kind: 'field',
          name,
          ...(arg !== undefined ? { arg } : {}),
          pos: { idx: i, line: 1, col: i + 1 },
        });
        end = argEnd;
        break;
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        if (!e.unknownFilter && !lastErr) lastErr = e;
      }
    }
    if (!resolved) {
      if (lastErr) throw lastErr;
      throw new CompileError(`invalid formatting token ${full}`, undefined, true);
    }
    if (resolved.field?.spec.filterOnly) {
      throw new CompileError(
        `invalid formatting token ${full}: field '${resolved.field.name}' can only be used in filters`,
        undefined,
      );
    }
    const key = resolved.key!;
    fields.add(resolved.field!.name);
    if (!keys.includes(key)) keys.push(key);
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ get: resolved.get, width, key, type: resolved.type, isList: resolved.isList });
    i = end;
  }
  if (lit) parts.push(lit);
  return { parts, keys, fields };
}

export function valueToText(v: FieldValue, isList: boolean): string {
  if (v === undefined) return '<NA>';
  if (Array.isArray(v)) return isList || v.length !== 1 ? `(${v.map(String).join(',')})` : String(v[0]);
  return String(v);
}

function valueToJson(v: FieldValue, type: FieldType): OutputFieldValue {
  if (v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => jsonScalar(x, type) as string | number | boolean);
  return jsonScalar(v, type);
}

function jsonScalar(v: string | number | boolean, type: FieldType): string | number | boolean {
  if (type === 'bool') return typeof v === 'boolean' ? v : v === 'true';
  if (NUMERIC_TYPES.has(type)) {
    if (typeof v === 'number') return v;
    const n = Number(v);
    return Number.isFinite(n) && String(v).trim() !== '' ? n : String(v);
  }
  return typeof v === 'string' ? v : String(v);
}

/** Render the message text; `overrides` supplies values for keys (e.g. evt.time formatting). */
export function renderText(out: CompiledOutput, ev: unknown): string {
  let s = '';
  for (const p of out.parts) {
    if (typeof p === 'string') {
      s += p;
      continue;
    }
    let t = valueToText(p.get(ev), p.isList);
    if (p.width > 0) t = t.length > p.width ? t.slice(0, p.width) : t.padEnd(p.width);
    s += t;
  }
  return s;
}

export function renderFields(out: CompiledOutput, ev: unknown, into: Record<string, OutputFieldValue>): void {
  for (const p of out.parts) {
    if (typeof p === 'string' || p.key === undefined) continue;
    into[p.key] = valueToJson(p.get(ev), p.type);
  }
}
