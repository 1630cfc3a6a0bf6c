/** Shapes of the console API (/api/v2) responses the UI reads. */
export interface FalcoEvent {
  uuid: string;
  time: string;
  priority: string;
  rule: string;
  source: string;
  hostname: string;
  output?: string;
  output_fields: Record<string, unknown>;
  tags?: string[];
  cluster?: string;
  count: number;
}

export interface SearchResult {
  events: FalcoEvent[];
  nextCursor?: string;
}

export interface CountResult {
  dimension: string;
  total: number;
  distinct: number;
  rows: { value: string; count: number }[];
}

export interface Histogram {
  from: string;
  to: string;
  bucketMs: number;
  buckets: { start: string; total: number; byPriority: Record<string, number> }[];
}

export interface RuleRow {
  rule: string;
  count: number;
  priority: string;
  last: string;
  sources: string[];
  spark: number[];
}

export interface Info {
  version: string;
  falcoEngineVersion: string;
  uptimeSeconds: number;
  store: { kind: string; location: string; events: number; bytes: number; oldest?: string; newest?: string };
  retention: { maxAgeMs: number; maxEvents: number };
  ingest: { sinceStart: number; perSecond1m: number; last?: string; liveStreams: number };
}

export interface Session {
  username: string;
  role: string;
  kind: string;
  csrfToken?: string;
}

export const PRIORITIES = [
  'Emergency',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Informational',
  'Debug',
];
