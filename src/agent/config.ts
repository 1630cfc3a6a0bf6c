/**
 * Agent configuration: falco.yaml key names for everything peregrine implements,
 * plus peregrine's own keys (`cluster_name`, `k8s_audit`). Sources, lowest
 * precedence first: built-in defaults, the YAML file, environment variables
 * (`PEREGRINE_<PATH>`, dots written as `__`), `-o key.path=value`, `-r` rules.
 *
 * Unknown keys produce warnings; a value of the wrong type fails with the key's
 * full path. Falco keys that peregrine accepts but does not act on are listed in
 * IGNORED_FALCO_KEYS and warn as such.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { parseDocument, parse as parseYaml } from 'yaml';
import { type PriorityLevel, parsePriority } from '../alert/priority.js';
import type { RuleSelection } from '../engine/api.js';

export interface FileOutputConfig {
  enabled: boolean;
  keep_alive: boolean;
  filename: string;
}
export interface ProgramOutputConfig {
  enabled: boolean;
  keep_alive: boolean;
  program: string;
}
export interface HttpOutputConfig {
  enabled: boolean;
  url: string;
  user_agent: string;
  insecure: boolean;
  ca_cert: string;
  ca_bundle: string;
  ca_path: string;
  mtls: boolean;
  client_cert: string;
  client_key: string;
  compress_uploads: boolean;
  keep_alive: boolean;
  echo: boolean;
  /** peregrine: attempts after the first on 5xx or connection errors. */
  max_retries: number;
  /** peregrine: per-request timeout in ms. */
  timeout_ms: number;
  /** peregrine: requests in flight at once (1 = strictly in order, as Falco). */
  concurrency: number;
}
export interface SyslogOutputConfig {
  enabled: boolean;
  /** peregrine: local socket (default /dev/log) … */
  socket: string;
  /** … or a remote syslog server `host:port` (UDP). Empty = local socket. */
  server: string;
}
export interface WebserverConfig {
  enabled: boolean;
  listen_address: string;
  listen_port: number;
  k8s_healthz_endpoint: string;
  prometheus_metrics_enabled: boolean;
  ssl_enabled: boolean;
  ssl_certificate: string;
}
export interface SyscallConfig {
  /** `auto` (default): on when running as root with BPF and the collector available; else says why. */
  enabled: 'auto' | boolean;
  /** Docker-compatible API socket for container metadata; empty = first of the usual paths that exists. */
  container_socket: string;
  /** Collector binary; empty = collector/build/peregrine-collector (or PEREGRINE_COLLECTOR). */
  collector: string;
  /** Ring buffer size in MiB; 0 = the collector's default. */
  ringbuf_mb: number;
  /** How often the collector's buffer is drained, in ms (latency vs CPU). */
  poll_ms: number;
  /** Process table cap; 0 = the default. */
  max_processes: number;
}

export interface K8sAuditConfig {
  enabled: boolean;
  listen_address: string;
  listen_port: number;
  endpoint: string;
  maxEventSize: number;
  webhookMaxBatchSize: number;
  ssl_enabled: boolean;
  /** PEM with certificate and key concatenated (k8saudit plugin semantics) or the certificate alone. */
  ssl_certificate: string;
  /** Optional separate private key; empty = the key is in ssl_certificate. */
  ssl_key: string;
  /** When non-empty, requests must carry `Authorization: Bearer <token>`. */
  bearer_token: string;
}

