import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterFromQuery } from '../../../src/console/store/filter.js';
import type { EventStore } from '../../../src/console/store/types.js';
import { alert, storeKinds } from './fixtures.js';

const HOUR = 3_600_000;

describe.each(storeKinds())('event store contract: $name', (kind) => {
  let store: EventStore;
  const now = Date.now();
  beforeAll(async () => {
    store = await kind.open();
    await store.insert([
      alert({
        at: new Date(now - 3 * HOUR),
        priority: 'Critical',
        rule: 'Write below etc',
        tags: ['filesystem'],
        output: 'File below /etc opened for writing (file=/etc/shadow ns=kube-system)',
        output_fields: { 'fd.name': '/etc/shadow', 'k8s.ns.name': 'kube-system' },
      }),
      alert({ at: new Date(now - 2 * HOUR), priority: 'Warning', hostname: 'node-b', cluster: 'eu-1' }),
      alert({
        at: new Date(now - 1 * HOUR),
        priority: 'Notice',
        source: 'k8s_audit',
        rule: 'Create privileged pod',
        tags: ['k8s'],
        output: 'Pod started privileged',
        output_fields: { 'ka.target.namespace': 'dev' },
      }),
      alert({
        at: new Date(now - 30 * 60_000),
        priority: 'Error',
        count: 7,
        uuid: '2f1b8f4e-7c1d-4b2a-9f0e-123456789abc',
      }),
      alert({ at: new Date(now - 10 * 60_000), priority: 'Debug', rule: 'Debug rule', tags: [] }),
    ]);
  });
  afterAll(async () => {
    await store?.close();
    await kind.cleanup();
  });

  it('insert is idempotent by uuid and generates missing uuids', async () => {
    const u = randomUUID();
    const first = await store.insert([alert({ uuid: u, rule: 'Idem' }), alert({ uuid: u, rule: 'Idem' })]);
    expect(first.inserted.map((e) => e.uuid)).toEqual([u]);
    expect(first.duplicates).toEqual([u]);
    const again = await store.insert([alert({ uuid: u, rule: 'Idem' })]);
    expect(again.inserted).toEqual([]);
    expect(await store.count({ rules: ['Idem'] })).toBe(1);
    const gen = await store.insert([alert({ rule: 'NoUuid' })]);
    expect(gen.inserted[0]!.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await store.get(gen.inserted[0]!.uuid))?.rule).toBe('NoUuid');
  });

  it('concurrent batches sharing uuids: each uuid stored once and reported inserted to one batch only', async () => {
    // The SQLite writer thread runs batches that arrive while it is busy in one transaction;
    // each caller must still get its own inserted/duplicate split.
    const shared = Array.from({ length: 5 }, () => randomUUID());
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 40 }, (_, i) =>
        alert({ uuid: i < shared.length ? shared[i] : randomUUID(), rule: 'Concurrent', tags: [`b${b}`] }),
      ),
    );
    const results = await Promise.all(batches.map((b) => store.insert(b)));
    const inserted = results.flatMap((r) => r.inserted.map((e) => e.uuid));
    expect(new Set(inserted).size).toBe(inserted.length);
    expect(inserted.length).toBe(6 * 35 + 5);
    for (const u of shared) expect(inserted.filter((x) => x === u)).toHaveLength(1);
    for (const r of results) expect(r.inserted.length + r.duplicates.length).toBe(40);
    expect(await store.count({ rules: ['Concurrent'] })).toBe(6 * 35 + 5);
    const byRule = await store.countBy({ rules: ['Concurrent'] }, 'rule', 5);
    expect(byRule.rows).toEqual([{ value: 'Concurrent', count: 6 * 35 + 5 }]);
  });

  it('keeps output_fields, tags, cluster and the dedup count', async () => {
    const e = await store.get('2F1B8F4E-7C1D-4B2A-9F0E-123456789ABC');
    expect(e?.count).toBe(7);
    expect(e?.output_fields['container.image.repository']).toBe('nginx');
    expect(e?.tags).toEqual(['container', 'shell']);
    const b = await store.search({ hostnames: ['node-b'] }, { limit: 10 });
    expect(b.events[0]?.cluster).toBe('eu-1');
  });

  it('rejects bad alerts with a message naming the key', async () => {
    await expect(store.insert([{ ...alert(), priority: 'Loud' as never }])).rejects.toThrow(/priority/);
    await expect(store.insert([{ ...alert(), time: 'yesterday' }])).rejects.toThrow(/time/);
  });

  it('filters: priority set, at-or-above, rule, source, hostname, tags, container, namespace, cluster, time', async () => {
    const f = (q: Record<string, string>) =>
      store.count({
        ...filterFromQuery(q),
        rules: undefined,
        ...(q.rule ? { rules: q.rule.split(',') } : {}),
      });
    const base = { since: '1d' };
    expect(await f({ ...base, priority: 'Critical,Notice' })).toBe(2);
    expect(
      await store.count({
        ...filterFromQuery({ min_priority: 'Error' }),
        rules: ['Write below etc', 'Terminal shell in container'],
      }),
    ).toBe(2);
    expect(await f({ ...base, rule: 'Create privileged pod' })).toBe(1);
    expect(await f({ ...base, source: 'k8s_audit' })).toBe(1);
    expect(await f({ ...base, hostname: 'node-b' })).toBe(1);
    expect(await f({ ...base, tags: 'filesystem,k8s' })).toBe(2);
    expect(await f({ ...base, container: 'nginx', rule: 'Terminal shell in container' })).toBe(2);
    expect(await f({ ...base, namespace: 'dev' })).toBe(1);
    expect(await f({ ...base, namespace: 'kube-system' })).toBe(1);
    expect(await f({ ...base, cluster: 'eu-1' })).toBe(1);
    expect(await f({ since: '45min', rule: 'Terminal shell in container,Debug rule' })).toBe(2);
  });

  it('free text matches word prefixes in output, rule and hostname', async () => {
    expect(await store.count({ text: 'ETC/SHAD' })).toBe(1);
    expect(await store.count({ text: 'privileged' })).toBe(1);
    expect(await store.count({ text: 'kube-sys' })).toBe(1);
    expect(await store.count({ text: 'no-such-thing-anywhere' })).toBe(0);
    expect(await store.count({ text: 'hadow' })).toBe(0);
    expect(await store.count({ text: 'node-b' })).toBe(1);
  });

  it('cursor pagination walks newest to oldest without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.search({}, { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.events.map((e) => e.uuid));
      cursor = page.nextCursor;
    } while (cursor);
    const total = await store.count({});
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    const all = await store.search({}, { limit: 100 });
    const times = all.events.map((e) => e.time);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('counts by every dimension', async () => {
    const f = {
      fromUs: (now - 4 * HOUR) * 1000,
      rules: ['Write below etc', 'Create privileged pod', 'Terminal shell in container', 'Debug rule'],
    };
    const pr = await store.countBy(f, 'priority', 10);
    expect(Object.fromEntries(pr.rows.map((r) => [r.value, r.count]))).toEqual({
      Critical: 1,
      Warning: 1,
      Notice: 1,
      Error: 1,
      Debug: 1,
    });
    const tags = await store.countBy(f, 'tags', 10);
    expect(Object.fromEntries(tags.rows.map((r) => [r.value, r.count]))).toEqual({
      container: 2,
      shell: 2,
      filesystem: 1,
      k8s: 1,
    });
    expect((await store.countBy(f, 'rule', 1)).rows).toEqual([
      { value: 'Terminal shell in container', count: 2 },
    ]);
    expect((await store.countBy(f, 'rule', 1)).distinct).toBe(4);
    expect((await store.countBy(f, 'k8s_ns', 10)).rows.find((r) => r.value === 'prod')?.count).toBe(3);
    expect((await store.countBy(f, 'container_image', 10)).rows.find((r) => r.value === 'nginx')?.count).toBe(
      3,
    );
    expect((await store.countBy(f, 'source', 10)).rows).toContainEqual({ value: 'k8s_audit', count: 1 });
    expect((await store.countBy(f, 'container_name', 10)).rows.find((r) => r.value === 'web')?.count).toBe(3);
    expect((await store.countBy({ ...f, hostnames: ['node-b'] }, 'cluster', 10)).rows).toEqual([
      { value: 'eu-1', count: 1 },
    ]);
  });

  it('histogram buckets by priority and rules summary with sparkline', async () => {
    const from = (now - 4 * HOUR) * 1000;
    const to = now * 1000 + 1;
    const h = await store.histogram(
      { rules: ['Write below etc', 'Create privileged pod'] },
      from,
      to,
      HOUR * 1000,
    );
    expect(h.length).toBe(5);
    expect(h[1]!.byPriority).toEqual({ Critical: 1 });
    expect(h[3]!.byPriority).toEqual({ Notice: 1 });
    expect(h.reduce((s, b) => s + b.total, 0)).toBe(2);
    const rules = await store.rules({}, from, to, 4);
    const shell = rules.find((r) => r.rule === 'Terminal shell in container')!;
    expect(shell.count).toBe(2);
    expect(shell.priority).toBe('Error');
    expect(shell.spark.reduce((a, b) => a + b, 0)).toBe(2);
    expect(shell.spark.length).toBe(4);
  });

  it('retention by age and by count deletes oldest and their tags/text', async () => {
    const s = await kind.open();
    try {
      const base = Date.now();
      await s.insert(
        Array.from({ length: 20 }, (_, i) => alert({ at: new Date(base - (20 - i) * HOUR), rule: `R${i}` })),
      );
      expect(await s.enforceRetention({ maxAgeMs: 10.5 * HOUR, maxEvents: 0 }, base * 1000)).toBe(10);
      expect(await s.count({})).toBe(10);
      expect(await s.enforceRetention({ maxAgeMs: 0, maxEvents: 4 }, base * 1000)).toBe(6);
      const left = await s.search({}, { limit: 10 });
      expect(left.events.map((e) => e.rule)).toEqual(['R19', 'R18', 'R17', 'R16']);
      expect(await s.count({ text: 'bash' })).toBe(4);
      expect((await s.countBy({}, 'tags', 10)).rows).toContainEqual({ value: 'shell', count: 4 });
    } finally {
      await s.close();
    }
  });

  it('hourly rollups give the same counts as the raw events, before and after retention', async () => {
    const s = await kind.open();
    try {
      const base = Date.now();
      const prios = ['Critical', 'Warning', 'Notice'] as const;
      const events = Array.from({ length: 120 }, (_, i) =>
        alert({
          at: new Date(base - i * 17 * 60_000 - (i % 7) * 1000),
          priority: prios[i % 3],
          rule: `R${i % 4}`,
          hostname: `h${i % 5}`,
          tags: i % 2 ? ['a', 'b'] : ['a'],
        }),
      );
      await s.insert(events);
      const all = (await s.search({}, { limit: 1000 })).events;
      const check = async (label: string) => {
        for (const [fromMin, toMin] of [
          [0, 0],
          [600, 0],
          [2000, 95],
          [31, 30],
        ] as const) {
          const fromUs = fromMin ? (base - fromMin * 60_000) * 1000 : undefined;
          const toUs = toMin ? (base - toMin * 60_000) * 1000 : undefined;
          const inRange = all.filter((e) => {
            const us = Date.parse(e.time) * 1000 + Number(e.time.slice(23, 26));
            return (fromUs === undefined || us >= fromUs) && (toUs === undefined || us < toUs);
          });
          const f = { ...(fromUs ? { fromUs } : {}), ...(toUs ? { toUs } : {}) };
          const where = `${label} [${fromMin},${toMin}]`;
          expect(await s.count(f), where).toBe(inRange.length);
          expect(await s.count({ ...f, minPriority: 4 }), where).toBe(
            inRange.filter((e) => e.priority !== 'Notice').length,
          );
          const byRule = Object.fromEntries(
            (await s.countBy({ ...f, rules: ['R1', 'R2'] }, 'rule', 10)).rows.map((r) => [r.value, r.count]),
          );
          const want: Record<string, number> = {};
          for (const e of inRange)
            if (e.rule === 'R1' || e.rule === 'R2') want[e.rule] = (want[e.rule] ?? 0) + 1;
          expect(byRule, where).toEqual(want);
          const tags = Object.fromEntries(
            (await s.countBy(f, 'tags', 10)).rows.map((r) => [r.value, r.count]),
          );
          const wantTags: Record<string, number> = {};
          for (const e of inRange) for (const t of e.tags ?? []) wantTags[t] = (wantTags[t] ?? 0) + 1;
          expect(tags, where).toEqual(wantTags);
          const pr = Object.fromEntries(
            (await s.countBy({ ...f, priorities: [2, 5] }, 'priority', 10)).rows.map((r) => [
              r.value,
              r.count,
            ]),
          );
          const wantPr: Record<string, number> = {};
          for (const e of inRange)
            if (e.priority !== 'Warning') wantPr[e.priority] = (wantPr[e.priority] ?? 0) + 1;
          expect(pr, where).toEqual(wantPr);
          if (fromUs) {
            // Hour-aligned buckets: histogram and rules read whole hours from the rollup.
            const H = 3_600_000_000;
            const start = Math.floor(fromUs / H) * H;
            const end = toUs ?? base * 1000 + 1000;
            const n = Math.ceil((end - start) / H);
            const hist = await s.histogram({ ...f, minPriority: 4 }, start, end, H);
            const wantHist: number[] = new Array(n).fill(0);
            const wantRules: Record<string, { count: number; spark: number[]; last: number }> = {};
            for (const e of inRange) {
              const us = Date.parse(e.time) * 1000 + Number(e.time.slice(23, 26));
              const i = Math.floor((us - start) / H);
              if (e.priority !== 'Notice') wantHist[i]! += 1;
              const w = (wantRules[e.rule] ??= { count: 0, spark: new Array(n).fill(0), last: 0 });
              w.count++;
              w.spark[i]! += 1;
              w.last = Math.max(w.last, us);
            }
            expect(
              hist.map((b) => b.total),
              `${where} histogram`,
            ).toEqual(wantHist);
            const rules = await s.rules(f, start, end, n, H);
            expect(
              Object.fromEntries(
                rules.map((r) => [r.rule, { count: r.count, spark: r.spark, last: r.lastUs }]),
              ),
              `${where} rules`,
            ).toEqual(wantRules);
          }
        }
      };
      await check('fresh');
      await s.enforceRetention({ maxAgeMs: 20 * 3_600_000, maxEvents: 50 }, base * 1000);
      expect(await s.count({})).toBe(50);
      all.splice(50);
      await check('after retention');
    } finally {
      await s.close();
    }
  });

  it('auth tables: users, tokens, sessions, login log', async () => {
    expect(await store.countUsers()).toBe(0);
    await store.putUser({ username: 'ana', hash: 'h', role: 'admin', createdUs: 1 });
    await store.putUser({ username: 'ana', hash: 'h2', role: 'viewer', createdUs: 1 });
    expect(await store.getUser('ana')).toEqual({ username: 'ana', hash: 'h2', role: 'viewer', createdUs: 1 });
    await store.putToken({ id: 't1', name: 'relay', hash: 'abc', scopes: ['ingest'], createdUs: 5 });
    expect((await store.getTokenByHash('abc'))?.scopes).toEqual(['ingest']);
    await store.touchToken('t1', 9);
    expect((await store.listTokens())[0]?.lastUsedUs).toBe(9);
    await store.putSession({ idHash: 's', username: 'ana', csrf: 'c', createdUs: 1, expiresUs: 10 });
    expect((await store.getSession('s'))?.csrf).toBe('c');
    expect(await store.deleteExpiredSessions(11)).toBe(1);
    await store.logLogin({
      timeUs: 3,
      username: 'ana',
      ip: '127.0.0.1',
      success: false,
      reason: 'bad password',
    });
    expect(await store.listLogins(5)).toEqual([
      { timeUs: 3, username: 'ana', ip: '127.0.0.1', success: false, reason: 'bad password' },
    ]);
    expect(await store.deleteToken('t1')).toBe(true);
    expect(await store.deleteUser('ana')).toBe(true);
  });
});
