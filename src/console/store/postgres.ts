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
  tags TEXT[]
);
-- The raw alert JSON in its own table (databases created before keep it as events.raw): events rows
-- stay about half as wide, so scans that check every row (free text over a long range) read half the pages.
CREATE TABLE IF NOT EXISTS event_raw (id BIGINT PRIMARY KEY, raw TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts, id);
CREATE INDEX IF NOT EXISTS events_priority ON events (priority, ts);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule, ts);
CREATE INDEX IF NOT EXISTS events_source ON events (source, ts);
CREATE INDEX IF NOT EXISTS events_hostname ON events (hostname, ts);
CREATE INDEX IF NOT EXISTS events_text ON events USING gin (search_tsv);
`;

/**
 * Rollup rows are updated by every batch; half-empty pages let PostgreSQL update
 * them in place (HOT: no new index entries), which cut the rollup upsert from
 * about 28 to 19 µs per event in the ingest benchmark.
 */
const TUNING = `ALTER TABLE rollup SET (fillfactor = 50);`;

/**
 * Databases created before tags moved into events (an \`event_tags\` table, one
 * row per tag): copy each event's tags into its \`tags\` array and drop the
 * table, in one transaction. Rewrites the tagged events once.
 */
const MIGRATE_TAGS = `
ALTER TABLE events ADD COLUMN IF NOT EXISTS tags TEXT[];
DO $$ BEGIN
  IF to_regclass('event_tags') IS NOT NULL THEN
    UPDATE events e SET tags = x.tags
      FROM (SELECT event_id, array_agg(tag ORDER BY tag) AS tags FROM event_tags GROUP BY event_id) x
      WHERE e.id = x.event_id;
    DROP TABLE event_tags;
  END IF;
