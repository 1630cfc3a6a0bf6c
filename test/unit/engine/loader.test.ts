import { describe, expect, it } from 'vitest';
import { load } from './util.js';

const RULE = (name: string, cond = 'evt.type = open', extra = '') => `
- rule: ${name}
  desc: d
  condition: ${cond}
  output: o %proc.name
  priority: WARNING
${extra}`;

describe('load errors (code, message, position)', () => {
  it('LOAD_ERR_YAML_PARSE on broken YAML', () => {
    const { error } = load('this : is : not : yaml');
    expect(error?.code).toBe('LOAD_ERR_YAML_PARSE');
    expect(error?.message).toMatch(/^yaml: error at line 1, column \d+: /);
  });

  it('LOAD_ERR_YAML_VALIDATE for document shapes', () => {
    expect(load('This is not yaml').error?.message).toBe('Rules content is not yaml');
    expect(load('foo: bar').error?.message).toBe('Rules content is not yaml array of objects');
    const e = load('- foo').error!;
    expect(e.message).toBe('Unexpected element type. Each element should be a yaml associative array.');
    expect(e.context.locations.map((l) => l.item_type)).toEqual(['rules content', 'rules content item']);
  });

  it('LOAD_ERR_YAML_VALIDATE for missing / empty keys, with the item position (0-based, as Falco)', () => {
    const e = load(`# comment\n- rule: no output\n  desc: d\n  condition: evt.type=open\n  priority: INFO\n`)
      .error!;
    expect(e.code).toBe('LOAD_ERR_YAML_VALIDATE');
    expect(e.message).toBe("Item has no mapping for key 'output'");
    const loc = e.context.locations[1]!;
    expect(loc).toMatchObject({
      item_type: 'rule',
      item_name: 'no output',
      position: { name: 'f0.yaml', line: 1, column: 2 },
    });
    expect(e.context.snippet).toBe('- rule: no output\n  ^\n');
    expect(load('- list: l\n').error?.message).toBe("Item has no mapping for key 'items'");
    expect(load('- macro: m\n').error?.message).toBe("Item has no mapping for key 'condition'");
    expect(load('- rule:\n  condition: x\n').error?.message).toBe("Mapping for key 'rule' is empty");
    expect(load(RULE('r').replace('WARNING', 'LOUD')).error?.message).toBe('Invalid priority');
    expect(load(RULE('r', 'evt.type=open', '  enabled: maybe')).error?.message).toBe(
      "Can't decode YAML scalar value",
    );
  });

  it('LOAD_ERR_COMPILE_CONDITION with a position inside the condition', () => {
    const e = load(RULE('r', 'evt.type=open and proc.name ~ x')).error!;
    expect(e.code).toBe('LOAD_ERR_COMPILE_CONDITION');
    expect(e.message).toMatch(/expected a valid check operator/);
    const locs = e.context.locations;
    expect(locs.map((l) => l.item_type)).toEqual([
      'rules content',
      'rule',
      'rule condition',
      'condition expression',
    ]);
    expect(locs[2]!.position).toMatchObject({ line: 3, column: 13 });
    expect(locs[3]!.position).toMatchObject({ name: '"evt.type=open and..."', line: 1, column: 29 });
    expect(e.context.snippet).toBe('evt.type=open and proc.name ~ x\n                            ^\n');
    expect(load(RULE('r', 'evt.type=open and proc.nobody=x')).error?.message).toBe(
      'filter_check called with nonexistent field proc.nobody',
    );
  });

  it('LOAD_ERR_COMPILE_OUTPUT for a bad output token', () => {
    const e = load(RULE('r').replace('o %proc.name', 'o %not_a_real_field')).error!;
    expect(e.code).toBe('LOAD_ERR_COMPILE_OUTPUT');
    expect(e.message).toBe('invalid formatting token not_a_real_field');
    expect(load(RULE('r').replace('o %proc.name', 'o %fd.cnet')).error?.message).toMatch(
      /can only be used in filters/,
    );
  });

  it('LOAD_ERR_VALIDATE: undefined macro, loops, dangling appends, engine and plugin versions', () => {
    const u = load(RULE('r', 'evt.type=open and nope')).error!;
    expect(u.code).toBe('LOAD_ERR_VALIDATE');
    expect(u.message).toBe("Undefined macro 'nope' used in filter.");
    expect(u.context.locations.at(-1)!.position).toMatchObject({ line: 1, column: 19 });
    const loop = load(
      '- macro: a\n  condition: evt.type=open\n- macro: b\n  condition: a\n- macro: a\n  condition: b\n',
    ).error!;
    expect(loop.code).toBe('LOAD_ERR_VALIDATE');
    expect(loop.message).toMatch(/reference loop in macro/);
    // a macro only sees macros defined before it: forward references are undefined
    expect(load('- macro: a\n  condition: b\n- macro: b\n  condition: evt.type=open\n').error?.message).toBe(
      "Undefined macro 'b' used in filter.",
    );
    expect(load('- list: l\n  items: [a]\n  append: true\n').error?.message).toBe(
      "List uses 'append' or 'override.items: append' but no list by that name already exists",
    );
    expect(load('- macro: m\n  condition: and x\n  append: true\n').error?.message).toMatch(
      /Macro uses 'append'/,
    );
    expect(load('- rule: r\n  condition: and x\n  append: true\n').error?.message).toMatch(
      /Rule uses 'append'/,
    );
    expect(load(RULE('r') + '- rule: r\n  append: true\n').error?.message).toBe(
      'Appended rule must have exceptions or condition property',
    );
    expect(load('- rule: r\n  enabled: false\n').error?.message).toBe(
      "Rule has 'enabled' key but no rule by that name already exists",
    );
    const v = load('- required_engine_version: 9999999\n').error!;
    expect(v.code).toBe('LOAD_ERR_VALIDATE');
    expect(v.message).toBe('Rules require engine version 0.9999999.0, but engine version is 0.63.0');
    expect(load('- required_engine_version: 0.63.0\n').errors).toEqual([]);
    expect(load('- required_engine_version: 0.64.0\n').error?.code).toBe('LOAD_ERR_VALIDATE');
    expect(load('- required_engine_version: 1.x\n').error?.message).toMatch(/Unable to parse engine version/);
    const p = load('- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.1.0\n').error!;
    expect(p.code).toBe('LOAD_ERR_VALIDATE');
    expect(p.message).toBe('Plugin requirement not satisfied, must load one of: cloudtrail (>= 0.1.0)');
    expect(
      load(
        '- required_plugin_versions:\n  - name: k8saudit\n    version: 0.7.0\n    alternatives:\n      - name: k8saudit-eks\n        version: 0.2.0\n  - name: json\n    version: 0.7.0\n  - name: container\n    version: 0.4.0\n',
      ).errors,
    ).toEqual([]);
    expect(load('- required_plugin_versions:\n  - name: k8saudit\n    version: 1.0.0\n').error?.code).toBe(
      'LOAD_ERR_VALIDATE',
    );
    expect(
      load(RULE('r') + RULE('r').replace('priority: WARNING', 'priority: WARNING\n  source: k8s_audit')).error
        ?.message,
    ).toBe('Rule has been re-defined with a different source');
  });

  it('LOAD_ERR_VALIDATE for exception problems', () => {
    const ex = (body: string) => load(RULE('r', 'evt.type=open', `  exceptions:\n${body}`)).error;
    expect(ex('    - name: e\n      fields: [not.exist]\n      values: [[a]]\n')?.message).toBe(
      "'not.exist' is not a supported filter field",
    );
    expect(ex('    - name: e\n      fields: [proc.name]\n      comps: [no-comp]\n')?.message).toBe(
      "'no-comp' is not a supported comparison operator",
    );
    expect(ex('    - name: e\n      fields: [proc.name, proc.pname]\n      comps: [=]\n')?.message).toBe(
      'Fields and comps lists must have equal length',
    );
    expect(ex('    - name: e\n      fields: [proc.name, proc.pname]\n      values: [[a]]\n')?.message).toBe(
      'Fields and values lists must have equal length',
    );
    expect(ex('    - name: e\n      fields: proc.name\n      comps: [in]\n')?.message).toBe(
      'Fields and comps must both be strings',
    );
    expect(ex('    - name: e\n      values: [a]\n')?.message).toBe("Item has no mapping for key 'fields'");
    expect(ex('    - fields: [proc.name]\n')?.message).toBe("Item has no mapping for key 'name'");
    expect(ex('    foo: bar\n')?.message).toBe('Rule exceptions must be a sequence');
    const app = load(
      RULE(
        'r',
        'evt.type=open',
        '  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]\n',
      ) +
        '- rule: r\n  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[b]]\n  override:\n    exceptions: append\n',
    ).error;
    expect(app?.message).toBe('Can not append exception fields to existing exception, only values');
  });

  it('LOAD_ERR_YAML_VALIDATE for override misuse', () => {
    const base = RULE('r');
    expect(
      load(base + '- rule: r\n  condition: and x\n  override:\n    condition: merge\n').error?.message,
    ).toBe("Invalid override operation for key 'condition': 'merge'. Allowed values are: append replace");
    expect(
      load(base + '- rule: r\n  priority: INFO\n  override:\n    priority: append\n').error?.message,
    ).toBe("Key 'priority' cannot be appended to, use 'replace' instead");
    expect(
      load(base + '- rule: r\n  source: k8s_audit\n  override:\n    source: replace\n').error?.message,
    ).toBe("Key 'source' cannot be replaced");
    expect(load(base + '- rule: r\n  override:\n    condition: append\n').error?.message).toBe(
      "An append override for 'condition' was specified but 'condition' is not defined",
    );
    expect(
      load(base + '- rule: r\n  condition: and x\n  desc: y\n  override:\n    condition: append\n').error
        ?.message,
    ).toBe("Unexpected key 'desc': no corresponding entry under 'override' is defined.");
    expect(
      load(base + '- rule: r\n  condition: and x\n  append: true\n  override:\n    condition: append\n').error
        ?.message,
    ).toMatch(/cannot be used together/);
    expect(load('- rule: r\n  condition: x\n  override:\n    condition: replace\n').error?.message).toMatch(
      /no rule by that name already exists/,
    );
  });

  it('stops at the first failing file and keeps the previous rules', () => {
    const { e } = load(RULE('good'));
    expect(e.rules().map((r) => r.name)).toEqual(['good']);
    const res = e.load([
      { name: 'a.yaml', content: RULE('other') },
      { name: 'b.yaml', content: RULE('bad', 'evt.type=open and (') },
      { name: 'c.yaml', content: RULE('never') },
    ]);
    expect(res.successful).toBe(false);
    expect(res.files.map((f) => [f.name, f.successful])).toEqual([
      ['a.yaml', true],
      ['b.yaml', false],
    ]);
    expect(e.rules().map((r) => r.name)).toEqual(['good']);
    expect(e.process('syscall', { 'evt.type': 'open' }).map((m) => m.rule.name)).toEqual(['good']);
  });
});

