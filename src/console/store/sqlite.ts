import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventRow } from './normalize.js';
import { AUTH_SCHEMA, SqlStore } from './sql-store.js';
import type { StoreStats } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
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
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_priority ON events (priority, ts);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule, ts);
CREATE INDEX IF NOT EXISTS events_source ON events (source, ts);
CREATE INDEX IF NOT EXISTS events_hostname ON events (hostname, ts);
CREATE INDEX IF NOT EXISTS events_image ON events (container_image, ts);
CREATE INDEX IF NOT EXISTS events_ns ON events (k8s_ns, ts);
CREATE TABLE IF NOT EXISTS event_tags (tag TEXT NOT NULL, event_id INTEGER NOT NULL, PRIMARY KEY (tag, event_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_tags_event ON event_tags (event_id);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(text, content='', contentless_delete=1, tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS events_ad AFTER DELETE ON events BEGIN
  DELETE FROM event_tags WHERE event_id = old.id;
  DELETE FROM events_fts WHERE rowid = old.id;
END;
`;

/** Embedded store: one SQLite file in WAL mode, FTS5 trigram index for free text. */
export class SqliteStore extends SqlStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly insertTx: (rows: EventRow[]) => Set<string>;

  constructor(readonly path: string) {
    super();
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -65536');
    this.db.pragma('mmap_size = 268435456');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.db.exec(AUTH_SCHEMA);
    const ins = this.db.prepare(
      `INSERT OR IGNORE INTO events (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name, container_image, k8s_ns, count, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const tag = this.db.prepare('INSERT OR IGNORE INTO event_tags (tag, event_id) VALUES (?, ?)');
    const fts = this.db.prepare('INSERT INTO events_fts (rowid, text) VALUES (?, ?)');
    this.insertTx = this.db.transaction((rows: EventRow[]) => {
      const done = new Set<string>();
      for (const r of rows) {
        const res = ins.run(
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
          r.raw,
        );
        if (res.changes !== 1) continue;
        const id = res.lastInsertRowid;
        for (const t of r.tags) tag.run(t, id);
        fts.run(id, r.text);
        done.add(r.uuid);
      }
      return done;
    });
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
    if ([...text].length >= 3) {
      params.push(`"${text.replaceAll('"', '""')}"`);
      return 'e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)';
    }
    // The trigram index cannot answer queries under 3 characters: scan the JSON.
    params.push(`%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    return "lower(e.raw) LIKE ? ESCAPE '\\'";
  }

  protected async insertRows(rows: EventRow[]): Promise<Set<string>> {
    return this.insertTx(rows);
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
    this.db.close();
  }
}
