import { describe, expect, it } from 'vitest';
import { hit, ruleEngine } from './util.js';

describe('operators', () => {
  it('compares strings', () => {
    const ev = { 'proc.name': 'bash' };
    expect(hit('proc.name = bash', ev)).toBe(true);
    expect(hit('proc.name == bash', ev)).toBe(true);
    expect(hit('proc.name = sh', ev)).toBe(false);
    expect(hit('proc.name != sh', ev)).toBe(true);
    expect(hit('proc.name != bash', ev)).toBe(false);
    expect(hit('proc.name contains as', ev)).toBe(true);
    expect(hit('proc.name contains AS', ev)).toBe(false);
    expect(hit('proc.name icontains AS', ev)).toBe(true);
    expect(hit('proc.name startswith ba', ev)).toBe(true);
    expect(hit('proc.name startswith as', ev)).toBe(false);
    expect(hit('proc.name endswith sh', ev)).toBe(true);
    expect(hit('proc.name endswith ba', ev)).toBe(false);
    expect(() => ruleEngine('proc.name < c')).toThrow(/expected a number value/);
    expect(hit('proc.name > 5', ev)).toBe(true); // strcmp order on strings
  });

  it('compares numbers, including hex values and ordering', () => {
    const ev = { 'proc.pid': 42 };
    expect(hit('proc.pid = 42', ev)).toBe(true);
    expect(hit('proc.pid = 0x2a', ev)).toBe(true);
    expect(hit('proc.pid != 42', ev)).toBe(false);
    expect(hit('proc.pid < 43', ev)).toBe(true);
    expect(hit('proc.pid <= 42', ev)).toBe(true);
    expect(hit('proc.pid > 42', ev)).toBe(false);
    expect(hit('proc.pid >= 42', ev)).toBe(true);
    expect(hit('proc.pid in (1, 42)', ev)).toBe(true);
    expect(hit('proc.pid in (1, 2)', ev)).toBe(false);
    expect(() => ruleEngine('proc.pid = abc')).toThrow(/could not parse 'abc' as a number/);
    expect(() => ruleEngine('proc.pid contains 4')).toThrow(
      /'contains' operator not supported for numeric filters/,
    );
  });

  it('compares booleans', () => {
    expect(hit('evt.is_open_read = true', { 'evt.is_open_read': true })).toBe(true);
    expect(hit('evt.is_open_read = false', { 'evt.is_open_read': true })).toBe(false);
    expect(hit('evt.is_open_read != false', { 'evt.is_open_read': true })).toBe(true);
    expect(() => ruleEngine('evt.is_open_read = yes')).toThrow(/boolean/);
    expect(() => ruleEngine('evt.is_open_read startswith t')).toThrow(/not supported for boolean filters/);
  });

  it('matches IP addresses and networks (v4 and v6)', () => {
    expect(hit('fd.sip = 10.0.0.1', { 'fd.sip': '10.0.0.1' })).toBe(true);
    expect(hit('fd.sip = 10.0.0.0/8', { 'fd.sip': '10.1.2.3' })).toBe(true);
    expect(hit('fd.sip in (192.168.0.0/16, 127.0.0.1)', { 'fd.sip': '127.0.0.1' })).toBe(true);
    expect(hit('fd.sip in (192.168.0.0/16, 127.0.0.1)', { 'fd.sip': '8.8.8.8' })).toBe(false);
    expect(hit('fd.snet = 172.16.0.0/12', { 'fd.snet': '172.20.1.1' })).toBe(true);
    expect(hit('fd.sip = ::1', { 'fd.sip': '0:0:0:0:0:0:0:1' })).toBe(true);
    expect(hit('fd.sip = fe80::/10', { 'fd.sip': 'fe80::1' })).toBe(true);
    expect(hit('fd.sip != 10.0.0.1', { 'fd.sip': '10.0.0.2' })).toBe(true);
    expect(() => ruleEngine('fd.sip = nope')).toThrow(/IP address/);
  });

  it('in / intersects use hash sets; list fields are all-of / any-of', () => {
    expect(hit('proc.name in (a, bash, c)', { 'proc.name': 'bash' })).toBe(true);
    expect(hit('proc.name in (a, c)', { 'proc.name': 'bash' })).toBe(false);
    expect(hit('proc.name intersects (bash)', { 'proc.name': 'bash' })).toBe(true);
    expect(hit('fd.types in (ipv4, file)', { 'fd.types': ['ipv4', 'file'] })).toBe(true);
    expect(hit('fd.types in (ipv4)', { 'fd.types': ['ipv4', 'file'] })).toBe(false);
    expect(hit('fd.types intersects (ipv4)', { 'fd.types': ['ipv4', 'file'] })).toBe(true);
    expect(hit('fd.types intersects (unix)', { 'fd.types': ['ipv4', 'file'] })).toBe(false);
    expect(() => ruleEngine('fd.types = ipv4')).toThrow(
      /only supports operators 'exists', 'in' and 'intersects'/,
    );
    expect(hit('proc.name in bash', { 'proc.name': 'bash' })).toBe(true); // bare identifier = one-element list
  });

  it('pmatch matches path prefixes component-wise, with globs', () => {
    const p = 'fd.name pmatch (/tmp/hello, /etc/*.d, /usr/lib)';
    expect(hit(p, { 'fd.name': '/tmp/hello' })).toBe(true);
    expect(hit(p, { 'fd.name': '/tmp/hello/x/y' })).toBe(true);
    expect(hit(p, { 'fd.name': '/tmp/hello_x' })).toBe(false);
    expect(hit(p, { 'fd.name': '/etc/cron.d/job' })).toBe(true);
    expect(hit(p, { 'fd.name': '/etc/passwd' })).toBe(false);
    expect(hit(p, { 'fd.name': '/usr/lib' })).toBe(true);
    expect(hit(p, { 'fd.name': '/usr' })).toBe(false);
  });

  it('glob and iglob behave like fnmatch without FNM_PATHNAME', () => {
    expect(hit('fd.name glob /etc/*', { 'fd.name': '/etc/a/b' })).toBe(true);
    expect(hit('fd.name glob "/etc/???.conf"', { 'fd.name': '/etc/abc.conf' })).toBe(true);
    expect(hit('fd.name glob "/etc/???.conf"', { 'fd.name': '/etc/ab.conf' })).toBe(false);
    expect(hit('fd.name glob "/dev/tty[0-9]"', { 'fd.name': '/dev/tty5' })).toBe(true);
    expect(hit('fd.name glob "/dev/tty[!0-9]"', { 'fd.name': '/dev/tty5' })).toBe(false);
    expect(hit('fd.name glob /ETC/*', { 'fd.name': '/etc/x' })).toBe(false);
    expect(hit('fd.name iglob /ETC/*', { 'fd.name': '/etc/x' })).toBe(true);
    expect(hit(`fd.name glob "${'*a'.repeat(20)}b"`, { 'fd.name': 'a'.repeat(5000) })).toBe(false);
  });

  it('regex is an RE2 full match', () => {
    expect(hit('proc.cmdline regex "curl .*"', { 'proc.cmdline': 'curl http://x' })).toBe(true);
    expect(hit('proc.cmdline regex "url"', { 'proc.cmdline': 'curl http://x' })).toBe(false);
    expect(hit('proc.cmdline regex ".*url.*"', { 'proc.cmdline': 'curl http://x' })).toBe(true);
    // catastrophic backtracking pattern for JS RegExp; RE2 stays linear
    expect(hit('proc.cmdline regex "(a+)+b"', { 'proc.cmdline': `${'a'.repeat(50000)}c` })).toBe(false);
    expect(() => ruleEngine('proc.cmdline regex "(a"')).toThrow(/invalid regular expression/);
  });

  it('bcontains and bstartswith take hex strings', () => {
    expect(hit('evt.buffer bcontains 414243', { 'evt.buffer': 'xxABCyy' })).toBe(true);
    expect(hit('evt.buffer bstartswith 4142', { 'evt.buffer': 'ABC' })).toBe(true);
    expect(hit('evt.buffer bstartswith 4243', { 'evt.buffer': 'ABC' })).toBe(false);
    expect(() => ruleEngine('evt.buffer bcontains xyz')).toThrow(/hex strings only/);
  });

  it('exists is true only when the field has a value', () => {
    expect(hit('proc.name exists', { 'proc.name': 'x' })).toBe(true);
    expect(hit('proc.name exists', {})).toBe(false);
    expect(hit('not proc.name exists', {})).toBe(true);
  });

  it('oneof / anyof / allof modifiers', () => {
    const ev = { 'proc.name': 'sshd' };
    expect(hit('proc.name startswith anyof (ss, xx)', ev)).toBe(true);
    expect(hit('proc.name startswith anyof (xx, yy)', ev)).toBe(false);
    expect(hit('proc.name startswith oneof (s, ss)', ev)).toBe(false);
    expect(hit('proc.name startswith oneof (s, xx)', ev)).toBe(true);
    expect(hit('proc.name startswith allof (s, ss, ssh)', ev)).toBe(true);
    expect(hit('proc.name startswith allof (s, x)', ev)).toBe(false);
    expect(hit('proc.name != allof (a, b)', ev)).toBe(true);
    expect(hit('proc.name != allof (a, sshd)', ev)).toBe(false);
    expect(hit('proc.name = anyof (a, sshd)', ev)).toBe(true);
  });

  it('a comparison on a field with no value is false for every operator, != included', () => {
    const conds = [
      'proc.name = x',
      'proc.name != x',
      'proc.name contains x',
      'proc.name icontains x',
      'proc.name startswith x',
      'proc.name endswith x',
      'proc.name glob *',
      'proc.name iglob *',
      'proc.name regex ".*"',
      'proc.name in (x)',
      'proc.name intersects (x)',
      'proc.name pmatch (/)',
      'proc.name startswith anyof (x)',
      'proc.name != allof (x)',
      'proc.pid = 1',
      'proc.pid != 1',
      'proc.pid < 1',
      'proc.pid > 1',
      'evt.is_open_read != true',
      'fd.sip != 1.1.1.1',
      'fd.types in (x)',
      'proc.name = val(proc.pname)',
      'tolower(proc.name) != x',
    ];
    for (const c of conds) expect(hit(c, {}), c).toBe(false);
    expect(hit('not proc.name = x', {})).toBe(true);
    expect(hit('proc.name = val(proc.pname)', { 'proc.name': 'a' })).toBe(false);
  });

  it('a field returning several values for a scalar field (ancestors) matches if any does', () => {
    expect(hit('proc.aname = sshd', { 'proc.aname': ['bash', 'sshd', 'systemd'] })).toBe(true);
    expect(hit('proc.aname = cron', { 'proc.aname': ['bash', 'sshd', 'systemd'] })).toBe(false);
    expect(hit('proc.aname[1] = bash', { 'proc.aname[1]': 'bash' })).toBe(true);
  });

  it('checks field names and arguments', () => {
    expect(() => ruleEngine('proc.nobody = x')).toThrow(
      /filter_check called with nonexistent field proc.nobody/,
    );
    expect(() => ruleEngine('proc.name[1] = x')).toThrow(/does not accept an argument/);
    expect(() => ruleEngine('proc.aname[x] = x')).toThrow(/numeric index/);
    expect(() => ruleEngine('thread.cgroup = x')).toThrow(/requires an argument/);
    expect(hit('evt.arg.flags contains O_RDWR', { 'evt.arg[flags]': 'O_RDWR|O_CREAT' })).toBe(true);
    expect(hit('evt.arg[0] = 3', { 'evt.arg[0]': '3' })).toBe(true);
    expect(hit('k8s.pod.label.app = web', { 'k8s.pod.label[app]': 'web' })).toBe(true);
    expect(
      hit('k8s.pod.label[app.kubernetes.io/name] = web', { 'k8s.pod.label[app.kubernetes.io/name]': 'web' }),
    ).toBe(true);
  });

  it('validates evt.type values', () => {
    expect(() => ruleEngine('evt.type = not_an_event')).toThrow(/unknown event type not_an_event/);
    expect(hit('evt.type in (open, openat)', {})).toBe(true);
    expect(() => ruleEngine('toupper(evt.type) = OPEN')).toThrow(
      /does not support `evt.type` checks with transformers/,
    );
    expect(() => ruleEngine('evt.type = val(proc.name)')).toThrow(
      /does not support `evt.type` checks against other fields/,
    );
  });
});

