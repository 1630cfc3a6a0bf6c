import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseDurationMs } from './store/filter.js';
import type { StoreConfig } from './store/open.js';
import type { Retention } from './store/types.js';

/** Console configuration (`peregrine console -c FILE`); every key is optional. */
export interface ConsoleConfig {
  listenAddress: string;
  listenPort: number;
  tls?: { certFile: string; keyFile: string };
  store: StoreConfig;
  retention: Retention & { intervalMs: number };
  sessionTtlMs: number;
  /** Directory of the built web UI (default: dist/console-web next to the code). */
  webDir?: string;
}

export const DEFAULT_CONFIG: ConsoleConfig = {
  listenAddress: '0.0.0.0',
  listenPort: 2802,
  store: { type: 'sqlite', path: './data/console.db' },
  retention: { maxAgeMs: 30 * 86_400_000, maxEvents: 5_000_000, intervalMs: 10_000 },
  sessionTtlMs: 12 * 3_600_000,
};

type Obj = Record<string, unknown>;

function obj(v: unknown, where: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where} must be a mapping`);
  return v as Obj;
}

function known(o: Obj, where: string, keys: string[]): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k))
      throw new Error(`unknown key ${where ? `${where}.` : ''}${k} (known: ${keys.join(', ')})`);
}

function duration(v: unknown, where: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (v === 0 || v === '0') return 0;
  if (typeof v !== 'string') throw new Error(`${where} must be a duration like 30d or 12h`);
  try {
    return parseDurationMs(v);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

function int(v: unknown, where: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw new Error(`${where} must be an integer between ${min} and ${max}`);
  return n;
}

function string(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new Error(`${where} must be a non-empty string`);
  return v;
}

/**
 * Build the config from a parsed YAML document and the environment
 * (PEREGRINE_CONSOLE_STORE_URL selects PostgreSQL; PEREGRINE_CONSOLE_PORT).
 */
export function configFromObject(doc: unknown, env: NodeJS.ProcessEnv = {}): ConsoleConfig {
  const d = obj(doc, 'config');
  known(d, '', ['listen_address', 'listen_port', 'tls', 'store', 'retention', 'session_ttl', 'web_dir']);
  const tls = obj(d.tls, 'tls');
  known(tls, 'tls', ['cert_file', 'key_file']);
  const store = obj(d.store, 'store');
  known(store, 'store', ['type', 'path', 'url']);
  const ret = obj(d.retention, 'retention');
  known(ret, 'retention', ['max_age', 'max_events', 'interval']);

  const url = string(store.url, 'store.url') ?? env.PEREGRINE_CONSOLE_STORE_URL;
  const type = store.type ?? (url ? 'postgres' : 'sqlite');
  if (type !== 'sqlite' && type !== 'postgres') throw new Error('store.type must be sqlite or postgres');
  if (type === 'postgres' && !url) throw new Error('store.url is required when store.type is postgres');
  const certFile = string(tls.cert_file, 'tls.cert_file');
  const keyFile = string(tls.key_file, 'tls.key_file');
  if (!!certFile !== !!keyFile) throw new Error('tls needs both cert_file and key_file');
  const webDir = string(d.web_dir, 'web_dir');
  return {
    listenAddress: string(d.listen_address, 'listen_address') ?? DEFAULT_CONFIG.listenAddress,
    listenPort: int(
      d.listen_port ?? env.PEREGRINE_CONSOLE_PORT,
      'listen_port',
      DEFAULT_CONFIG.listenPort,
      0,
      65535,
    ),
    ...(certFile && keyFile ? { tls: { certFile, keyFile } } : {}),
    store: {
      type,
      path: string(store.path, 'store.path') ?? DEFAULT_CONFIG.store.path,
      ...(url ? { url } : {}),
    },
    retention: {
      maxAgeMs: duration(ret.max_age, 'retention.max_age', DEFAULT_CONFIG.retention.maxAgeMs),
      maxEvents: int(ret.max_events, 'retention.max_events', DEFAULT_CONFIG.retention.maxEvents),
      intervalMs: Math.max(
        1000,
        duration(ret.interval, 'retention.interval', DEFAULT_CONFIG.retention.intervalMs),
      ),
    },
    sessionTtlMs:
      duration(d.session_ttl, 'session_ttl', DEFAULT_CONFIG.sessionTtlMs) || DEFAULT_CONFIG.sessionTtlMs,
    ...(webDir ? { webDir } : {}),
  };
}

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  if (!file) return configFromObject({}, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read console config ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  try {
    return configFromObject(doc, env);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}
