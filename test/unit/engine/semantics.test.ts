import { describe, expect, it } from 'vitest';
import { createEngine, memoryExtractor, SYSCALL_FIELDS } from '../../../src/engine/index.js';
import { applyExceptions, substituteList } from '../../../src/engine/rule-compiler.js';
import { engine, load } from './util.js';

const rule = (name: string, cond: string, prio = 'WARNING', extra = '') =>
  `- rule: ${name}\n  desc: d\n  condition: ${cond}\n  output: o\n  priority: ${prio}\n${extra}`;

describe('list substitution (textual, before parsing)', () => {
  it('replaces bounded names with quoted items', () => {
    expect(substituteList('proc.name in (shells, vim)', 'shells', ['ash', 'bash'])).toEqual({
      text: 'proc.name in ( ash, bash , vim)',
      used: true,
    });
    expect(substituteList('proc.name in (myshells)', 'shells', ['a']).used).toBe(false);
    expect(substituteList('proc.name in (l)', 'l', ['a b', 'c']).text).toBe('proc.name in ( "a b", c )');
    expect(substituteList('proc.name in (x, l)', 'l', []).text).toBe('proc.name in (x  )');
    expect(substituteList('proc.name in (l, x)', 'l', []).text).toBe('proc.name in (   x)');
  });

  it('expands lists inside lists by visibility and lists inside conditions regardless of order', () => {
    const { e, errors } = load(
      `- list: a\n  items: [cat]\n- list: b\n  items: [a, dog]\n${rule('r', 'evt.type=open and proc.name in (b, c)')}- list: c\n  items: [cow]\n`,
    );
    expect(errors).toEqual([]);
    for (const n of ['cat', 'dog', 'cow'])
      expect(e.process('syscall', { 'evt.type': 'open', 'proc.name': n }).length).toBe(1);
    expect(e.process('syscall', { 'evt.type': 'open', 'proc.name': 'a' }).length).toBe(0);
  });

  it('reproduces Falco on a list redefinition loop (unknown event type list_a)', () => {
    const r = load(
      '- list: list_a\n  items: [open]\n- list: list_b\n  items: [list_a]\n- list: list_a\n  items: [list_b]\n- macro: m\n  condition: evt.type in (list_a)\n' +
        rule('sample', 'm'),
    );
    expect(r.error?.code).toBe('LOAD_ERR_COMPILE_CONDITION');
    expect(r.error?.message).toBe('unknown event type list_a');
  });
});

describe('macros', () => {
  it('rules see every macro; macros only earlier ones', () => {
    const r = load(`${rule('r', 'evt.type=open and m')}- macro: m\n  condition: proc.name=cat\n`);
    expect(r.errors).toEqual([]);
    expect(r.e.process('syscall', { 'evt.type': 'open', 'proc.name': 'cat' }).length).toBe(1);
  });
});

describe('append / override / redefinition', () => {
  it('appends list items, macro conditions and rule conditions with a single space', () => {
    const r = load([
      `- list: l\n  items: [cat]\n- macro: m\n  condition: proc.name in (l)\n${rule('r', 'evt.type=open and m')}`,
      `- list: l\n  items: [dog]\n  override:\n    items: append\n- macro: m\n  condition: or proc.name = cow\n  override:\n    condition: append\n- rule: r\n  condition: and proc.pname = sh\n  override:\n    condition: append\n`,
    ]);
    expect(r.errors).toEqual([]);
    expect(r.e.rules()[0]!.condition).toBe('evt.type=open and m and proc.pname = sh');
    const ev = (name: string) =>
      r.e.process('syscall', { 'evt.type': 'open', 'proc.name': name, 'proc.pname': 'sh' }).length;
    expect([ev('cat'), ev('dog'), ev('cow'), ev('emu')]).toEqual([1, 1, 1, 0]);
  });

  it('replaces rule keys selectively and keeps the original position', () => {
    const r = load([
      rule('first', 'evt.type=open') + rule('second', 'evt.type=open'),
      `- rule: first\n  priority: ERROR\n  output: new output\n  override:\n    priority: replace\n    output: replace\n`,
      rule('first', 'evt.type=execve', 'INFO'),
    ]);
    expect(r.errors).toEqual([]);
    expect(r.e.rules().map((x) => [x.name, x.priority, x.condition])).toEqual([
      ['first', 'Informational', 'evt.type=execve'],
      ['second', 'Warning', 'evt.type=open'],
    ]);
  });

  it('standalone enabled and override enabled toggle rules', () => {
    const r = load([
      rule('r', 'evt.type=open'),
      '- rule: r\n  enabled: false\n  override:\n    enabled: replace\n',
    ]);
    expect(r.e.rules()[0]!.enabled).toBe(false);
    expect(r.e.process('syscall', { 'evt.type': 'open' })).toEqual([]);
  });
});

