import type { FalcoAlert } from '../../alert/falco-alert.js';
import { type PriorityLevel, priorityName } from '../../alert/priority.js';
import { DIM_COLUMN, type SqlDialect, whereSql } from './filter.js';
import { AlertError, decodeCursor, type EventRow, encodeCursor, normalizeAlert } from './normalize.js';
import { HOUR_US, planRollup, type RollupPlan, splitHours } from './rollup.js';
import type {
  CountRow,
  Dimension,
  EventFilter,
  EventStore,
  HistogramBucket,
  InsertResult,
  LoginRecord,
  Retention,
  RuleSummary,
  Scope,
  SearchPage,
  SessionRecord,
  StoredEvent,
  StoreStats,
  TokenRecord,
  UserRecord,
} from './types.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** ` AND …` conditions of a rollup query: the planned dimension values and the filter's priorities. */
function rollupConditions(
  values: readonly string[] | undefined,
  f: { priorities?: readonly number[]; minPriority?: number },
  params: unknown[],
): string {
  let sql = '';
  if (values?.length) {
    sql += ` AND value IN (${values.map(() => '?').join(',')})`;
    params.push(...values);
  }
  if (f.priorities?.length) {
    sql += ` AND priority IN (${f.priorities.map(() => '?').join(',')})`;
    params.push(...f.priorities);
  }
  if (f.minPriority !== undefined) {
    sql += ' AND priority <= ?';
    params.push(f.minPriority);
  }
  return sql;
}

/**
 * Query logic shared by the SQLite and PostgreSQL stores. SQL is written with
 * `?` placeholders; the PostgreSQL store numbers them. Subclasses provide the
 * schema, batched insert, free-text clause and size statistics.
 */
export abstract class SqlStore implements EventStore {
  abstract readonly kind: 'sqlite' | 'postgres';
  protected abstract all(sql: string, params: unknown[]): Promise<Row[]>;
  protected abstract run(sql: string, params: unknown[]): Promise<number>;
  protected abstract textClause(params: unknown[], text: string): string;
  /** Insert rows not yet present; returns the uuids actually inserted. */
  protected abstract insertRows(rows: EventRow[]): Promise<Set<string>>;
  /**
   * Delete up to `limit` events matching `cond` (SQL over the events table),
   * their tags and text, and subtract them from the rollup, atomically.
   */
  protected abstract deleteBatch(cond: string, params: unknown[], limit: number): Promise<number>;
  /** GROUP BY expression for a column (SQLite: `+col` so a time range, not the column's index, drives the scan). */
  protected abstract groupCol(col: string): string;
  abstract stats(): Promise<StoreStats>;
  abstract close(): Promise<void>;

  /** SQL giving the raw alert JSON of the event aliased `e` (PostgreSQL keeps it in its own table). */
  protected rawCol = 'e.raw';

  protected readonly dialect: SqlDialect = {
    ph: (params, v) => {
      params.push(v);
      return '?';
    },
    text: (params, t) => this.textClause(params, t),
    tags: (params, tags) => this.tagsClause(params, tags),
  };

  /** "Has one of these tags" over alias `e` (SQLite: the event_tags table). */
  protected tagsClause(params: unknown[], tags: string[]): string {
    return `EXISTS (SELECT 1 FROM event_tags t WHERE t.event_id = e.id AND t.tag IN (${tags.map((v) => this.dialect.ph(params, v)).join(',')}))`;
  }

  /** Counts by tag of the events matching `where` (over alias `e`), as rows (value, n). */
  protected tagCountSql(where: string): string {
    return `SELECT t.tag AS value, COUNT(*) AS n FROM events e JOIN event_tags t ON t.event_id = e.id WHERE ${where} GROUP BY t.tag`;
  }

  protected where(f: EventFilter, params: unknown[]): string {
    return whereSql(f, this.dialect, params);
  }

  async insert(alerts: FalcoAlert[]): Promise<InsertResult> {
    return this.insertNormalized(alerts.map((a) => normalizeAlert(a)));
  }

  async insertNormalized(rows: EventRow[]): Promise<InsertResult> {
    const inserted = await this.insertRows(rows);
    const out: InsertResult = { inserted: [], duplicates: [] };
    const seen = new Set<string>();
    for (const r of rows) {
      if (inserted.has(r.uuid) && !seen.has(r.uuid)) out.inserted.push(r.event);
      else out.duplicates.push(r.uuid);
      seen.add(r.uuid);
    }
    return out;
  }

