import type { FieldSpec, FieldValue, SourceExtractor } from './api.js';

/**
 * An event as a plain object keyed by field reference as written in rules:
 * `{ 'evt.type': 'open', 'proc.name': 'cat', 'proc.aname[2]': 'bash', 'evt.time': 1700000000000000000n }`.
 * A key that is absent (or undefined) means "no value".
 */
export type MemoryEvent = Record<string, FieldValue | bigint>;

type Read = (ev: MemoryEvent) => FieldValue | bigint;

/**
 * One small accessor function per key, so every field read has its own inline cache (events of one
 * shape stay monomorphic). The key is embedded as a JSON string literal, never as code.
 */
function accessor(key: string): Read {
  return new Function('ev', `return ev[${JSON.stringify(key)}];`) as Read;
}

/**
 * In-memory extractor used by tests and the benchmark: extraction is one property read. For speed,
 * build events as object literals with a fixed set of keys (V8 fast properties).
 */
export function memoryExtractor(source: string, fields: readonly FieldSpec[]): SourceExtractor<MemoryEvent> {
  const known = new Set(fields.map((f) => f.name));
  const readType = accessor('evt.type');
  const readTime = accessor('evt.time');
  return {
    source,
    fields,
    bind(name, arg) {
      if (!known.has(name)) return undefined;
      const key = JSON.stringify(arg === undefined ? name : `${name}[${arg}]`);
      return new Function('ev', `const v = ev[${key}]; return typeof v === 'bigint' ? Number(v) : v;`) as (
        ev: MemoryEvent,
      ) => FieldValue;
    },
    eventType(ev) {
      const t = readType(ev);
      return typeof t === 'string' ? t : '';
    },
    timeNs(ev) {
      const t = readTime(ev);
      if (typeof t === 'bigint') return t;
      if (typeof t === 'number') return BigInt(Math.trunc(t));
      return 0n;
    },
  };
}
