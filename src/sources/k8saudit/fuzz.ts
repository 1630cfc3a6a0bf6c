/**
 * Deterministic fuzz corpus for the audit webhook: valid lists, structural
 * mutations (wrong types, dropped keys, deep nesting), truncations, byte flips
 * and random bytes. Shared by the unit test (small run) and the bench (large run).
 */

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD: unknown[] = [
  null,
  0,
  -1,
  1e308,
  '',
  'x'.repeat(300),
  [],
  {},
  [[]],
  true,
  { kind: 'Event' },
  '\u0000\ud800',
];

function mutate(v: unknown, rnd: () => number, depth = 0): unknown {
  if (depth > 6) return v;
  if (Array.isArray(v)) {
    const out = v.map((x) => (rnd() < 0.3 ? mutate(x, rnd, depth + 1) : x));
    if (rnd() < 0.1) out.push(ODD[Math.floor(rnd() * ODD.length)]);
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = rnd();
      if (r < 0.05) continue; // drop the key
      if (r < 0.12) out[k] = ODD[Math.floor(rnd() * ODD.length)];
      else if (r < 0.4) out[k] = mutate(x, rnd, depth + 1);
      else out[k] = x;
    }
    // an own "__proto__" key in the JSON text (prototype-pollution probe)
    if (rnd() < 0.05)
      Object.defineProperty(out, '__proto__', {
        value: { polluted: true },
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return rnd() < 0.5 ? ODD[Math.floor(rnd() * ODD.length)] : v;
}

export function* fuzzBodies(seed: Record<string, unknown>, n: number, randomSeed: number): Generator<string> {
  const rnd = prng(randomSeed);
  for (let i = 0; i < n; i++) {
    const kind = i % 8;
    const items = Array.from({ length: 1 + Math.floor(rnd() * 5) }, (_, j) => ({
      ...seed,
      auditID: `fuzz-${i}-${j}`,
    }));
    const list = { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items };
    switch (kind) {
      case 0:
        yield JSON.stringify(list);
        break;
      case 1:
      case 2:
        yield JSON.stringify(mutate(list, rnd));
        break;
      case 3: {
        const s = JSON.stringify(list);
        yield s.slice(0, Math.floor(rnd() * s.length));
        break;
      }
      case 4: {
        const b = Buffer.from(JSON.stringify(list));
        for (let k = 0; k < 1 + rnd() * 8; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        yield b.toString('latin1');
        break;
      }
      case 5: {
        const b = Buffer.alloc(1 + Math.floor(rnd() * 2000));
        for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
        yield b.toString('latin1');
        break;
      }
      case 6:
        yield JSON.stringify(rnd() < 0.5 ? mutate(items, rnd) : mutate(items[0], rnd));
        break;
      default:
        yield `${'['.repeat(1 + Math.floor(rnd() * 3000))}${rnd() < 0.5 ? ']'.repeat(10) : ''}`;
    }
  }
}
