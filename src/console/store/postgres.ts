import pg from 'pg';
import { type EventRow, words } from './normalize.js';
import { HOUR_US, rollupDeltas } from './rollup.js';
import { AUTH_SCHEMA, rollupSubtractSelects, SqlStore } from './sql-store.js';
import type { StoreStats } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id BIGSERIAL PRIMARY KEY,
  uuid TEXT COLLATE "C" NOT NULL UNIQUE,
  ts BIGINT NOT NULL,
  priority SMALLINT NOT NULL,
  rule TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C" NOT NULL,
  hostname TEXT COLLATE "C" NOT NULL,
  cluster TEXT COLLATE "C" NOT NULL,
  container_id TEXT COLLATE "C" NOT NULL,
  container_name TEXT COLLATE "C" NOT NULL,
  container_image TEXT COLLATE "C" NOT NULL,
  k8s_ns TEXT COLLATE "C" NOT NULL,
  count INTEGER NOT NULL,
  search_tsv TSVECTOR NOT NULL,
  tags TEXT[] COLLATE "C"
);
-- The raw alert JSON in its own table (databases created before keep it as events.raw): events rows
-- stay about half as wide, so scans that check every row (free text over a long range) read half the pages.
CREATE TABLE IF NOT EXISTS event_raw (id BIGINT PRIMARY KEY, raw TEXT NOT NULL);
-- The shared schema's rollup table (AUTH_SCHEMA creates it only if missing), with byte-order text.
CREATE TABLE IF NOT EXISTS rollup (hour BIGINT NOT NULL, dim TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL,
  priority SMALLINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (hour, dim, value, priority));
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

/** PostgreSQL's limits on a tsvector: bytes per word, largest position. */
const MAX_LEXEME_BYTES = 2047;
const MAX_POSITION = 16383;
/** Positions kept per word: the first 255, as to_tsvector keeps. */
const MAX_POSITIONS = 255;
const NON_ASCII = /[^\x00-\x7f]/;

/** Type oids of the array elements we send. */
const OID = { int2: 21, int4: 23, int8: 20, text: 25, tsvector: 3614 } as const;

/** Text columns cannot hold NUL: it becomes U+FFFD (lone surrogates become U+FFFD when encoded as UTF-8). */
const noNul = (s: string): string => (s.includes('\0') ? s.replaceAll('\0', '\ufffd') : s);

/**
 * A one-dimensional array in PostgreSQL's binary format (what array_recv reads),
 * built element by element. pg sends a Buffer parameter in binary format, so no
 * value is escaped in Node or parsed as text by the server: the server's jsonb
 * and tsvector text parsers cost ≈ 18 µs of its CPU per event when each batch
 * went as one jsonb parameter with tsvector literals.
 */
export class BinaryArray {
  private buf = Buffer.allocUnsafe(1 << 15);
  private len = 20;
  private n = 0;
  private nulls = false;

  constructor(private readonly oid: number) {}

  private room(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + bytes) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  int2(v: number): void {
    this.room(6);
    this.buf.writeInt32BE(2, this.len);
    this.buf.writeInt16BE(v, this.len + 4);
    this.len += 6;
    this.n++;
  }

  int4(v: number): void {
    this.room(8);
    this.buf.writeInt32BE(4, this.len);
    this.buf.writeInt32BE(v, this.len + 4);
    this.len += 8;
    this.n++;
  }

