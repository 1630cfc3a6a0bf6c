/*
 * Condition parser for Falco's filter language (recursive descent, positions on every node).
 *
 * Grammar (EBNF), as libsinsp accepts it:
 *
 *   Expr        ::= OrExpr
 *   OrExpr      ::= AndExpr ('or' (Blank AndExpr | '(' Expr ')'))*
 *   AndExpr     ::= NotExpr ('and' (Blank NotExpr | '(' Expr ')'))*
 *   NotExpr     ::= ('not' Blank)* ( 'not(' Expr ')' | Check )
 *   Check       ::= Field Condition | FieldTransformer Condition | Identifier | '(' Expr ')'
 *   Condition   ::= UnaryOperator
 *                 | NumOperator (NumValue | FieldTransformerOrVal)
 *                 | StrOperator (StrValue | FieldTransformerOrVal)
 *                 | StrOperator StrOperatorModifier ListValue
 *                 | ListOperator (ListValue | FieldTransformerOrVal)
 *   ListValue   ::= '(' (StrValue (',' StrValue)*)? ')' | Identifier
 *   Field       ::= FieldName ('[' FieldArg ']')?
 *   FieldArg    ::= QuotedStr | FieldArgBareStr
 *   FieldTransformer ::= TransformerName '(' TransformerArg (',' TransformerArg)* ')' ('[' FieldArg ']')?
 *   TransformerName  ::= 'tolower' | 'toupper' | 'b64' | 'basename' | 'len' | 'join' | 'concat' | 'getopt'
 *   TransformerArg   ::= FieldTransformer | Field | QuotedStr | NumValue
 *   FieldTransformerOrVal ::= FieldTransformer | 'val(' Field ')'
 *   UnaryOperator ::= 'exists'
 *   NumOperator   ::= '<=' | '<' | '>=' | '>'
 *   StrOperator   ::= '==' | '=' | '!=' | 'contains' | 'icontains' | 'bcontains' | 'startswith'
 *                   | 'bstartswith' | 'endswith' | 'glob' | 'iglob' | 'regex'      (word operators need a blank after)
 *   StrOperatorModifier ::= 'oneof' | 'anyof' | 'allof'
 *   ListOperator  ::= 'intersects' | 'in' | 'pmatch'
 *   StrValue    ::= QuotedStr | BareStr
 *
 * Tokens: Identifier [a-zA-Z]+[a-zA-Z0-9_]*; FieldName = Identifier ('.' Identifier)+;
 * FieldArgBareStr [^][\"'\s]+; NumValue 0[xX][0-9a-fA-F]+ | [+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?;
 * BareStr [^()"'\s=,]+; QuotedStr "..." or '...' with \b \f \n \r \t \\ \/ \" \' \xHH escapes.
 * Blanks: space, \t, \b, \r, \n. Precedence: not > and > or; and/or nodes are n-ary.
 */

