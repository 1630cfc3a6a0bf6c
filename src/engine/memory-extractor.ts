import type { FieldSpec, FieldValue, SourceExtractor } from './api.js';

/**
 * An event as a plain object keyed by field reference as written in rules:
 * `{ 'evt.type': 'open', 'proc.name': 'cat', 'proc.aname[2]': 'bash', 'evt.time': 1700000000000000000n }`.
 * A key that is absent means "no value".
 */
export type MemoryEvent = Record<string, FieldValue | bigint>;

/** In-memory extractor used by tests and the benchmark: extraction is one property read. */
export function memoryExtractor(source: string, fields: readonly FieldSpec[]): SourceExtractor<MemoryEvent> {
  const known = new Set(fields.map((f) => f.name));
  return {
    source,
    fields,
    bind(name, arg) {
      if (!known.has(name)) return undefined;
      const key = arg === undefined ? name : `${name}[${arg}]`;
      return (ev) => {
        const v = ev[key];
        return typeof v === 'bigint' ? Number(v) : v;
      };
    },
    eventType(ev) {
      const t = ev['evt.type'];
      return typeof t === 'string' ? t : '';
    },
    timeNs(ev) {
      const t = ev['evt.time'];
      if (typeof t === 'bigint') return t;
      if (typeof t === 'number') return BigInt(Math.trunc(t));
      return 0n;
    },
  };
}