describe('exceptions', () => {
  it('are rewritten into the condition text exactly as Falco does', () => {
    const ex = (fields: string[] | string, comps: string[] | string, values: (string | string[])[]) => ({
      name: 'e',
      fields: { list: Array.isArray(fields), items: Array.isArray(fields) ? fields : [fields] },
      comps: { list: Array.isArray(comps), items: Array.isArray(comps) ? comps : [comps] },
      values,
      loc: [],
    });
    expect(
      applyExceptions('proc.cmdline contains curl', [
        ex(['proc.cmdline'], ['contains'], [['curl 127.0.0.1']]),
      ]),
    ).toBe('(proc.cmdline contains curl) and not ((proc.cmdline contains "curl 127.0.0.1"))');
    expect(applyExceptions('evt.type = open', [ex('proc.name', 'startswith oneof', ['sshd', 'sudo'])])).toBe(
      '(evt.type = open) and not (proc.name startswith oneof (sshd, sudo))',
    );
    expect(
      applyExceptions('evt.type = open', [
        ex(
          ['proc.name', 'fd.name'],
          ['in', 'startswith'],
          [
            ['my_list', '/etc/'],
            ['(a, b)', '/x'],
          ],
        ),
      ]),
    ).toBe(
      '(evt.type = open) and not ((proc.name in (my_list) and fd.name startswith /etc/) or (proc.name in (a, b) and fd.name startswith /x))',
    );
    expect(applyExceptions('x', [ex(['proc.name'], ['='], [])])).toBe('(x)');
  });

  it('suppress matching events', () => {
    const r = load(
      rule(
        'r',
        'evt.type=open',
        'WARNING',
        '  exceptions:\n    - name: names\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n      values:\n        - [cat, /etc/]\n    - name: single\n      fields: proc.pname\n      values: [sshd, "my shell"]\n',
      ),
    );
    expect(r.errors).toEqual([]);
    const n = (ev: Record<string, string>) => r.e.process('syscall', { 'evt.type': 'open', ...ev }).length;
    expect(n({ 'proc.name': 'cat', 'fd.name': '/etc/passwd' })).toBe(0);
    expect(n({ 'proc.name': 'cat', 'fd.name': '/tmp/x' })).toBe(1);
    expect(n({ 'proc.pname': 'my shell' })).toBe(0);
    expect(n({ 'proc.pname': 'bash' })).toBe(1);
  });
});