  /** An integer up to 2^53 in magnitude. */
  int8(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a 64-bit integer: ${v}`);
    this.room(12);
    const hi = Math.floor(v / 4294967296);
    this.buf.writeInt32BE(8, this.len);
    this.buf.writeInt32BE(hi, this.len + 4);
    this.buf.writeUInt32BE(v - hi * 4294967296, this.len + 8);
    this.len += 12;
    this.n++;
  }

  text(s: string): void {
    this.room(4 + 3 * s.length);
    const b = this.buf;
    const o = this.len + 4;
    let w = 0;
    // Short ASCII strings byte by byte (cheaper than a Buffer.write call each).
    if (s.length <= 64) {
      while (w < s.length) {
        const c = s.charCodeAt(w);
        if (c === 0 || c > 0x7f) break;
        b[o + w++] = c;
      }
    }
    if (w < s.length) w = b.write(noNul(s), o, 'utf8');
    b.writeInt32BE(w, this.len);
    this.len = o + w;
    this.n++;
  }

  null(): void {
    this.room(4);
    this.buf.writeInt32BE(-1, this.len);
    this.len += 4;
    this.n++;
    this.nulls = true;
  }

  /**
   * The tsvector of `text` (our words, space-separated, lower-case) in the binary
   * format tsvectorrecv reads: each word once with its 1-based positions (at most
   * 255, the largest position 16383), what to_tsvector('simple', text) yields for such
   * text. Built here because the server's text-search parser cost ≈ 35 µs of
   * PostgreSQL CPU per event, and parsing a tsvector literal ≈ 10 µs. Words are
   * letters and digits only.
   * Words are sent in first-seen order and the server sorts them (sorting 36 words
   * here cost 3.6 µs per event, more than the server's sort); it does not merge
   * repeated words, so they are merged here.
   */
  tsvector(text: string): void {
    const first = new Map<string, number>();
    const words: string[] = [];
    const at: (number | number[])[] = [];
    let p = 0;
    let bytes = 8;
    for (const w of text.split(' ')) {
      // too long to index: skipped, like to_tsvector does
      if (!w || (w.length > MAX_LEXEME_BYTES / 3 && Buffer.byteLength(w) > MAX_LEXEME_BYTES)) continue;
      p++;
      const q = Math.min(p, MAX_POSITION);
      const k = first.get(w);
      if (k === undefined) {
        first.set(w, words.length);
        words.push(w);
        at.push(q);
        bytes += 3 * w.length + 5;
      } else {
        let list = at[k]!;
        if (typeof list === 'number') {
          list = [list];
          at[k] = list;
        }
        if (list.length < MAX_POSITIONS && list[list.length - 1] !== q) {
          list.push(q);
          bytes += 2;
        }
      }
    }
    this.room(bytes);
    const b = this.buf;
    const ascii = !NON_ASCII.test(text);
    let o = this.len + 4;
    b.writeInt32BE(words.length, o);
    o += 4;
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      if (ascii) for (let i = 0; i < w.length; i++) b[o++] = w.charCodeAt(i);
      else o += b.write(w, o, 'utf8');
      b[o++] = 0;
      const list = at[k]!;
      if (typeof list === 'number') {
        b[o++] = 0;
        b[o++] = 1;
        b[o++] = list >> 8;
        b[o++] = list & 255;
      } else {
        b[o++] = list.length >> 8;
        b[o++] = list.length & 255;
        for (const q of list) {
          b[o++] = q >> 8;
          b[o++] = q & 255;
        }
      }
    }
    b.writeInt32BE(o - this.len - 4, this.len);
    this.len = o;
    this.n++;
  }

  /** The array (header: one dimension of n elements from index 1). */
  done(): Buffer {
    const b = this.buf;
    b.writeInt32BE(1, 0);
    b.writeInt32BE(this.nulls ? 1 : 0, 4);
    b.writeUInt32BE(this.oid, 8);
    b.writeInt32BE(this.n, 12);
    b.writeInt32BE(1, 16);
    return b.subarray(0, this.len);
  }
}

/** A text[] literal of `tags` (NULL for none), read per row with `::text[]`. */
function tagsLiteral(tags: string[]): string {
  let out = '{';
  for (let i = 0; i < tags.length; i++) {
    const t = noNul(tags[i]!);
    out += `${i ? ',' : ''}"${/["\\]/.test(t) ? t.replace(/["\\]/g, '\\$&') : t}"`;
  }
  return `${out}}`;
}

/** Event columns as unnest of binary arrays ($1 … $15, see batchParams), with the batch order `n`. */
const BATCH_ROWS = `unnest($1::text[], $2::int8[], $3::int2[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::int4[], $13::tsvector[], $14::text[], $15::text[])
  WITH ORDINALITY AS b (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name,
    container_image, k8s_ns, count, search_tsv, tags, raw, n)`;
const EVENT_COLS =
  'uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name, container_image, k8s_ns, count, search_tsv, tags';
/** EVENT_COLS as read from BATCH_ROWS (tags arrive as one text[] literal per row). */
const EVENT_VALUES = EVENT_COLS.replace(/\btags$/, 'tags::text[]');

/** The fifteen array parameters of BATCH_ROWS for `rows`. */
export function batchParams(rows: EventRow[]): Buffer[] {
  const col = (oid: number) => new BinaryArray(oid);
  const uuid = col(OID.text);
  const ts = col(OID.int8);
  const priority = col(OID.int2);
  const rule = col(OID.text);
  const source = col(OID.text);
  const hostname = col(OID.text);
  const cluster = col(OID.text);
  const containerId = col(OID.text);
  const containerName = col(OID.text);
  const containerImage = col(OID.text);
  const k8sNs = col(OID.text);
  const count = col(OID.int4);
  const tsv = col(OID.tsvector);
  const tags = col(OID.text);
  const raw = col(OID.text);
  for (const r of rows) {
    uuid.text(r.uuid);
    ts.int8(r.ts);
    priority.int2(r.priority);
    rule.text(r.rule);
    source.text(r.source);
    hostname.text(r.hostname);
    cluster.text(r.cluster);
    containerId.text(r.containerId);
    containerName.text(r.containerName);
    containerImage.text(r.containerImage);
    k8sNs.text(r.k8sNs);
    count.int4(r.count);
    tsv.tsvector(r.text);
    if (r.tags.length) tags.text(tagsLiteral(r.tags));
    else tags.null();
    raw.text(r.raw);
  }
  return [
    uuid,
    ts,
    priority,
    rule,
    source,
    hostname,
    cluster,
    containerId,
    containerName,
    containerImage,
    k8sNs,
    count,
    tsv,
    tags,
    raw,
  ].map((c) => c.done());
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
  /** Until when (ms) batches go straight to ON CONFLICT, after one met a stored uuid. */
  private conflictUntil = 0;
  /** The events id sequence, as a regclass literal. */
  private idSeq = `'events_id_seq'::regclass`;

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
      const seq = (await c.query(`SELECT pg_get_serial_sequence('events', 'id') AS s`)).rows[0]?.s;
      if (typeof seq === 'string') s.idSeq = `'${seq.replaceAll("'", "''")}'::regclass`;
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
    // Same words as the insert's tsvector (BinaryArray.tsvector), as a tsquery literal: consecutive, the last one a prefix.
    params.push(`${tokens.map((t) => `'${t}'`).join(' <-> ')}:*`);
    return 'e.search_tsv @@ ?::tsquery';
  }

  /**
   * Insert a batch without ON CONFLICT: ids drawn from the events sequence for
   * each row up front, so the raw alerts need no join on the returned rows. The
   * unique uuid index still refuses a stored uuid (SQLSTATE 23505); the caller
   * then rolls back and inserts the batch with ON CONFLICT (as do the batches of
   * the next 10 s). `rows` have distinct
   * uuids. Skipping the conflict check (an index probe per row before the
   * insert, and a speculative-insertion confirm record in the WAL) is the saving.
   */
  private async insertFresh(client: pg.PoolClient, rows: EventRow[]): Promise<boolean> {
    try {
      await client.query(
        `WITH b AS MATERIALIZED (SELECT nextval(${this.idSeq}) AS id, * FROM ${BATCH_ROWS}),
         ins AS (INSERT INTO events (id, ${EVENT_COLS}) SELECT id, ${EVENT_VALUES} FROM b ORDER BY n)
         INSERT INTO event_raw (id, raw) SELECT id, raw FROM b`,
        batchParams(rows),
      );
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code !== '23505') throw e;
      // Resent alerts tend to come in runs: the next batches for a while skip this attempt.
      this.conflictUntil = Date.now() + 10_000;
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      return false;
    }
  }

