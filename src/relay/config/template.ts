/**
 * The relay's template language, used by `templatedfields`, `slack.messageformat` (and the other chat
 * `messageformat` keys) and the NATS/MQTT subject/topic templates. It reads like the Go text/template subset
 * Falcosidekick users write, but it is a small safe evaluator: no loops, no assignments, no method calls,
 * no access to anything but the value given, and bounded output.
 *
 * Grammar (EBNF):
 *   template  = { text | "{{" pipeline "}}" } ;
 *   pipeline  = command { "|" command } ;            (* a | f x  ==  f x a *)
 *   command   = operand | ident operand { operand } ;
 *   operand   = "." | "." name { "." name } | string | number | "(" pipeline ")" ;
 *   string    = '"' { char | "\" char } '"' | "`" { char } "`" ;
 *
 * `.` is the data: for templatedfields the alert's output_fields map; for messageformat an object with
 * `.Output .Priority .Rule .Time .Source .Hostname .Tags .OutputFields .UUID`.
 * Functions: index, or, and, not, eq, ne, default, upper, lower, title, trim, replace, join, len.
 */

export type TemplateValue = unknown;
type Node =
  | { k: 'dot'; path: string[] }
  | { k: 'lit'; v: string | number }
  | { k: 'call'; fn: string; args: Node[] }
  | { k: 'pipe'; cmds: Node[] };

type Part = string | Node;

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

const MAX_OUTPUT = 64 * 1024;

const FUNCS: Record<string, { min: number; max: number; fn: (...a: TemplateValue[]) => TemplateValue }> = {
  index: {
    min: 2,
    max: 9,
    fn: (obj, ...keys) => {
      let cur: TemplateValue = obj;
      for (const k of keys) {
        if (cur === null || cur === undefined) return undefined;
        if (Array.isArray(cur)) cur = cur[Number(k)];
        else if (typeof cur === 'object') {
          const o = cur as Record<string, unknown>;
          cur = Object.hasOwn(o, String(k)) ? o[String(k)] : undefined;
        } else return undefined;
      }
      return cur;
    },
  },
  or: { min: 1, max: 16, fn: (...a) => a.find(truthy) ?? a[a.length - 1] },
  and: { min: 1, max: 16, fn: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1] },
  not: { min: 1, max: 1, fn: (a) => !truthy(a) },
  eq: { min: 2, max: 16, fn: (a, ...b) => b.some((x) => str(x) === str(a)) },
  ne: { min: 2, max: 2, fn: (a, b) => str(a) !== str(b) },
  default: { min: 2, max: 2, fn: (d, v) => (truthy(v) ? v : d) },
  upper: { min: 1, max: 1, fn: (a) => str(a).toUpperCase() },
  lower: { min: 1, max: 1, fn: (a) => str(a).toLowerCase() },
  title: { min: 1, max: 1, fn: (a) => str(a).replace(/\b\w/g, (c) => c.toUpperCase()) },
  trim: { min: 1, max: 1, fn: (a) => str(a).trim() },
  replace: { min: 3, max: 3, fn: (o, n, s) => str(s).split(str(o)).join(str(n)) },
  join: { min: 2, max: 2, fn: (sep, l) => (Array.isArray(l) ? l.map(str).join(str(sep)) : str(l)) },
  len: {
    min: 1,
    max: 1,
    fn: (a) =>
      Array.isArray(a) || typeof a === 'string'
        ? a.length
        : a && typeof a === 'object'
          ? Object.keys(a).length
          : 0,
  },
};