export interface AgentConfig {
  rules_files: string[];
  priority: PriorityLevel;
  rule_matching: 'first' | 'all';
  json_output: boolean;
  json_include_output_property: boolean;
  json_include_tags_property: boolean;
  json_include_message_property: boolean;
  json_include_output_fields_property: boolean;
  time_format_iso_8601: boolean;
  buffered_outputs: boolean;
  stdout_output: { enabled: boolean };
  file_output: FileOutputConfig;
  program_output: ProgramOutputConfig;
  http_output: HttpOutputConfig;
  syslog_output: SyslogOutputConfig;
  outputs_queue: { capacity: number };
  webserver: WebserverConfig;
  /** peregrine: attached to every alert as `cluster`; also the value of ka.cluster.name. */
  cluster_name: string;
  k8s_audit: K8sAuditConfig;
  /** peregrine: the live syscall source (eBPF collector). */
  syscall: SyscallConfig;
  /** peregrine: reload rules when a rules file changes (SIGHUP always reloads). */
  watch_config_files: boolean;
  /** peregrine: how long shutdown waits for the outputs queue to drain. */
  shutdown_timeout_ms: number;
  /** falco.yaml `rules:` enable/disable selection by rule name (wildcards) or tag, applied in order. */
  rules: RuleSelection[];
  /** FALCO_HOSTNAME or the machine's host name (not a config key). */
  hostname: string;
}

type Kind = 'bool' | 'string' | 'int' | 'strings' | 'priority' | 'matching' | 'auto';

/** Leaf keys of the configuration with their kind and default. */
const SCHEMA: Record<string, { kind: Kind; def: unknown; env?: string }> = {
  rules_files: { kind: 'strings', def: ['rules/syscall_rules.yaml', 'rules/k8s_audit_rules.yaml'] },
  priority: { kind: 'priority', def: 'debug' },
  rule_matching: { kind: 'matching', def: 'first' },
  json_output: { kind: 'bool', def: false },
  json_include_output_property: { kind: 'bool', def: true },
  json_include_tags_property: { kind: 'bool', def: true },
  json_include_message_property: { kind: 'bool', def: false },
  json_include_output_fields_property: { kind: 'bool', def: true },
  time_format_iso_8601: { kind: 'bool', def: false },
  buffered_outputs: { kind: 'bool', def: false },
  'stdout_output.enabled': { kind: 'bool', def: true },
  'file_output.enabled': { kind: 'bool', def: false },
  'file_output.keep_alive': { kind: 'bool', def: false },
  'file_output.filename': { kind: 'string', def: './events.txt' },
  'program_output.enabled': { kind: 'bool', def: false },
  'program_output.keep_alive': { kind: 'bool', def: false },
  'program_output.program': { kind: 'string', def: "jq '{text: .output}'" },
  'http_output.enabled': { kind: 'bool', def: false },
  'http_output.url': { kind: 'string', def: '' },
  'http_output.user_agent': { kind: 'string', def: 'falcosecurity/falco' },
  'http_output.insecure': { kind: 'bool', def: false },
  'http_output.ca_cert': { kind: 'string', def: '' },
  'http_output.ca_bundle': { kind: 'string', def: '' },
  'http_output.ca_path': { kind: 'string', def: '/etc/ssl/certs' },
  'http_output.mtls': { kind: 'bool', def: false },
  'http_output.client_cert': { kind: 'string', def: '/etc/ssl/certs/client.crt' },
  'http_output.client_key': { kind: 'string', def: '/etc/ssl/certs/client.key' },
  'http_output.compress_uploads': { kind: 'bool', def: false },
  'http_output.keep_alive': { kind: 'bool', def: false },
  'http_output.echo': { kind: 'bool', def: false },
  'http_output.max_retries': { kind: 'int', def: 3 },
  'http_output.timeout_ms': { kind: 'int', def: 5000 },
  'http_output.concurrency': { kind: 'int', def: 4 },
  'syslog_output.enabled': { kind: 'bool', def: true },
  'syslog_output.socket': { kind: 'string', def: '/dev/log' },
  'syslog_output.server': { kind: 'string', def: '' },
  'outputs_queue.capacity': { kind: 'int', def: 0 },
  'webserver.enabled': { kind: 'bool', def: true },
  'webserver.listen_address': { kind: 'string', def: '0.0.0.0' },
  'webserver.listen_port': { kind: 'int', def: 8765 },
  'webserver.k8s_healthz_endpoint': { kind: 'string', def: '/healthz' },
  'webserver.prometheus_metrics_enabled': { kind: 'bool', def: false },
  'webserver.ssl_enabled': { kind: 'bool', def: false },
  'webserver.ssl_certificate': { kind: 'string', def: '/etc/falco/falco.pem' },
  cluster_name: { kind: 'string', def: '' },
  'k8s_audit.enabled': { kind: 'bool', def: true },
  'k8s_audit.listen_address': { kind: 'string', def: '0.0.0.0' },
  'k8s_audit.listen_port': { kind: 'int', def: 9765 },
  'k8s_audit.endpoint': { kind: 'string', def: '/k8s-audit' },
  'k8s_audit.maxEventSize': { kind: 'int', def: 262144 },
  'k8s_audit.webhookMaxBatchSize': { kind: 'int', def: 12582912 },
  'k8s_audit.ssl_enabled': { kind: 'bool', def: false },
  'k8s_audit.ssl_certificate': { kind: 'string', def: '/etc/falco/falco.pem' },
  'k8s_audit.ssl_key': { kind: 'string', def: '' },
  'k8s_audit.bearer_token': { kind: 'string', def: '' },
  'syscall.enabled': { kind: 'auto', def: 'auto' },
  'syscall.container_socket': { kind: 'string', def: '' },
  'syscall.collector': { kind: 'string', def: '' },
  'syscall.ringbuf_mb': { kind: 'int', def: 0 },
  'syscall.poll_ms': { kind: 'int', def: 50 },
  'syscall.max_processes': { kind: 'int', def: 0 },
  watch_config_files: { kind: 'bool', def: true },
  shutdown_timeout_ms: { kind: 'int', def: 5000 },
};

