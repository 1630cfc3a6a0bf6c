import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
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

/** What FTS5 indexes of an event (at insert, and when recovery rebuilds it from the stored JSON). */
function indexedText(output: string, rule: string, hostname: string): string {
  return `${output} ${rule} ${hostname}`;
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
    b.text.push(indexedText(r.output, r.rule, r.hostname));
    b.tags.push(r.tags);
  }
  return b;
}

/** Tables and indexes of the events database (both layouts). */
const schema = (autoincrement: boolean) => `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY${autoincrement ? ' AUTOINCREMENT' : ''},
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
-- The shared rollup table, clustered on its key here (an upsert touches one B-tree, not a rowid table
-- and its key index); dimension first, so reading one dimension over a range of hours is one range scan.
CREATE TABLE IF NOT EXISTS rollup (hour BIGINT NOT NULL, dim TEXT NOT NULL, value TEXT NOT NULL, priority SMALLINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (dim, hour, value, priority)) WITHOUT ROWID;
`;

const ftsTable = (schemaName: string) =>
  `CREATE VIRTUAL TABLE IF NOT EXISTS ${schemaName}events_fts USING fts5(text, uuid, content='', contentless_delete=1, tokenize='unicode61');`;

/** Inline layout (databases created before 2026-11-29 evening, and in-memory ones): the text index in the events file. */
const INLINE_SCHEMA = `${schema(false)}
${ftsTable('')}
CREATE TRIGGER IF NOT EXISTS events_ad AFTER DELETE ON events BEGIN
  DELETE FROM event_tags WHERE event_id = old.id;
  DELETE FROM events_fts WHERE rowid = old.id;
END;
`;

/**
 * Split layout: the text index lives in its own file (see ftsPathFor), written by its own
 * thread. Ids are never reused (AUTOINCREMENT), so a late text-index delete never hits a newer event.
 * `fts_todo` holds the id ranges stored but not yet in the text index (one row per insert
 * transaction, deleted once indexed; what is left after a crash is indexed on open);
 * `fts_gone` holds the ids deleted whose text-index rows are still to be removed.
 */
const SPLIT_SCHEMA = `${schema(true)}
CREATE TABLE IF NOT EXISTS fts_todo (lo INTEGER PRIMARY KEY, hi INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fts_gone (id INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS events_ad AFTER DELETE ON events BEGIN
  DELETE FROM event_tags WHERE event_id = old.id;
  INSERT OR IGNORE INTO fts_gone (id) VALUES (old.id);
END;
`;

/** Rows per multi-row INSERT statement. */
const CHUNK = 64;

/** `head VALUES (…), (…)` for flat `args` of `cols` values per row, CHUNK rows per statement. */
export function multiInsert(db: Database.Database, head: string, cols: number): (args: unknown[]) => void {
  const row = `(${new Array(cols).fill('?').join(', ')})`;
  const full = db.prepare(`${head} VALUES ${new Array(CHUNK).fill(row).join(', ')}`);
  const one = db.prepare(`${head} VALUES ${row}`);
  return (args) => {
    const step = CHUNK * cols;
    let i = 0;
    for (; i + step <= args.length; i += step) full.run(args.slice(i, i + step));
    for (; i < args.length; i += cols) one.run(args.slice(i, i + cols));
  };
}

