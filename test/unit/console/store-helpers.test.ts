import { describe, expect, it } from 'vitest';
import { filterFromQuery, matchesFilter, parseDurationMs } from '../../../src/console/store/filter.js';
import {
  AlertError,
  decodeCursor,
  encodeCursor,
  normalizeAlert,
  parseTimeUs,
  words,
} from '../../../src/console/store/normalize.js';
import { HOUR_US, planRollup, rollupDeltas, splitHours } from '../../../src/console/store/rollup.js';

const base = {
  hostname: 'h',
  output: 'File below /etc opened (file=/etc/shadow)',
  output_fields: { 'fd.name': '/etc/shadow', 'container.image.repository': 'nginx', 'k8s.ns.name': 'prod' },
  priority: 'Warning',
  rule: 'R',
  source: 'syscall',
  tags: ['b', 'a'],
  time: '2024-03-01T08:52:34.832049033Z',
};

describe('normalizeAlert', () => {
  it('keeps Falco keys, adds uuid and count, sorts tags, flattens columns', () => {
    const r = normalizeAlert(base);
    expect(r.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.ts).toBe(Date.parse('2024-03-01T08:52:34.832Z') * 1000 + 49);
    expect(r.priority).toBe(4);
    expect(r.tags).toEqual(['a', 'b']);
    expect(r.containerImage).toBe('nginx');
    expect(r.k8sNs).toBe('prod');
    expect(JSON.parse(r.raw)).toMatchObject({ count: 1, rule: 'R', time: base.time, uuid: r.uuid });
    expect(Object.keys(JSON.parse(r.raw))).toEqual([...Object.keys(JSON.parse(r.raw))].sort());
    expect(normalizeAlert({ ...base, priority: 'info' }).event.priority).toBe('Informational');
  });

  it('stores the same JSON as sorting the merged keys would (known keys, extra keys, nulls, tag order)', () => {
    // What the stored JSON has always been: the alert's keys with the console's values merged in,
    // top-level keys sorted, undefined values left out.
    const reference = (a: Record<string, unknown>, uuid: string): string => {
      const e: Record<string, unknown> = {
        ...a,
        priority: normalizeAlert(a).event.priority,
        output_fields: a.output_fields ?? {},
        hostname: typeof a.hostname === 'string' ? a.hostname : '',
        source: (typeof a.source === 'string' ? a.source : '') || 'syscall',
        tags: [...new Set((a.tags as string[] | undefined) ?? [])].sort(),
        uuid,
        count: a.count ?? 1,
      };
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(e).sort()) if (e[k] !== undefined) sorted[k] = e[k];
      return JSON.stringify(sorted);
    };
    const uuid = '0b2d0c4e-7f5e-4a43-9a0e-2f6f3c1d9e11';
    const cases: Record<string, unknown>[] = [
      { ...base, uuid },
      { ...base, uuid: uuid.toUpperCase(), tags: ['b', 'a', 'b'], count: 3 },
      { ...base, uuid, cluster: 'c1', message: null, output: null, hostname: null, source: '' },
      { ...base, uuid, cluster: undefined, message: undefined, tags: undefined, output_fields: undefined },
      { time: base.time, rule: 'R', priority: 'debug', uuid },
      { ...base, uuid, zeta: 1, alpha: { b: 1, a: 2 }, '10': 'x', '9': 'y' },
      { ...base, uuid, tags: ['same', 'same'], priority: 'WARNING' },
    ];
    for (const c of cases) expect(normalizeAlert(c).raw, JSON.stringify(c)).toBe(reference(c, uuid));
    // The input is not changed, and the event does not share its tags array.
    const input = { ...base, uuid, tags: ['a', 'b'] };
    const r = normalizeAlert(input);
    expect(input.tags).toEqual(['a', 'b']);
    expect(r.tags).not.toBe(input.tags);
    expect(r.event).toEqual(JSON.parse(r.raw));
  });

  it('names the bad key', () => {
    const bad: [unknown, RegExp][] = [
      [null, /JSON object/],
      [[], /JSON object/],
      [{ ...base, rule: '' }, /"rule"/],
      [{ ...base, priority: 'Loud' }, /"priority"/],
      [{ ...base, time: '2024-03-01 08:52' }, /"time"/],
      [{ ...base, uuid: 'nope' }, /"uuid"/],
      [{ ...base, tags: [1] }, /"tags"/],
      [{ ...base, count: 0 }, /"count"/],
      [{ ...base, hostname: 5 }, /"hostname"/],
      [{ ...base, output_fields: 'x' }, /"output_fields"/],
    ];
    for (const [input, re] of bad) expect(() => normalizeAlert(input), JSON.stringify(input)).toThrow(re);
  });

  it('survives random input without crashing (small fuzz)', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = [
      null,
      0,
      -1,
      1.5,
      '',
      'x',
      'Warning',
      '2024-03-01T08:52:34Z',
      [],
      ['a'],
      {},
      { a: 1 },
      true,
    ];
    for (let i = 0; i < 2000; i++) {
      const o: Record<string, unknown> = { ...base };
      for (const k of [
        'rule',
        'priority',
        'time',
        'uuid',
        'tags',
        'count',
        'hostname',
        'output_fields',
        'source',
      ])
        if (rnd() < 0.3) o[k] = values[Math.floor(rnd() * values.length)];
      try {
        normalizeAlert(o);
      } catch (e) {
        expect(e).toBeInstanceOf(AlertError);
      }
    }
  });

  it('parses RFC 3339 times with offsets and nanoseconds', () => {
    expect(parseTimeUs('2024-03-01T10:52:34.5+02:00')).toBe(Date.parse('2024-03-01T08:52:34.5Z') * 1000);
    expect(parseTimeUs('2024-03-01T08:52:34Z')).toBe(Date.parse('2024-03-01T08:52:34Z') * 1000);
    expect(parseTimeUs('yesterday')).toBeUndefined();
    expect(parseTimeUs('2024-13-45T99:00:00Z')).toBeUndefined();
  });

  it('cursors round-trip and bad ones are refused', () => {
    expect(decodeCursor(encodeCursor(123, 45))).toEqual({ ts: 123, id: 45 });
    expect(() => decodeCursor('garbage')).toThrow(/cursor/);
  });
});

