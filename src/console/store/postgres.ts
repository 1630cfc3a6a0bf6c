import pg from 'pg';
import { type EventRow, words } from './normalize.js';
import { HOUR_US, rollupDeltas } from './rollup.js';
import { AUTH_SCHEMA, rollupSubtractSelects, SqlStore } from './sql-store.js';
import type { StoreStats } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id BIGSERIAL PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  ts BIGINT NOT NULL,
  priority SMALLINT NOT NULL,
  rule TEXT NOT NULL,
  source TEXT NOT NULL,
  hostname TEXT NOT NULL,
  cluster TEXT NOT NULL,
  container_id TEXT NOT NULL,
  container_name TEXT NOT NULL,
  container_image TEXT NOT NULL,
  k8s_ns TEXT NOT NULL,
  count INTEGER NOT NULL,
  search_tsv TSVECTOR NOT NULL,
  raw TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts, id);
CREATE INDEX IF NOT EXISTS events_priority ON events (priority, ts);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule, ts);
CREATE INDEX IF NOT EXISTS events_source ON events (source, ts);
CREATE INDEX IF NOT EXISTS events_hostname ON events (hostname, ts);
CREATE INDEX IF NOT EXISTS events_text ON events USING gin (search_tsv);
CREATE TABLE IF NOT EXISTS event_tags (
  tag TEXT NOT NULL,
  event_id BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  priority SMALLINT NOT NULL,
  PRIMARY KEY (tag, event_id)
);
CREATE INDEX IF NOT EXISTS event_tags_event ON event_tags (event_id);
`;

/** Convert `?` placeholders to `$1, $2, …` (our SQL never has `?` inside literals). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** PostgreSQL store for scale: same schema, a GIN full-text index (simple configuration) for free text. */
export class PostgresStore extends SqlStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  private constructor(readonly url: string) {
    super();
    this.pool = new pg.Pool({ connectionString: url, max: 8 });
    this.pool.on('error', () => {
      /* a dropped idle client is replaced on next use */
    });
  }

  static async open(url: string): Promise<PostgresStore> {
    const s = new PostgresStore(url);
    await s.pool.query(SCHEMA + AUTH_SCHEMA);
    return s;
  }

  protected async all(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    return (await this.pool.query(numbered(sql), params)).rows as Record<string, unknown>[];
  }

  protected async run(sql: string, params: unknown[]): Promise<number> {
    return (await this.pool.query(numbered(sql), params)).rowCount ?? 0;
  }

  protected groupCol(col: string): string {
    return col;
  }

  protected async deleteBatch(cond: string, params: unknown[], limit: number): Promise<number> {
    const selects = rollupSubtractSelects('del', 'dt', HOUR_US);
    const sql = `WITH ids AS (SELECT id FROM events WHERE ${cond} LIMIT ${limit}),
      del AS (DELETE FROM events WHERE id IN (SELECT id FROM ids) RETURNING *),
      dt AS (DELETE FROM event_tags WHERE event_id IN (SELECT id FROM ids) RETURNING *),
      agg AS (${selects.join(' UNION ALL ')}),
      upd AS (UPDATE rollup r SET n = r.n - a.n FROM agg a
              WHERE r.hour = a.hour AND r.dim = a.dim AND r.value = a.value AND r.priority = a.priority RETURNING 1)
      SELECT (SELECT COUNT(*) FROM del) AS n, (SELECT COUNT(*) FROM upd) AS u`;
    const r = await this.all(sql, params);
    return Number(r[0]?.n ?? 0);
  }

  protected textClause(params: unknown[], text: string): string {
    const tokens = words(text);
    if (!tokens.length) {
      params.push(`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return 'e.raw ILIKE ?';
    }
    params.push(`${tokens.join(' <-> ')}:*`);
    return "e.search_tsv @@ to_tsquery('simple', ?)";
  }

  protected async insertRows(rows: EventRow[]): Promise<Set<string>> {
    const done = new Set<string>();
    const CHUNK = 5000;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const col = <T>(f: (r: EventRow) => T) => chunk.map(f);
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const res = await client.query(
          `INSERT INTO events (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name, container_image, k8s_ns, count, search_tsv, raw)
           SELECT u, t, p, r, s, h, c, ci, cn, im, ns, n, to_tsvector('simple', x), raw FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::text[], $14::text[])
             AS v (u, t, p, r, s, h, c, ci, cn, im, ns, n, x, raw)
           ON CONFLICT (uuid) DO NOTHING RETURNING id, uuid`,
          [
            col((r) => r.uuid),
            col((r) => r.ts),
            col((r) => r.priority),
            col((r) => r.rule),
            col((r) => r.source),
            col((r) => r.hostname),
            col((r) => r.cluster),
            col((r) => r.containerId),
            col((r) => r.containerName),
            col((r) => r.containerImage),
            col((r) => r.k8sNs),
            col((r) => r.count),
            col((r) => r.text.replaceAll('\u0000', '')),
            col((r) => r.raw),
          ],
        );
        const ids = new Map<string, string>();
        for (const r of res.rows as { id: string; uuid: string }[]) {
          ids.set(r.uuid, r.id);
          done.add(r.uuid);
        }
        const tagIds: string[] = [];
        const tags: string[] = [];
        const tagTs: number[] = [];
        const tagPrio: number[] = [];
        const stored: EventRow[] = [];
        for (const r of chunk) {
          const id = ids.get(r.uuid);
          if (id === undefined) continue;
          ids.delete(r.uuid); // a uuid repeated in one batch is stored once
          stored.push(r);
          for (const t of r.tags) {
            tagIds.push(id);
            tags.push(t);
            tagTs.push(r.ts);
            tagPrio.push(r.priority);
          }
        }
        if (tags.length)
          await client.query(
            `INSERT INTO event_tags (tag, event_id, ts, priority)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::smallint[]) ON CONFLICT DO NOTHING`,
            [tags, tagIds, tagTs, tagPrio],
          );
        const d = rollupDeltas(stored);
        if (d.n.length)
          await client.query(
            `INSERT INTO rollup (hour, dim, value, priority, n)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::smallint[], $5::bigint[])
             ON CONFLICT (hour, dim, value, priority) DO UPDATE SET n = rollup.n + excluded.n`,
            [d.hour, d.dim, d.value, d.priority, d.n],
          );
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    }
    return done;
  }

  async stats(): Promise<StoreStats> {
    const r = (
      await this.pool.query(
        `SELECT (SELECT COUNT(*) FROM events) AS n, (SELECT MIN(ts) FROM events) AS lo, (SELECT MAX(ts) FROM events) AS hi,
                pg_total_relation_size('events') + pg_total_relation_size('event_tags') + pg_total_relation_size('rollup') AS bytes`,
      )
    ).rows[0] as { n: string; lo: string | null; hi: string | null; bytes: string };
    const u = new URL(this.url);
    return {
      kind: 'postgres',
      location: `${u.hostname}:${u.port || 5432}${u.pathname}`,
      events: Number(r.n),
      ...(r.lo !== null ? { oldestUs: Number(r.lo) } : {}),
      ...(r.hi !== null ? { newestUs: Number(r.hi) } : {}),
      bytes: Number(r.bytes),
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
