import { describe, expect, it } from 'vitest';
import { alertToJson } from '../../../src/alert/falco-alert.js';
import { compileTemplate } from '../../../src/relay/config/template.js';
import { RelayMetrics } from '../../../src/relay/delivery/metrics.js';
import {
  acceptAlert,
  acceptAlertJson,
  decodeBody,
  type Enrichment,
  PayloadError,
  validTime,
} from '../../../src/relay/intake/payload.js';
import { compileRoute, Deduper, globToRegExp } from '../../../src/relay/router/route.js';

const none: Enrichment = {
  customFields: {},
  customTags: [],
  templatedFields: new Map(),
  bracketReplacer: '',
  outputFieldFormat: '',
};
const base = {
  output: '16:31:56.746609046: Error This is a test from falcosidekick',
  priority: 'error',
  rule: 'Test rule',
  time: '2001-01-01T01:10:00Z',
  output_fields: { 'proc.name': 'falcosidekick', 'proc.tty': 1234, 'k8s.ns.labels[foo]': 'x' },
  tags: ['test', 'example'],
  hostname: 'test-host',
};

describe('intake payload', () => {
  it('normalises priority, source, tags and overwrites the uuid', () => {
    const a = acceptAlert({ ...base, uuid: 'mine', source: '' }, none, 'u-1');
    expect(a.priority).toBe('Error');
    expect(a.source).toBe('internal'); // Test rule
    expect(a.uuid).toBe('u-1');
    expect(a.tags).toEqual(['example', 'test']);
    const b = acceptAlert({ ...base, rule: 'Other', source: undefined }, none);
    expect(b.source).toBe('syscalls');
    expect(acceptAlert({ ...base, priority: 'INFO' }, none).priority).toBe('Informational');
  });

  it('applies customfields, customtags, templatedfields, bracketreplacer and outputFieldFormat in order', () => {
    const enr: Enrichment = {
      customFields: { env: 'prod' },
      customTags: ['relay'],
      templatedFields: new Map([
        ['team', compileTemplate('{{ or (index . "k8s.ns.labels[team]") "none" }}-{{ index . "env" }}')],
      ]),
      bracketReplacer: '_',
      outputFieldFormat: '<timestamp>: <priority> <output> <custom_fields> <templated_fields> (<tags>)',
    };
    const a = acceptAlert(base, enr, 'u');
    expect(a.output_fields.env).toBe('prod');
    expect(a.output_fields.team).toBe('none-prod');
    expect(a.output_fields['k8s.ns.labels_foo']).toBe('x');
    expect(a.output_fields['k8s.ns.labels[foo]']).toBeUndefined();
    expect(a.tags).toEqual(['example', 'relay', 'test']);
    expect(a.output).toBe(
      '16:31:56.746609046: Error This is a test from falcosidekick env=prod team=none-prod (example,relay,test)',
    );
  });

  it('cuts long string fields when the alert is large (Falcosidekick size guard)', () => {
    const long = 'y'.repeat(5000);
    const a = acceptAlert({ ...base, output: `x ${long}`, output_fields: { big: long } }, none);
    expect((a.output_fields.big as string).length).toBe(512);
    expect(a.output_fields.big).toMatch(/\[\.\.\.\]$/);
    expect(a.output).toBe(`x ${'y'.repeat(507)}[...]`);
  });

  it('names what is wrong', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[], /not a JSON object/],
      [{ ...base, priority: undefined }, /priority is missing/],
      [{ ...base, priority: 'nope' }, /"nope" is not a Falco priority/],
      [{ ...base, rule: undefined }, /rule/],
      [{ ...base, time: '0001-01-01T00:00:00Z' }, /time/],
      [{ ...base, output_fields: [] }, /output_fields is not an object/],
      [{ ...base, output_fields: {} }, /output_fields is missing or empty/],
      [{ ...base, tags: 'a' }, /tags is not a list/],
      [{ ...base, hostname: 3 }, /hostname is not a string/],
    ];
    for (const [v, re] of bad) expect(() => acceptAlert(v, none), JSON.stringify(v)).toThrow(re);
  });

  it('decodes one object, arrays and NDJSON', () => {
    expect(decodeBody('{"a":1}')).toEqual({ items: [{ a: 1 }], batch: false });
    expect(decodeBody('[{"a":1},{"a":2}]').items).toHaveLength(2);
    expect(decodeBody('{"a":1}\n\n{"a":2}\n')).toEqual({ items: [{ a: 1 }, { a: 2 }], batch: true });
    expect(() => decodeBody('{"a":1}\n{oops')).toThrow(/NDJSON line 2/);
    expect(() => decodeBody('[]')).toThrow(/empty/);
  });

  it('fuzz: random bodies give a PayloadError or an alert, nothing else', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      '"rule"',
      ':',
      ',',
      '"x"',
      '1',
      'null',
      '"priority"',
      '"Debug"',
      '\n',
      '"time"',
      '"output_fields"',
      '{"a":1}',
    ];
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = 1 + Math.floor(rnd() * 14);
      for (let j = 0; j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)];
      try {
        for (const item of decodeBody(s).items) acceptAlert(item, none);
      } catch (e) {
        expect(e).toBeInstanceOf(PayloadError);
      }
    }
  });
});