describe('load warnings', () => {
  it('LOAD_UNKNOWN_SOURCE skips the rule', () => {
    const r = load(RULE('r', 'x', '  source: aws_cloudtrail'));
    expect(r.codes).toEqual(['LOAD_UNKNOWN_SOURCE']);
    expect(r.warnings[0]!.message).toBe('Unknown source aws_cloudtrail, skipping');
    expect(r.e.rules()).toEqual([]);
  });

  it('LOAD_UNSAFE_NA_CHECK for ka./jevt. fields compared with <NA>', () => {
    const r = load(
      RULE('r', 'ka.user.name = "<NA>"', '  source: k8s_audit').replace('%proc.name', '%ka.user.name'),
    );
    expect(r.codes).toContain('LOAD_UNSAFE_NA_CHECK');
    expect(load(RULE('r', 'evt.type=open and proc.name = "<NA>"')).codes).not.toContain(
      'LOAD_UNSAFE_NA_CHECK',
    );
  });

  it('LOAD_NO_EVTTYPE over 100 event types unless warn_evttypes is false; not for empty sets', () => {
    expect(load(RULE('r', 'proc.name = foo')).codes).toEqual(['LOAD_NO_EVTTYPE']);
    expect(load(RULE('r', 'evt.type != execve')).codes).toEqual(['LOAD_NO_EVTTYPE']);
    expect(load(RULE('r', 'proc.name = foo', '  warn_evttypes: false')).codes).toEqual([]);
    expect(load(RULE('r', 'evt.num = 0')).codes).toEqual([]);
    expect(load(RULE('r', 'evt.type = execve and proc.name != foo')).codes).toEqual([]);
  });

  it('LOAD_UNKNOWN_FILTER with skip-if-unknown-filter', () => {
    const r = load(RULE('r', 'evt.type=open and proc.nobody=cat', '  skip-if-unknown-filter: true'));
    expect(r.errors).toEqual([]);
    expect(r.codes).toEqual(['LOAD_UNKNOWN_FILTER']);
    expect(r.e.rules()).toEqual([]);
    const o = load(
      RULE('r', 'evt.type=open', '  skip-if-unknown-filter: true').replace('o %proc.name', 'o %nope.field'),
    );
    expect(o.codes).toEqual(['LOAD_UNKNOWN_FILTER']);
  });

  it('LOAD_UNUSED_MACRO / LOAD_UNUSED_LIST', () => {
    const r = load('- list: l\n  items: [a]\n- macro: m\n  condition: proc.name=a\n' + RULE('r'));
    expect(r.codes.sort()).toEqual(['LOAD_UNUSED_LIST', 'LOAD_UNUSED_MACRO']);
    expect(r.warnings.find((w) => w.code === 'LOAD_UNUSED_MACRO')!.message).toBe(
      'Macro not referred to by any other rule/macro',
    );
  });

  it('LOAD_UNKNOWN_ITEM and LOAD_UNKNOWN_KEY', () => {
    expect(load('- foo: bar\n').codes).toEqual(['LOAD_UNKNOWN_ITEM']);
    const k = load(RULE('r', 'evt.type=open', '  prority: INFO'));
    expect(k.codes).toEqual(['LOAD_UNKNOWN_KEY']);
    expect(k.warnings[0]!.message).toBe("Unknown key 'prority'. The key will be ignored.");
  });

  it('LOAD_DEPRECATED_ITEM: append key, standalone enabled, %container.info, evt.dir', () => {
    expect(load(RULE('r') + '- rule: r\n  condition: and proc.name=x\n  append: true\n').codes).toEqual([
      'LOAD_DEPRECATED_ITEM',
    ]);
    expect(load(RULE('r') + '- rule: r\n  enabled: false\n').codes).toEqual(['LOAD_DEPRECATED_ITEM']);
    const ci = load(RULE('r').replace('o %proc.name', 'o %proc.name %container.info'));
    expect(ci.codes).toEqual(['LOAD_DEPRECATED_ITEM']);
    const d = load(RULE('r', 'evt.type=open and evt.dir = <'));
    expect(d.codes).toEqual(['LOAD_DEPRECATED_ITEM']);
    expect(d.warnings[0]!.deprecated_field).toBe('evt.dir');
  });

  it('LOAD_APPEND_NO_VALUES and LOAD_EXCEPTION_NAME_NOT_UNIQUE', () => {
    const base = RULE(
      'r',
      'evt.type=open',
      '  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]\n',
    );
    expect(
      load(base + '- rule: r\n  exceptions:\n    - name: e\n  override:\n    exceptions: append\n').codes,
    ).toEqual(['LOAD_APPEND_NO_VALUES']);
    const dup = RULE(
      'r',
      'evt.type=open',
      '  exceptions:\n    - name: e\n      fields: proc.name\n    - name: e\n      fields: proc.pname\n',
    );
    expect(load(dup).codes).toEqual(['LOAD_EXCEPTION_NAME_NOT_UNIQUE']);
  });

  it('LOAD_INVALID_MACRO_NAME / LOAD_INVALID_LIST_NAME', () => {
    expect(load('- macro: "1bad"\n  condition: proc.name=a\n' + RULE('r', 'evt.type=open')).codes).toContain(
      'LOAD_INVALID_MACRO_NAME',
    );
    expect(load('- list: "a,b"\n  items: [x]\n' + RULE('r')).codes).toContain('LOAD_INVALID_LIST_NAME');
  });

  it('LOAD_COMPILE_CONDITION: field misused as a constant, simple regex', () => {
    const r = load(RULE('r', 'evt.type=open and proc.name = proc.pname'));
    expect(r.codes).toEqual(['LOAD_COMPILE_CONDITION']);
    expect(r.warnings[0]!.message).toBe("'proc.pname' may be a valid field misused as a const string value");
    expect(load(RULE('r', 'evt.type=open and proc.name regex bash')).warnings[0]?.message).toMatch(
      /may be optimized with simpler operators/,
    );
    expect(load(RULE('r', `evt.type=open and proc.name = 'tolower(proc.pname)'`)).warnings[0]?.message).toBe(
      "'tolower(proc.pname)' may be a valid field transformer misused as a const string value",
    );
  });
});

