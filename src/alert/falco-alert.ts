import type { PriorityName } from './priority.js';

/**
 * The alert JSON contract shared by agent, relay and console: exactly what Falco
 * writes with `json_output: true` (keys alphabetical when serialised), plus the
 * optional fields peregrine and Falcosidekick add.
 */
export interface FalcoAlert {
  /** FALCO_HOSTNAME or gethostname of the agent. */
  hostname: string;
  /** Full text line "<time>: <Priority> <message>" (json_include_output_property). */
  output?: string;
  /** Message without the time/priority prefix (json_include_message_property). */
  message?: string;
  /** Typed values of every field in the rule output; `null` when the field had no value. */
  output_fields: Record<string, OutputFieldValue>;
  priority: PriorityName;
  rule: string;
  /** Event source: `syscall`, `k8s_audit`, `internal`, … */
  source: string;
  /** Sorted rule tags (json_include_tags_property). */
  tags?: string[];
  /** UTC RFC 3339 with nanoseconds, e.g. 2024-03-01T08:52:34.832049033Z. */
  time: string;
  /** Added on receipt by the relay (as Falcosidekick does); Falco itself emits none. */
  uuid?: string;
  /** peregrine: the cluster the agent runs in (agent config `cluster_name`). */
  cluster?: string;
  /** peregrine relay: number of alerts collapsed into this one by dedup/throttle. */
  count?: number;
}

/**
 * Every top-level key of the contract above, in the alphabetical order `alertToJson` writes them. Fast
 * serialisers that write these keys in this order check an alert against it and fall back to
 * `alertToJson` when it carries anything else.
 */
export const ALERT_KEYS: ReadonlySet<string> = new Set([
  'cluster',
  'count',
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

export type OutputFieldValue = string | number | boolean | null | Array<string | number | boolean>;

/** Serialise an alert the way Falco does: keys in alphabetical order, one line. */
export function alertToJson(alert: FalcoAlert): string {
  const src = alert as unknown as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(src).sort()) {
    if (src[k] !== undefined) sorted[k] = src[k];
  }
  return JSON.stringify(sorted);
}