  async search(
    filter: EventFilter,
    opts: { limit: number; cursor?: string; offset?: number },
  ): Promise<SearchPage> {
    const params: unknown[] = [];
    let where = this.where(filter, params);
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      where += ` AND (e.ts < ? OR (e.ts = ? AND e.id < ?))`;
      params.push(c.ts, c.ts, c.id);
    }
    params.push(opts.limit + 1, Math.max(0, opts.offset ?? 0));
    const rows = await this.all(
      `SELECT e.id, e.ts, ${this.rawCol} AS raw FROM events e WHERE ${where} ORDER BY e.ts DESC, e.id DESC LIMIT ? OFFSET ?`,
      params,
    );
    const more = rows.length > opts.limit;
    const page = more ? rows.slice(0, opts.limit) : rows;
    const last = page[page.length - 1];
    return {
      events: page.map((r) => JSON.parse(String(r.raw)) as StoredEvent),
      ...(more && last ? { nextCursor: encodeCursor(num(last.ts), num(last.id)) } : {}),
    };
  }

  async count(filter: EventFilter): Promise<number> {
    const plan = planRollup(filter);
    const split = plan ? splitHours(filter.fromUs, filter.toUs) : undefined;
    if (!plan || !split) return this.rawCount(filter);
    let n = 0;
    for (const v of (await this.rollupCounts(filter, plan, split.hourFrom, split.hourTo)).values()) n += v;
    for (const e of split.edges) n += await this.rawCount({ ...filter, ...e });
    return n;
  }

  private async rawCount(filter: EventFilter): Promise<number> {
    const params: unknown[] = [];
    const rows = await this.all(
      `SELECT COUNT(*) AS n FROM events e WHERE ${this.where(filter, params)}`,
      params,
    );
    return num(rows[0]?.n ?? 0);
  }

  /** Counts from the rollup for whole hours [hourFrom, hourTo), keyed by value (or priority number). */
  private async rollupCounts(
    f: EventFilter,
    plan: RollupPlan,
    hourFrom: number | undefined,
    hourTo: number | undefined,
  ): Promise<Map<string, number>> {
    const params: unknown[] = [plan.dim];
    let sql = `SELECT ${plan.byPriority ? 'priority' : 'value'} AS value, SUM(n) AS n FROM rollup WHERE dim = ?`;
    if (hourFrom !== undefined) {
      sql += ' AND hour >= ?';
      params.push(hourFrom);
    }
    if (hourTo !== undefined) {
      sql += ' AND hour < ?';
      params.push(hourTo);
    }
    sql += rollupConditions(plan.values, f, params);
    const out = new Map<string, number>();
    for (const r of await this.all(`${sql} GROUP BY 1`, params)) {
      const n = num(r.n);
      if (n > 0) out.set(String(r.value ?? ''), n);
    }
    return out;
  }

  private async rawCountBy(filter: EventFilter, dim: Dimension): Promise<Map<string, number>> {
    const params: unknown[] = [];
    let sql: string;
    if (dim === 'tags') {
      const where = this.where(filter, params);
      sql = this.tagCountSql(where);
    } else {
      const col = DIM_COLUMN[dim];
      if (!col) throw new AlertError(`cannot count by "${dim}"`);
      sql = `SELECT e.${col} AS value, COUNT(*) AS n FROM events e WHERE ${this.where(filter, params)} GROUP BY ${this.groupCol(`e.${col}`)}`;
    }
    const out = new Map<string, number>();
    for (const r of await this.all(sql, params)) out.set(String(r.value ?? ''), num(r.n));
    return out;
  }

  async countBy(
    filter: EventFilter,
    dim: Dimension,
    limit: number,
  ): Promise<{ rows: CountRow[]; distinct: number; total?: number }> {
    if (dim !== 'tags' && !DIM_COLUMN[dim]) throw new AlertError(`cannot count by "${dim}"`);
    const plan = planRollup(filter, dim);
    const split = plan ? splitHours(filter.fromUs, filter.toUs) : undefined;
    let counts: Map<string, number>;
    if (plan && split) {
      counts = await this.rollupCounts(filter, plan, split.hourFrom, split.hourTo);
      for (const e of split.edges)
        for (const [k, v] of await this.rawCountBy({ ...filter, ...e }, dim))
          counts.set(k, (counts.get(k) ?? 0) + v);
    } else counts = await this.rawCountBy(filter, dim);
    const rows = [...counts]
      .map(([value, count]) => ({
        value: dim === 'priority' ? priorityName(Number(value) as PriorityLevel) : value,
        count,
      }))
      .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
    const out: { rows: CountRow[]; distinct: number; total?: number } = {
      rows: rows.slice(0, limit),
      distinct: rows.length,
    };
    if (dim !== 'tags') out.total = rows.reduce((n, r) => n + r.count, 0);
    return out;
  }

  async histogram(
    filter: EventFilter,
    fromUs: number,
    toUs: number,
    bucketUs: number,
  ): Promise<HistogramBucket[]> {
    const f = {
      ...filter,
      fromUs: Math.max(filter.fromUs ?? fromUs, fromUs),
      toUs: Math.min(filter.toUs ?? toUs, toUs),
    };
    let rows: Row[];
    const plan = planRollup(f);
    const split =
      plan && bucketUs % HOUR_US === 0 && fromUs % HOUR_US === 0 ? splitHours(f.fromUs, f.toUs) : undefined;
    if (plan && split) {
      // Whole hours from the rollup (each falls in one bucket), partial hours at the ends from raw events.
      const params: unknown[] = [HOUR_US, fromUs, bucketUs, plan.dim, split.hourFrom, split.hourTo];
      let sql = `SELECT (hour * ? - ?) / ? AS b, priority AS p, SUM(n) AS n FROM rollup WHERE dim = ? AND hour >= ? AND hour < ?`;
      sql += rollupConditions(plan.values, f, params);
      rows = await this.all(`${sql} GROUP BY 1, 2`, params);
      for (const e of split.edges) rows.push(...(await this.rawHistogram({ ...f, ...e }, fromUs, bucketUs)));
    } else rows = await this.rawHistogram(f, fromUs, bucketUs);
    const n = Math.max(1, Math.ceil((toUs - fromUs) / bucketUs));
    const buckets: HistogramBucket[] = Array.from({ length: n }, (_, i) => ({
      startUs: fromUs + i * bucketUs,
      byPriority: {},
      total: 0,
    }));
    for (const r of rows) {
      const b = buckets[Math.floor(num(r.b))];
      if (!b) continue;
      const name = priorityName(num(r.p) as PriorityLevel);
      b.byPriority[name] = (b.byPriority[name] ?? 0) + num(r.n);
      b.total += num(r.n);
    }
    return buckets;
  }

  private async rawHistogram(f: EventFilter, fromUs: number, bucketUs: number): Promise<Row[]> {
    const params: unknown[] = [fromUs, bucketUs];
    const where = this.where(f, params);
    return this.all(
      `SELECT (e.ts - ?) / ? AS b, e.priority AS p, COUNT(*) AS n FROM events e WHERE ${where} GROUP BY 1, 2`,
      params,
    );
  }

  async get(uuid: string): Promise<StoredEvent | undefined> {
    const rows = await this.all(`SELECT ${this.rawCol} AS raw FROM events e WHERE e.uuid = ?`, [
      uuid.toLowerCase(),
    ]);
    return rows[0] ? (JSON.parse(String(rows[0].raw)) as StoredEvent) : undefined;
  }

  async rules(
    filter: EventFilter,
    fromUs: number,
    toUs: number,
    buckets: number,
    bucketSizeUs?: number,
  ): Promise<RuleSummary[]> {
    const bucketUs = bucketSizeUs ?? Math.max(1, Math.ceil((toUs - fromUs) / buckets));
    const f = {
      ...filter,
      fromUs: Math.max(filter.fromUs ?? fromUs, fromUs),
      toUs: Math.min(filter.toUs ?? toUs, toUs),
    };
    const plan = planRollup(f, 'rule');
    const split =
      plan && bucketUs % HOUR_US === 0 && fromUs % HOUR_US === 0 ? splitHours(f.fromUs, f.toUs) : undefined;
    let rows: Row[];
    if (plan && split) {
      // Whole hours from the rollup (each inside one bucket), partial hours from the events;
      // last seen and source then come from each rule's newest event (an index seek).
      const params: unknown[] = [HOUR_US, fromUs, bucketUs, split.hourFrom, split.hourTo];
      let sql = `SELECT value AS rule, (hour * ? - ?) / ? AS b, SUM(n) AS n, MIN(priority) AS p FROM rollup WHERE dim = 'rule' AND hour >= ? AND hour < ?`;
      sql += rollupConditions(plan.values, f, params);
      rows = (await this.all(`${sql} GROUP BY 1, 2`, params)).filter((r) => num(r.n) > 0);
      for (const e of split.edges) rows.push(...(await this.rawRules({ ...f, ...e }, fromUs, bucketUs)));
      const seen = new Set(rows.map((r) => String(r.rule)));
      // One seek per rule, issued together (PostgreSQL spreads them over its pool).
      const lasts = await Promise.all(
        [...seen].map((rule) => {
          const p: unknown[] = [];
          return this.all(
            `SELECT e.ts AS last, e.source AS source, e.rule AS rule FROM events e WHERE ${this.where({ ...f, rules: [rule] }, p)} ORDER BY e.ts DESC LIMIT 1`,
            p,
          );
        }),
      );
      for (const last of lasts) if (last[0]) rows.push({ ...last[0], n: 0, p: 99, b: -1 });
    } else rows = await this.rawRules(f, fromUs, bucketUs);
    const by = new Map<string, RuleSummary & { p: number; src: Set<string> }>();
    for (const r of rows) {
      const rule = String(r.rule);
      let s = by.get(rule);
      if (!s) {
        s = {
          rule,
          count: 0,
          priority: '',
          p: 99,
          lastUs: 0,
          sources: [],
          src: new Set(),
          spark: new Array(buckets).fill(0),
        };
        by.set(rule, s);
      }
      const n = num(r.n);
      s.count += n;
      s.p = Math.min(s.p, num(r.p));
      if (r.last !== undefined && r.last !== null) s.lastUs = Math.max(s.lastUs, num(r.last));
      if (r.source !== undefined && r.source !== null) s.src.add(String(r.source));
      const i = Math.floor(num(r.b));
      if (i >= 0 && i < buckets) s.spark[i]! += n;
    }
    return [...by.values()]
      .map(({ p, src, ...s }) => ({
        ...s,
        priority: priorityName(p as PriorityLevel),
        sources: [...src].sort(),
      }))
      .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  }

  private async rawRules(f: EventFilter, fromUs: number, bucketUs: number): Promise<Row[]> {
    const params: unknown[] = [fromUs, bucketUs];
    const where = this.where(f, params);
    return this.all(
      `SELECT e.rule AS rule, e.source AS source, (e.ts - ?) / ? AS b, COUNT(*) AS n, MIN(e.priority) AS p, MAX(e.ts) AS last
       FROM events e WHERE ${where} GROUP BY 1, 2, 3`,
      params,
    );
  }

  async enforceRetention(r: Retention, nowUs: number): Promise<number> {
    let deleted = 0;
    const BATCH = 5000;
    if (r.maxAgeMs > 0) {
      const cutoff = nowUs - r.maxAgeMs * 1000;
      for (;;) {
        const n = await this.deleteBatch('ts < ?', [cutoff], BATCH);
        deleted += n;
        if (n < BATCH) break;
      }
    }
    if (r.maxEvents > 0) {
      const cut = await this.all('SELECT ts, id FROM events ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?', [
        r.maxEvents,
      ]);
      if (cut[0]) {
        const ts = num(cut[0].ts);
        const id = num(cut[0].id);
        for (;;) {
          const n = await this.deleteBatch('ts < ? OR (ts = ? AND id <= ?)', [ts, ts, id], BATCH);
          deleted += n;
          if (n < BATCH) break;
        }
      }
    }
    if (deleted) await this.run('DELETE FROM rollup WHERE n <= 0', []);
    return deleted;
  }

  // ---- auth -------------------------------------------------------------

  async countUsers(): Promise<number> {
    return num((await this.all('SELECT COUNT(*) AS n FROM users', []))[0]?.n ?? 0);
  }
  async getUser(username: string): Promise<UserRecord | undefined> {
    const r = (await this.all('SELECT * FROM users WHERE username = ?', [username]))[0];
    return r ? toUser(r) : undefined;
  }
  async listUsers(): Promise<UserRecord[]> {
    return (await this.all('SELECT * FROM users ORDER BY username', [])).map(toUser);
  }
  async putUser(u: UserRecord): Promise<void> {
    await this.run(
      `INSERT INTO users (username, hash, role, created_us) VALUES (?, ?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET hash = excluded.hash, role = excluded.role`,
      [u.username, u.hash, u.role, u.createdUs],
    );
  }
  async deleteUser(username: string): Promise<boolean> {
    await this.run('DELETE FROM sessions WHERE username = ?', [username]);
    return (await this.run('DELETE FROM users WHERE username = ?', [username])) > 0;
  }
  async putToken(t: TokenRecord): Promise<void> {
    await this.run(
      `INSERT INTO tokens (id, name, hash, scopes, created_us) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, hash = excluded.hash, scopes = excluded.scopes`,
      [t.id, t.name, t.hash, t.scopes.join(','), t.createdUs],
    );
  }
  async getTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const r = (await this.all('SELECT * FROM tokens WHERE hash = ?', [hash]))[0];
    return r ? toToken(r) : undefined;
  }
  async listTokens(): Promise<TokenRecord[]> {
    return (await this.all('SELECT * FROM tokens ORDER BY created_us', [])).map(toToken);
  }
  async deleteToken(id: string): Promise<boolean> {
    return (await this.run('DELETE FROM tokens WHERE id = ?', [id])) > 0;
  }
  async touchToken(id: string, whenUs: number): Promise<void> {
    await this.run('UPDATE tokens SET last_used_us = ? WHERE id = ?', [whenUs, id]);
  }
  async putSession(s: SessionRecord): Promise<void> {
    await this.run(
      'INSERT INTO sessions (id_hash, username, csrf, created_us, expires_us) VALUES (?, ?, ?, ?, ?)',
      [s.idHash, s.username, s.csrf, s.createdUs, s.expiresUs],
    );
  }
  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const r = (await this.all('SELECT * FROM sessions WHERE id_hash = ?', [idHash]))[0];
    return r
      ? {
          idHash: String(r.id_hash),
          username: String(r.username),
          csrf: String(r.csrf),
          createdUs: num(r.created_us),
          expiresUs: num(r.expires_us),
        }
      : undefined;
  }
  async deleteSession(idHash: string): Promise<void> {
    await this.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
  }
  async deleteExpiredSessions(nowUs: number): Promise<number> {
    return this.run('DELETE FROM sessions WHERE expires_us < ?', [nowUs]);
  }
  async logLogin(r: LoginRecord): Promise<void> {
    await this.run('INSERT INTO logins (time_us, username, ip, success, reason) VALUES (?, ?, ?, ?, ?)', [
      r.timeUs,
      r.username,
      r.ip,
      r.success ? 1 : 0,
      r.reason,
    ]);
  }
  async listLogins(limit: number): Promise<LoginRecord[]> {
    return (await this.all('SELECT * FROM logins ORDER BY time_us DESC LIMIT ?', [limit])).map((r) => ({
      timeUs: num(r.time_us),
      username: String(r.username),
      ip: String(r.ip),
      success: num(r.success) === 1,
      reason: String(r.reason),
    }));
  }
}

