/**
 * The relay's configuration: Falcosidekick's global keys, our intake/spool/delivery keys, and one section
 * per sink (Falcosidekick's section names and keys plus the common routing keys).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePriority } from '../../alert/priority.js';
import type { SinkDefinition } from '../delivery/sink.js';
import {
  applyEnv,
  ConfigError,
  type ConfigTree,
  cloneTree,
  type LoadIssues,
  mapDefault,
  mergeYaml,
  parseDuration,
  readYamlFile,
} from './load.js';
import { type CompiledTemplate, compileTemplate } from './template.js';

/** Keys every sink section has (Falcosidekick's common ones, then ours for routing and noise control). */
export function commonSinkDefaults(batch = 1): ConfigTree {
  return {
    minimumpriority: '',
    checkcert: true,
    mutualtls: false,
    maxconcurrentrequests: 1,
    // ours
    rules: [],
    tags: [],
    sources: [],
    batchsize: batch,
    dedup: { window: '', fields: [] },
  };
}

export function globalDefaults(): ConfigTree {
  return {
    listenaddress: '',
    listenport: 2801,
    debug: false,
    customfields: mapDefault(),
    customtags: [],
    templatedfields: mapDefault(),
    bracketreplacer: '',
    outputfieldformat: '',
    mutualtlsfilespath: '/etc/certs',
    mutualtlsclient: { certfile: '', keyfile: '', cacertfile: '' },
    tlsclient: { cacertfile: '' },
    tlsserver: {
      deploy: false,
      certfile: '/etc/certs/server/server.crt',
      keyfile: '/etc/certs/server/server.key',
      mutualtls: false,
      cacertfile: '/etc/certs/server/ca.crt',
      notlsport: 2810,
      notlspaths: [],
    },
    intake: { maxbodybytes: 4 * 1024 * 1024, bearertoken: '' },
    spool: { dir: './data', segmentbytes: 16 * 1024 * 1024, memoryrecords: 50_000 },
    delivery: {
      initialbackoff: '200ms',
      maxbackoff: '30s',
      maxattempts: 0,
      maxage: '24h',
      timeout: '10s',
      workerthread: true,
      nice: 10,
    },
    bus: {
      type: 'spool',
      nats: {
        url: '',
        stream: 'PEREGRINE_ALERTS',
        subject: 'peregrine.alerts',
        replicas: 1,
        maxage: '24h',
        ackwait: '30s',
        maxackpending: 20_000,
        publishtimeout: '5s',
        user: '',
        password: '',
        token: '',
      },
    },
  };
}

export interface SinkSettings {
  def: SinkDefinition;
  section: ConfigTree;
  minimumPriority: number | undefined;
  rules: string[];
  tags: string[];
  sources: string[];
  batchSize: number;
  concurrency: number;
  dedupWindowMs: number;
  dedupFields: string[];
}

export interface RelayConfig {
  tree: ConfigTree;
  listenAddress: string;
  listenPort: number;
  debug: boolean;
  customFields: Record<string, string>;
  customTags: string[];
  templatedFields: Map<string, CompiledTemplate>;
  bracketReplacer: string;
  outputFieldFormat: string;
  tlsServer: {
    deploy: boolean;
    certfile: string;
    keyfile: string;
    mutualtls: boolean;
    cacertfile: string;
    notlsport: number;
    notlspaths: string[];
  };
  clientTls: { cacertfile: string; certfile: string; keyfile: string; mutualcacertfile: string };
  maxBodyBytes: number;
  bearerToken: string;
  spool: { dir: string; segmentBytes: number; memoryRecords: number };
  delivery: {
    initialBackoffMs: number;
    maxBackoffMs: number;
    maxAttempts: number;
    maxAgeMs: number;
    timeoutMs: number;
    /** Run the sink pipelines on a worker thread (spool mode), so intake and delivery use two cores. */
    workerThread: boolean;
    /** Nice value (0–19) of the delivery thread: under CPU overload the intake is served first. */
    nice: number;
  };
  /** The options this config was loaded from (the delivery thread loads it again from them). */
  source: LoadOptions;
  /** Where accepted alerts are kept until every sink has them: the local spool or a NATS JetStream stream. */
  bus: BusConfig;
  sinks: SinkSettings[];
  warnings: string[];
}

