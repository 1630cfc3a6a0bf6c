import { describe, expect, it } from 'vitest';
import { exprToString, ParseError, parseCondition } from '../../../src/engine/parser.js';

const s = (c: string) => exprToString(parseCondition(c));

function err(c: string): ParseError {
  try {
    parseCondition(c);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`no error for ${c}`);
}

describe('condition parser', () => {
  it('gives not > and > or precedence with n-ary and/or', () => {
    expect(s('a and b or c and d')).toBe('((a and b) or (c and d))');
    expect(s('not a and b')).toBe('(not a and b)');
    expect(s('a or b or c')).toBe('(a or b or c)');
    expect(s('a and (b or c)')).toBe('(a and (b or c))');
    expect(s('not not a')).toBe('not not a');
    expect(s('not(a or b)')).toBe('not (a or b)');
    expect(s('a and(b)')).toBe('(a and b)');
    expect(s('a or(b and c)')).toBe('(a or (b and c))');
  });

  it('keeps identifiers that only start like keywords', () => {
    expect(s('nothing and order or android')).toBe('((nothing and order) or android)');
  });

  it('parses every operator', () => {
    for (const op of ['=', '==', '!=', '<', '<=', '>', '>='])
      expect(s(`proc.pid ${op} 3`)).toBe(`proc.pid ${op} 3`);
    for (const op of [
      'contains',
      'icontains',
      'startswith',
      'endswith',
      'glob',
      'iglob',
      'regex',
      'bcontains',
      'bstartswith',
    ]) {
      expect(s(`proc.name ${op} abc`)).toBe(`proc.name ${op} abc`);
    }
    expect(s('proc.name in (a, b)')).toBe('proc.name in (a, b)');
    expect(s('proc.name in(a,b)')).toBe('proc.name in (a, b)');
    expect(s('fd.types intersects (ipv4)')).toBe('fd.types intersects (ipv4)');
    expect(s('fd.name pmatch (/tmp)')).toBe('fd.name pmatch (/tmp)');
    expect(s('proc.name exists')).toBe('proc.name exists');
    expect(s('proc.name=bash')).toBe('proc.name = bash');
    expect(s('proc.name in ()')).toBe('proc.name in ()');
  });

  it('parses oneof/anyof/allof modifiers, but only before a list', () => {
    expect(s('proc.name startswith oneof (a, b)')).toBe('proc.name startswith oneof (a, b)');
    expect(s('proc.name = anyof (a)')).toBe('proc.name = anyof (a)');
    expect(s('proc.name != allof (a, b)')).toBe('proc.name != allof (a, b)');
    expect(s('proc.name = oneof')).toBe('proc.name = oneof');
    expect(s('proc.name = oneof and x')).toBe('(proc.name = oneof and x)');
  });

  it('parses field arguments in every form', () => {
    expect(s('proc.aname[2] = bash')).toBe('proc.aname[2] = bash');
    expect(s('proc.aname["2"] = bash')).toBe('proc.aname[2] = bash');
    expect(s('jevt.value[/requestObject/spec] = x')).toBe('jevt.value[/requestObject/spec] = x');
    expect(s("k8s.pod.label['app.kubernetes.io/name'] = x")).toBe(
      'k8s.pod.label[app.kubernetes.io/name] = x',
    );
    expect(s('evt.arg.flags contains O_WRONLY')).toBe('evt.arg.flags contains O_WRONLY');
  });

  it('parses transformers on both sides and val()', () => {
    expect(s('tolower(proc.name) = bash')).toBe('tolower(proc.name) = bash');
    expect(s('tolower(basename(proc.exepath)) = bash')).toBe('tolower(basename(proc.exepath)) = bash');
    expect(s('proc.name = val(proc.pname)')).toBe('proc.name = val(proc.pname)');
    expect(s('proc.name = toupper(proc.pname)')).toBe('proc.name = toupper(proc.pname)');
    expect(s('join(",", fd.types) = x')).toBe('join(",", fd.types) = x');
    expect(s('concat(proc.name, "-", proc.pname) = a-b')).toBe('concat(proc.name, -, proc.pname) = a-b');
  });

  it('decodes quoted strings and escapes', () => {
    const v = (c: string) => {
      const e = parseCondition(c);
      if (e.kind !== 'binary' || e.right.kind !== 'value') throw new Error('not a value');
      return e.right.value;
    };
    expect(v('proc.name = "a b"')).toBe('a b');
    expect(v("proc.name = 'a b'")).toBe('a b');
    expect(v('proc.name = "a\\"b"')).toBe('a"b');
    expect(v("proc.name = 'a\\'b'")).toBe("a'b");
    expect(v('proc.name = "\\t\\n\\r\\\\\\/\\x41"')).toBe('\t\n\r\\/A');
    expect(err("proc.name = 'a\\\"b'").message).toMatch(/invalid escape/);
    expect(err('proc.name = "a\\qb"').message).toMatch(/invalid escape/);
    expect(err('proc.name = "abc').message).toBe('unterminated quoted string');
    expect(s('proc.name = "a b"')).toBe('proc.name = "a b"');
  });

  it('reports errors with positions', () => {
    const e1 = err('evt.type=execve foo');
    expect(e1.message).toBe("unexpected token after 'execve', expecting 'or', 'and'");
    expect(e1.pos).toEqual({ idx: 16, line: 1, col: 17 });
    expect(err('').message).toBe('filter input string is empty');
    expect(err('(a and b').message).toBe("expected a ')' token");
    const e2 = err('a and\n  proc.name ~ x');
    expect(e2.message).toMatch(/expected a valid check operator/);
    expect(e2.pos.line).toBe(2);
    expect(err('proc.pid < abc').message).toBe('expected a number value');
    expect(err('proc.name in (a b)').message).toMatch(/expected a ',' or '\)'/);
    expect(err('proc.aname[2 = x').message).toBe("expected a ']' token");
    expect(err('= x').message).toMatch(/expected a '\(' token, a field check, or an identifier/);
  });

  it('puts a position on every node', () => {
    const ast = parseCondition('a and\n not proc.name = x');
    expect(ast.kind).toBe('and');
    if (ast.kind !== 'and') return;
    expect(ast.children[0]!.pos).toEqual({ idx: 0, line: 1, col: 1 });
    expect(ast.children[1]!.pos).toEqual({ idx: 7, line: 2, col: 2 });
    const n = ast.children[1]!;
    if (n.kind !== 'not') throw new Error('not');
    expect(n.child.pos).toEqual({ idx: 11, line: 2, col: 6 });
  });

  it('enforces a maximum depth', () => {
    const deep = `${'('.repeat(2000)}a${')'.repeat(2000)}`;
    expect(err(deep).message).toBe('exceeded max depth limit of 1000');
  });
});