  protected async insertRows(rows: EventRow[]): Promise<Set<string>> {
    const done = new Set<string>();
    const CHUNK = 5000;
    for (let i = 0; i < rows.length; i += CHUNK) {
      // A uuid repeated in one batch is stored once (its first alert), and counted once.
      const seen = new Set<string>();
      const chunk = rows.slice(i, i + CHUNK).filter((r) => !seen.has(r.uuid) && seen.add(r.uuid));
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        let stored: EventRow[];
        if (!this.rawInline && Date.now() >= this.conflictUntil && (await this.insertFresh(client, chunk)))
          stored = chunk;
        else {
          const res = await client.query(
            this.rawInline
              ? `INSERT INTO events (${EVENT_COLS}, raw) SELECT ${EVENT_VALUES}, raw FROM ${BATCH_ROWS} ORDER BY n
                 ON CONFLICT (uuid) DO NOTHING RETURNING uuid`
              : // The raw alert goes to event_raw for the rows stored.
                `WITH b AS (SELECT * FROM ${BATCH_ROWS}),
                 ins AS (
                   INSERT INTO events (${EVENT_COLS}) SELECT ${EVENT_VALUES} FROM b ORDER BY n
                   ON CONFLICT (uuid) DO NOTHING RETURNING id, uuid),
                 rw AS (INSERT INTO event_raw (id, raw) SELECT ins.id, b.raw FROM ins JOIN b ON b.uuid = ins.uuid)
                 SELECT uuid FROM ins`,
            batchParams(chunk),
          );
          const fresh = new Set((res.rows as { uuid: string }[]).map((r) => r.uuid));
          stored = chunk.filter((r) => fresh.has(r.uuid));
        }
        for (const r of stored) done.add(r.uuid);
        const d = rollupDeltas(stored);
        if (d.n.length) {
          const hour = new BinaryArray(OID.int8);
          const dim = new BinaryArray(OID.text);
          const value = new BinaryArray(OID.text);
          const priority = new BinaryArray(OID.int2);
          const n = new BinaryArray(OID.int8);
          for (let k = 0; k < d.n.length; k++) {
            hour.int8(d.hour[k]!);
            dim.text(d.dim[k]!);
            value.text(d.value[k]!);
            priority.int2(d.priority[k]!);
            n.int8(d.n[k]!);
          }
          await client.query(
            `INSERT INTO rollup (hour, dim, value, priority, n)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::smallint[], $5::bigint[])
             ON CONFLICT (hour, dim, value, priority) DO UPDATE SET n = rollup.n + excluded.n`,
            [hour, dim, value, priority, n].map((c) => c.done()),
          );
        }
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
