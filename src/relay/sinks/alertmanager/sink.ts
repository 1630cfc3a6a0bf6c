import type { FalcoAlert } from '../../../alert/falco-alert.js';
import { PRIORITIES, type PriorityLevel, parsePriority } from '../../../alert/priority.js';
import { ConfigError, type ConfigTree } from '../../config/load.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

export interface AlertmanagerOptions {
  expiresAfterSec: number;
  extraLabels: Record<string, string>;
  extraAnnotations: Record<string, string>;
  /** Priority level → severity label. */
  severityMap: Map<number, string>;
  dropDefault: number;
  /** Thresholds, highest first. */
  thresholds: Array<{ value: number; level: number }>;
}

const DEFAULT_SEVERITY = [
  'critical',
  'critical',
  'critical',
  'warning',
  'warning',
  'information',
  'information',
  'information',
];

export function safeLabel(k: string): string {
  return k
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .replaceAll('__', '_')
    .replace(/^_+|_+$/g, '');
}

export function parseThresholds(text: string): Array<{ value: number; level: number }> {
  const out: Array<{ value: number; level: number }> = [];
  for (const part of text.split(',')) {
    const t = part.trim();
    if (!t) continue;
    const [v, p] = t.split(':').map((x) => x.trim());
    const level = parsePriority(p ?? '');
    if (!/^\d+$/.test(v ?? '') || level === undefined)
      throw new ConfigError(`alertmanager.dropeventthresholds: "${t}" is not <count>:<priority>`);
    out.push({ value: Number(v), level });
  }
  return out.sort((a, b) => b.value - a.value);
}

/** One Alertmanager alert: labels from string/number fields, drop-event bucketing, severity, annotations. */
export function encodeAlert(a: FalcoAlert, o: AlertmanagerOptions): Record<string, unknown> {
  const labels: Record<string, string> = {};
  let level: number = parsePriority(a.priority) ?? 7;
  const raise = (to: number) => {
    if (to < level) level = to;
  };
  for (const [k, v] of Object.entries(a.output_fields)) {
    if (k.startsWith('n_evts')) continue;
    if (k.startsWith('n_drop')) {
      const d =
        typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
      if (Number.isNaN(d)) continue;
      let bucket = '';
      if (d === 0) {
        raise(4);
        bucket = '0';
      } else {
        for (const t of o.thresholds) {
          if (d > t.value) {
            bucket = `>${t.value}`;
            raise(t.level);
            break;
          }
        }
      }
      if (bucket === '') {
        bucket = String(v);
        raise(o.dropDefault);
      }
      labels[k] = bucket;
      continue;
    }
    const key = safeLabel(k);
    if (!key) continue;
    if (typeof v === 'string') labels[key] = v;
    else if (typeof v === 'number') labels[key] = String(v);
  }
  labels.source = 'falco';
  labels.rule = a.rule;
  labels.alertname = a.rule;
  labels.eventsource = a.source;
  if (a.hostname) labels.hostname = a.hostname;
  if (a.tags?.length) labels.tags = [...a.tags].sort().join(',');
  const name = PRIORITIES[level as PriorityLevel];
  labels.priority = name;
  labels.severity = o.severityMap.get(level) ?? DEFAULT_SEVERITY[level]!;
  Object.assign(labels, o.extraLabels);
  const annotations: Record<string, string> = {
    info: a.output ?? '',
    description: a.output ?? '',
    summary: a.rule,
    ...o.extraAnnotations,
  };
  if (a.count && a.count > 1) annotations.count = String(a.count);
  const endsAt =
    o.expiresAfterSec > 0
      ? new Date(Date.parse(a.time.replace(/(\.\d{3})\d+/, '$1')) + o.expiresAfterSec * 1000).toISOString()
      : '0001-01-01T00:00:00Z';
  return { labels, annotations, endsAt };
}

export function options(section: ConfigTree): AlertmanagerOptions {
  const severityMap = new Map<number, string>();
  for (const [p, sev] of Object.entries(section.customseveritymap as Record<string, string>)) {
    const lvl = parsePriority(p);
    if (lvl === undefined) throw new ConfigError(`alertmanager.customseveritymap: "${p}" is not a priority`);
    severityMap.set(lvl, sev);
  }
  const dd = parsePriority(String(section.dropeventdefaultpriority));
  if (dd === undefined)
    throw new ConfigError(
      `alertmanager.dropeventdefaultpriority: "${String(section.dropeventdefaultpriority)}" is not a priority`,
    );
  return {
    expiresAfterSec: Number(section.expiresafter),
    extraLabels: section.extralabels as Record<string, string>,
    extraAnnotations: section.extraannotations as Record<string, string>,
    severityMap,
    dropDefault: dd,
    thresholds: parseThresholds(String(section.dropeventthresholds)),
  };
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const o = options(section);
  const headers = { ...(section.customheaders as Record<string, string>) };
  const hosts = section.hostport as string[];
  return hosts.map((host, i) => {
    const base = host.replace(/\/$/, '');
    const url = `${base}${String(section.endpoint)}`;
    return httpSink({
      name: i === 0 ? 'alertmanager' : `alertmanager_${i}`,
      section,
      tls: ctx.tls(section),
      maxBatch: Number(section.batchsize),
      healthUrl: `${base}/-/healthy`,
      send: (http, batch, signal) =>
        http.post(url, JSON.stringify(batch.map((a) => encodeAlert(a, o))), signal, headers),
    });
  });
}