/** Sections whose children are leaves in SCHEMA. */
const SECTIONS = new Set(
  Object.keys(SCHEMA)
    .filter((k) => k.includes('.'))
    .map((k) => k.split('.')[0]!),
);

/** falco.yaml keys accepted without effect (peregrine has its own way or no such feature). */
export const IGNORED_FALCO_KEYS = new Set([
  'config_files',
  'engine',
  'load_plugins',
  'plugins',
  'log_stderr',
  'log_syslog',
  'log_level',
  'libs_logger',
  'output_timeout',
  'syscall_event_drops',
  'syscall_event_timeouts',
  'metrics',
  'base_syscalls',
  'falco_libs',
  'buffer_format_base64',
  'append_output',
  'static_fields',
  'rules_file',
  'grpc',
  'grpc_output',
  'container_engines',
  'capture',
]);

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Config file; undefined = the repo's config/peregrine.yaml. */
  file?: string;
  /** `-r` values: replace rules_files when non-empty. */
  rules?: string[];
  /** `-o key.path=value` values, applied in order. */
  overrides?: string[];
  env?: NodeJS.ProcessEnv;
  /** Called with each warning (unknown key, ignored key). */
  warn?: (msg: string) => void;
}

export const DEFAULT_CONFIG_FILE = new URL('../../config/peregrine.yaml', import.meta.url).pathname;

type Tree = Record<string, unknown>;

function isObj(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Expand `${VAR}` in string values (Falco does this for its config); `$${` escapes. */
function expandEnv(v: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name?: string) =>
      name === undefined ? '${' : (env[name] ?? ''),
    );
  }
  if (Array.isArray(v)) return v.map((x) => expandEnv(x, env));
  if (isObj(v)) {
    const out: Tree = {};
    for (const [k, x] of Object.entries(v)) out[k] = expandEnv(x, env);
    return out;
  }
  return v;
}

/** Set `a.b[0].c` / `a.b[]` (append) in a YAML tree. */
export function setPath(tree: Tree, path: string, value: unknown): void {
  const parts: Array<string | number | '[]'> = [];
  for (const seg of path.split('.')) {
    const m = /^([^[\]]+)((?:\[\d*\])*)$/.exec(seg);
    if (!m) throw new ConfigError(`invalid key path '${path}'`);
    parts.push(m[1]!);
    for (const idx of m[2]!.match(/\[\d*\]/g) ?? [])
      parts.push(idx === '[]' ? '[]' : Number(idx.slice(1, -1)));
  }
  let cur: unknown = tree;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const last = i === parts.length - 1;
    const nextIsIndex = !last && typeof parts[i + 1] !== 'string';
    const nextIsIndexOrAppend = nextIsIndex || parts[i + 1] === '[]';
    if (typeof p === 'string' && p !== '[]') {
      if (!isObj(cur)) throw new ConfigError(`cannot set '${path}': '${p}' is under a non-mapping`);
      if (last) cur[p] = value;
      else {
        if (cur[p] === undefined || cur[p] === null || (nextIsIndexOrAppend && !Array.isArray(cur[p])))
          cur[p] = nextIsIndexOrAppend ? [] : {};
        cur = cur[p];
      }
    } else {
      if (!Array.isArray(cur)) throw new ConfigError(`cannot set '${path}': not a sequence`);
      const idx = p === '[]' ? cur.length : p;
      if (last) cur[idx] = value;
      else {
        if (!isObj(cur[idx])) cur[idx] = {};
        cur = cur[idx];
      }
    }
  }
}

