/**
 * Per-sink routing (minimum priority, rule globs, tags, sources) and noise control (dedup/throttle).
 */
import type { FalcoAlert } from '../../alert/falco-alert.js';
import { parsePriority } from '../../alert/priority.js';

export interface RouteSpec {
  /** Falco level (Emergency=0 … Debug=7): alerts less severe are dropped. undefined = everything. */
  minimumPriority?: number;
  /** Rule name globs (`*`, `?`); empty = every rule. */
  rules: string[];
  /** Alert must carry at least one of these tags; empty = no tag filter. */
  tags: string[];
  /** Alert source must be one of these; empty = every source. */
  sources: string[];
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const c of glob) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export type Matcher = (a: FalcoAlert) => boolean;

/** Build the filter of one sink. The Falcosidekick test rule passes the priority filter (as upstream). */
export function compileRoute(spec: RouteSpec): Matcher {
  const rules = spec.rules.map(globToRegExp);
  const tags = new Set(spec.tags);
  const sources = new Set(spec.sources);
  const min = spec.minimumPriority;
  return (a) => {
    if (min !== undefined && a.rule !== 'Test rule') {
      const lvl = parsePriority(a.priority) ?? 7;
      if (lvl > min) return false;
    }
    if (rules.length && !rules.some((r) => r.test(a.rule))) return false;
    if (tags.size && !(a.tags ?? []).some((t) => tags.has(t))) return false;
    if (sources.size && !sources.has(a.source)) return false;
    return true;
  };
}

/** The dedup key of an alert: rule, hostname, container and the chosen output fields. */
export function dedupKey(a: FalcoAlert, fields: string[]): string {
  const f = a.output_fields;
  const container = f['container.id'] ?? f['container.name'] ?? '';
  const parts: unknown[] = [a.rule, a.hostname ?? '', container];
  for (const k of fields) parts.push(f[k] ?? null);
  return JSON.stringify(parts);
}

interface Entry<T> {
  /** When the window of this key closes. */
  until: number;
  /** Items suppressed since the first one was passed. */
  held: T[];
  last: FalcoAlert | undefined;
}

/**
 * Throttle by key: the first alert of a key passes at once; further alerts with the same key inside the
 * window are held. When the window closes, one summary alert (the last held one, `count` = number held)
 * is released carrying every held item, so the caller can acknowledge them only once it is delivered.
 */
export class Deduper<T> {
  private entries = new Map<string, Entry<T>>();
  constructor(
    readonly windowMs: number,
    readonly fields: string[],
  ) {}

  /** true: pass the alert now. false: it was held. */
  offer(a: FalcoAlert, item: T, now: number): boolean {
    const key = dedupKey(a, this.fields);
    const e = this.entries.get(key);
    if (!e || e.until <= now) {
      this.entries.set(key, { until: now + this.windowMs, held: [], last: undefined });
      return true;
    }
    e.held.push(item);
    e.last = a;
    return false;
  }

  /** Summaries of windows closed by `now`; forgets closed keys. */
  expire(now: number): Array<{ alert: FalcoAlert; items: T[] }> {
    const out: Array<{ alert: FalcoAlert; items: T[] }> = [];
    for (const [k, e] of this.entries) {
      if (e.until > now) continue;
      this.entries.delete(k);
      if (e.held.length && e.last) out.push({ alert: { ...e.last, count: e.held.length }, items: e.held });
    }
    return out;
  }

  /** Everything still held (on shutdown: released so that nothing is stuck). */
  drain(): Array<{ alert: FalcoAlert; items: T[] }> {
    return this.expire(Number.POSITIVE_INFINITY);
  }

  get size(): number {
    return this.entries.size;
  }
}
