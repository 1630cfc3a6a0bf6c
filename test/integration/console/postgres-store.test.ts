import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterFromQuery } from '../../../src/console/store/filter.js';
import { normalizeAlert } from '../../../src/console/store/normalize.js';
import { BinaryArray, batchParams, PostgresStore } from '../../../src/console/store/postgres.js';
import { startPostgres } from '../../harness/postgres.js';
import type { RunningServer } from '../../harness/servers.js';
import { alert } from './fixtures.js';

const HOUR = 3_600_000;

/** PostgreSQL-only behaviour: the tsvector and batch arrays built in Node, the tags migration, retention of tagged events. */
describe('postgres store specifics', () => {
  let server: RunningServer & { url: string };
  let admin: pg.Client;
  let dbn = 0;
  const fresh = async () => {
    const db = `pgs${process.pid}_${++dbn}`;
    await admin.query(`CREATE DATABASE ${db}`);
    return server.url.replace(/\/peregrine$/, `/${db}`);
  };

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  it("sends the same tsvector as to_tsvector('simple') in binary: words merged, positions capped, the server sorts", async () => {
    const many = Array.from({ length: 16_500 }, (_, i) => `w${i}`).join(' ');
    const texts = [
      normalizeAlert(alert()).text,
      normalizeAlert(alert({ output: 'Été à Zürich: 日本語 テスト ١٢٣; a a a b a 𝒳 z' })).text,
      normalizeAlert(alert({ output: `${'x'.repeat(3000)} after the long word` })).text,
      'b a b c a',
      // A word repeated more than 255 times keeps its first 255 positions.
      `${'r '.repeat(300)}end`,
      // Positions past 16383 are all 16383: "tail" once at 16383, "w1" at 2 and 16383.
      `${many} tail tail w1`,
      '',
    ];
    const bin = new BinaryArray(3614);
    for (const t of texts) bin.tsvector(t);
    const r = await admin.query<{ same: boolean; b: string }>(
      `SELECT to_tsvector('simple', t) = b AS same, b::text AS b FROM unnest($1::text[], $2::tsvector[]) AS v (t, b)`,
      [texts, bin.done()],
    );
    expect(r.rows.map((x) => x.same)).toEqual(texts.map(() => true));
    expect(r.rows[3]!.b).toBe("'a':2,5 'b':1,3 'c':4");
    expect(r.rows[5]!.b).toContain("'tail':16383");
    expect(r.rows[5]!.b).toContain("'w1':2,16383");
  });

  it('sends batches as binary arrays that the server reads back unchanged', async () => {
    const rows = [
      normalizeAlert(alert({ rule: 'Ünïcode rule ☃', tags: ['a,b', 'q"uote', 'back\\slash', 'NULL'] })),
      normalizeAlert(alert({ rule: 'x'.repeat(100), hostname: 'nul\u0000host', tags: [] })),
      normalizeAlert(alert({ at: new Date(Date.UTC(1969, 11, 31, 23, 0, 0)), rule: 'lone \ud800' })),
    ];
    const p = batchParams(rows);
    const r = await admin.query(
      `SELECT uuid, ts::text AS ts, priority, rule, hostname, count, tags::text[] AS tags, raw
       FROM unnest($1::text[], $2::int8[], $3::int2[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::text[], $11::text[], $12::int4[], $13::tsvector[], $14::text[], $15::text[])
         AS b (uuid, ts, priority, rule, source, hostname, cluster, container_id, container_name,
           container_image, k8s_ns, count, search_tsv, tags, raw)`,
      p,
    );
    expect(r.rows).toEqual(
      rows.map((x) => ({
        uuid: x.uuid,
        ts: String(x.ts),
        priority: x.priority,
        rule: x.rule.replace('\ud800', '\ufffd'),
        hostname: x.hostname.replace('\u0000', '\ufffd'),
        count: x.count,
        tags: x.tags.length ? x.tags : null,
        raw: x.raw,
      })),
    );
    expect(rows[2]!.ts).toBeLessThan(0);
  });

  it('stores each uuid once when batches repeat stored uuids, alone or concurrently, and counts each caller apart', async () => {
    const url = await fresh();
    const store = await PostgresStore.open(url);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const now = Date.now();
      const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const mk = (i: number) =>
        alert({ uuid: id(i), at: new Date(now - HOUR - i * 1000), hostname: `h${i % 3}` });
      // A first batch, in batch order: ids follow it (the newest-first order breaks ties on the id).
      const first = await store.insert([0, 1, 2, 3].map(mk));
      expect(first.inserted.map((e) => e.uuid)).toEqual([0, 1, 2, 3].map(id));
      const order = await c.query('SELECT uuid FROM events ORDER BY id');
      expect(order.rows.map((r) => r.uuid)).toEqual([0, 1, 2, 3].map(id));
      // A batch holding stored uuids and a repeat of its own.
      const second = await store.insert([4, 1, 5, 4, 3].map(mk));
      expect(second.inserted.map((e) => e.uuid)).toEqual([4, 5].map(id));
      expect(second.duplicates).toEqual([1, 4, 3].map(id));
      // Overlapping batches at once, from another store (its own connections) and this one.
      const other = await PostgresStore.open(url);
      try {
        const batches = [
          [6, 7, 8, 9, 10, 11],
          [9, 10, 11, 12, 13, 2],
          [12, 13, 14, 15, 6],
          [14, 15, 16, 17, 7],
        ];
        const res = await Promise.all(batches.map((b, k) => (k % 2 ? other : store).insert(b.map(mk))));
        const got = res.flatMap((r) => r.inserted.map((e) => e.uuid));
        expect(new Set(got).size).toBe(got.length);
        expect([...got].sort()).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17].map(id));
        res.forEach((r, k) => {
          const mine = new Set(r.inserted.map((e) => e.uuid));
          expect(r.duplicates.sort()).toEqual(
            batches[k]!.map(id)
              .filter((u) => !mine.has(u))
              .sort(),
          );
        });
      } finally {
        await other.close();
      }
      const n = await c.query(
        `SELECT (SELECT count(*)::int FROM events) AS e, (SELECT count(*)::int FROM event_raw r JOIN events e ON e.id = r.id) AS r,
                (SELECT sum(n)::int FROM rollup WHERE dim = 'hostname') AS h`,
      );
      expect(n.rows[0]).toEqual({ e: 18, r: 18, h: 18 });
      const byHost = await store.countBy(
        { fromUs: (now - 10 * HOUR) * 1000, toUs: now * 1000 },
        'hostname',
        5,
      );
      expect(Object.fromEntries(byHost.rows.map((r) => [r.value, r.count]))).toEqual({ h0: 6, h1: 6, h2: 6 });
      // The whole set again: all duplicates, nothing stored twice.
      const again = await store.insert(Array.from({ length: 18 }, (_, i) => mk(i)));
      expect(again.inserted).toEqual([]);
      expect(again.duplicates).toHaveLength(18);
      expect((await c.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(18);
    } finally {
      await store.close();
      await c.end();
    }
  });

  it('migrates a database with the old event_tags table: tags move into events, filters and counts keep working', async () => {
    const url = await fresh();
    const now = Date.now();
    const seed = await PostgresStore.open(url);
    await seed.insert([
      alert({ at: new Date(now - 2 * HOUR), tags: ['container', 'shell'] }),
      alert({ at: new Date(now - HOUR), tags: ['k8s'], rule: 'Other' }),
      alert({ at: new Date(now - HOUR), tags: [] }),
    ]);
    await seed.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    // Back to the layout released before tags moved into events: a tag table, no tags column.
    await c.query(`
      CREATE TABLE event_tags (tag TEXT NOT NULL, event_id BIGINT NOT NULL, ts BIGINT NOT NULL, priority SMALLINT NOT NULL,
        PRIMARY KEY (tag, event_id));
      CREATE INDEX event_tags_event ON event_tags (event_id);
      INSERT INTO event_tags SELECT unnest(tags), id, ts, priority FROM events;
      ALTER TABLE events DROP COLUMN tags;`);
    const store = await PostgresStore.open(url);
    try {
      const left = await c.query(`SELECT to_regclass('event_tags') AS t`);
      expect(left.rows[0].t).toBeNull();
      const f = (q: Record<string, string>) => store.count(filterFromQuery(q));
      expect(await f({ tags: 'shell' })).toBe(1);
      expect(await f({ tags: 'k8s,shell' })).toBe(2);
      const byTag = await store.countBy({}, 'tags', 10);
      expect(Object.fromEntries(byTag.rows.map((r) => [r.value, r.count]))).toEqual({
        container: 1,
        shell: 1,
        k8s: 1,
      });
      await store.insert([alert({ at: new Date(now - 30 * 60_000), tags: ['shell'] })]);
      expect(
        (await store.search(filterFromQuery({ q: 'shell spawned' }), { limit: 10 })).events,
      ).toHaveLength(4);
      expect(await f({ tags: 'shell' })).toBe(2);
      // Opening again is a no-op.
      await (await PostgresStore.open(url)).close();
    } finally {
      await store.close();
      await c.end();
    }
  });

  it('keeps the raw alert in event_raw (one row per stored event, first of a repeated uuid), and databases with events.raw keep working', async () => {
    const url = await fresh();
    const now = Date.now();
    const uuid = '5d0c7b1e-9a2f-4c3d-8e1f-0a1b2c3d4e5f';
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const check = async (store: PostgresStore, stored: number) => {
      expect(await store.count({})).toBe(stored);
      const got = await store.get(uuid);
      expect(got?.rule).toBe('First ☃');
      // Free text through the tsvector, and the fallback for text without words (☃: over the raw JSON).
      expect(
        (await store.search(filterFromQuery({ q: 'shell spawned' }), { limit: 50 })).events,
      ).toHaveLength(stored);
      expect(
        (await store.search(filterFromQuery({ q: '☃' }), { limit: 50 })).events.map((e) => e.uuid),
      ).toEqual([uuid]);
      const page = await store.search({}, { limit: 50 });
      expect(
        page.events.every((e) => typeof e.uuid === 'string' && e.output_fields['user.name'] === 'root'),
      ).toBe(true);
    };
    let store = await PostgresStore.open(url);
    try {
      const res = await store.insert([
        alert({ at: new Date(now - 3 * HOUR), uuid, rule: 'First ☃' }),
        alert({ at: new Date(now - 3 * HOUR), uuid, rule: 'Second' }),
        alert({ at: new Date(now - HOUR) }),
      ]);
      expect(res.inserted).toHaveLength(2);
      expect(res.duplicates).toEqual([uuid]);
      const cols = await c.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'events' AND column_name = 'raw'`,
      );
      expect(cols.rowCount).toBe(0);
      const raws = await c.query(
        'SELECT e.uuid, r.raw FROM events e JOIN event_raw r ON r.id = e.id ORDER BY e.ts',
      );
      expect(raws.rows.map((r) => [r.uuid, JSON.parse(r.raw).rule])).toEqual([
        [uuid, 'First ☃'],
        [res.inserted[1]!.uuid, 'Terminal shell in container'],
      ]);
      await check(store, 2);
      // Retention deletes the raw rows with their events.
      expect(await store.enforceRetention({ maxAgeMs: 2 * HOUR, maxEvents: 0 }, now * 1000)).toBe(1);
      expect((await c.query('SELECT count(*)::int AS n FROM event_raw')).rows[0].n).toBe(1);
      await store.close();

      // The layout before event_raw: the raw alert inline in events.
      await c.query(`
        ALTER TABLE events ADD COLUMN raw TEXT;
        UPDATE events e SET raw = r.raw FROM event_raw r WHERE r.id = e.id;
        ALTER TABLE events ALTER COLUMN raw SET NOT NULL;
        DROP TABLE event_raw;`);
      store = await PostgresStore.open(url);
      await store.insert([
        alert({ at: new Date(now - 3 * HOUR), uuid, rule: 'First ☃' }),
        alert({ at: new Date(now - 30 * 60_000) }),
      ]);
      await check(store, 3);
      expect((await c.query('SELECT count(*)::int AS n FROM event_raw')).rows[0].n).toBe(0);
      expect(await store.enforceRetention({ maxAgeMs: 0, maxEvents: 1 }, now * 1000)).toBe(2);
      expect(await store.count({})).toBe(1);
    } finally {
      await store.close();
      await c.end();
    }
  });

  it('retention removes tagged events and their tag counts, odd tag strings round-trip', async () => {
    const store = await PostgresStore.open(await fresh());
    try {
      const now = Date.now();
      const odd = ['with "quote"', 'back\\slash', 'comma,brace}{', 'NULL'];
      await store.insert([
        alert({ at: new Date(now - 5 * HOUR), tags: odd }),
        alert({ at: new Date(now - 5 * HOUR), tags: ['old'] }),
        alert({ at: new Date(now - HOUR), tags: ['new', 'with "quote"'] }),
      ]);
      const got = await store.search({ tags: [odd[1]!] }, { limit: 10 });
      expect(got.events.map((e) => e.tags)).toEqual([[...odd].sort()]);
      expect(await store.count({ tags: ['NULL'] })).toBe(1);
      const n = await store.enforceRetention({ maxAgeMs: 2 * HOUR, maxEvents: 0 }, now * 1000);
      expect(n).toBe(2);
      const byTag = await store.countBy({}, 'tags', 10);
      expect(Object.fromEntries(byTag.rows.map((r) => [r.value, r.count]))).toEqual({
        new: 1,
        'with "quote"': 1,
      });
      // Whole-hour counts come from the rollup: the deleted events are gone from it too.
      const from = (Math.floor(now / HOUR) - 10) * HOUR * 1000;
      const rolled = await store.countBy(
        { fromUs: from, toUs: Math.floor(now / HOUR) * HOUR * 1000 },
        'tags',
        10,
      );
      expect(Object.fromEntries(rolled.rows.map((r) => [r.value, r.count]))).toEqual({
        new: 1,
        'with "quote"': 1,
      });
    } finally {
      await store.close();
    }
  });

  it('stores alerts whose strings hold a lone surrogate or NUL (columns get U+FFFD, the raw alert keeps them)', async () => {
    const store = await PostgresStore.open(await fresh());
    try {
      const res = await store.insert([
        alert({ rule: 'lone \ud800 surrogate', tags: ['t\udc00'] }),
        alert({ rule: 'nul \u0000 byte', hostname: 'h\u0000' }),
        alert({ rule: 'escaped \\u0000 text stays' }),
      ]);
      expect(res.inserted).toHaveLength(3);
      expect((await store.get(res.inserted[0]!.uuid))?.rule).toBe('lone \ud800 surrogate');
      expect((await store.get(res.inserted[1]!.uuid))?.hostname).toBe('h\u0000');
      const rules = await store.countBy({}, 'rule', 10);
      expect(rules.rows.map((r) => r.value).sort()).toEqual([
        'escaped \\u0000 text stays',
        'lone \ufffd surrogate',
        'nul \ufffd byte',
      ]);
      expect(await store.count({ rules: ['escaped \\u0000 text stays'] })).toBe(1);
    } finally {
      await store.close();
    }
  });
});