describe('result forms', () => {
  it('text and falco_load_results JSON', () => {
    const r = load(RULE('r', 'evt.type=open and (')).res;
    const text = r.toText();
    expect(text.split('\n')[0]).toBe('f0.yaml: Invalid');
    expect(text).toContain('1 Errors:');
    expect(text).toContain('In rules content: (f0.yaml:0:0)');
    expect(text).toContain("    rule 'r': (f0.yaml:1:2)");
    expect(text).toMatch(/LOAD_ERR_COMPILE_CONDITION \(Error compiling condition\): /);
    const json = r.toJSON();
    expect(json.falco_load_results[0]).toMatchObject({ name: 'f0.yaml', successful: false });
    expect(json.falco_load_results[0]!.errors[0]).toMatchObject({
      code: 'LOAD_ERR_COMPILE_CONDITION',
      codedesc: 'Error compiling condition',
    });
    const ok = load(RULE('r')).res;
    expect(ok.toText()).toBe('f0.yaml: Ok');
    const warned = load(RULE('r', 'proc.name=x')).res;
    expect(warned.toText(false)).toBe('f0.yaml: Ok, with warnings');
    expect(warned.toJSON().falco_load_results[0]!.warnings[0]!.codedesc).toMatch(/too many evt.type values/);
  });
});