describe('transformers', () => {
  it('tolower / toupper / basename / b64 / len / join / concat', () => {
    expect(hit('tolower(proc.name) = bash', { 'proc.name': 'BaSh' })).toBe(true);
    expect(hit('toupper(proc.name) = BASH', { 'proc.name': 'bash' })).toBe(true);
    expect(hit('basename(proc.exepath) = ls', { 'proc.exepath': '/usr/bin/ls' })).toBe(true);
    expect(hit('basename(proc.exepath) = ""', { 'proc.exepath': '/usr/bin/' })).toBe(true);
    expect(hit('tolower(basename(proc.exepath)) = ls', { 'proc.exepath': '/usr/bin/LS' })).toBe(true);
    expect(hit('b64(proc.name) = hello', { 'proc.name': 'aGVsbG8' })).toBe(true);
    expect(hit('len(proc.name) = 4', { 'proc.name': 'bash' })).toBe(true);
    expect(hit('len(proc.name) > 10', { 'proc.name': 'bash' })).toBe(false);
    expect(hit('len(fd.types) = 2', { 'fd.types': ['a', 'b'] })).toBe(true);
    expect(hit('join(",", fd.types) = "a,b"', { 'fd.types': ['a', 'b'] })).toBe(true);
    expect(hit('concat(proc.name, "-", proc.pname) = a-b', { 'proc.name': 'a', 'proc.pname': 'b' })).toBe(
      true,
    );
    expect(hit('concat(proc.name, proc.pname) = ab', { 'proc.name': 'a' })).toBe(false);
  });

  it('val() and transformers compare fields to fields', () => {
    expect(hit('proc.name = val(proc.pname)', { 'proc.name': 'a', 'proc.pname': 'a' })).toBe(true);
    expect(hit('proc.name != val(proc.pname)', { 'proc.name': 'a', 'proc.pname': 'b' })).toBe(true);
    expect(hit('proc.name = toupper(proc.pname)', { 'proc.name': 'A', 'proc.pname': 'a' })).toBe(true);
    expect(hit('proc.pid > val(proc.ppid)', { 'proc.pid': 10, 'proc.ppid': 1 })).toBe(true);
    expect(() => ruleEngine('proc.name = val(proc.pid)')).toThrow(/incompatible type/);
  });

  it('rejects transformers on the wrong field types', () => {
    expect(() => ruleEngine('tolower(proc.pid) = 1')).toThrow(/does not support field type/);
    expect(() => ruleEngine('join(",") = x')).toThrow(/expects 2 argument/);
    expect(() => ruleEngine('getopt(proc.args, "a:") = x')).toThrow(/transformer 'getopt' is not supported/);
  });
});

describe('precedence at evaluation', () => {
  it('not binds tighter than and, and tighter than or', () => {
    const ev = { 'proc.name': 'a', 'proc.pname': 'b' };
    expect(hit('not proc.name = a and proc.pname = b', ev)).toBe(false);
    expect(hit('not (proc.name = x and proc.pname = b)', ev)).toBe(true);
    expect(hit('proc.name = x and proc.pname = x or proc.name = a', ev)).toBe(true);
    expect(hit('proc.name = x and (proc.pname = x or proc.name = a)', ev)).toBe(false);
  });
});
