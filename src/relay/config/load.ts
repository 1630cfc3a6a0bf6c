/**
 * Generic Falcosidekick-style configuration loading: defaults → YAML file → environment.
 *
 * Every key has a default; the default's type decides how a YAML value or an environment string is read.
 * The environment variable for a key is its path upper-cased with `.` → `_` (`slack.webhookurl` ⇔
 * `SLACK_WEBHOOKURL`); empty variables count as unset. YAML keys are case-insensitive (as with viper),
 * except inside map values (`customfields`, `customheaders` …) whose keys are kept as written.
 * Map values in the environment are comma lists of `key:value` (split at the first `:`), lists are comma lists.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export type ConfigTree = { [k: string]: ConfigValue };
export type ConfigValue = string | number | boolean | string[] | Record<string, string> | ConfigTree;

/** Marks a default value as a map of string→string (an empty object would otherwise be ambiguous). */
export const MAP: Record<string, string> = Object.freeze({}) as Record<string, string>;
const MAP_MARK = Symbol('map');

export function mapDefault(init: Record<string, string> = {}): Record<string, string> {
  const m = { ...init };
  Object.defineProperty(m, MAP_MARK, { value: true, enumerable: false });
  return m;
}

function isMapDefault(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v === MAP || MAP_MARK in v);
}

function isTree(v: unknown): v is ConfigTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isMapDefault(v);
}

export class ConfigError extends Error {}

export interface LoadIssues {
  warnings: string[];
}

/** Deep clone a defaults tree, keeping map markers. */
export function cloneTree(t: ConfigTree): ConfigTree {
  const out: ConfigTree = {};
  for (const [k, v] of Object.entries(t)) {
    if (Array.isArray(v)) out[k] = [...v];
    else if (isMapDefault(v)) out[k] = mapDefault(v);
    else if (isTree(v)) out[k] = cloneTree(v);
    else out[k] = v;
  }
  return out;
}

function coerce(path: string, def: ConfigValue, raw: unknown): ConfigValue {
  if (typeof def === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off', ''].includes(s)) return false;
    throw new ConfigError(`${path}: expected true or false, got ${JSON.stringify(raw)}`);
  }
  if (typeof def === 'number') {
    if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
    if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
    if (raw === null || raw === '') return def;
    throw new ConfigError(`${path}: expected a number, got ${JSON.stringify(raw)}`);
  }
  if (typeof def === 'string') {
    if (raw === null || raw === undefined) return def;
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
    throw new ConfigError(`${path}: expected a string, got ${JSON.stringify(raw)}`);
  }
  if (Array.isArray(def)) {
    if (raw === null || raw === undefined) return def;
    if (Array.isArray(raw)) return raw.map((x) => String(x).trim()).filter((x) => x !== '');
    if (typeof raw === 'string')
      return raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');
    throw new ConfigError(`${path}: expected a list, got ${JSON.stringify(raw)}`);
  }
  if (isMapDefault(def)) {
    const out = mapDefault();
    if (raw === null || raw === undefined) return out;
    if (typeof raw === 'string') {
      for (const item of raw.split(',')) {
        const t = item.trim();
        if (!t) continue;
        const at = t.indexOf(':');
        if (at <= 0) throw new ConfigError(`${path}: "${t}" is not a key:value pair`);
        out[t.slice(0, at).trim()] = t.slice(at + 1).trim();
      }
      return out;
    }
    if (typeof raw === 'object' && !Array.isArray(raw)) {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (v !== null && typeof v === 'object')
          throw new ConfigError(`${path}.${k}: expected a plain value, got ${JSON.stringify(v)}`);
        out[k] = v === null || v === undefined ? '' : String(v);
      }
      return out;
    }
    throw new ConfigError(`${path}: expected a map of key: value, got ${JSON.stringify(raw)}`);
  }
  throw new ConfigError(`${path}: unsupported default`);
}

/** Merge a parsed YAML object into the defaults tree (case-insensitive keys). Unknown keys → warnings. */
export function mergeYaml(tree: ConfigTree, yaml: unknown, issues: LoadIssues, prefix = ''): void {
  if (yaml === null || yaml === undefined) return;
  if (typeof yaml !== 'object' || Array.isArray(yaml)) {
    throw new ConfigError(`${prefix || 'config'}: expected a mapping, got ${JSON.stringify(yaml)}`);
  }
  const byLower = new Map(Object.keys(tree).map((k) => [k.toLowerCase(), k]));
  for (const [rawKey, val] of Object.entries(yaml as Record<string, unknown>)) {
    const key = byLower.get(rawKey.toLowerCase());
    const path = prefix ? `${prefix}.${rawKey}` : rawKey;
    if (key === undefined) {
      issues.warnings.push(`unknown key ${path} (ignored)`);
      continue;
    }
    const def = tree[key]!;
    if (isTree(def)) mergeYaml(def, val, issues, path);
    else tree[key] = coerce(path, def, val);
  }
}

/** Env variable name for a key path. */
export function envName(path: string[]): string {
  return path.join('_').toUpperCase();
}

/** Overlay environment variables on the tree. */
export function applyEnv(tree: ConfigTree, env: NodeJS.ProcessEnv, prefix: string[] = []): void {
  for (const [k, def] of Object.entries(tree)) {
    const path = [...prefix, k];
    if (isTree(def)) {
      applyEnv(def, env, path);
      continue;
    }
    const raw = env[envName(path)];
    if (raw === undefined || raw === '') continue;
    tree[k] = coerce(`${envName(path)} (${path.join('.')})`, def, raw);
  }
}

/** Every leaf key path of a tree (for docs and tests). */
export function leafPaths(tree: ConfigTree, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(tree)) {
    if (isTree(v)) out.push(...leafPaths(v, [...prefix, k]));
    else out.push([...prefix, k]);
  }
  return out;
}

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    return parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(e as Error).message}`);
  }
}

/** Parse "250ms", "30s", "5m", "2h", "1d" or a bare number (in `unit` ms). */
export function parseDuration(path: string, v: string | number, unitMs = 1000): number {
  if (typeof v === 'number') return v * unitMs;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v);
  if (!m) throw new ConfigError(`${path}: "${v}" is not a duration (examples: 500ms, 30s, 5m, 2h)`);
  const n = Number(m[1]);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? ''] ?? unitMs;
  return n * mult;
}
