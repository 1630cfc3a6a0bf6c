import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { PriorityLevel } from '../../alert/priority.js';
import type { EventRow } from './normalize.js';

/** An alert as the console stores it: always has a uuid and a dedup count. */
export type StoredEvent = FalcoAlert & { uuid: string; count: number };

/** Dimensions the console can filter on and count by. */
export const DIMENSIONS = [
  'priority',
  'rule',
  'source',
  'hostname',
  'tags',
  'cluster',
  'container_image',
  'container_name',
  'k8s_ns',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/**
 * Filter for search, counts, histograms and the live stream. Lists are OR-ed
 * within a field and AND-ed across fields (like Falcosidekick-UI).
 */
export interface EventFilter {
  /** Only these priorities. */
  priorities?: PriorityLevel[];
  /** At this priority or more severe (Falco semantics: lower number = more severe). */
  minPriority?: PriorityLevel;
  rules?: string[];
  sources?: string[];
  hostnames?: string[];
  /** Event has at least one of these tags. */
  tags?: string[];
  clusters?: string[];
  /** Matches container id, name or image repository. */
  containers?: string[];
  /** Kubernetes namespace (k8s.ns.name or ka.target.namespace). */
  namespaces?: string[];
  /** Case-insensitive substring over output, rule, hostname and output field values. */
  text?: string;
  /** Inclusive lower bound, microseconds since the epoch. */
  fromUs?: number;
  /** Exclusive upper bound, microseconds since the epoch. */
  toUs?: number;
}

export interface InsertResult {
  /** Newly stored events (in input order). */
  inserted: StoredEvent[];
  /** uuids already present (idempotent re-delivery). */
  duplicates: string[];
}

export interface SearchPage {
  events: StoredEvent[];
  /** Opaque cursor for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

export interface CountRow {
  value: string;
  count: number;
}

export interface HistogramBucket {
  /** Bucket start, microseconds since the epoch. */
  startUs: number;
  /** Counts by priority name. */
  byPriority: Record<string, number>;
  total: number;
}

export interface RuleSummary {
  rule: string;
  count: number;
  /** Most severe priority seen for the rule. */
  priority: string;
  lastUs: number;
  sources: string[];
  /** Counts per time bucket, oldest first. */
  spark: number[];
}

export interface StoreStats {
  kind: 'sqlite' | 'postgres';
  location: string;
  events: number;
  oldestUs?: number;
  newestUs?: number;
  /** Bytes used on disk by the store (database size). */
  bytes: number;
}

export interface Retention {
  /** Delete events older than this (ms); 0 = keep forever. */
  maxAgeMs: number;
  /** Keep at most this many events (newest kept); 0 = unlimited. */
  maxEvents: number;
}

export type Role = 'viewer' | 'admin';
export type Scope = 'ingest' | 'read';

export interface UserRecord {
  username: string;
  hash: string;
  role: Role;
  createdUs: number;
}

export interface TokenRecord {
  id: string;
  name: string;
  /** sha256 of the token, hex. */
  hash: string;
  scopes: Scope[];
  createdUs: number;
  lastUsedUs?: number;
}

export interface SessionRecord {
  /** sha256 of the session id, hex. */
  idHash: string;
  username: string;
  csrf: string;
  createdUs: number;
  expiresUs: number;
}

export interface LoginRecord {
  timeUs: number;
  username: string;
  ip: string;
  success: boolean;
  reason: string;
}

/** Users, tokens, sessions and the login log, kept beside the events. */
export interface AuthStore {
  countUsers(): Promise<number>;
  getUser(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  putUser(user: UserRecord): Promise<void>;
  deleteUser(username: string): Promise<boolean>;
  putToken(token: TokenRecord): Promise<void>;
  getTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  deleteToken(id: string): Promise<boolean>;
  touchToken(id: string, whenUs: number): Promise<void>;
  putSession(s: SessionRecord): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | undefined>;
  deleteSession(idHash: string): Promise<void>;
  deleteExpiredSessions(nowUs: number): Promise<number>;
  logLogin(r: LoginRecord): Promise<void>;
  listLogins(limit: number): Promise<LoginRecord[]>;
}

/** The console's event store. Two implementations: SQLite (default) and PostgreSQL. */
export interface EventStore extends AuthStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Store alerts; an alert without uuid gets one. Existing uuids are skipped. */
  insert(alerts: FalcoAlert[]): Promise<InsertResult>;
  /** Store alerts already checked by normalizeAlert. */
  insertNormalized(rows: EventRow[]): Promise<InsertResult>;
  /** Newest first; `cursor` continues a previous page, `offset` skips rows (Falcosidekick-UI paging). */
  search(filter: EventFilter, opts: { limit: number; cursor?: string; offset?: number }): Promise<SearchPage>;
  count(filter: EventFilter): Promise<number>;
  /**
   * Largest counts first; `total` (events matching the filter) comes along for
   * every dimension but tags, where an event has exactly one value.
   */
  countBy(
    filter: EventFilter,
    dim: Dimension,
    limit: number,
  ): Promise<{ rows: CountRow[]; distinct: number; total?: number }>;
  histogram(filter: EventFilter, fromUs: number, toUs: number, bucketUs: number): Promise<HistogramBucket[]>;
  get(uuid: string): Promise<StoredEvent | undefined>;
  /** Per-rule summary; `bucketUs` defaults to the range divided by `buckets`. */
  rules(
    filter: EventFilter,
    fromUs: number,
    toUs: number,
    buckets: number,
    bucketUs?: number,
  ): Promise<RuleSummary[]>;
  /** Delete what the retention policy no longer allows; returns the number deleted. */
  enforceRetention(r: Retention, nowUs: number): Promise<number>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}