END $$;`;

/** Events columns from the jsonb array of one event (see insertRows), up to search_tsv. */
const COLUMNS_FROM_JSON = `a->>0, (a->>1)::bigint, (a->>2)::smallint, a->>3, a->>4, a->>5, a->>6, a->>7, a->>8, a->>9, a->>10,
  (a->>11)::int, (a->>12)::tsvector`;
const TAGS_FROM_JSON =
  'CASE WHEN jsonb_array_length(a->14) > 0 THEN ARRAY(SELECT jsonb_array_elements_text(a->14)) END';

/** PostgreSQL's limits on a tsvector: bytes per word, largest position. */
const MAX_LEXEME_BYTES = 2047;
const MAX_POSITION = 16383;

/**
 * The tsvector of `text` (our words, space-separated, already lower-case) as a
 * tsvector literal: each word with its 1-based position, which is what
 * to_tsvector('simple', text) yields for such text (the server merges repeated
 * words). Built here because the server's text-search parser costs about 35 µs
 * of PostgreSQL CPU per event, more than the rest of the insert; parsing the
 * literal costs a few µs, building it here about 5. Words are letters and
 * digits only, so none needs quoting beyond the surrounding apostrophes.
 */
export function tsvectorLiteral(text: string): string {
  let p = 0;
  let start = 0;
  let out = '';
  const n = text.length;
  while (start < n) {
    let end = text.indexOf(' ', start);
    if (end < 0) end = n;
    if (
      end > start &&
      // too long to index: skipped, like to_tsvector does
      !(end - start > MAX_LEXEME_BYTES / 3 && Buffer.byteLength(text.slice(start, end)) > MAX_LEXEME_BYTES)
    ) {
      p++;
      out += `'${text.slice(start, end)}':${Math.min(p, MAX_POSITION)} `;
    }
    start = end + 1;
  }
  return out;
}

/**
 * JSON for a jsonb parameter. jsonb refuses two escapes JSON.stringify can
 * write: a lone surrogate (\\udXXX) and NUL (\\u0000), which text columns cannot
 * hold either; both become U+FFFD in the columns (the raw alert, itself a JSON
 * string, keeps them escaped). Escapes preceded by an odd number of
 * backslashes are real escapes; an even number means an escaped backslash.
 */
export function jsonbParam(value: unknown): string {
  const json = JSON.stringify(value);
  if (!json.includes('\\u')) return json;
  return json.replace(/(\\+)u(d[89a-f][0-9a-f]{2}|0000)/gi, (m, slashes: string) =>
    slashes.length % 2 === 1 ? `${slashes}ufffd` : m,
  );
}

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
    // work_mem 32MB (unless the URL sets options): free-text searches build a bitmap of
    // the GIN candidates, and at the default 4MB it turns lossy for common words, so a
    // phrase search at 1M events rechecked 3x the rows (550 ms instead of 170 ms).
    const options = new URL(url).searchParams.has('options') ? {} : { options: '-c work_mem=32MB' };
    this.pool = new pg.Pool({ connectionString: url, max: 8, ...options });
    this.pool.on('error', () => {
      /* a dropped idle client is replaced on next use */
    });
  }

  static async open(url: string): Promise<PostgresStore> {
    const s = new PostgresStore(url);
    const c = await s.pool.connect();
    try {
      await c.query('BEGIN');
      // One console at a time creates or migrates the schema.
      await c.query('SELECT pg_advisory_xact_lock(7297357)');
      await c.query(SCHEMA + AUTH_SCHEMA + TUNING + MIGRATE_TAGS);
      const inline = await c.query(
        `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'raw'`,
      );
      if (!inline.rowCount) s.rawCol = '(SELECT r.raw FROM event_raw r WHERE r.id = e.id)';
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      await s.pool.end();
      throw e;
    } finally {
      c.release();
    }
    return s;
  }

  /** Databases created before event_raw keep the raw alert in events.raw. */
  private get rawInline(): boolean {
    return this.rawCol === 'e.raw';
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
      ${this.rawInline ? '' : 'draw AS (DELETE FROM event_raw WHERE id IN (SELECT id FROM ids)),'}
      dt AS (SELECT ts, priority, unnest(tags) AS tag FROM del),
      agg AS (${selects.join(' UNION ALL ')}),
      upd AS (UPDATE rollup r SET n = r.n - a.n FROM agg a
              WHERE r.hour = a.hour AND r.dim = a.dim AND r.value = a.value AND r.priority = a.priority RETURNING 1)
      SELECT (SELECT COUNT(*) FROM del) AS n, (SELECT COUNT(*) FROM upd) AS u`;
    const r = await this.all(sql, params);
    return Number(r[0]?.n ?? 0);
  }

  protected override tagsClause(params: unknown[], tags: string[]): string {
    params.push(tags);
    return 'e.tags && ?::text[]';
  }

  protected override tagCountSql(where: string): string {
    return `SELECT t AS value, COUNT(*) AS n FROM events e CROSS JOIN LATERAL unnest(e.tags) AS t WHERE ${where} GROUP BY t`;
  }

  protected textClause(params: unknown[], text: string): string {
    const tokens = words(text);
    if (!tokens.length) {
      params.push(`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return `${this.rawCol} ILIKE ?`;
    }
    // Same words as tsvectorLiteral indexes, as a tsquery literal: consecutive, the last one a prefix.
    params.push(`${tokens.map((t) => `'${t}'`).join(' <-> ')}:*`);
    return 'e.search_tsv @@ ?::tsquery';
  }

  protected async insertRows(rows: EventRow[]): Promise<Set<string>> {
    const done = new Set<string>();
    const CHUNK = 5000;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        // One JSON parameter (an array per event): cheaper to build than fifteen escaped
        // array literals (pg escapes every element), the same work for the server.
        const res = await client.query(
          this.rawInline
            ? `INSERT INTO events (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name, container_image, k8s_ns, count, search_tsv, raw, tags)
               SELECT ${COLUMNS_FROM_JSON}, a->>13, ${TAGS_FROM_JSON}
               FROM jsonb_array_elements($1::jsonb) AS a
               ON CONFLICT (uuid) DO NOTHING RETURNING uuid`
            : // The raw alert goes to event_raw for the rows stored (a uuid repeated in the batch: its first alert).
              `WITH b AS (SELECT a, n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t (a, n)),
               ins AS (
                 INSERT INTO events (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name, container_image, k8s_ns, count, search_tsv, tags)
                 SELECT ${COLUMNS_FROM_JSON}, ${TAGS_FROM_JSON} FROM b ORDER BY n
                 ON CONFLICT (uuid) DO NOTHING RETURNING id, uuid),
               rw AS (
                 INSERT INTO event_raw (id, raw)
                 SELECT DISTINCT ON (ins.id) ins.id, b.a->>13 FROM ins JOIN b ON b.a->>0 = ins.uuid ORDER BY ins.id, b.n)
               SELECT uuid FROM ins`,
          [
            jsonbParam(
              chunk.map((r) => [
                r.uuid,
                r.ts,
                r.priority,
                r.rule,
                r.source,
                r.hostname,
                r.cluster,
                r.containerId,
                r.containerName,
                r.containerImage,
                r.k8sNs,
                r.count,
                tsvectorLiteral(r.text),
                r.raw,
                r.tags,
              ]),
            ),
          ],
        );
        const fresh = new Set<string>();
        for (const r of res.rows as { uuid: string }[]) {
          fresh.add(r.uuid);
          done.add(r.uuid);
        }
        // A uuid repeated in one batch is stored once, and counted once.
        const stored = chunk.filter((r) => fresh.delete(r.uuid));
        const d = rollupDeltas(stored);
        if (d.n.length)
          await client.query(
            `INSERT INTO rollup (hour, dim, value, priority, n)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::smallint[], $5::bigint[])
             ON CONFLICT (hour, dim, value, priority) DO UPDATE SET n = rollup.n + excluded.n`,
            // NUL as in the events columns (jsonbParam): U+FFFD.
            [
              d.hour,
              d.dim,
              d.value.map((v) => (v.includes('\0') ? v.replaceAll('\0', '\ufffd') : v)),
              d.priority,
              d.n,
            ],
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
                pg_total_relation_size('events') + pg_total_relation_size('event_raw') + pg_total_relation_size('rollup') AS bytes`,
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