function truthy(v: TemplateValue): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** Go's default formatting of a value: missing → "<no value>" is replaced by "" (safer for alerts). */
export function str(v: TemplateValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(str).join(' ')}]`;
  return JSON.stringify(v);
}

class Parser {
  i = 0;
  constructor(
    readonly src: string,
    readonly end: number,
  ) {}
  ws() {
    while (this.i < this.end && /\s/.test(this.src[this.i]!)) this.i++;
  }
  pipeline(): Node {
    const cmds: Node[] = [this.command()];
    this.ws();
    while (this.src[this.i] === '|') {
      this.i++;
      cmds.push(this.command());
      this.ws();
    }
    for (const c of cmds.slice(1)) {
      if (c.k !== 'call') throw new TemplateError('a pipeline stage must be a function call', this.i);
    }
    return cmds.length === 1 ? cmds[0]! : { k: 'pipe', cmds };
  }
  command(): Node {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.i, this.end));
    if (m) {
      const fn = m[0];
      const spec = FUNCS[fn];
      if (!spec) throw new TemplateError(`unknown function "${fn}"`, this.i);
      this.i += fn.length;
      const args: Node[] = [];
      for (;;) {
        this.ws();
        const c = this.src[this.i];
        if (this.i >= this.end || c === '|' || c === ')') break;
        args.push(this.operand());
      }
      return { k: 'call', fn, args };
    }
    return this.operand();
  }
  operand(): Node {
    this.ws();
    const c = this.src[this.i];
    const start = this.i;
    if (c === '.') {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(
        this.src.slice(this.i, this.end),
      )!;
      this.i += m[0].length;
      return { k: 'dot', path: m[1] ? m[1].split('.') : [] };
    }
    if (c === '"' || c === '`') {
      this.i++;
      let out = '';
      while (this.i < this.end && this.src[this.i] !== c) {
        if (c === '"' && this.src[this.i] === '\\') {
          this.i++;
          const e = this.src[this.i];
          out += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
        } else out += this.src[this.i];
        this.i++;
      }
      if (this.src[this.i] !== c) throw new TemplateError('unterminated string', start);
      this.i++;
      return { k: 'lit', v: out };
    }
    if (c === '(') {
      this.i++;
      const p = this.pipeline();
      this.ws();
      if (this.src[this.i] !== ')') throw new TemplateError('missing ")"', this.i);
      this.i++;
      return p;
    }
    const num = /^-?\d+(\.\d+)?/.exec(this.src.slice(this.i, this.end));
    if (num) {
      this.i += num[0].length;
      return { k: 'lit', v: Number(num[0]) };
    }
    throw new TemplateError(
      `unexpected ${c === undefined || this.i >= this.end ? 'end of action' : `"${c}"`}`,
      this.i,
    );
  }
}

function check(n: Node, piped = false): void {
  if (n.k === 'call') {
    const s = FUNCS[n.fn]!;
    const count = n.args.length + (piped ? 1 : 0);
    if (count < s.min || count > s.max)
      throw new TemplateError(
        `${n.fn} takes ${s.min === s.max ? s.min : `${s.min} to ${s.max}`} arguments, got ${count}`,
        0,
      );
    for (const a of n.args) check(a);
  } else if (n.k === 'pipe') {
    for (let i = 0; i < n.cmds.length; i++) check(n.cmds[i]!, i > 0);
  }
}

function evalNode(n: Node, data: TemplateValue, piped?: { v: TemplateValue }): TemplateValue {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'dot': {
      let cur: TemplateValue = data;
      for (const p of n.path) {
        if (cur === null || typeof cur !== 'object') return undefined;
        const o = cur as Record<string, unknown>;
        cur = Object.hasOwn(o, p) ? o[p] : undefined;
      }
      return cur;
    }
    case 'call': {
      const spec = FUNCS[n.fn]!;
      const args = n.args.map((a) => evalNode(a, data));
      if (piped) args.push(piped.v);
      if (args.length < spec.min || args.length > spec.max)
        throw new Error(`${n.fn} takes ${spec.min}..${spec.max} arguments, got ${args.length}`);
      return spec.fn(...args);
    }
    case 'pipe': {
      let v = evalNode(n.cmds[0]!, data);
      for (const c of n.cmds.slice(1)) v = evalNode(c, data, { v });
      return v;
    }
  }
}

export interface CompiledTemplate {
  source: string;
  render(data: TemplateValue): string;
}

/** Compile a template; throws TemplateError (with the position) on a syntax error. */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: Part[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) {
      parts.push(source.slice(i));
      break;
    }
    if (open > i) parts.push(source.slice(i, open));
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError('unclosed "{{"', open);
    let s = open + 2;
    let e = close;
    if (source[s] === '-') s++; // trim markers {{- -}} are accepted and ignored
    if (source[e - 1] === '-' && source[e - 2] === ' ') e--;
    const p = new Parser(source, e);
    p.i = s;
    const node = p.pipeline();
    p.ws();
    if (p.i < e) throw new TemplateError(`unexpected "${source[p.i]}"`, p.i);
    check(node);
    parts.push(node);
    i = close + 2;
  }
  return {
    source,
    render(data) {
      let out = '';
      for (const part of parts) {
        out += typeof part === 'string' ? part : str(evalNode(part, data));
        if (out.length > MAX_OUTPUT) return out.slice(0, MAX_OUTPUT);
      }
      return out;
    },
  };
}