describe('event-type index and matching', () => {
  it('buckets rules by event type (and = intersection, or = union, not = complement)', () => {
    const { e } = load(
      rule('a', 'evt.type in (open, openat) and proc.name = x') +
        rule('b', '(evt.type = execve and proc.name = x) or evt.type = connect') +
        rule('c', 'evt.type = open and evt.type = execve') +
        rule('d', 'not evt.type in (open, execve) and proc.name = x', 'WARNING', '  warn_evttypes: false\n'),
    );
    const types = e.eventTypes('syscall');
    for (const t of ['open', 'openat', 'execve', 'connect', 'accept', 'read'])
      expect(types.has(t)).toBe(true);
    const fires = (t: string) =>
      e.process('syscall', { 'evt.type': t, 'proc.name': 'x' }).map((m) => m.rule.name);
    expect(fires('open')).toEqual(['a']);
    expect(fires('execve')).toEqual(['b']);
    expect(fires('connect')).toEqual(['b']);
    expect(fires('read')).toEqual(['d']);
    const only = load(rule('a', 'evt.type in (open, openat)')).e.eventTypes('syscall');
    expect([...only].sort()).toEqual(['open', 'openat']);
  });

  it('rule_matching first returns the first rule in definition order; all returns every rule', () => {
    const yaml =
      rule('one', 'evt.type=open') +
      rule('two', 'evt.type in (open, execve)') +
      rule('three', 'proc.name exists', 'WARNING', '  warn_evttypes: false\n');
    const first = engine();
    first.load([{ name: 'a', content: yaml }]);
    const all = engine({ ruleMatching: 'all' });
    all.load([{ name: 'a', content: yaml }]);
    const ev = { 'evt.type': 'open', 'proc.name': 'x' };
    expect(first.process('syscall', ev).map((m) => m.rule.name)).toEqual(['one']);
    expect(all.process('syscall', ev).map((m) => m.rule.name)).toEqual(['one', 'two', 'three']);
    expect(
      all.process('syscall', { 'evt.type': 'unknown_evt', 'proc.name': 'x' }).map((m) => m.rule.name),
    ).toEqual(['three']);
  });

  it('applies the priority threshold and rules: selection by wildcard and tag', () => {
    const yaml =
      rule('Write below etc', 'evt.type=open', 'ERROR', '  tags: [filesystem, mitre]\n') +
      rule('Read sensitive', 'evt.type=open', 'WARNING', '  tags: [filesystem]\n') +
      rule('Chatty', 'evt.type=open', 'DEBUG', '  tags: [noise]\n');
    const e = engine({ priority: 'warning', ruleMatching: 'all' });
    e.load([{ name: 'a', content: yaml }]);
    expect(e.rules().map((r) => r.name)).toEqual(['Write below etc', 'Read sensitive']);
    e.select([{ disable: { rule: '*' } }, { enable: { tag: 'mitre' } }]);
    expect(e.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual(['Write below etc']);
    e.select([{ enable: { rule: 'Read *' } }]);
    expect(e.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual([
      'Write below etc',
      'Read sensitive',
    ]);
    const s = engine({ selection: [{ disable: { tag: 'filesystem' } }], ruleMatching: 'all' });
    s.load([{ name: 'a', content: yaml }]);
    expect(s.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual(['Chatty']);
  });

  it('non-syscall sources are matched from a single bucket', () => {
    const { e } = load(
      `- rule: k\n  desc: d\n  condition: ka.verb = create and ka.target.resource in (pods)\n  output: "%ka.user.name created %ka.target.name"\n  priority: NOTICE\n  source: k8s_audit\n`,
    );
    expect(e.process('k8s_audit', { 'ka.verb': 'create', 'ka.target.resource': 'pods' }).length).toBe(1);
    expect(e.process('k8s_audit', { 'ka.verb': 'get', 'ka.target.resource': 'pods' }).length).toBe(0);
    expect(e.process('syscall', { 'ka.verb': 'create', 'ka.target.resource': 'pods' }).length).toBe(0);
  });
});

describe('output and alerts', () => {
  const ns = 1709283154832049033n;
  const ext = memoryExtractor('syscall', SYSCALL_FIELDS);
  const mk = (output: string, opts = {}) => {
    const e = createEngine({ extractors: [ext], hostname: 'h1', suggestedOutput: false, ...opts });
    const res = e.load([
      {
        name: 'a',
        content: `- rule: r\n  desc: d\n  condition: evt.type=open\n  output: ${JSON.stringify(output)}\n  priority: WARNING\n  tags: [b, a]\n`,
      },
    ]);
    if (!res.successful) throw new Error(res.toText());
    return e;
  };

  it('formats %field, %field[arg], widths, <NA> and transformers', () => {
    const e = mk(
      'user=%user.name p=%proc.aname[2] w=[%5proc.name] t=[%3proc.cmdline] na=%proc.pname low=%tolower(proc.name) list=%fd.types.',
    );
    const ev = {
      'evt.type': 'open',
      'evt.time': ns,
      'user.name': 'root',
      'proc.aname[2]': 'init',
      'proc.name': 'CAT',
      'proc.cmdline': 'cat x',
      'fd.types': ['a', 'b'],
    };
    const m = e.process('syscall', ev)[0]!;
    const a = e.toAlert(m, ev, { json_include_message_property: true });
    expect(a.message).toBe('user=root p=init w=[CAT  ] t=[cat] na=<NA> low=cat list=(a,b).');
    expect(a.output_fields).toEqual({
      'evt.time': Number(ns),
      'user.name': 'root',
      'proc.aname[2]': 'init',
      'proc.name': 'CAT',
      'proc.cmdline': 'cat x',
      'proc.pname': null,
      'fd.types': ['a', 'b'],
    });
  });

  it('builds the alert JSON as Falco does, with the json_include_* switches', () => {
    const e = mk('pid=%proc.pid ok=%evt.is_open_read');
    const ev = { 'evt.type': 'open', 'evt.time': ns, 'proc.pid': 42, 'evt.is_open_read': true };
    const m = e.process('syscall', ev)[0]!;
    const a = e.toAlert(m, ev);
    expect(a).toMatchObject({
      hostname: 'h1',
      priority: 'Warning',
      rule: 'r',
      source: 'syscall',
      tags: ['a', 'b'],
      time: '2024-03-01T08:52:34.832049033Z',
    });
    expect(a.output).toMatch(/^\d\d:\d\d:\d\d\.832049033: Warning pid=42 ok=true$/);
    expect(a.output_fields).toEqual({ 'evt.time': Number(ns), 'proc.pid': 42, 'evt.is_open_read': true });
    expect(a.message).toBeUndefined();
    const iso = e.toAlert(m, ev, {
      time_format_iso_8601: true,
      json_include_tags_property: false,
      json_include_output_property: true,
    });
    expect(iso.output).toBe('2024-03-01T08:52:34.832049033+0000: Warning pid=42 ok=true');
    expect(iso.output_fields['evt.time.iso8601']).toBe(Number(ns)); // as in Falco's golden output
    expect(iso.tags).toBeUndefined();
    const bare = e.toAlert(m, ev, {
      json_include_output_property: false,
      json_include_output_fields_property: false,
    });
    expect(bare.output).toBeUndefined();
    expect(bare.output_fields).toBeUndefined();
  });

  it('escapes control characters in the text and appends suggested container fields by default', () => {
    const e = createEngine({ extractors: [ext], hostname: 'h' });
    e.load([
      {
        name: 'a',
        content: `- rule: r\n  desc: d\n  condition: evt.type=open\n  output: "cmd=%proc.cmdline"\n  priority: INFO\n`,
      },
    ]);
    const ev = { 'evt.type': 'open', 'evt.time': ns, 'proc.cmdline': 'a\nb', 'container.id': 'host' };
    const a = e.toAlert(e.process('syscall', ev)[0]!, ev, { json_include_message_property: true });
    expect(a.message).toBe(
      'cmd=a\\nb container_id=host container_name=<NA> container_image_repository=<NA> container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>',
    );
    expect(a.output_fields['container.id']).toBe('host');
  });

  it('describe() gives the -L JSON shape', () => {
    const { e } = load(
      `- list: l\n  items: [cat]\n- macro: m\n  condition: proc.name in (l)\n${rule('r', 'evt.type=open and m')}`,
    );
    const d = e.describe() as {
      rules: { info: Record<string, unknown>; details: Record<string, unknown> }[];
      macros: unknown[];
      lists: unknown[];
    };
    expect(d.rules[0]!.info).toMatchObject({
      name: 'r',
      condition: 'evt.type=open and m',
      priority: 'Warning',
      source: 'syscall',
      enabled: true,
    });
    expect(d.rules[0]!.details).toMatchObject({
      macros: ['m'],
      lists: [],
      condition_fields: ['evt.type', 'proc.name'],
      condition_operators: ['=', 'in'],
      events: ['asyncevent', 'open'],
      condition_compiled: '(evt.type = open and proc.name in (cat))',
    });
    expect(d.macros).toHaveLength(1);
    expect(d.lists).toEqual([
      { info: { name: 'l', items: ['cat'] }, details: { used: true, items_compiled: ['cat'], plugins: [] } },
    ]);
  });
});

describe('engine-provided generic fields', () => {
  it('computes evt.dir, evt.hostname, evt.source and time fields when the extractor does not bind them', () => {
    const ns = 1709283154832049033n;
    const ext = {
      source: 'syscall',
      fields: SYSCALL_FIELDS,
      bind: (name: string) =>
        name === 'evt.type' || name === 'proc.name' ? (ev: Record<string, string>) => ev[name] : undefined,
      eventType: (ev: Record<string, string>) => ev['evt.type']!,
      timeNs: () => ns,
    };
    const e = createEngine({ extractors: [ext], hostname: 'h1', suggestedOutput: false });
    const res = e.load([
      {
        name: 'a',
        content:
          '- rule: r\n  desc: d\n  condition: evt.type=open and evt.dir = < and evt.hostname = h1\n  output: "%evt.source %evt.time.iso8601 %evt.rawtime.ns %proc.name"\n  priority: INFO\n',
      },
    ]);
    expect(res.successful).toBe(true);
    const ev = { 'evt.type': 'open', 'proc.name': 'cat' };
    const m = e.process('syscall', ev);
    expect(m).toHaveLength(1);
    const a = e.toAlert(m[0]!, ev, { json_include_message_property: true });
    expect(a.message).toBe('syscall 2024-03-01T08:52:34.832049033+0000 832049033 cat');
    // an extractor that cannot extract a field the rules use is a load error
    const bad = createEngine({ extractors: [ext], hostname: 'h1' });
    const r2 = bad.load([
      {
        name: 'b',
        content:
          '- rule: r\n  desc: d\n  condition: evt.type=open and fd.name = x\n  output: o\n  priority: INFO\n',
      },
    ]);
    expect(r2.files[0]!.errors[0]!.message).toBe('filter_check called with nonexistent field fd.name');
  });
});

describe('text sanitising and evt.dir', () => {
  it('replaces lone surrogates and treats evt.dir as always <', () => {
    const e = engine();
    e.load([
      {
        name: 'a',
        content:
          '- rule: r\n  desc: d\n  condition: evt.type=open and evt.dir = <\n  output: "n=%proc.name"\n  priority: INFO\n',
      },
    ]);
    const ev = { 'evt.type': 'open', 'proc.name': 'a\uD800b', 'evt.dir': '>' };
    const m = e.process('syscall', ev);
    expect(m).toHaveLength(1);
    expect(e.toAlert(m[0]!, ev, { json_include_message_property: true }).message).toBe('n=a\uFFFDb');
  });
});

describe('bucket order after selection', () => {
  it('a rule enabled later by a selection goes to the end of its buckets (Falco order)', () => {
    const yaml =
      rule('early', 'evt.type=open', 'WARNING', '  enabled: false\n') +
      rule('late', 'evt.type=open') +
      rule('other', 'evt.type=open');
    const e = engine();
    e.load([{ name: 'a', content: yaml }]);
    expect(e.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual(['late']);
    e.select([{ enable: { rule: 'early' } }]);
    expect(e.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual(['late']);
    e.select([{ disable: { rule: 'late' } }, { disable: { rule: 'other' } }]);
    expect(e.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual(['early']);
    expect(e.rules().map((r) => r.name)).toEqual(['early', 'late', 'other']);
  });
});