/** The text-index file of a split-layout database: `console.db` → `console.fts.db`. */
export function ftsPathFor(path: string): string {
  return `${path.endsWith('.db') ? path.slice(0, -3) : path}.fts.db`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

/**
 * Split layout with threads: inserts are answered once stored while at most this many
 * transactions wait for the text-index thread; beyond that, answers wait for it (backpressure).
 */
const MAX_INDEX_LAG = 4;

/** Text-index thread restarts allowed within a minute before the store stops using it (see indexerLost). */
const INDEXER_RESTARTS = 5;

type Caller = { resolve: (done: string[]) => void; reject: (e: Error) => void };

/** Which thread a store object serves: the API's (main) or the writer thread's (the text-index thread has no store object). */
type Role = 'main' | 'writer';

/** Id range and FTS5 rows (rowid, text, uuid token, …) of one insert transaction in the split layout. */
export interface FtsWork {
  lo: number;
  args: unknown[];
}

/** Embedded store: SQLite in WAL mode, FTS5 (unicode61 words) for free text. */
export class SqliteStore extends SqlStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly insertTx: Database.Transaction<(groups: Batch[]) => Set<string>[]>;
  /** Legacy layout: a UNIQUE index on events.uuid (databases created before the uuid filter). */
  private readonly uuidIndex: boolean;
  /** Split layout: the text index is in its own file, attached as `fts` (see SPLIT_SCHEMA). */
  readonly splitText: boolean;
  /** `events_fts`, qualified with its schema. */
  private readonly ftsName: string;
  private readonly role: Role;
  /** Writer thread, split layout: a read connection to the text-index file (for uuid lookups). */
  private ftsRead?: Database.Database;
  /** uuids stored (a superset), built on the first insert through this connection. */
  private filter?: UuidFilter;
  /** Highest event id the filter has seen. */
  private maxId = 0;
  private writer?: Worker;
  private checkpointer?: Worker;
  /** Text-index thread (split layout with the writer thread). */
  private indexer?: Worker;
  /** Batches waiting for the writer thread while it is busy; sent together as one transaction. */
  private queued: (Caller & { rows: Batch })[] = [];
  /** Callers of the transaction now running on the writer thread. */
  private inFlight: Caller[] = [];
  /** Transactions stored by the writer whose text-index rows are being written, by first id. */
  private indexing = new Map<number, { callers: Caller[]; done: string[][] }>();
  /** First id of the writer's latest transaction with text-index rows. */
  private lastLo = 0;
  /** Text-index acknowledgements that arrived before the writer's own answer. */
  private indexedEarly = new Map<number, string | undefined>();
  /** Writer thread: uuids stored whose text-index rows (which uuid lookups read) are not written yet. */
  private unindexed = new Map<number, string[]>();
  private unindexedSet = new Set<string>();
  /** The FTS5 rows of the last insert transaction (split layout), for the text-index thread. */
  private lastFts?: FtsWork;
  private ftsReplace?: (args: unknown[]) => void;

  /**
   * `writerThread`: run inserts on a worker thread with its own connection
   * (WAL lets the main thread keep reading), so JSON parsing and checking on the
   * main thread overlap with SQLite's work; in the split layout a third thread writes
   * the text index at the same time. Needs the compiled build (the workers are
   * `sqlite-writer.js` and `sqlite-indexer.js`); without it inserts stay on the calling thread.
   * `layout` applies to new databases only (default `split`; `:memory:` is always inline).
   */
  constructor(
    readonly path: string,
    opts: {
      writerThread?: boolean;
      autoCheckpointPages?: number;
      layout?: 'split' | 'inline';
      role?: Role;
    } = {},
  ) {
    super();
    this.role = opts.role ?? 'main';
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -131072');
    this.db.pragma(`wal_autocheckpoint = ${opts.autoCheckpointPages ?? 10000}`);
    this.db.pragma('mmap_size = 268435456');
    this.db.pragma('busy_timeout = 5000');
    const existing = new Set(
      (
        this.db.prepare("SELECT name FROM sqlite_master WHERE name IN ('events', 'events_fts')").all() as {
          name: string;
        }[]
      ).map((r) => r.name),
    );
    this.splitText =
      path !== ':memory:' &&
      (existing.has('events') ? !existing.has('events_fts') : (opts.layout ?? 'split') === 'split');
    // The writer thread's connection leaves the text index alone (its BEGIN IMMEDIATE would
    // lock every attached file, and so stall the text-index thread); uuid lookups there read it
    // through a second connection.
    const attach = this.splitText && this.role === 'main';
    const ftsLost = attach && existing.has('events') && !existsSync(ftsPathFor(path));
    if (attach) {
      this.db.prepare('ATTACH DATABASE ? AS fts').run(ftsPathFor(path));
      this.db.pragma('fts.journal_mode = WAL');
      this.db.pragma('fts.synchronous = NORMAL');
      this.db.exec(ftsTable('fts.'));
    }
    this.db.exec(this.splitText ? SPLIT_SCHEMA : INLINE_SCHEMA);
    const ftsSchema = attach ? 'fts.' : '';
    this.ftsName = `${ftsSchema}events_fts`;
    if (!this.splitText || attach) {
      const automerge = this.db
        .prepare(`SELECT v FROM ${ftsSchema}events_fts_config WHERE k = 'automerge'`)
        .get() as { v: number } | undefined;
      if (automerge?.v !== FTS_AUTOMERGE)
        this.db.exec(`INSERT INTO ${this.ftsName} (events_fts, rank) VALUES ('automerge', ${FTS_AUTOMERGE})`);
    }
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
    const tag = multiInsert(this.db, 'INSERT OR IGNORE INTO event_tags (tag, event_id, ts, priority)', 4);
    const fts = this.splitText
      ? undefined
      : this.uuidIndex
        ? multiInsert(this.db, 'INSERT INTO events_fts (rowid, text)', 2)
        : multiInsert(this.db, 'INSERT INTO events_fts (rowid, text, uuid)', 3);
    const todo = this.splitText ? this.db.prepare('INSERT INTO fts_todo (lo, hi) VALUES (?, ?)') : undefined;
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
            // (Stored by an earlier transaction whose text-index rows are still being written counts too.)
            if (
              inTx.has(uuid) ||
              (filter.mayHave(uuid) && (this.unindexedSet.has(uuid) || this.storedId(uuid) !== undefined))
            ) {
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
      if (fts) fts(ftsArgs);
      else if (ftsArgs.length) {
        // Split layout: record the id range; its text-index rows are written after the commit.
        const lo = Number(ftsArgs[0]);
        todo!.run(lo, Number(ftsArgs[ftsArgs.length - 3]));
        this.lastFts = { lo, args: ftsArgs };
      }
      for (const d of deltas)
        for (let i = 0; i < d.n.length; i++) roll.run(d.hour[i], d.dim[i], d.value[i], d.priority[i], d.n[i]);
      return out;
    });
    if (this.splitText && this.role === 'main') {
      // A text-index file lost (or not copied with a backup) is rebuilt from the stored events.
      if (ftsLost)
        this.db.exec(
          'INSERT OR REPLACE INTO fts_todo (lo, hi) SELECT min(id), max(id) FROM events HAVING count(*) > 0',
        );
      this.catchUpText();
      this.dropGone();
    }
    const script = new URL('./sqlite-writer.js', import.meta.url);
    if (opts.writerThread && this.role === 'main' && path !== ':memory:' && existsSync(script)) {
      // The writer hands each transaction's FTS5 rows straight to the text-index thread,
      // which acknowledges to us (the callers) and to the writer (todo row, uuid lookups).
      const port = this.splitText ? this.startIndexer() : undefined;
      this.writer = new Worker(script, { workerData: { path, port }, transferList: port ? [port] : [] });
      // Checkpoints run on their own thread; the writer checkpoints itself only past 50 000 WAL pages.
      this.checkpointer = new Worker(new URL('./sqlite-checkpointer.js', import.meta.url), {
        workerData: { path, intervalMs: 250 },
      });
      this.checkpointer.unref();
      this.writer.on('message', (m: { done?: string[][]; lo?: number; error?: string }) => {
        const callers = this.inFlight;
        this.inFlight = [];
        if (m.error !== undefined) for (const p of callers) p.reject(new Error(m.error));
        else if (m.lo === undefined || !this.indexer || this.indexing.size < MAX_INDEX_LAG) {
          // Stored: answer now. Text searches and uuid lookups wait for the text index to catch up
          // (textCaughtUp), so a search right after the answer still sees these events.
          callers.forEach((p, i) => {
            p.resolve(m.done?.[i] ?? []);
          });
          if (m.lo !== undefined && this.indexer) this.indexing.set(m.lo, { callers: [], done: [] });
        } else this.indexing.set(m.lo, { callers, done: m.done ?? [] }); // text index behind: hold the answer
        if (m.lo !== undefined) {
          this.lastLo = m.lo;
          if (this.indexedEarly.has(m.lo)) {
            const error = this.indexedEarly.get(m.lo);
            this.indexedEarly.delete(m.lo);
            this.indexed(m.lo, error);
          }
        }
        this.flush();
      });
      this.writer.on('error', (e) => this.failAll(e));
      this.writer.unref();
    }
  }

  /** The text-index thread wrote (or failed to write) the rows of the transaction starting at `lo`. */
  private indexed(lo: number, error?: string): void {
    const t = this.indexing.get(lo);
    if (!t) {
      // Before the writer's answer for it (kept for then), or a second acknowledgement of work sent
      // again to a restarted text-index thread (ignored).
      if (lo > this.lastLo) this.indexedEarly.set(lo, error);
      return;
    }
    this.indexing.delete(lo);
    t.callers.forEach((p, i) => {
      // The events are stored; their text-index rows are written on the next open (fts_todo).
      if (error !== undefined) p.reject(new Error(`text index: ${error}`));
      else p.resolve(t.done[i] ?? []);
    });
    this.wakeTextWaiters();
  }

  /** Queries waiting for the text index to hold every transaction answered before they started. */
  private textWaiters: { upTo: number; resolve: () => void }[] = [];

  /** Resolves once the text index has the rows of every insert answered so far. */
  private textCaughtUp(): Promise<void> {
    if (!this.indexing.size) return Promise.resolve();
    const upTo = Math.max(...this.indexing.keys());
    return new Promise((resolve) => this.textWaiters.push({ upTo, resolve }));
  }

  private wakeTextWaiters(): void {
    const oldest = this.indexing.size ? Math.min(...this.indexing.keys()) : Number.POSITIVE_INFINITY;
    const waiting = this.textWaiters;
    this.textWaiters = [];
    for (const w of waiting) {
      if (w.upTo < oldest) w.resolve();
      else this.textWaiters.push(w);
    }
  }

  /** Starts the text-index thread; returns the port the writer thread sends it work on. */
  private startIndexer(): MessagePort {
    const ch = new MessageChannel();
    const w = new Worker(new URL('./sqlite-indexer.js', import.meta.url), {
      workerData: { ftsPath: ftsPathFor(this.path), port: ch.port2 },
      transferList: [ch.port2],
    });
    w.on('message', (m: { lo?: number; error?: string }) => {
      if (m.lo !== undefined) this.indexed(m.lo, m.error);
    });
    w.on('error', () => this.indexerLost(w));
    w.on('exit', () => this.indexerLost(w));
    w.unref();
    this.indexer = w;
    return ch.port1;
  }

  /** When the text-index thread died lately (restarts within the last minute). */
  private indexerDeaths: number[] = [];

  /**
   * The text-index thread died. It is started again and the writer sends the new one every
   * transaction not yet acknowledged (rows replace rows, so one written twice is harmless). After
   * INDEXER_RESTARTS deaths within a minute the store stops waiting for it: everyone waiting is
   * answered (their events are stored), and the ranges not written stay in fts_todo for the next open.
   */
  private indexerLost(w: Worker): void {
    if (this.indexer !== w) return; // stopped by close(), or already replaced
    const now = Date.now();
    this.indexerDeaths = [...this.indexerDeaths.filter((t) => t > now - 60_000), now];
    if (this.writer && this.indexerDeaths.length <= INDEXER_RESTARTS) {
      const port = this.startIndexer();
      this.writer.postMessage({ port }, [port]);
      return;
    }
    this.indexer = undefined;
    this.writer?.postMessage({ port: null });
    for (const t of this.indexing.values())
      t.callers.forEach((p, i) => {
        p.resolve(t.done[i] ?? []);
      });
    this.indexing.clear();
    this.wakeTextWaiters();
  }

  private failAll(e: Error): void {
    const waiting = [
      ...this.inFlight,
      ...this.queued,
      ...[...this.indexing.values()].flatMap((t) => t.callers),
    ];
    this.inFlight = [];
    this.queued = [];
    this.indexing.clear();
    for (const p of waiting) p.reject(e);
    this.wakeTextWaiters();
  }

  /** FTS5 rows (rowid, text, uuid token, …) into the attached text index, replacing rows with the same id. */
  private replaceText(args: unknown[]): void {
    if (!args.length) return;
    let put = this.ftsReplace;
    if (!put) {
      put = multiInsert(this.db, 'INSERT OR REPLACE INTO fts.events_fts (rowid, text, uuid)', 3);
      this.ftsReplace = put;
    }
    const write = put;
    // Deferred: only the text-index file is written, so only its lock is taken.
    this.db.transaction(() => write(args)).deferred();
  }

  /**
   * Split layout, on open: write the text-index rows of transactions stored but not
   * indexed (a crash between the two commits), from the stored alert JSON.
   */
  private catchUpText(): void {
    const ranges = this.stmt('SELECT lo, hi FROM fts_todo ORDER BY lo').all() as { lo: number; hi: number }[];
    const rows = this.stmt('SELECT id, uuid, raw FROM events WHERE id BETWEEN ? AND ?');
    for (const { lo, hi } of ranges) {
      // In slices of 10 000 ids, so a rebuild of a large store does not hold it all in memory.
      for (let from = lo; from <= hi; from += 10_000) {
        const args: unknown[] = [];
        for (const r of rows.iterate(from, Math.min(hi, from + 9_999))) {
          const { id, uuid, raw } = r as { id: number; uuid: string; raw: string };
          const e = JSON.parse(raw) as { output?: unknown; rule: string; hostname?: unknown };
          args.push(id, indexedText(str(e.output), e.rule, str(e.hostname)), uuidToken(uuid));
        }
        this.replaceText(args);
      }
      this.stmt('DELETE FROM fts_todo WHERE lo = ?').run(lo);
    }
  }

  /** Split layout: remove the text-index rows of deleted events (listed in fts_gone by the delete trigger). */
  private dropGone(): void {
    for (;;) {
      const ids = (this.stmt('SELECT id FROM fts_gone LIMIT 5000').all() as { id: number }[]).map(
        (r) => r.id,
      );
      if (!ids.length) return;
      const list = JSON.stringify(ids);
      this.db
        .transaction(() =>
          this.stmt('DELETE FROM fts.events_fts WHERE rowid IN (SELECT value FROM json_each(?))').run(list),
        )
        .deferred();
      this.stmt('DELETE FROM fts_gone WHERE id IN (SELECT value FROM json_each(?))').run(list);
    }
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
    if (this.uuidIndex) {
      const r = this.stmt('SELECT id FROM events WHERE uuid = ?').get(uuid) as { id: number } | undefined;
      return r ? Number(r.id) : undefined;
    }
    const match = `uuid : ("${uuidToken(uuid)}" OR "${hexUuid(uuid)}")`;
    if (this.splitText && this.role === 'writer') {
      // The writer's connection has no text index attached: ask the index, then check each candidate.
      this.ftsRead ??= new Database(ftsPathFor(this.path), { readonly: true, fileMustExist: true });
      const ids = this.ftsRead
        .prepare('SELECT rowid AS id FROM events_fts WHERE events_fts MATCH ?')
        .all(match) as {
        id: number;
      }[];
      const check = this.stmt('SELECT id FROM events WHERE id = ? AND uuid = ?');
      for (const { id } of ids) if (check.get(id, uuid)) return Number(id);
      return undefined;
    }
    const r = this.stmt(
      `SELECT id FROM events WHERE id IN (SELECT rowid FROM ${this.ftsName} WHERE events_fts MATCH ?) AND uuid = ?`,
    ).get(match, uuid) as { id: number } | undefined;
    return r ? Number(r.id) : undefined;
  }

  override async get(uuid: string): Promise<StoredEvent | undefined> {
    const u = uuid.toLowerCase();
    if (!UUID_RE.test(u)) return undefined;
    await this.textCaughtUp();
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
    const n = this.db
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
    if (n && this.splitText) this.dropGone();
    return n;
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
    if (this.indexing.size && sql.includes('events_fts')) await this.textCaughtUp();
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
    return `e.id IN (SELECT rowid FROM ${this.ftsName} WHERE events_fts MATCH ?)`;
  }

  /** Whether inserts run on the writer thread. */
  get threaded(): boolean {
    return this.writer !== undefined;
  }

  protected async insertRows(rows: EventRow[]): Promise<Set<string>> {
    if (!this.writer) {
      const done = this.insertHere([pack(rows)])[0]!;
      const work = this.takeTextWork();
      if (work) {
        this.replaceText(work.args);
        this.stmt('DELETE FROM fts_todo WHERE lo = ?').run(work.lo);
      }
      return done;
    }
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
    this.lastFts = undefined;
    const out = this.insertTx.immediate(groups);
    const work = this.lastFts as FtsWork | undefined; // set by the transaction
    if (work && this.role === 'writer') {
      // Until the text-index thread has these rows, uuid lookups cannot find them there.
      const uuids = out.flatMap((d) => [...d]);
      this.unindexed.set(work.lo, uuids);
      for (const u of uuids) this.unindexedSet.add(u);
    }
    return out;
  }

  /** Split layout: the id range and FTS5 rows of the last insert transaction, once. */
  takeTextWork(): FtsWork | undefined {
    const w = this.lastFts;
    this.lastFts = undefined;
    return w;
  }

  /** Writer thread: the text-index thread wrote the rows of the transaction starting at `lo`. */
  textIndexed(lo: number): void {
    for (const u of this.unindexed.get(lo) ?? []) this.unindexedSet.delete(u);
    this.unindexed.delete(lo);
    this.stmt('DELETE FROM fts_todo WHERE lo = ?').run(lo);
  }

  async stats(): Promise<StoreStats> {
    const r = this.db.prepare('SELECT COUNT(*) AS n, MIN(ts) AS lo, MAX(ts) AS hi FROM events').get() as {
      n: number;
      lo: number | null;
      hi: number | null;
    };
    // Both files in the split layout (events, text index), each with its WAL.
    const files: [string, string][] = [['main', this.path]];
    if (this.splitText) files.push(['fts', ftsPathFor(this.path)]);
    let bytes = 0;
    for (const [schema, file] of files) {
      const pageSize = this.db.pragma(`${schema}.page_size`, { simple: true }) as number;
      const pages = this.db.pragma(`${schema}.page_count`, { simple: true }) as number;
      const free = this.db.pragma(`${schema}.freelist_count`, { simple: true }) as number;
      bytes += (pages - free) * pageSize;
      try {
        bytes += statSync(`${file}-wal`).size;
      } catch {
        /* no WAL file yet */
      }
    }
    return {
      kind: 'sqlite',
      location: this.path,
      events: r.n,
      ...(r.lo !== null ? { oldestUs: r.lo } : {}),
      ...(r.hi !== null ? { newestUs: r.hi } : {}),
      bytes,
    };
  }

  /** Fold the WAL into the database file (used before measuring size). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    if (this.splitText) this.db.pragma('fts.wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    if (this.writer) {
      while (this.inFlight.length || this.queued.length || this.indexing.size)
        await new Promise((r) => setTimeout(r, 5));
      await this.writer.terminate();
      this.writer = undefined;
    }
    const workers = [this.indexer, this.checkpointer];
    this.indexer = undefined;
    this.checkpointer = undefined;
    for (const w of workers) {
      if (!w) continue;
      w.ref(); // wait for its answer even if nothing else keeps the process alive
      await new Promise<void>((resolve) => {
        w.once('message', () => resolve());
        w.once('exit', () => resolve());
        w.postMessage('stop');
      });
      await w.terminate();
    }
    this.db.close();
  }
}