function toUser(r: Row): UserRecord {
  return {
    username: String(r.username),
    hash: String(r.hash),
    role: r.role === 'admin' ? 'admin' : 'viewer',
    createdUs: num(r.created_us),
  };
}

function toToken(r: Row): TokenRecord {
  return {
    id: String(r.id),
    name: String(r.name),
    hash: String(r.hash),
    scopes: String(r.scopes).split(',').filter(Boolean) as Scope[],
    createdUs: num(r.created_us),
    ...(r.last_used_us !== null && r.last_used_us !== undefined ? { lastUsedUs: num(r.last_used_us) } : {}),
  };
}

/** Auth tables, identical in both dialects (BIGINT is an INTEGER in SQLite). */
export const AUTH_SCHEMA = `
CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL, created_us BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, created_us BIGINT NOT NULL, last_used_us BIGINT);
CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL, created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS logins (time_us BIGINT NOT NULL, username TEXT NOT NULL, ip TEXT NOT NULL, success INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logins_time ON logins (time_us);
CREATE TABLE IF NOT EXISTS rollup (hour BIGINT NOT NULL, dim TEXT NOT NULL, value TEXT NOT NULL, priority SMALLINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (hour, dim, value, priority));
CREATE INDEX IF NOT EXISTS rollup_dim ON rollup (dim, hour);
`;

/** One INSERT … SELECT per rollup dimension subtracting the events listed in \`ids\` (a table or CTE with id). */
export function rollupSubtractSelects(events: string, tags: string, hourUs: number): string[] {
  const cols: [string, string][] = [
    ['rule', 'rule'],
    ['source', 'source'],
    ['hostname', 'hostname'],
    ['cluster', 'cluster'],
    ['container_image', 'container_image'],
    ['k8s_ns', 'k8s_ns'],
  ];
  return [
    ...cols.map(
      ([dim, col]) =>
        `SELECT ts / ${hourUs} AS hour, '${dim}' AS dim, ${col} AS value, priority, COUNT(*) AS n FROM ${events} GROUP BY ts / ${hourUs}, ${col}, priority`,
    ),
    `SELECT ts / ${hourUs} AS hour, 'tags' AS dim, tag AS value, priority, COUNT(*) AS n FROM ${tags} GROUP BY ts / ${hourUs}, tag, priority`,
  ];
}
