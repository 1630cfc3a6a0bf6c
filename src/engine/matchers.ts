/**
 * String matchers for event data: fnmatch-style globs and the path-prefix tree of `pmatch`.
 * No JS RegExp touches event data (backtracking regexes on attacker-controlled strings are a
 * denial-of-service risk); globs use a linear-space two-pointer matcher.
 */

type GlobTok =
  | { t: 'lit'; c: string }
  | { t: 'any' }
  | { t: 'star' }
  | { t: 'set'; neg: boolean; ranges: [string, string][] };

function compileGlobTokens(pattern: string, fold: boolean): GlobTok[] {
  const toks: GlobTok[] = [];
  const p = fold ? pattern.toLowerCase() : pattern;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (toks.at(-1)?.t !== 'star') toks.push({ t: 'star' });
    } else if (c === '?') toks.push({ t: 'any' });
    else if (c === '\\' && i + 1 < p.length) toks.push({ t: 'lit', c: p[++i]! });
    else if (c === '[') {
      let j = i + 1;
      let neg = false;
      if (p[j] === '!' || p[j] === '^') {
        neg = true;
        j++;
      }
      const ranges: [string, string][] = [];
      let first = true;
      while (j < p.length && (p[j] !== ']' || first)) {
        first = false;
        const a = p[j]!;
        if (p[j + 1] === '-' && j + 2 < p.length && p[j + 2] !== ']') {
          ranges.push([a, p[j + 2]!]);
          j += 3;
        } else {
          ranges.push([a, a]);
          j++;
        }
      }
      if (j >= p.length)
        toks.push({ t: 'lit', c: '[' }); // unterminated: literal '['
      else {
        toks.push({ t: 'set', neg, ranges });
        i = j;
      }
    } else toks.push({ t: 'lit', c });
  }
  return toks;
}

function tokMatch(tok: GlobTok, ch: string): boolean {
  switch (tok.t) {
    case 'lit':
      return tok.c === ch;
    case 'any':
      return true;
    case 'set': {
      let hit = false;
      for (const [a, b] of tok.ranges) {
        if (ch >= a && ch <= b) {
          hit = true;
          break;
        }
      }
      return hit !== tok.neg;
    }
    case 'star':
      return false;
  }
}

/** Compile a glob (fnmatch without FNM_PATHNAME: `*` crosses `/`). */
export function compileGlob(pattern: string, fold = false): (s: string) => boolean {
  const toks = compileGlobTokens(pattern, fold);
  // fast paths
  if (toks.every((t) => t.t === 'lit')) {
    const lit = toks.map((t) => (t as { c: string }).c).join('');
    return fold ? (s) => s.toLowerCase() === lit : (s) => s === lit;
  }
  const n = toks.length;
  return (input: string) => {
    const s = fold ? input.toLowerCase() : input;
    let pi = 0;
    let si = 0;
    let starP = -1;
    let starS = 0;
    while (si < s.length) {
      if (pi < n) {
        const tok = toks[pi]!;
        if (tok.t === 'star') {
          starP = pi++;
          starS = si;
          continue;
        }
        if (tokMatch(tok, s[si]!)) {
          pi++;
          si++;
          continue;
        }
      }
      if (starP >= 0) {
        pi = starP + 1;
        si = ++starS;
        continue;
      }
      return false;
    }
    while (pi < n && toks[pi]!.t === 'star') pi++;
    return pi === n;
  };
}

const GLOB_CHARS = /[*?[]/;

interface PNode {
  children: Map<string, PNode>;
  globs: { match: (s: string) => boolean; node: PNode }[];
  terminal: boolean;
}

function newNode(): PNode {
  return { children: new Map(), globs: [], terminal: false };
}

/**
 * Path-prefix matcher of `pmatch`: `/tmp/hello` matches `/tmp/hello` and `/tmp/hello/x`, not
 * `/tmp/hello_x`. Entries may use glob wildcards inside a path component.
 */
export function compilePathPrefixes(paths: readonly string[]): (s: string) => boolean {
  const root = newNode();
  for (const p of paths) {
    let node = root;
    for (const comp of p.split('/').filter((c) => c !== '')) {
      if (GLOB_CHARS.test(comp)) {
        let g = node.globs.find((x) => (x as { src?: string }).src === comp);
        if (!g) {
          g = { match: compileGlob(comp), node: newNode() };
          (g as { src?: string }).src = comp;
          node.globs.push(g);
        }
        node = g.node;
      } else {
        let next = node.children.get(comp);
        if (!next) {
          next = newNode();
          node.children.set(comp, next);
        }
        node = next;
      }
    }
    node.terminal = true;
  }
  const walk = (node: PNode, comps: string[], k: number): boolean => {
    if (node.terminal) return true;
    if (k >= comps.length) return false;
    const c = comps[k]!;
    const child = node.children.get(c);
    if (child && walk(child, comps, k + 1)) return true;
    for (const g of node.globs) if (g.match(c) && walk(g.node, comps, k + 1)) return true;
    return false;
  };
  if (root.terminal) return () => true;
  return (s: string) =>
    walk(
      root,
      s.split('/').filter((c) => c !== ''),
      0,
    );
}

/** Decode a hex string (bcontains / bstartswith operand) to a binary (latin1) string. */
export function hexToBinary(hex: string): string | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  let out = '';
  for (let i = 0; i < hex.length; i += 2)
    out += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
  return out;
}

// ---------------------------------------------------------------------------------------------
// IP addresses and networks

export interface IpNet {
  v6: boolean;
  addr: bigint;
  bits: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let tail4: bigint | undefined;
  let str = s;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    str = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = str.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : fill < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tail4 !== undefined) v = (v & ~0xffffffffn) | tail4;
  return v;
}

export function parseIp(s: string): { v6: boolean; addr: bigint } | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { v6: false, addr: v4 };
  const v6 = s.includes(':') ? parseV6(s) : undefined;
  return v6 === undefined ? undefined : { v6: true, addr: v6 };
}

export function parseNet(s: string): IpNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) {
    const ip = parseIp(s);
    return ip && { ...ip, bits: ip.v6 ? 128 : 32 };
  }
  const ip = parseIp(s.slice(0, slash));
  const bitsStr = s.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(bitsStr)) return undefined;
  const bits = Number(bitsStr);
  if (bits > (ip.v6 ? 128 : 32)) return undefined;
  return { ...ip, bits };
}

export function netContains(net: IpNet, ip: { v6: boolean; addr: bigint }): boolean {
  if (net.v6 !== ip.v6) return false;
  const width = net.v6 ? 128n : 32n;
  const shift = width - BigInt(net.bits);
  return net.addr >> shift === ip.addr >> shift;
}