export type BusConfig =
  | { type: 'spool' }
  | {
      type: 'jetstream';
      servers: string[];
      stream: string;
      subject: string;
      replicas: number;
      maxAgeMs: number;
      ackWaitMs: number;
      maxAckPending: number;
      publishTimeoutMs: number;
      user: string;
      password: string;
      token: string;
    };

function busConfig(t: ConfigTree): BusConfig {
  const type = s(t, 'type').trim().toLowerCase();
  if (type === '' || type === 'spool') return { type: 'spool' };
  if (type !== 'jetstream') throw new ConfigError(`bus.type: "${type}" is not spool or jetstream`);
  const nt = sub(t, 'nats');
  const servers = s(nt, 'url')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (!servers.length) throw new ConfigError('bus.nats.url: required when bus.type is jetstream');
  const stream = s(nt, 'stream');
  if (!/^[A-Za-z0-9_-]+$/.test(stream))
    throw new ConfigError(`bus.nats.stream: "${stream}" must be letters, digits, _ or -`);
  const subject = s(nt, 'subject');
  if (!/^[A-Za-z0-9_.-]+$/.test(subject) || subject.startsWith('.') || subject.endsWith('.'))
    throw new ConfigError(`bus.nats.subject: "${subject}" is not a plain NATS subject (no wildcards)`);
  const int = (k: string, min: number) => {
    const v = n(nt, k);
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`bus.nats.${k}: expected an integer ≥ ${min}`);
    return v;
  };
  return {
    type: 'jetstream',
    servers,
    stream,
    subject,
    replicas: int('replicas', 1),
    maxAgeMs: parseDuration('bus.nats.maxage', s(nt, 'maxage')),
    ackWaitMs: parseDuration('bus.nats.ackwait', s(nt, 'ackwait')),
    maxAckPending: int('maxackpending', 1),
    publishTimeoutMs: parseDuration('bus.nats.publishtimeout', s(nt, 'publishtimeout')),
    user: s(nt, 'user'),
    password: s(nt, 'password'),
    token: s(nt, 'token'),
  };
}

const s = (t: ConfigTree, k: string) => t[k] as string;
const n = (t: ConfigTree, k: string) => t[k] as number;
const b = (t: ConfigTree, k: string) => t[k] as boolean;
const l = (t: ConfigTree, k: string) => t[k] as string[];
const m = (t: ConfigTree, k: string) => t[k] as Record<string, string>;
const sub = (t: ConfigTree, k: string) => t[k] as ConfigTree;

/** `%NAME` values read the environment variable NAME (Falcosidekick's customfields/customtags rule). */
function indirect(v: string, env: NodeJS.ProcessEnv): string {
  return v.startsWith('%') ? (env[v.slice(1)] ?? '') : v;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Already parsed YAML (tests). */
  yaml?: unknown;
}

export function defaultsTree(defs: SinkDefinition[]): ConfigTree {
  const tree = globalDefaults();
  for (const d of defs) tree[d.name] = { ...commonSinkDefaults(d.batch ?? 1), ...d.defaults() };
  return tree;
}