describe('routing', () => {
  const a = (o: Record<string, unknown>) =>
    acceptAlert({ ...base, rule: 'Terminal shell in container', ...o }, none);
  it('filters by minimum priority, rule glob, tag and source', () => {
    expect(
      compileRoute({ minimumPriority: 4, rules: [], tags: [], sources: [] })(a({ priority: 'Notice' })),
    ).toBe(false);
    expect(
      compileRoute({ minimumPriority: 4, rules: [], tags: [], sources: [] })(a({ priority: 'Warning' })),
    ).toBe(true);
    expect(
      compileRoute({ minimumPriority: 0, rules: [], tags: [], sources: [] })(
        a({ rule: 'Test rule', priority: 'Debug' }),
      ),
    ).toBe(true);
    expect(compileRoute({ rules: ['Terminal*'], tags: [], sources: [] })(a({}))).toBe(true);
    expect(
      compileRoute({ rules: ['Write below ?tc'], tags: [], sources: [] })(a({ rule: 'Write below etc' })),
    ).toBe(true);
    expect(compileRoute({ rules: ['Write*'], tags: [], sources: [] })(a({}))).toBe(false);
    expect(compileRoute({ rules: [], tags: ['mitre_execution', 'test'], sources: [] })(a({}))).toBe(true);
    expect(compileRoute({ rules: [], tags: ['k8s'], sources: [] })(a({}))).toBe(false);
    expect(compileRoute({ rules: [], tags: [], sources: ['k8s_audit'] })(a({ source: 'syscall' }))).toBe(
      false,
    );
    expect(globToRegExp('a.b(c)*').test('a.b(c)zz')).toBe(true);
  });

  it('dedup: the first alert passes, repeats are held and released as one with the count', () => {
    const d = new Deduper<number>(1000, ['proc.name']);
    expect(d.offer(a({}), 1, 0)).toBe(true);
    expect(d.offer(a({}), 2, 10)).toBe(false);
    expect(d.offer(a({}), 3, 20)).toBe(false);
    expect(d.offer(a({ output_fields: { 'proc.name': 'sh' } }), 4, 30)).toBe(true); // other key
    expect(d.expire(500)).toEqual([]);
    const out = d.expire(1000);
    expect(out).toHaveLength(1);
    expect(out[0]!.alert.count).toBe(2);
    expect(out[0]!.items).toEqual([2, 3]);
    expect(d.offer(a({}), 5, 1001)).toBe(true); // new window
  });

  it('serialises once: the JSON is Falco key order (alertToJson) and matches the alert, also after the size guard', () => {
    const withAll = { ...base, message: 'm', cluster: 'prod', source: 'syscall' };
    const r = acceptAlertJson(withAll, { ...none, customTags: ['zz'] }, 'u-9');
    expect(r.json).toBe(alertToJson(r.alert));
    expect(Object.keys(JSON.parse(r.json))).toEqual([
      'cluster',
      'hostname',
      'message',
      'output',
      'output_fields',
      'priority',
      'rule',
      'source',
      'tags',
      'time',
      'uuid',
    ]);
    const big = 'x'.repeat(5000);
    const cut = acceptAlertJson(
      { ...base, output: `a ${big}`, output_fields: { 'proc.cmdline': big } },
      none,
    );
    expect(cut.json).toBe(alertToJson(cut.alert));
    expect((JSON.parse(cut.json).output_fields as Record<string, string>)['proc.cmdline']).toHaveLength(512);
    const minimal = acceptAlertJson({ ...base, tags: undefined, hostname: undefined }, none);
    expect(minimal.json).toBe(alertToJson(minimal.alert));
    expect('tags' in minimal.alert).toBe(false);
  });

  it('counts accepted alerts per Falcosidekick label set, visible at the next scrape', async () => {
    const m = new RelayMetrics();
    const a = acceptAlert({ ...base, output_fields: { 'k8s.ns.name': 'kube', 'k8s.pod.name': 'p1' } }, none);
    m.countAccepted(3);
    m.countEvent(a);
    m.countEvent(a);
    m.countEvent({ ...a, hostname: '' });
    const text = await m.registry.metrics();
    expect(text).toContain('falcosecurity_falcosidekick_inputs_total{source="requests",status="accepted"} 3');
    expect(text).toContain(
      'falcosecurity_falcosidekick_falco_events_total{hostname="test-host",rule="Test rule",priority="5",priority_raw="error",source="internal",k8s_ns_name="kube",k8s_pod_name="p1"} 2',
    );
    expect(text).toMatch(/falco_events_total\{hostname="unknown",[^}]*\} 1/);
    m.countEvent(a);
    expect(await m.registry.metrics()).toContain('k8s_pod_name="p1"} 3');
  });

  it('keeps an output field named __proto__ as a field (no prototype pollution)', () => {
    const raw = JSON.parse(
      '{"priority":"Warning","rule":"r","time":"2001-01-01T01:10:00Z","output_fields":{"__proto__":null,"a":1}}',
    ) as Record<string, unknown>;
    const a = acceptAlert(raw, none, 'u-2');
    expect(Object.keys(a.output_fields).sort()).toEqual(['__proto__', 'a']);
    expect(JSON.parse(alertToJson(a)).output_fields).toEqual(JSON.parse('{"__proto__":null,"a":1}'));
    expect(Object.getPrototypeOf(a.output_fields)).toBeNull();
  });

  it('keeps __proto__ from a JSON.parse body through decodeBody, enrichment and the bracket replacer', () => {
    const body =
      '{"priority":"Warning","rule":"r","time":"2001-01-01T01:10:00Z","output_fields":{"__proto__":{"polluted":1},"x[y]":"v"}}';
    const raw = decodeBody(body).items[0] as { output_fields: object };
    // JSON.parse makes `__proto__` an own data property, the prototype stays Object.prototype
    expect(Object.hasOwn(raw.output_fields, '__proto__')).toBe(true);
    for (const enr of [
      none,
      { ...none, customFields: JSON.parse('{"__proto__":"c"}') as Record<string, string> },
      { ...none, bracketReplacer: '_' },
    ]) {
      const r = acceptAlertJson(raw, enr, 'u-3');
      expect(Object.getPrototypeOf(r.alert.output_fields)).toBeNull();
      expect(Object.hasOwn(r.alert.output_fields, '__proto__')).toBe(true);
      expect(r.json).toBe(alertToJson(r.alert));
      const back = JSON.parse(r.json).output_fields as Record<string, unknown>;
      expect(Object.keys(back)).toEqual(['__proto__', enr.bracketReplacer ? 'x_y' : 'x[y]']);
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe(
        enr === none || enr.bracketReplacer ? '{"polluted":1}' : 'c',
      );
      // a field that is not there reads as missing, not as something inherited
      expect(r.alert.output_fields.toString).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('validTime accepts and rejects exactly what the RFC 3339 regex + Date.parse check did', () => {
    const former = (t: string): boolean => {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(t)) return false;
      const ms = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
      return Number.isFinite(ms) && !t.startsWith('0001-01-01');
    };
    const edge = [
      '2024-03-01T08:52:34.832049033Z',
      '2021-02-31T00:00:00Z',
      '2021-13-01T00:00:00Z',
      '2021-00-10T00:00:00Z',
      '2021-01-00T00:00:00Z',
      '2021-01-32T00:00:00Z',
      '2021-01-01T24:00:00Z',
      '2021-01-01T24:00:00.0009Z',
      '2021-01-01T24:00:00.001Z',
      '2021-01-01T24:00:00.1Z',
      '2021-01-01T24:00:01Z',
      '2021-01-01T23:60:00Z',
      '2021-01-01T23:59:60Z',
      '2021-01-01t23:59:59z',
      '2021-01-01T23:59:59+23:59',
      '2021-01-01T23:59:59+24:00',
      '2021-01-01T23:59:59-00:60',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '0001-01-01T00:00:00.5+01:00',
      '9999-12-31T23:59:59.999999999-23:59',
      '2021-01-01T00:00:00.Z',
      '2021-01-01T00:00:00Z ',
      '2021-01-01T00:00:00Z\n',
      '2021-01-01 00:00:00Z',
      '2021-01-01T00:00:00',
      '2021-01-01T00:00:00+0100',
      '２０２１-01-01T00:00:00Z',
      '',
    ];
    for (const t of edge) expect(validTime(t), t).toBe(former(t));
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = (xs: string[]) => xs[rnd(xs.length)]!;
    const d2 = () =>
      pick([
        '00',
        '01',
        '09',
        '10',
        '12',
        '13',
        '19',
        '23',
        '24',
        '29',
        '30',
        '31',
        '32',
        '59',
        '60',
        '99',
        '1a',
        '0',
      ]);
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const frac = pick(['', '', '.', '.0', '.000', '.0001', '.5', '.123456789', '.9x']);
      const zone = pick([
        'Z',
        'z',
        '+00:00',
        '-05:30',
        `+${d2()}:${d2()}`,
        `-${d2()}:${d2()}`,
        'Z',
        '',
        'UTC',
        '+0000',
      ]);
      const t = `${pick(['2024', '0001', '0000', '9999', '1970', '20x4'])}${pick(['-', '-', '-', '/'])}${d2()}-${d2()}${pick(['T', 't', 'T', ' '])}${d2()}:${d2()}${pick([':', ':', ':', '.'])}${d2()}${frac}${zone}`;
      const want = former(t);
      if (validTime(t) !== want) expect(validTime(t), t).toBe(want);
      if (want) accepted++;
    }
    expect(accepted).toBeGreaterThan(200);
  });
});