export interface Pos {
  /** 0-based character offset in the condition. */
  idx: number;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

export interface FieldExpr {
  kind: 'field';
  name: string;
  arg?: string;
  pos: Pos;
}
export interface TransformerExpr {
  kind: 'transformer';
  name: string;
  args: TransformerArg[];
  arg?: string;
  pos: Pos;
}
export type TransformerArg = FieldExpr | TransformerExpr | ValueExpr;
export type FieldLike = FieldExpr | TransformerExpr;

export interface ValueExpr {
  kind: 'value';
  value: string;
  pos: Pos;
}
export interface ListExpr {
  kind: 'list';
  values: ValueExpr[];
  pos: Pos;
}
export interface ValFieldExpr {
  kind: 'val';
  field: FieldExpr;
  pos: Pos;
}
export type RhsExpr = ValueExpr | ListExpr | TransformerExpr | ValFieldExpr;

export interface AndExpr {
  kind: 'and';
  children: Expr[];
  pos: Pos;
}
export interface OrExpr {
  kind: 'or';
  children: Expr[];
  pos: Pos;
}
export interface NotExpr {
  kind: 'not';
  child: Expr;
  pos: Pos;
}
export interface IdentifierExpr {
  kind: 'identifier';
  name: string;
  pos: Pos;
}
export interface UnaryCheckExpr {
  kind: 'unary';
  left: FieldLike;
  op: 'exists';
  pos: Pos;
}
export interface BinaryCheckExpr {
  kind: 'binary';
  left: FieldLike;
  /** Operator as written (`=` and `==` both kept); modifier in `modifier`. */
  op: string;
  modifier?: 'oneof' | 'anyof' | 'allof';
  right: RhsExpr;
  pos: Pos;
}
export type Expr = AndExpr | OrExpr | NotExpr | IdentifierExpr | UnaryCheckExpr | BinaryCheckExpr;

export class ParseError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

export const TRANSFORMERS = [
  'tolower',
  'toupper',
  'b64',
  'basename',
  'len',
  'join',
  'concat',
  'getopt',
] as const;
export const STR_OPS = [
  '==',
  '=',
  '!=',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
] as const;
export const NUM_OPS = ['<=', '<', '>=', '>'] as const;
export const LIST_OPS = ['intersects', 'in', 'pmatch'] as const;
export const ALL_OPS = ['exists', ...NUM_OPS, ...STR_OPS, ...LIST_OPS];

const RE_IDENT = /[a-zA-Z]+[a-zA-Z0-9_]*/y;
const RE_FIELDNAME = /[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y;
const RE_ARG_BARE = /[^\][\\"'\s]+/y;
const RE_HEX = /0[xX][0-9a-fA-F]+/y;
const RE_NUM = /[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?/y;
const RE_BARE = /[^()"'\s=,]+/y;
const BLANKS = new Set([' ', '\t', '\b', '\r', '\n']);
const WORD_STR_OPS = new Set([
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
]);

export interface ParseOptions {
  maxDepth?: number;
}

/** Parse a condition; throws ParseError with a position on bad input. */
export function parseCondition(input: string, opts: ParseOptions = {}): Expr {
  return new Parser(input, opts.maxDepth ?? 1000).parse();
}

class Parser {
  private i = 0;
  private depth = 0;
  private lastToken = '';
  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  parse(): Expr {
    this.blank();
    if (this.i >= this.s.length) throw new ParseError('filter input string is empty', this.pos());
    const e = this.parseOr();
    this.blank();
    if (this.i < this.s.length) {
      throw new ParseError(`unexpected token after '${this.lastToken}', expecting 'or', 'and'`, this.pos());
    }
    return e;
  }

  /** Line/column cache: positions are mostly requested left to right. */
  private pIdx = 0;
  private pLine = 1;
  private pCol = 1;

  pos(at = this.i): Pos {
    let line = 1;
    let col = 1;
    let k = 0;
    if (at >= this.pIdx) {
      k = this.pIdx;
      line = this.pLine;
      col = this.pCol;
    }
    for (; k < at && k < this.s.length; k++) {
      if (this.s[k] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    this.pIdx = k;
    this.pLine = line;
    this.pCol = col;
    return { idx: at, line, col };
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) {
      throw new ParseError(`exceeded max depth limit of ${this.maxDepth}`, this.pos());
    }
  }

  private blank(): boolean {
    const start = this.i;
    while (this.i < this.s.length && BLANKS.has(this.s[this.i]!)) this.i++;
    return this.i > start;
  }

  private lit(str: string): boolean {
    if (this.s.startsWith(str, this.i)) {
      this.i += str.length;
      this.lastToken = str;
      return true;
    }
    return false;
  }

  private re(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) return undefined;
    this.i += m[0].length;
    this.lastToken = m[0];
    return m[0];
  }

  private isBlankAt(k: number): boolean {
    return k < this.s.length && BLANKS.has(this.s[k]!);
  }

  /** Keyword followed by a blank or '(' (not part of a longer identifier). */
  private keyword(word: string): 'blank' | 'paren' | undefined {
    if (!this.s.startsWith(word, this.i)) return undefined;
    const next = this.s[this.i + word.length];
    if (next !== undefined && BLANKS.has(next)) {
      this.i += word.length;
      this.lastToken = word;
      return 'blank';
    }
    if (next === '(') {
      this.i += word.length;
      this.lastToken = word;
      return 'paren';
    }
    return undefined;
  }

  private expect(ch: string, what = `a '${ch}' token`): void {
    this.blank();
    if (!this.lit(ch)) throw new ParseError(`expected ${what}`, this.pos());
  }

  private parseOr(): Expr {
    this.enter();
    const start = this.pos();
    const children = [this.parseAnd()];
    this.blank();
    for (;;) {
      const k = this.keyword('or');
      if (!k) break;
      if (k === 'blank') {
        this.blank();
        children.push(this.parseAnd());
      } else {
        this.lit('(');
        const e = this.parseOr();
        this.expect(')');
        children.push(e);
      }
      this.blank();
    }
    this.depth--;
    return children.length === 1 ? children[0]! : { kind: 'or', children, pos: start };
  }

  private parseAnd(): Expr {
    this.enter();
    const start = this.pos();
    const children = [this.parseNot()];
    this.blank();
    for (;;) {
      const k = this.keyword('and');
      if (!k) break;
      if (k === 'blank') {
        this.blank();
        children.push(this.parseNot());
      } else {
        this.lit('(');
        const e = this.parseOr();
        this.expect(')');
        children.push(e);
      }
      this.blank();
    }
    this.depth--;
    return children.length === 1 ? children[0]! : { kind: 'and', children, pos: start };
  }

  private parseNot(): Expr {
    this.enter();
    this.blank();
    const start = this.pos();
    const k = this.keyword('not');
    let e: Expr;
    if (k === 'blank') {
      this.blank();
      e = { kind: 'not', child: this.parseNot(), pos: start };
    } else if (k === 'paren') {
      this.lit('(');
      const inner = this.parseOr();
      this.expect(')');
      e = { kind: 'not', child: inner, pos: start };
    } else {
      e = this.parseCheck();
    }
    this.depth--;
    return e;
  }

  private parseCheck(): Expr {
    this.blank();
    const start = this.pos();
    if (this.lit('(')) {
      const e = this.parseOr();
      this.expect(')');
      return e;
    }
    const tr = this.tryTransformer();
    if (tr) return this.parseCondition(tr, start);
    const fname = this.re(RE_FIELDNAME);
    if (fname !== undefined) {
      const field: FieldExpr = { kind: 'field', name: fname, pos: start };
      const arg = this.fieldArg();
      if (arg !== undefined) field.arg = arg;
      return this.parseCondition(field, start);
    }
    const id = this.re(RE_IDENT);
    if (id !== undefined) return { kind: 'identifier', name: id, pos: start };
    throw new ParseError("expected a '(' token, a field check, or an identifier", start);
  }

  private fieldArg(): string | undefined {
    if (this.s[this.i] !== '[') return undefined;
    this.i++;
    let arg: string | undefined;
    if (this.s[this.i] === '"' || this.s[this.i] === "'") arg = this.quoted();
    else arg = this.re(RE_ARG_BARE);
    if (arg === undefined) throw new ParseError('expected a valid field argument', this.pos());
    if (!this.lit(']')) throw new ParseError("expected a ']' token", this.pos());
    return arg;
  }

  private tryTransformer(): TransformerExpr | undefined {
    const start = this.pos();
    for (const t of TRANSFORMERS) {
      if (this.s.startsWith(`${t}(`, this.i)) {
        this.i += t.length + 1;
        this.lastToken = t;
        this.enter();
        const args: TransformerArg[] = [];
        for (;;) {
          this.blank();
          args.push(this.transformerArg());
          this.blank();
          if (this.lit(',')) continue;
          if (this.lit(')')) break;
          throw new ParseError("expected a ')' token", this.pos());
        }
        this.depth--;
        const tr: TransformerExpr = { kind: 'transformer', name: t, args, pos: start };
        const arg = this.fieldArg();
        if (arg !== undefined) tr.arg = arg;
        return tr;
      }
    }
    return undefined;
  }

  private transformerArg(): TransformerArg {
    const start = this.pos();
    const tr = this.tryTransformer();
    if (tr) return tr;
    const fname = this.re(RE_FIELDNAME);
    if (fname !== undefined) {
      const field: FieldExpr = { kind: 'field', name: fname, pos: start };
      const arg = this.fieldArg();
      if (arg !== undefined) field.arg = arg;
      return field;
    }
    if (this.s[this.i] === '"' || this.s[this.i] === "'")
      return { kind: 'value', value: this.quoted(), pos: start };
    const num = this.re(RE_HEX) ?? this.re(RE_NUM);
    if (num !== undefined) return { kind: 'value', value: num, pos: start };
    throw new ParseError('expected a field, a transformer, a quoted string or a number', start);
  }

  private parseCondition(left: FieldLike, start: Pos): Expr {
    this.blank();
    // unary
    if (this.s.startsWith('exists', this.i)) {
      const next = this.s[this.i + 6];
      if (next === undefined || BLANKS.has(next) || next === ')') {
        this.i += 6;
        this.lastToken = 'exists';
        return { kind: 'unary', left, op: 'exists', pos: start };
      }
    }
    for (const op of NUM_OPS) {
      if (this.lit(op)) {
        this.blank();
        const right = this.tryTransformerOrVal() ?? this.numValue();
        return { kind: 'binary', left, op, right, pos: start };
      }
    }
    for (const op of STR_OPS) {
      if (!this.s.startsWith(op, this.i)) continue;
      if (WORD_STR_OPS.has(op) && !this.isBlankAt(this.i + op.length)) continue;
      this.i += op.length;
      this.lastToken = op;
      this.blank();
      const mod = this.tryModifier();
      if (mod) return { kind: 'binary', left, op, modifier: mod.modifier, right: mod.list, pos: start };
      const right = this.tryTransformerOrVal() ?? this.strValue();
      return { kind: 'binary', left, op, right, pos: start };
    }
    for (const op of LIST_OPS) {
      if (!this.s.startsWith(op, this.i)) continue;
      const next = this.s[this.i + op.length];
      if (next !== undefined && !BLANKS.has(next) && next !== '(') continue;
      this.i += op.length;
      this.lastToken = op;
      this.blank();
      const right = this.tryTransformerOrVal() ?? this.listValue();
      return { kind: 'binary', left, op, right, pos: start };
    }
    throw new ParseError(
      'expected a valid check operator: one of exists, <=, <, >=, >, ==, =, !=, contains, icontains, bcontains, startswith, bstartswith, endswith, glob, iglob, regex, intersects, in, pmatch',
      this.pos(),
    );
  }

  private tryModifier(): { modifier: 'oneof' | 'anyof' | 'allof'; list: ListExpr } | undefined {
    for (const m of ['oneof', 'anyof', 'allof'] as const) {
      if (!this.s.startsWith(m, this.i)) continue;
      const save = this.i;
      const saveTok = this.lastToken;
      this.i += m.length;
      const hadBlank = this.blank();
      if (this.s[this.i] === '(') {
        return { modifier: m, list: this.listValue() };
      }
      if (hadBlank) {
        RE_IDENT.lastIndex = this.i;
        const id = RE_IDENT.exec(this.s);
        if (id && id[0] !== 'and' && id[0] !== 'or' && id[0] !== 'not') {
          return { modifier: m, list: this.listValue() };
        }
      }
      this.i = save;
      this.lastToken = saveTok;
    }
    return undefined;
  }

  private tryTransformerOrVal(): TransformerExpr | ValFieldExpr | undefined {
    const start = this.pos();
    if (this.s.startsWith('val(', this.i)) {
      this.i += 4;
      this.blank();
      const fname = this.re(RE_FIELDNAME);
      if (fname === undefined) throw new ParseError('expected a field name', this.pos());
      const field: FieldExpr = { kind: 'field', name: fname, pos: start };
      const arg = this.fieldArg();
      if (arg !== undefined) field.arg = arg;
      this.expect(')');
      return { kind: 'val', field, pos: start };
    }
    return this.tryTransformer();
  }

  private numValue(): ValueExpr {
    const start = this.pos();
    const n = this.re(RE_HEX) ?? this.re(RE_NUM);
    if (n === undefined) throw new ParseError('expected a number value', start);
    return { kind: 'value', value: n, pos: start };
  }

  private strValue(): ValueExpr {
    const start = this.pos();
    if (this.s[this.i] === '"' || this.s[this.i] === "'")
      return { kind: 'value', value: this.quoted(), pos: start };
    const b = this.re(RE_BARE);
    if (b === undefined) throw new ParseError('expected a valid string value', start);
    return { kind: 'value', value: b, pos: start };
  }

  private listValue(): ListExpr {
    const start = this.pos();
    if (this.lit('(')) {
      const values: ValueExpr[] = [];
      this.blank();
      if (this.lit(')')) return { kind: 'list', values, pos: start };
      for (;;) {
        this.blank();
        values.push(this.strValue());
        this.blank();
        if (this.lit(',')) continue;
        if (this.lit(')')) break;
        throw new ParseError("expected a ',' or ')' token", this.pos());
      }
      return { kind: 'list', values, pos: start };
    }
    const id = this.re(RE_IDENT);
    if (id !== undefined)
      return { kind: 'list', values: [{ kind: 'value', value: id, pos: start }], pos: start };
    throw new ParseError('expected a list or an identifier after the operator', start);
  }

  private quoted(): string {
    const start = this.pos();
    const q = this.s[this.i]!;
    let k = this.i + 1;
    let out = '';
    while (k < this.s.length) {
      const c = this.s[k]!;
      if (c === q) {
        this.i = k + 1;
        this.lastToken = this.s.slice(start.idx, this.i);
        return out;
      }
      if (c === '\\') {
        const n = this.s[k + 1];
        switch (n) {
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case ' ':
            out += '\\';
            k -= 1;
            break;
          case '"':
          case "'":
            if (n !== q)
              throw new ParseError(`invalid escape sequence \\${n} in ${q}-quoted string`, this.pos(k));
            out += n;
            break;
          case 'x': {
            const hex = this.s.slice(k + 2, k + 4);
            if (!/^[0-9a-fA-F]{2}$/.test(hex))
              throw new ParseError('invalid \\x escape sequence', this.pos(k));
            out += String.fromCharCode(Number.parseInt(hex, 16));
            k += 2;
            break;
          }
          default:
            throw new ParseError(`invalid escape sequence \\${n ?? ''}`, this.pos(k));
        }
        k += 2;
        continue;
      }
      out += c;
      k++;
    }
    throw new ParseError('unterminated quoted string', start);
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical string form (libsinsp ast::as_string), used for `condition_compiled` in describe.

function quoteIfNeeded(v: string): string {
  if (v === '' || /[\s="'\\()\x00-\x1f,]/.test(v)) {
    return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
  }
  return v;
}

export function fieldToString(f: FieldLike | ValFieldExpr | ValueExpr): string {
  switch (f.kind) {
    case 'field':
      return f.arg === undefined ? f.name : `${f.name}[${f.arg}]`;
    case 'transformer': {
      const s = `${f.name}(${f.args.map(fieldToString).join(', ')})`;
      return f.arg === undefined ? s : `${s}[${f.arg}]`;
    }
    case 'val':
      return `val(${fieldToString(f.field)})`;
    case 'value':
      return quoteIfNeeded(f.value);
  }
}

export function exprToString(e: Expr): string {
  switch (e.kind) {
    case 'and':
      return `(${e.children.map(exprToString).join(' and ')})`;
    case 'or':
      return `(${e.children.map(exprToString).join(' or ')})`;
    case 'not':
      return `not ${exprToString(e.child)}`;
    case 'identifier':
      return e.name;
    case 'unary':
      return `${fieldToString(e.left)} exists`;
    case 'binary': {
      const op = e.modifier ? `${e.op} ${e.modifier}` : e.op;
      const r = e.right;
      const rs =
        r.kind === 'list' ? `(${r.values.map((v) => quoteIfNeeded(v.value)).join(', ')})` : fieldToString(r);
      return `${fieldToString(e.left)} ${op} ${rs}`;
    }
  }
}