describe('filters', () => {
  it('parses the query string (lists, priorities, durations, times)', () => {
    const now = Date.parse('2024-03-02T00:00:00Z');
    const f = filterFromQuery(
      {
        priority: 'Error,critical',
        min_priority: 'Warning',
        rule: 'a,b',
        tags: 'x',
        since: '1d',
        q: 'etc',
        container: 'nginx',
        namespace: 'prod',
        to: '2024-03-01T12:00:00Z',
      },
      now,
    );
    expect(f).toEqual({
      priorities: [3, 2],
      minPriority: 4,
      rules: ['a', 'b'],
      tags: ['x'],
      containers: ['nginx'],
      namespaces: ['prod'],
      text: 'etc',
      fromUs: (now - 86_400_000) * 1000,
      toUs: Date.parse('2024-03-01T12:00:00Z') * 1000,
    });
    expect(filterFromQuery({ rule: 'null', filter: 'null' })).toEqual({});
    expect(filterFromQuery({ from: '1700000000000' }).fromUs).toBe(1_700_000_000_000_000);
    expect(() => filterFromQuery({ priority: 'Loud' })).toThrow(/priority "Loud"/);
    expect(() => filterFromQuery({ since: 'ages' })).toThrow(/duration/);
    expect(() => filterFromQuery({ from: 'monday' })).toThrow(/"from"/);
    expect(parseDurationMs('15min')).toBe(900_000);
    expect(parseDurationMs('1M')).toBe(30 * 86_400_000);
  });

  it('the in-memory matcher (live stream) agrees with the SQL semantics', () => {
    const r = normalizeAlert(base);
    expect(matchesFilter({ minPriority: 4 }, r)).toBe(true);
    expect(matchesFilter({ minPriority: 3 }, r)).toBe(false);
    expect(matchesFilter({ priorities: [2] }, r)).toBe(false);
    expect(matchesFilter({ tags: ['a', 'z'] }, r)).toBe(true);
    expect(matchesFilter({ containers: ['nginx'] }, r)).toBe(true);
    expect(matchesFilter({ text: 'ETC/SHAD' }, r)).toBe(true);
    expect(matchesFilter({ text: 'hadow' }, r)).toBe(false);
    expect(matchesFilter({ text: 'shadow etc' }, r)).toBe(false);
    expect(words('File /etc/shadow, kube-system')).toEqual(['file', 'etc', 'shadow', 'kube', 'system']);
  });
});

describe('rollup planning', () => {
  it('uses the rollup only when the filter allows it', () => {
    expect(planRollup({ fromUs: 1 })).toEqual({ dim: 'source', byPriority: false });
    expect(planRollup({ minPriority: 3 }, 'priority')).toEqual({ dim: 'source', byPriority: true });
    expect(planRollup({ rules: ['a'] }, 'rule')).toEqual({ dim: 'rule', values: ['a'], byPriority: false });
    expect(planRollup({ rules: ['a'] }, 'hostname')).toBeUndefined();
    expect(planRollup({ tags: ['a'] })).toBeUndefined();
    expect(planRollup({ text: 'x' }, 'rule')).toBeUndefined();
    expect(planRollup({ containers: ['x'] }, 'rule')).toBeUndefined();
    expect(planRollup({ rules: ['a'], hostnames: ['b'] }, 'rule')).toBeUndefined();
  });

  it('splits ranges into whole hours and raw edges', () => {
    const H = HOUR_US;
    expect(splitHours(undefined, undefined)).toEqual({ edges: [] });
    expect(splitHours(H / 2, 3 * H + 5)).toEqual({
      hourFrom: 1,
      hourTo: 3,
      edges: [
        { fromUs: H / 2, toUs: H },
        { fromUs: 3 * H, toUs: 3 * H + 5 },
      ],
    });
    expect(splitHours(H, 2 * H)).toEqual({ hourFrom: 1, hourTo: 2, edges: [] });
    expect(splitHours(H + 1, 2 * H - 1)).toBeUndefined();
  });

  it('aggregates a batch into deltas per hour, dimension, value and priority', () => {
    const a = normalizeAlert(base);
    const b = normalizeAlert({ ...base, rule: 'S' });
    const d = rollupDeltas([a, b]);
    const get = (dim: string, value: string) =>
      d.n[d.dim.findIndex((x, i) => x === dim && d.value[i] === value)];
    expect(get('rule', 'R')).toBe(1);
    expect(get('source', 'syscall')).toBe(2);
    expect(get('tags', 'a')).toBe(2);
    expect(new Set(d.hour)).toEqual(new Set([Math.floor(a.ts / HOUR_US)]));
  });
});