export function loadRelayConfig(defs: SinkDefinition[], opts: LoadOptions = {}): RelayConfig {
  const env = opts.env ?? process.env;
  const issues: LoadIssues = { warnings: [] };
  const tree = cloneTree(defaultsTree(defs));
  if (opts.file) mergeYaml(tree, readYamlFile(opts.file), issues);
  if (opts.yaml !== undefined) mergeYaml(tree, opts.yaml, issues);
  applyEnv(tree, env);

  const customFields: Record<string, string> = {};
  for (const [k, v] of Object.entries(m(tree, 'customfields'))) customFields[k] = indirect(v, env);
  const templatedFields = new Map<string, CompiledTemplate>();
  for (const [k, v] of Object.entries(m(tree, 'templatedfields'))) {
    try {
      templatedFields.set(k, compileTemplate(v));
    } catch (e) {
      throw new ConfigError(`templatedfields.${k}: ${(e as Error).message}`);
    }
  }
  const tls = sub(tree, 'tlsserver');
  const mtlsDir = s(tree, 'mutualtlsfilespath');
  const mc = sub(tree, 'mutualtlsclient');
  const spool = sub(tree, 'spool');
  const del = sub(tree, 'delivery');
  const intake = sub(tree, 'intake');
  const nice = n(del, 'nice');
  if (!Number.isInteger(nice) || nice < 0 || nice > 19)
    throw new ConfigError(`delivery.nice: ${nice} is not a nice value from 0 to 19`);
  const port = n(tree, 'listenport');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`listenport: ${port} is not a TCP port`);

  const sinks: SinkSettings[] = [];
  for (const def of defs) {
    const section = sub(tree, def.name);
    if (!def.enabled(section)) continue;
    const mp = s(section, 'minimumpriority');
    let minimumPriority: number | undefined;
    if (mp.trim() !== '') {
      minimumPriority = parsePriority(mp);
      if (minimumPriority === undefined) {
        // Falcosidekick resets an invalid value to "" (everything); we say so.
        issues.warnings.push(`${def.name}.minimumpriority: unknown priority "${mp}", every alert is sent`);
      }
    }
    const dd = sub(section, 'dedup');
    const conc = n(section, 'maxconcurrentrequests');
    sinks.push({
      def,
      section,
      minimumPriority: def.ignoresMinimumPriority ? undefined : minimumPriority,
      rules: l(section, 'rules'),
      tags: l(section, 'tags'),
      sources: l(section, 'sources'),
      batchSize: Math.max(1, Math.floor(n(section, 'batchsize'))),
      concurrency: conc <= 0 ? 64 : Math.floor(conc),
      dedupWindowMs: s(dd, 'window') ? parseDuration(`${def.name}.dedup.window`, s(dd, 'window')) : 0,
      dedupFields: l(dd, 'fields'),
    });
  }

  return {
    tree,
    listenAddress: s(tree, 'listenaddress'),
    listenPort: port,
    debug: b(tree, 'debug'),
    customFields,
    customTags: l(tree, 'customtags')
      .map((t) => indirect(t, env).replace(/\s+/g, ''))
      .filter(Boolean),
    templatedFields,
    bracketReplacer: s(tree, 'bracketreplacer'),
    outputFieldFormat: s(tree, 'outputfieldformat'),
    tlsServer: {
      deploy: b(tls, 'deploy'),
      certfile: s(tls, 'certfile'),
      keyfile: s(tls, 'keyfile'),
      mutualtls: b(tls, 'mutualtls'),
      cacertfile: s(tls, 'cacertfile'),
      notlsport: n(tls, 'notlsport'),
      notlspaths: l(tls, 'notlspaths'),
    },
    clientTls: {
      cacertfile: s(sub(tree, 'tlsclient'), 'cacertfile'),
      certfile: s(mc, 'certfile') || join(mtlsDir, 'client.crt'),
      keyfile: s(mc, 'keyfile') || join(mtlsDir, 'client.key'),
      mutualcacertfile: s(mc, 'cacertfile') || join(mtlsDir, 'ca.crt'),
    },
    maxBodyBytes: n(intake, 'maxbodybytes'),
    bearerToken: s(intake, 'bearertoken'),
    spool: {
      dir: s(spool, 'dir'),
      segmentBytes: n(spool, 'segmentbytes'),
      memoryRecords: n(spool, 'memoryrecords'),
    },
    delivery: {
      initialBackoffMs: parseDuration('delivery.initialbackoff', s(del, 'initialbackoff')),
      maxBackoffMs: parseDuration('delivery.maxbackoff', s(del, 'maxbackoff')),
      maxAttempts: n(del, 'maxattempts'),
      maxAgeMs: parseDuration('delivery.maxage', s(del, 'maxage')),
      timeoutMs: parseDuration('delivery.timeout', s(del, 'timeout')),
      workerThread: b(del, 'workerthread'),
      nice,
    },
    source: { file: opts.file, yaml: opts.yaml, env: opts.env },
    bus: busConfig(sub(tree, 'bus')),
    sinks,
    warnings: issues.warnings,
  };
}

/** Read a file named by the config, with an error naming the key. */
export function readConfigFile(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(e as Error).message}`);
  }
}