describe('YAML details', () => {
  it('reads aliases as their anchored values', () => {
    const r = load(
      `- list: shells\n  items: &sh [bash, sh]\n- list: more\n  items: *sh\n- macro: m\n  condition: proc.name in (shells, more)\n- rule: r\n  desc: &d a description\n  condition: evt.type=execve and m\n  output: *d\n  priority: INFO\n`,
    );
    expect(r.errors).toEqual([]);
    expect(r.e.rules()[0]!.output).toBe('a description');
    expect(r.e.process('syscall', { 'evt.type': 'execve', 'proc.name': 'sh' })).toHaveLength(1);
  });

  it('accepts several documents and skips empty ones and null items', () => {
    const r = load(
      `---\n---\n- rule: a\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n-\n---\n- rule: b\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n`,
    );
    expect(r.errors).toEqual([]);
    expect(r.e.rules().map((x) => x.name)).toEqual(['a', 'b']);
  });
});

describe('YAML alias bombs', () => {
  it('stop with a load error instead of exhausting memory', () => {
    let y = '- list: l0\n  items: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i <= 12; i++)
      y += `- list: l${i}\n  items: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const t0 = performance.now();
    const r = load(y);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.error?.code).toBe('LOAD_ERR_YAML_VALIDATE');
  });
});
