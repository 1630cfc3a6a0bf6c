import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, INSTALL_ROOT, loadConfig, setPath } from '../../../src/agent/config.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function cfgFile(text: string): string {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

describe('agent config', () => {
  it('the shipped default config loads without warnings and points at our rules', () => {
    const warnings: string[] = [];
    const c = loadConfig({ warn: (w) => warnings.push(w), env: {} });
    expect(warnings).toEqual([]);
    expect(c.rules_files).toEqual([
      join(INSTALL_ROOT, 'rules/syscall_rules.yaml'),
      join(INSTALL_ROOT, 'rules/k8s_audit_rules.yaml'),
    ]);
    expect(c.syscall.enabled).toBe('auto');
    expect(c.webserver.listen_port).toBe(8765);
    expect(c.k8s_audit.listen_port).toBe(9765);
    expect(c.k8s_audit.endpoint).toBe('/k8s-audit');
    expect(c.k8s_audit.maxEventSize).toBe(262144);
    expect(c.k8s_audit.webhookMaxBatchSize).toBe(12 * 1024 * 1024);
    expect(c.json_output).toBe(true);
    expect(c.priority).toBe(7);
  });

  it('falls back to Falco defaults for absent keys', () => {
    const c = loadConfig({ file: cfgFile('{}\n'), env: {} });
    expect(c.json_output).toBe(false);
    expect(c.stdout_output.enabled).toBe(true);
    expect(c.syslog_output.enabled).toBe(true);
    expect(c.http_output.user_agent).toBe('falcosecurity/falco');
    expect(c.outputs_queue.capacity).toBe(0);
    expect(c.webserver.prometheus_metrics_enabled).toBe(false);
    expect(c.rule_matching).toBe('first');
  });

  it('reads falco.yaml keys and types', () => {
    const c = loadConfig({
      file: cfgFile(
        [
          'rules_files: [/etc/falco/a.yaml, /etc/falco/rules.d]',
          'priority: warning',
          'rule_matching: all',
          'json_output: true',
          'file_output: {enabled: true, keep_alive: true, filename: /tmp/x.json}',
          'http_output: {enabled: true, url: "https://relay:2801/", mtls: true, compress_uploads: true}',
          'outputs_queue: {capacity: 10}',
          'cluster_name: prod-eu',
          'webserver: {listen_port: 18765, threadiness: 0}',
        ].join('\n'),
      ),
      env: {},
    });
    expect(c.rules_files).toEqual(['/etc/falco/a.yaml', '/etc/falco/rules.d']);
    expect(c.priority).toBe(4);
    expect(c.rule_matching).toBe('all');
    expect(c.file_output).toEqual({ enabled: true, keep_alive: true, filename: '/tmp/x.json' });
    expect(c.http_output.mtls).toBe(true);
    expect(c.http_output.url).toBe('https://relay:2801/');
    expect(c.outputs_queue.capacity).toBe(10);
    expect(c.cluster_name).toBe('prod-eu');
    expect(c.webserver.listen_port).toBe(18765);
  });

  it('warns on unknown keys and on Falco keys it ignores', () => {
    const warnings: string[] = [];
    loadConfig({
      file: cfgFile('stdout_outptu: {enabled: true}\nfile_output: {colour: red}\nmetrics: {enabled: true}\n'),
      env: {},
      warn: (w) => warnings.push(w),
    });
    expect(warnings).toEqual([
      "unknown configuration key 'stdout_outptu' (ignored)",
      "unknown configuration key 'file_output.colour' (ignored)",
      "falco.yaml key 'metrics' is not supported by peregrine (ignored)",
    ]);
  });

  it('fails on a wrong type naming the key path', () => {
    expect(() => loadConfig({ file: cfgFile('http_output: {insecure: "yes"}\n'), env: {} })).toThrow(
      'http_output.insecure: expected a boolean (true/false), got string',
    );
    expect(() => loadConfig({ file: cfgFile('outputs_queue: {capacity: -1}\n'), env: {} })).toThrow(
      /outputs_queue\.capacity: expected a non-negative integer/,
    );
    expect(() => loadConfig({ file: cfgFile('priority: loud\n'), env: {} })).toThrow(
      /priority: unknown priority 'loud'/,
    );
    expect(() => loadConfig({ file: cfgFile('webserver: 5\n'), env: {} })).toThrow(
      /webserver: expected a mapping/,
    );
    expect(() => loadConfig({ file: cfgFile('rules_files: [1, 2]\n'), env: {} })).toThrow(
      /rules_files: expected a list of strings/,
    );
    expect(() => loadConfig({ file: cfgFile('a: [\n'), env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(/cannot read config file/);
  });

  it('applies env overrides, then -o, then -r', () => {
    const file = cfgFile('rules_files: [/a.yaml]\nhttp_output: {url: "http://x/"}\n');
    const c = loadConfig({
      file,
      env: {
        PEREGRINE_HTTP_OUTPUT__URL: 'http://from-env:2801/',
        PEREGRINE_OUTPUTS_QUEUE__CAPACITY: '50',
        PEREGRINE_CLUSTER_NAME: '1234',
        PEREGRINE_STDOUT_OUTPUT__ENABLED: 'false',
      },
      overrides: [
        'file_output.filename=/tmp/a.json',
        'outputs_queue.capacity=7',
        'k8s_audit.listen_port=19765',
      ],
      rules: ['/r1.yaml', '/r2.yaml'],
    });
    expect(c.http_output.url).toBe('http://from-env:2801/');
    expect(c.outputs_queue.capacity).toBe(7);
    expect(c.cluster_name).toBe('1234');
    expect(c.stdout_output.enabled).toBe(false);
    expect(c.file_output.filename).toBe('/tmp/a.json');
    expect(c.k8s_audit.listen_port).toBe(19765);
    expect(c.rules_files).toEqual(['/r1.yaml', '/r2.yaml']);
    expect(() => loadConfig({ file, env: {}, overrides: ['stdout_output.enabled=maybe'] })).toThrow(
      /stdout_output\.enabled: expected a boolean/,
    );
    expect(() => loadConfig({ file, env: {}, overrides: ['novalue'] })).toThrow(/-o expects key.path=value/);
    const warnings: string[] = [];
    loadConfig({ file, env: {}, overrides: ['stdout_output.enabeld=false'], warn: (w) => warnings.push(w) });
    expect(warnings).toEqual(['-o stdout_output.enabeld: unknown configuration key (ignored)']);
  });

  it('-o appends to lists with [] and expands environment references', () => {
    const c = loadConfig({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax under test
      file: cfgFile('rules_files: [/a.yaml]\nfile_output: {filename: "${LOGDIR}/alerts.json"}\n'),
      env: { LOGDIR: '/var/log/peregrine' },
      overrides: ['rules_files[]=/b.yaml'],
    });
    expect(c.rules_files).toEqual(['/a.yaml', '/b.yaml']);
    expect(c.file_output.filename).toBe('/var/log/peregrine/alerts.json');
    const t: Record<string, unknown> = {};
    setPath(t, 'a.b[1].c', 5);
    expect(t).toEqual({ a: { b: [undefined, { c: 5 }] } });
  });

  it('reads a falco.yaml k8saudit plugin entry into k8s_audit', () => {
    const c = loadConfig({
      file: cfgFile(
        [
          'plugins:',
          '  - name: k8saudit',
          '    library_path: libk8saudit.so',
          '    init_config: {maxEventSize: 1000, webhookMaxBatchSize: 5000, sslCertificate: /etc/falco/k.pem}',
          '    open_params: "https://:9443/audit"',
          '  - name: json',
          '    library_path: libjson.so',
          'load_plugins: [k8saudit, json]',
        ].join('\n'),
      ),
      env: {},
    });
    expect(c.k8s_audit).toMatchObject({
      enabled: true,
      listen_port: 9443,
      endpoint: '/audit',
      ssl_enabled: true,
      ssl_certificate: '/etc/falco/k.pem',
      maxEventSize: 1000,
      webhookMaxBatchSize: 5000,
    });
  });

  it('semantic checks: ports, URLs, endpoints', () => {
    expect(() => loadConfig({ file: cfgFile('webserver: {listen_port: 70000}\n'), env: {} })).toThrow(
      /webserver.listen_port: port 70000 is out of range/,
    );
    expect(() =>
      loadConfig({ file: cfgFile('http_output: {enabled: true, url: "relay:2801"}\n'), env: {} }),
    ).toThrow(/http_output.url: expected an http/);
    expect(() => loadConfig({ file: cfgFile('k8s_audit: {endpoint: audit}\n'), env: {} })).toThrow(
      /k8s_audit.endpoint: must start with/,
    );
  });

  it("reads falco.yaml's rules: enable/disable selection and checks its shape", () => {
    const c = loadConfig({
      file: cfgFile('rules:\n  - disable: {tag: noisy}\n  - enable: {rule: "Namespace*"}\n'),
      env: {},
    });
    expect(c.rules).toEqual([{ disable: { tag: 'noisy' } }, { enable: { rule: 'Namespace*' } }]);
    expect(() => loadConfig({ file: cfgFile('rules:\n  - drop: {rule: x}\n'), env: {} })).toThrow(
      "rules[0]: expected exactly one of 'enable' or 'disable', got drop",
    );
    expect(() => loadConfig({ file: cfgFile('rules:\n  - disable: {rule: 5}\n'), env: {} })).toThrow(
      'rules[0].disable.rule: expected a string',
    );
  });
});

describe('agent config: syscall source switch', () => {
  it('accepts auto, true and false, from YAML and from -o', () => {
    expect(loadConfig({ env: {}, overrides: ['syscall.enabled=false'] }).syscall.enabled).toBe(false);
    expect(loadConfig({ env: {}, overrides: ['syscall.enabled=true'] }).syscall.enabled).toBe(true);
    expect(loadConfig({ env: {}, overrides: ['syscall.enabled=auto'] }).syscall.enabled).toBe('auto');
  });
  it('rejects anything else with the key path', () => {
    expect(() => loadConfig({ env: {}, overrides: ['syscall.enabled=sometimes'] })).toThrow(
      /syscall\.enabled/,
    );
  });
});
