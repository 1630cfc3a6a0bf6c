import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { PriorityLevel } from '../../alert/priority.js';
import { type EventRow, words } from './normalize.js';
import { HOUR_US, type RollupDelta, rollupDeltas } from './rollup.js';
import { AUTH_SCHEMA, rollupSubtractSelects, SqlStore } from './sql-store.js';
import type { StoredEvent, StoreStats } from './types.js';
import { UuidFilter } from './uuid-filter.js';

/**
 * A batch as handed to the insert transaction (and posted to the writer thread):
 * one array per column, which costs less to copy between threads than row objects.
 */
export interface Batch {
  uuid: string[];
  ts: number[];
  priority: PriorityLevel[];
  rule: string[];
  source: string[];
  hostname: string[];
  cluster: string[];
  containerId: string[];
  containerName: string[];
  containerImage: string[];
  k8sNs: string[];
  count: number[];
  raw: string[];
  /** Output, rule and hostname as sent: FTS5's unicode61 tokenizer splits and folds them like `words()`. */
  text: string[];
  tags: string[][];
  /** Rollup increments for the whole batch, aggregated by the sender (used when every row is stored). */
  roll: RollupDelta;
}

export function pack(rows: EventRow[]): Batch {
  const b: Batch = {
    uuid: [],
    ts: [],
    priority: [],
    rule: [],
    source: [],
    hostname: [],
    cluster: [],
    containerId: [],
    containerName: [],
    containerImage: [],
    k8sNs: [],
    count: [],
    raw: [],
    text: [],
    tags: [],
    roll: rollupDeltas(rows),
  };
  for (const r of rows) {
    b.uuid.push(r.uuid);
    b.ts.push(r.ts);
    b.priority.push(r.priority);
    b.rule.push(r.rule);
    b.source.push(r.source);
    b.hostname.push(r.hostname);
    b.cluster.push(r.cluster);
    b.containerId.push(r.containerId);
    b.containerName.push(r.containerName);
    b.containerImage.push(r.containerImage);
    b.k8sNs.push(r.k8sNs);
    b.count.push(r.count);
    b.raw.push(r.raw);
    b.text.push(`${r.output} ${r.rule} ${r.hostname}`);
    b.tags.push(r.tags);
  }
  return b;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL,
  ts INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  rule TEXT NOT NULL,
  source TEXT NOT NULL,
  hostname TEXT NOT NULL,
  cluster TEXT NOT NULL,
  container_id TEXT NOT NULL,
  container_name TEXT NOT NULL,
  container_image TEXT NOT NULL,
  k8s_ns TEXT NOT NULL,
  count INTEGER NOT NULL,
  raw TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts, priority);