function getPath(tree: Tree, path: string): unknown {
  let cur: unknown = tree;
  for (const p of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Environment variable for a key path: PEREGRINE_HTTP_OUTPUT__URL for http_output.url. */
export function envNameFor(path: string): string {
  return `PEREGRINE_${path.replace(/\./g, '__').toUpperCase()}`;
}

function scalarFromString(s: string): unknown {
  try {
    return parseYaml(s);
  } catch {
    return s;
  }
}

function coerce(path: string, kind: Kind, v: unknown, fromText: boolean): unknown {
  const got = v === null ? 'null' : Array.isArray(v) ? 'sequence' : typeof v;
  switch (kind) {
    case 'bool':
      if (typeof v === 'boolean') return v;
      throw new ConfigError(`expected a boolean (true/false), got ${got}`, path);
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
      throw new ConfigError(
        `expected a non-negative integer, got ${got}${typeof v === 'number' ? ` ${v}` : ''}`,
        path,
      );
    case 'string':
      if (typeof v === 'string') return v;
      if (fromText && (typeof v === 'number' || typeof v === 'boolean')) return String(v);
      throw new ConfigError(`expected a string, got ${got}`, path);
    case 'strings': {
      if (typeof v === 'string') return [v];
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
      throw new ConfigError(`expected a list of strings, got ${got}`, path);
    }
    case 'priority': {
      if (typeof v !== 'string') throw new ConfigError(`expected a priority name, got ${got}`, path);
      const p = parsePriority(v);
      if (p === undefined)
        throw new ConfigError(
          `unknown priority '${v}' (emergency, alert, critical, error, warning, notice, informational, debug)`,
          path,
        );
      return p;
    }
    case 'auto':
      if (v === 'auto' || typeof v === 'boolean') return v;
      if (fromText && (v === 'true' || v === 'false')) return v === 'true';
      throw new ConfigError(
        `expected auto, true or false, got ${typeof v === 'string' ? `'${v}'` : got}`,
        path,
      );
    case 'matching':
      if (v === 'first' || v === 'all') return v;
      throw new ConfigError(`expected 'first' or 'all', got ${typeof v === 'string' ? `'${v}'` : got}`, path);
  }
}

/** Map a falco.yaml `plugins:` entry for k8saudit onto our k8s_audit section. */
function absorbK8sAuditPlugin(tree: Tree, warn: (m: string) => void): void {
  const plugins = tree.plugins;
  if (!Array.isArray(plugins)) return;
  const load = Array.isArray(tree.load_plugins) ? (tree.load_plugins as unknown[]) : undefined;
  for (const p of plugins) {
    if (!isObj(p) || p.name !== 'k8saudit') continue;
    const sec: Tree = isObj(tree.k8s_audit) ? tree.k8s_audit : {};
    if (load && !load.includes('k8saudit') && sec.enabled === undefined) sec.enabled = false;
    if (typeof p.open_params === 'string' && p.open_params !== '') {
      const m = /^(https?):\/\/([^/:]*)(?::(\d+))?(\/.*)?$/.exec(p.open_params);
      if (!m) {
        warn(
          `plugins[k8saudit].open_params '${p.open_params}' is not an http(s) URL; the webhook keeps its settings`,
        );
      } else {
        if (m[2] && sec.listen_address === undefined) sec.listen_address = m[2];
        if (m[3] && sec.listen_port === undefined) sec.listen_port = Number(m[3]);
        if (m[4] && sec.endpoint === undefined) sec.endpoint = m[4];
        if (m[1] === 'https' && sec.ssl_enabled === undefined) sec.ssl_enabled = true;
      }
    }
    let init: unknown = p.init_config;
    if (typeof init === 'string' && init.trim() !== '') init = scalarFromString(init);
    if (isObj(init)) {
      if (init.maxEventSize !== undefined && sec.maxEventSize === undefined)
        sec.maxEventSize = init.maxEventSize;
      if (init.webhookMaxBatchSize !== undefined && sec.webhookMaxBatchSize === undefined)
        sec.webhookMaxBatchSize = init.webhookMaxBatchSize;
      if (init.sslCertificate !== undefined && sec.ssl_certificate === undefined)
        sec.ssl_certificate = init.sslCertificate;
    }
    tree.k8s_audit = sec;
  }
}

/** Parse YAML text into a tree, with errors naming the file and line. */
function parseConfigText(text: string, file: string): Tree {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`,
    );
  }
  const v = doc.toJS() as unknown;
  if (v === null || v === undefined) return {};
  if (!isObj(v)) throw new ConfigError(`${file}: the configuration must be a YAML mapping`);
  return v;
}

/** Build the tree from file + env + -o + -r and validate it. */
export function loadConfig(opts: LoadOptions = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`peregrine: warning: ${m}\n`));
  const file = opts.file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  const tree = expandEnv(parseConfigText(text, file), env) as Tree;
  const cfg = buildConfig(tree, { ...opts, env, warn });
  // The built-in default config names rules relative to the peregrine install.
  if (opts.file === undefined && !(opts.rules && opts.rules.length > 0))
    cfg.rules_files = cfg.rules_files.map((r) => (isAbsolute(r) ? r : resolvePath(INSTALL_ROOT, r)));
  return cfg;
}

/** The peregrine install (repo) root: where config/ and rules/ live. */
export const INSTALL_ROOT = new URL('../../', import.meta.url).pathname;

export function buildConfig(tree: Tree, opts: LoadOptions = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const warn = opts.warn ?? (() => {});
  // legacy single key
  if (tree.rules_file !== undefined && tree.rules_files === undefined) tree.rules_files = tree.rules_file;
  absorbK8sAuditPlugin(tree, warn);

  const selection = parseSelection(tree.rules);

  // unknown keys
  for (const [k, v] of Object.entries(tree)) {
    if (k === 'rules') continue;
    if (SECTIONS.has(k)) {
      if (v === null || v === undefined) continue;
      if (!isObj(v))
        throw new ConfigError(`expected a mapping, got ${Array.isArray(v) ? 'sequence' : typeof v}`, k);
      for (const sub of Object.keys(v))
        if (!(`${k}.${sub}` in SCHEMA)) {
          if (k === 'webserver' && sub === 'threadiness') continue;
          if (k === 'outputs_queue' && sub === 'recovery') continue;
          warn(`unknown configuration key '${k}.${sub}' (ignored)`);
        }
    } else if (!(k in SCHEMA)) {
      if (IGNORED_FALCO_KEYS.has(k)) {
        if (k !== 'plugins' && k !== 'load_plugins' && k !== 'rules_file')
          warn(`falco.yaml key '${k}' is not supported by peregrine (ignored)`);
      } else warn(`unknown configuration key '${k}' (ignored)`);
    }
  }

  const fromText = new Set<string>();
  // environment
  for (const path of Object.keys(SCHEMA)) {
    const name = envNameFor(path);
    const v = env[name];
    if (v !== undefined) {
      setPath(
        tree,
        path,
        SCHEMA[path]!.kind === 'strings' ? v.split(',').filter(Boolean) : scalarFromString(v),
      );
      fromText.add(path);
    }
  }
  // -o
  for (const o of opts.overrides ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new ConfigError(`-o expects key.path=value, got '${o}'`);
    const key = o.slice(0, eq).trim();
    const base = key.replace(/\[\d*\]$/, '');
    if (!(base in SCHEMA) && !SECTIONS.has(base)) {
      if (!IGNORED_FALCO_KEYS.has(base.split('.')[0]!))
        warn(`-o ${key}: unknown configuration key (ignored)`);
      continue;
    }
    setPath(tree, key, scalarFromString(o.slice(eq + 1)));
    fromText.add(base);
  }
  if (opts.rules && opts.rules.length > 0) tree.rules_files = [...opts.rules];

  const out: Tree = {};
  for (const [path, spec] of Object.entries(SCHEMA)) {
    const raw = getPath(tree, path);
    const v = raw === undefined || raw === null ? spec.def : coerce(path, spec.kind, raw, fromText.has(path));
    const value = spec.kind === 'priority' && typeof v === 'string' ? parsePriority(v) : v;
    setPath(out, path, value);
  }
  const cfg = out as unknown as AgentConfig;
  cfg.rules = selection;
  cfg.hostname = env.FALCO_HOSTNAME || env.PEREGRINE_HOSTNAME || osHostname();
  validateSemantics(cfg);
  return cfg;
}

/** falco.yaml `rules:` — a list of `{enable: {rule|tag}}` / `{disable: {rule|tag}}`. */
function parseSelection(v: unknown): RuleSelection[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError('expected a list of enable/disable entries', 'rules');
  return v.map((item, i) => {
    const path = `rules[${i}]`;
    if (!isObj(item)) throw new ConfigError('expected a mapping with enable or disable', path);
    const keys = Object.keys(item);
    const action = keys[0];
    if (keys.length !== 1 || (action !== 'enable' && action !== 'disable'))
      throw new ConfigError(
        `expected exactly one of 'enable' or 'disable', got ${keys.join(', ') || 'nothing'}`,
        path,
      );
    const what = item[action];
    if (!isObj(what)) throw new ConfigError('expected a mapping with rule or tag', `${path}.${action}`);
    const sel: { rule?: string; tag?: string } = {};
    for (const [k, x] of Object.entries(what)) {
      if (k !== 'rule' && k !== 'tag')
        throw new ConfigError(`unknown key '${k}' (rule or tag)`, `${path}.${action}`);
      if (typeof x !== 'string') throw new ConfigError('expected a string', `${path}.${action}.${k}`);
      sel[k] = x;
    }
    if (sel.rule === undefined && sel.tag === undefined)
      throw new ConfigError('expected rule or tag', `${path}.${action}`);
    return action === 'enable' ? { enable: sel } : { disable: sel };
  });
}

function validateSemantics(cfg: AgentConfig): void {
  const port = (p: number, path: string) => {
    if (p > 65535) throw new ConfigError(`port ${p} is out of range (0-65535)`, path);
  };
  port(cfg.webserver.listen_port, 'webserver.listen_port');
  port(cfg.k8s_audit.listen_port, 'k8s_audit.listen_port');
  if (cfg.http_output.enabled && !/^https?:\/\//.test(cfg.http_output.url))
    throw new ConfigError(
      `expected an http:// or https:// URL, got '${cfg.http_output.url}'`,
      'http_output.url',
    );
  if (!cfg.k8s_audit.endpoint.startsWith('/'))
    throw new ConfigError(`must start with '/', got '${cfg.k8s_audit.endpoint}'`, 'k8s_audit.endpoint');
  if (!cfg.webserver.k8s_healthz_endpoint.startsWith('/'))
    throw new ConfigError(`must start with '/'`, 'webserver.k8s_healthz_endpoint');
  if (cfg.k8s_audit.maxEventSize < 1) throw new ConfigError('must be at least 1', 'k8s_audit.maxEventSize');
  if (cfg.program_output.enabled && cfg.program_output.program.trim() === '')
    throw new ConfigError('must not be empty', 'program_output.program');
}

/** Every leaf key, for docs and tests. */
export function schemaKeys(): Array<{ path: string; kind: string; def: unknown; env: string }> {
  return Object.entries(SCHEMA).map(([path, s]) => ({
    path,
    kind: s.kind,
    def: s.def,
    env: envNameFor(path),
  }));
}
