import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ftsPathFor, SqliteStore } from '../../../src/console/store/sqlite.js';
import { UuidFilter } from '../../../src/console/store/uuid-filter.js';
import { alert } from './fixtures.js';

const dirs: string[] = [];
const dbPath = () => {
  const d = mkdtempSync(join(tmpdir(), 'peregrine-console-layout-'));
  dirs.push(d);
  return join(d, 'console.db');
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('uuid filter', () => {
  it('never forgets an added uuid and rarely claims an unseen one', () => {
    const f = new UuidFilter(1024);
    const added = Array.from({ length: 20_000 }, () => randomUUID());
    for (const u of added) f.add(u);
    for (const u of added) expect(f.mayHave(u)).toBe(true);
    expect(f.size).toBe(20_000);
    let fp = 0;
    for (let i = 0; i < 20_000; i++) if (f.mayHave(randomUUID())) fp++;
    expect(fp / 20_000).toBeLessThan(0.03);
  });
});

describe('SQLite store: uuid dedup without a uuid index', () => {
  it('dedups across reopen, across connections, and finds events by uuid', async () => {
    const path = dbPath();
    const a = new SqliteStore(path);
    const uuids = Array.from({ length: 3000 }, () => randomUUID());
    const first = await a.insert(uuids.map((uuid, i) => alert({ uuid, rule: `R${i % 7}` })));
    expect(first.inserted).toHaveLength(3000); // no false "duplicate" among distinct uuids
    await a.close();

    const b = new SqliteStore(path);
    const again = await b.insert([alert({ uuid: uuids[5]!, rule: 'other time, same uuid' })]);
    expect(again.duplicates).toEqual([uuids[5]]);
    expect((await b.get(uuids[5]!))?.rule).toBe('R5');
    expect((await b.get(uuids[5]!.toUpperCase()))?.uuid).toBe(uuids[5]);
    expect(await b.get(randomUUID())).toBeUndefined();
    expect(await b.get('not-a-uuid')).toBeUndefined();

    // Another connection inserts after b built its filter: b must still see that uuid.
    const c = new SqliteStore(path);
    const fresh = randomUUID();
    expect((await c.insert([alert({ uuid: fresh })])).inserted).toHaveLength(1);
    expect((await b.insert([alert({ uuid: fresh })])).duplicates).toEqual([fresh]);
    await c.close();

    // Deleted by retention: the uuid can be stored again.
    const gone = randomUUID();
    await b.insert([alert({ uuid: gone, at: new Date(Date.now() - 10 * 86_400_000) })]);
    expect(await b.enforceRetention({ maxAgeMs: 5 * 86_400_000, maxEvents: 0 }, Date.now() * 1000)).toBe(1);
    expect(await b.get(gone)).toBeUndefined();
    expect((await b.insert([alert({ uuid: gone })])).inserted).toHaveLength(1);
    expect(await b.count({})).toBe(3002);
    await b.close();
  });

  it('tells apart uuids sharing the 4-digit FTS5 token and finds rows holding the whole-uuid token', async () => {
    const path = dbPath();
    // Whole-uuid tokens exist only in databases of the inline layout (text index in the events file).
    const s = new SqliteStore(path, { layout: 'inline' });
    // Twenty uuids with the same first four hex digits, so one uuid-token lookup yields them all.
    const same = Array.from({ length: 20 }, () => `beef${randomUUID().slice(4)}`);
    expect((await s.insert(same.map((uuid, i) => alert({ uuid, rule: `S${i}` })))).inserted).toHaveLength(20);
    for (const [i, u] of same.entries()) expect((await s.get(u))?.rule).toBe(`S${i}`);
    expect(await s.get(`beef${randomUUID().slice(4)}`)).toBeUndefined();
    expect((await s.insert([alert({ uuid: same[3]! })])).duplicates).toEqual([same[3]]);
    await s.close();

    // A row indexed the way 0.0 did it (the whole uuid as one 32-digit token) is still found.
    const db = new Database(path);
    const u = same[7]!;
    const id = (db.prepare('SELECT id FROM events WHERE uuid = ?').get(u) as { id: number }).id;
    db.prepare('DELETE FROM events_fts WHERE rowid = ?').run(id);
    db.prepare('INSERT INTO events_fts (rowid, text, uuid) VALUES (?, ?, ?)').run(
      id,
      'old row',
      u.replaceAll('-', ''),
    );
    expect(db.prepare("SELECT v FROM events_fts_config WHERE k = 'automerge'").get()).toEqual({ v: 16 });
    db.close();
    const again = new SqliteStore(path);
    expect((await again.get(u))?.rule).toBe('S7');
    expect((await again.insert([alert({ uuid: u })])).duplicates).toEqual([u]);
    await again.close();
  });

  it('opens a database created with the earlier layout (UNIQUE uuid index) and keeps deduping', async () => {
    const path = dbPath();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE events (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, priority INTEGER NOT NULL,
        rule TEXT NOT NULL, source TEXT NOT NULL, hostname TEXT NOT NULL, cluster TEXT NOT NULL, container_id TEXT NOT NULL,
        container_name TEXT NOT NULL, container_image TEXT NOT NULL, k8s_ns TEXT NOT NULL, count INTEGER NOT NULL, raw TEXT NOT NULL);
      CREATE VIRTUAL TABLE events_fts USING fts5(text, content='', contentless_delete=1, tokenize='unicode61');`);
    old.close();
    const s = new SqliteStore(path);
    const u = randomUUID();
    await s.insert([alert({ uuid: u, output: 'legacy layout shadow file' })]);
    expect((await s.insert([alert({ uuid: u })])).duplicates).toEqual([u]);
    expect((await s.get(u))?.uuid).toBe(u);
    const page = await s.search({ text: 'layout shad' }, { limit: 10 });
    expect(page.events.map((e) => e.uuid)).toEqual([u]);
    await s.close();
  });
});

describe('SQLite store: the text index in its own file (split layout)', () => {
  const ftsCount = (path: string, word: string): number => {
    const db = new Database(ftsPathFor(path), { readonly: true });
    const n = (
      db.prepare('SELECT count(*) AS n FROM events_fts WHERE events_fts MATCH ?').get(word) as { n: number }
    ).n;
    db.close();
    return n;
  };
  const mainCount = (path: string, table: string): number => {
    const db = new Database(path, { readonly: true });
    const n = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    db.close();
    return n;
  };
  const outputs = (word: string, n: number) =>
    Array.from({ length: n }, (_, i) => alert({ uuid: randomUUID(), output: `${word} number ${i}` }));

  it('puts new databases in two files and leaves databases of the inline layout as they are', async () => {
    const path = dbPath();
    const s = new SqliteStore(path);
    await s.insert(outputs('alphaword', 3));
    expect((await s.search({ text: 'alphaword' }, { limit: 10 })).events).toHaveLength(3);
    await s.close();
    expect(existsSync(ftsPathFor(path))).toBe(true);
    expect(path.endsWith('console.db') && ftsPathFor(path).endsWith('console.fts.db')).toBe(true);
    expect(mainCount(path, "sqlite_master WHERE name = 'events_fts'")).toBe(0);
    expect(ftsCount(path, 'alphaword')).toBe(3);

    const inline = dbPath();
    const a = new SqliteStore(inline, { layout: 'inline' });
    await a.insert(outputs('bravoword', 2));
    await a.close();
    const b = new SqliteStore(inline); // reopened without the option: still inline
    expect((await b.search({ text: 'bravoword' }, { limit: 10 })).events).toHaveLength(2);
    await b.close();
    expect(existsSync(ftsPathFor(inline))).toBe(false);
  });

  it('writes on open the text-index rows a crash left out, and rebuilds a lost text-index file', async () => {
    const path = dbPath();
    const s = new SqliteStore(path);
    const stored = await s.insert(outputs('crashword', 30));
    await s.close();
    // A crash after the events commit and before the text-index commit: rows 11–30 missing, their range in fts_todo.
    const ids = new Database(path);
    const all = (ids.prepare('SELECT id FROM events ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    ids.prepare('INSERT INTO fts_todo (lo, hi) VALUES (?, ?)').run(all[10], all[29]);
    ids.close();
    const fts = new Database(ftsPathFor(path));
    fts.prepare('DELETE FROM events_fts WHERE rowid BETWEEN ? AND ?').run(all[10], all[29]);
    fts.close();
    expect(ftsCount(path, 'crashword')).toBe(10);

    const again = new SqliteStore(path);
    expect((await again.search({ text: 'crashword' }, { limit: 100 })).events).toHaveLength(30);
    expect(mainCount(path, 'fts_todo')).toBe(0);
    await again.close();

    // The text-index file deleted (say, not copied with a backup): rebuilt from the events on open.
    for (const f of ['', '-wal', '-shm']) rmSync(`${ftsPathFor(path)}${f}`, { force: true });
    const rebuilt = new SqliteStore(path);
    expect((await rebuilt.search({ text: 'crashword number' }, { limit: 100 })).events).toHaveLength(30);
    const u = stored.inserted[7]!.uuid;
    expect((await rebuilt.get(u))?.output).toBe('crashword number 7');
    expect((await rebuilt.insert([alert({ uuid: u })])).duplicates).toEqual([u]);
    await rebuilt.close();
  });

  it('removes deleted events from the text index', async () => {
    const path = dbPath();
    const s = new SqliteStore(path);
    const old = new Date(Date.now() - 10 * 86_400_000);
    await s.insert(Array.from({ length: 12 }, (_, i) => alert({ output: `oldword ${i}`, at: old })));
    await s.insert(outputs('newword', 5));
    expect(await s.enforceRetention({ maxAgeMs: 5 * 86_400_000, maxEvents: 0 }, Date.now() * 1000)).toBe(12);
    expect(await s.count({ text: 'oldword' })).toBe(0);
    await s.close();
    expect(ftsCount(path, 'oldword')).toBe(0);
    expect(ftsCount(path, 'newword')).toBe(5);
    expect(mainCount(path, 'fts_gone')).toBe(0);
  });

  it('with the writer thread: dedups a uuid whose text-index rows are still being written; searches see answered inserts', async () => {
    const built = new URL('../../../dist/console/store/sqlite.js', import.meta.url).pathname;
    if (!existsSync(built)) throw new Error(`${built} missing: run npm run build first`);
    const mod = (await import(built)) as { SqliteStore: typeof SqliteStore };
    const s = new mod.SqliteStore(dbPath(), { writerThread: true });
    expect(s.threaded && s.splitText).toBe(true);
    // A large first batch keeps the text-index thread busy while the writer takes the second.
    const big = outputs('bigword', 3000);
    const u = big[2999]!.uuid!;
    const [first, second] = await Promise.all([s.insert(big), s.insert([alert({ uuid: u })])]);
    expect(first.inserted).toHaveLength(3000);
    expect(second.duplicates).toEqual([u]);
    // Ten batches in flight; each answer may come before the text index has it, the search may not.
    await Promise.all(Array.from({ length: 10 }, () => s.insert(outputs('burstword', 400))));
    expect(await s.count({ text: 'burstword' })).toBe(4000);
    expect((await s.get(u))?.uuid).toBe(u);
    await s.close();
  });

  it('with the writer thread: restarts a text-index thread that dies, and after five deaths in a minute answers without it', async () => {
    const built = new URL('../../../dist/console/store/sqlite.js', import.meta.url).pathname;
    const mod = (await import(built)) as { SqliteStore: typeof SqliteStore };
    const path = dbPath();
    const s = new mod.SqliteStore(path, { writerThread: true });
    const indexer = () => (s as unknown as { indexer?: { terminate(): Promise<number> } }).indexer;
    const kill = async () => {
      const w = indexer();
      await w!.terminate();
      await new Promise((r) => setTimeout(r, 20)); // its 'exit' event
      return w;
    };
    // Killed while it may still be writing a large batch: the writer sends the work to the next thread.
    const big = s.insert(outputs('midword', 3000));
    await new Promise((r) => setTimeout(r, 5));
    const first = await kill();
    expect((await big).inserted).toHaveLength(3000);
    expect(indexer()).toBeDefined();
    expect(indexer()).not.toBe(first);
    expect(await s.count({ text: 'midword' })).toBe(3000);
    await s.insert(outputs('afterrestart', 4));
    expect(await s.count({ text: 'afterrestart' })).toBe(4);

    // Five more deaths within the minute: the store stops waiting for a text index.
    for (let i = 0; i < 5; i++) await kill();
    expect(indexer()).toBeUndefined();
    expect((await s.insert(outputs('afterloss', 7))).inserted).toHaveLength(7);
    expect(await s.count({})).toBe(3011);
    expect(await s.count({ text: 'afterloss' })).toBe(0);
    await s.close();
    expect(mainCount(path, 'fts_todo')).toBeGreaterThan(0);
    const again = new SqliteStore(path);
    expect(await again.count({ text: 'afterloss' })).toBe(7);
    expect(await again.count({ text: 'midword' })).toBe(3000);
    expect(mainCount(path, 'fts_todo')).toBe(0);
    await again.close();
  });
});