CREATE INDEX IF NOT EXISTS events_priority ON events (priority, ts);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule, ts);
CREATE INDEX IF NOT EXISTS events_source ON events (source, ts);
CREATE INDEX IF NOT EXISTS events_hostname ON events (hostname, ts);
CREATE TABLE IF NOT EXISTS event_tags (tag TEXT NOT NULL, event_id INTEGER NOT NULL, ts INTEGER NOT NULL, priority INTEGER NOT NULL, PRIMARY KEY (tag, event_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_tags_event ON event_tags (event_id);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(text, uuid, content='', contentless_delete=1, tokenize='unicode61');
-- The shared rollup table, clustered on its key here (an upsert touches one B-tree, not a rowid table
-- and its key index); dimension first, so reading one dimension over a range of hours is one range scan.
CREATE TABLE IF NOT EXISTS rollup (hour BIGINT NOT NULL, dim TEXT NOT NULL, value TEXT NOT NULL, priority SMALLINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (dim, hour, value, priority)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS events_ad AFTER DELETE ON events BEGIN
  DELETE FROM event_tags WHERE event_id = old.id;
  DELETE FROM events_fts WHERE rowid = old.id;
END;
`;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Rows per multi-row INSERT statement. */
const CHUNK = 64;

/** The uuid as one FTS5 token (32 hex digits): what databases written before 0.1 hold in `events_fts.uuid`. */
function hexUuid(u: string): string {
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}

/**
 * The `events_fts.uuid` token of new rows: the uuid's first 4 hex digits. A lookup
 * by uuid gets the few rows sharing them (about 15 per million events) and checks
 * `events.uuid`. Only 65,536 distinct terms, where a whole uuid made a new term for
 * every event, which FTS5 rewrote at each segment merge (about 4–10 µs per event).
 */
function uuidToken(u: string): string {
  return u.slice(0, 4);
}

/**
 * FTS5 merges a level once it holds this many segments (FTS5's default is 4).
 * Measured on 600k generated events: 16 halves the index's insert cost, queries no slower.
 */
const FTS_AUTOMERGE = 16;

/** Embedded store: one SQLite file in WAL mode, FTS5 (unicode61 words) for free text. */
export class SqliteStore extends SqlStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly insertTx: Database.Transaction<(groups: Batch[]) => Set<string>[]>;
  /** Legacy layout: a UNIQUE index on events.uuid (databases created before the uuid filter). */
  private readonly uuidIndex: boolean;
  /** uuids stored (a superset), built on the first insert through this connection. */
  private filter?: UuidFilter;
  /** Highest event id the filter has seen. */
  private maxId = 0;
  private writer?: Worker;
  private checkpointer?: Worker;
  /** Batches waiting for the writer thread while it is busy; sent together as one transaction. */
  private queued: { rows: Batch; resolve: (done: string[]) => void; reject: (e: Error) => void }[] = [];
  /** Callers of the transaction now running on the writer thread. */
  private inFlight: { resolve: (done: string[]) => void; reject: (e: Error) => void }[] = [];

  /**
   * `writerThread`: run inserts on a worker thread with its own connection
   * (WAL lets the main thread keep reading), so JSON parsing and checking on the
   * main thread overlap with SQLite's work. Needs the compiled build (the worker
   * is `sqlite-writer.js`); without it inserts stay on the calling thread.
   */
  constructor(
    readonly path: string,
    opts: { writerThread?: boolean; autoCheckpointPages?: number } = {},
  ) {
    super();
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -131072');
    this.db.pragma(`wal_autocheckpoint = ${opts.autoCheckpointPages ?? 10000}`);
    this.db.pragma('mmap_size = 268435456');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const automerge = this.db.prepare("SELECT v FROM events_fts_config WHERE k = 'automerge'").get() as
      | { v: number }
      | undefined;
    if (automerge?.v !== FTS_AUTOMERGE)
      this.db.exec(`INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', ${FTS_AUTOMERGE})`);
    this.db.exec(AUTH_SCHEMA);
    // Databases created before the uuid filter keep their UNIQUE uuid index (and a
    // one-column FTS table); inserts then dedup through the index as before.
    const eventsSql = String(
      (this.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string }).sql,
    );
    this.uuidIndex = /\buuid\s+TEXT\s+NOT\s+NULL\s+UNIQUE\b/i.test(eventsSql);
    const ins = this.db.prepare(
      `INSERT ${this.uuidIndex ? 'OR IGNORE ' : ''}INTO events (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name, container_image, k8s_ns, count, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Tags and FTS5 rows go in with multi-row INSERTs (up to CHUNK rows per statement) after
    // the batch's events: fewer statement runs than one per row.
    const tag = this.multiInsert('INSERT OR IGNORE INTO event_tags (tag, event_id, ts, priority)', 4);
    const fts = this.uuidIndex
      ? this.multiInsert('INSERT INTO events_fts (rowid, text)', 2)
      : this.multiInsert('INSERT INTO events_fts (rowid, text, uuid)', 3);
    const roll = this.db.prepare(
      `INSERT INTO rollup (hour, dim, value, priority, n) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (hour, dim, value, priority) DO UPDATE SET n = n + excluded.n`,
    );
    // One transaction for one or more batches (the writer thread coalesces batches
    // that arrive while it is busy): the commit, and the rollup upserts, are paid once.
    this.insertTx = this.db.transaction((groups: Batch[]): Set<string>[] => {
      const out: Set<string>[] = [];
      const deltas: RollupDelta[] = [];
      const tagArgs: unknown[] = [];
      const ftsArgs: unknown[] = [];
      const filter = this.uuidIndex ? undefined : this.syncFilter();
      const inTx = new Set<string>();
      for (const b of groups) {
        const done = new Set<string>();
        out.push(done);
        const skipped: number[] = [];
        for (let i = 0; i < b.uuid.length; i++) {
          const uuid = b.uuid[i]!;
          if (filter) {
            // Seen in this transaction, or (rarely: a re-delivery or a false positive) already stored.
            if (inTx.has(uuid) || (filter.mayHave(uuid) && this.storedId(uuid) !== undefined)) {
              skipped.push(i);
              continue;
            }
          }
          const ts = b.ts[i]!;
          const priority = b.priority[i]!;
          const rule = b.rule[i]!;
          const source = b.source[i]!;
          const hostname = b.hostname[i]!;
          const cluster = b.cluster[i]!;
          const containerImage = b.containerImage[i]!;
          const k8sNs = b.k8sNs[i]!;
          const tags = b.tags[i]!;
          const res = ins.run(
            uuid,
            ts,
            priority,
            rule,
            source,
            hostname,
            cluster,
            b.containerId[i],
            b.containerName[i],
            containerImage,
            k8sNs,
            b.count[i],
            b.raw[i],
          );
          if (res.changes !== 1) {
            skipped.push(i);
            continue;
          }
          const id = res.lastInsertRowid;
          for (const t of tags) tagArgs.push(t, id, ts, priority);
          if (filter) {
            ftsArgs.push(id, b.text[i], uuidToken(uuid));
            filter.add(uuid);
            inTx.add(uuid);
            this.maxId = Number(id);
          } else ftsArgs.push(id, b.text[i]);
          done.add(uuid);
        }
        // The sender's aggregate when every row was stored; else re-aggregate the stored rows.
        if (!skipped.length) deltas.push(b.roll);
        else {
          const skip = new Set(skipped);
          const stored = [];
          for (let i = 0; i < b.uuid.length; i++)
            if (!skip.has(i))
              stored.push({
                ts: b.ts[i]!,
                priority: b.priority[i]!,
                rule: b.rule[i]!,
                source: b.source[i]!,
                hostname: b.hostname[i]!,
                cluster: b.cluster[i]!,
                containerImage: b.containerImage[i]!,
                k8sNs: b.k8sNs[i]!,
                tags: b.tags[i]!,
              });
          deltas.push(rollupDeltas(stored));
        }
      }
      tag(tagArgs);
      fts(ftsArgs);
      for (const d of deltas)
        for (let i = 0; i < d.n.length; i++) roll.run(d.hour[i], d.dim[i], d.value[i], d.priority[i], d.n[i]);
      return out;
    });
    const script = new URL('./sqlite-writer.js', import.meta.url);
    if (opts.writerThread && path !== ':memory:' && existsSync(script)) {
      this.writer = new Worker(script, { workerData: { path } });
      // Checkpoints run on their own thread; the writer checkpoints itself only past 50 000 WAL pages.
      this.checkpointer = new Worker(new URL('./sqlite-checkpointer.js', import.meta.url), {
        workerData: { path, intervalMs: 250 },
      });
      this.checkpointer.unref();
      this.writer.on('message', (m: { done?: string[][]; error?: string }) => {
        const callers = this.inFlight;
        this.inFlight = [];
        callers.forEach((p, i) => {
          if (m.error !== undefined) p.reject(new Error(m.error));
          else p.resolve(m.done?.[i] ?? []);
        });
        this.flush();
      });
      this.writer.on('error', (e) => {
        for (const p of [...this.inFlight, ...this.queued]) p.reject(e);
        this.inFlight = [];
        this.queued = [];
      });
      this.writer.unref();
    }
  }

  /** `head VALUES (…), (…)` for flat `args` of `cols` values per row, CHUNK rows per statement. */
  private multiInsert(head: string, cols: number): (args: unknown[]) => void {
    const row = `(${new Array(cols).fill('?').join(', ')})`;
    const full = this.db.prepare(`${head} VALUES ${new Array(CHUNK).fill(row).join(', ')}`);
    const one = this.db.prepare(`${head} VALUES ${row}`);
    return (args) => {
      const step = CHUNK * cols;
      let i = 0;
      for (; i + step <= args.length; i += step) full.run(args.slice(i, i + step));
      for (; i < args.length; i += cols) one.run(args.slice(i, i + cols));
    };
  }

  /**
   * The uuid filter, brought up to date with rows other connections inserted since
   * (ids above the last one seen; rebuilt if the highest id went down).
   */
  private syncFilter(): UuidFilter {
    const m = Number((this.stmt('SELECT max(id) AS m FROM events').get() as { m: number | null }).m ?? 0);
    if (!this.filter || m < this.maxId) {
      const n = Number((this.stmt('SELECT count(*) AS n FROM events').get() as { n: number }).n);
      this.filter = new UuidFilter(Math.max(1 << 20, 2 * n));
      this.maxId = 0;
    }
    if (m > this.maxId) {
      for (const r of this.stmt('SELECT uuid FROM events WHERE id > ?').iterate(this.maxId))
        this.filter.add((r as { uuid: string }).uuid);
      this.maxId = m;
    }
    return this.filter;
  }

  /** Id of the stored event with this uuid (FTS5 uuid column, or the legacy uuid index). */
  private storedId(uuid: string): number | undefined {
    const r = this.uuidIndex
      ? this.stmt('SELECT id FROM events WHERE uuid = ?').get(uuid)
      : this.stmt(
          'SELECT id FROM events WHERE id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?) AND uuid = ?',
        ).get(`uuid : ("${uuidToken(uuid)}" OR "${hexUuid(uuid)}")`, uuid);
    return r ? Number((r as { id: number }).id) : undefined;
  }

  override async get(uuid: string): Promise<StoredEvent | undefined> {
    const u = uuid.toLowerCase();
    if (!UUID_RE.test(u)) return undefined;
    const id = this.storedId(u);
    if (id === undefined) return undefined;
    const r = this.stmt('SELECT raw FROM events WHERE id = ?').get(id) as { raw: string } | undefined;
    return r ? (JSON.parse(r.raw) as StoredEvent) : undefined;
  }

  protected groupCol(col: string): string {
    return `+${col}`;
  }

  protected async deleteBatch(cond: string, params: unknown[], limit: number): Promise<number> {
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS del_ids (id INTEGER PRIMARY KEY)');
    const selects = rollupSubtractSelects(
      '(SELECT e.* FROM events e JOIN del_ids d ON d.id = e.id)',
      '(SELECT t.* FROM event_tags t JOIN del_ids d ON d.id = t.event_id)',
      HOUR_US,
    );
    return this.db
      .transaction(() => {
        this.stmt('DELETE FROM del_ids').run();
        const n = this.stmt(
          `INSERT INTO del_ids (id) SELECT id FROM events WHERE ${cond} LIMIT ${limit}`,
        ).run(...params).changes;
        if (!n) return 0;
        this.stmt(
          `INSERT INTO rollup (hour, dim, value, priority, n)
         SELECT hour, dim, value, priority, -n FROM (${selects.join(' UNION ALL ')}) WHERE true
         ON CONFLICT (hour, dim, value, priority) DO UPDATE SET n = rollup.n + excluded.n`,
        ).run();
        this.stmt('DELETE FROM events WHERE id IN (SELECT id FROM del_ids)').run();
        return n;
      })
      .immediate();
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  protected async all(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    return this.stmt(sql).all(...params) as Record<string, unknown>[];
  }

  protected async run(sql: string, params: unknown[]): Promise<number> {
    return this.stmt(sql).run(...params).changes;
  }

  protected textClause(params: unknown[], text: string): string {
    const tokens = words(text);
    if (!tokens.length) {
      params.push(`%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return "lower(e.raw) LIKE ? ESCAPE '\\'";
    }
    // Word-prefix phrase: "etc/shad" finds "/etc/shadow", "kube-sys" finds "kube-system".
    params.push(`text : "${tokens.join(' ')}" *`);
    return 'e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)';
  }

  /** Whether inserts run on the writer thread. */
  get threaded(): boolean {
    return this.writer !== undefined;
  }

  protected async insertRows(rows: EventRow[]): Promise<Set<string>> {
    if (!this.writer) return this.insertTx.immediate([pack(rows)])[0]!;
    const batch = pack(rows);
    const done = await new Promise<string[]>((resolve, reject) => {
      this.queued.push({ rows: batch, resolve, reject });
      this.flush();
    });
    return new Set(done);
  }

  /** Send every queued batch to the writer thread as one transaction, unless one is running. */
  private flush(): void {
    if (!this.writer || this.inFlight.length || !this.queued.length) return;
    const batches = this.queued;
    this.queued = [];
    this.inFlight = batches;
    this.writer.postMessage({ groups: batches.map((q) => q.rows) });
  }

  /** Insert batches in one transaction on this connection (the writer thread's entry point); the uuids stored, per batch. */
  insertHere(groups: Batch[]): Set<string>[] {
    return this.insertTx.immediate(groups);
  }

  async stats(): Promise<StoreStats> {
    const r = this.db.prepare('SELECT COUNT(*) AS n, MIN(ts) AS lo, MAX(ts) AS hi FROM events').get() as {
      n: number;
      lo: number | null;
      hi: number | null;
    };
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    let wal = 0;
    try {
      wal = statSync(`${this.path}-wal`).size;
    } catch {
      /* no WAL file yet */
    }
    return {
      kind: 'sqlite',
      location: this.path,
      events: r.n,
      ...(r.lo !== null ? { oldestUs: r.lo } : {}),
      ...(r.hi !== null ? { newestUs: r.hi } : {}),
      bytes: (pages - free) * pageSize + wal,
    };
  }

  /** Fold the WAL into the database file (used before measuring size). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    if (this.writer) {
      while (this.inFlight.length || this.queued.length) await new Promise((r) => setTimeout(r, 5));
      await this.writer.terminate();
      this.writer = undefined;
    }
    if (this.checkpointer) {
      const cp = this.checkpointer;
      this.checkpointer = undefined;
      await new Promise<void>((resolve) => {
        cp.once('message', () => resolve());
        cp.once('exit', () => resolve());
        cp.postMessage('stop');
      });
      await cp.terminate();
    }
    this.db.close();
  }
}
