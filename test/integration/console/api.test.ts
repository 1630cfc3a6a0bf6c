import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, StoredEvent } from '../../../src/console/store/types.js';
import { REFDATA } from '../../harness/refdata.js';
import { alert, storeKinds } from './fixtures.js';
import { ADMIN_PASSWORD, INGEST_TOKEN, login, type TestConsole, testConsole } from './helpers.js';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const basic = (u: string, p: string) => ({
  authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
});

describe.each(storeKinds())('console API: $name', (kind) => {
  let store: EventStore;
  let c: TestConsole;
  const now = Date.now();
  beforeAll(async () => {
    store = await kind.open();
    c = await testConsole(store);
    const seed = [
      alert({
        at: new Date(now - 50 * 60_000),
        priority: 'Critical',
        rule: 'Write below etc',
        tags: ['filesystem'],
        output: 'File below /etc opened (file=/etc/shadow)',
      }),
      alert({ at: new Date(now - 40 * 60_000), priority: 'Warning' }),
      alert({ at: new Date(now - 30 * 60_000), priority: 'Warning', hostname: 'node-b' }),
      alert({
        at: new Date(now - 20 * 60_000),
        priority: 'Notice',
        source: 'k8s_audit',
        rule: 'Create privileged pod',
        tags: ['k8s'],
      }),
    ].map((a) => ({ ...a, cluster: 'seed' }));
    const r = await c.app.inject({
      method: 'POST',
      url: '/api/v2/events',
      headers: bearer(INGEST_TOKEN),
      payload: seed,
    });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    await c?.app.close();
    await store?.close();
    await kind.cleanup();
  });

  describe('auth', () => {
    it('every route answers 401 without credentials, except the public ones', async () => {
      const publicRoutes = c.routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
      expect(publicRoutes.sort()).toEqual(
        [
          'GET /*',
          'GET /api/v1/healthz',
          'GET /healthz',
          'POST /api/v1/auth',
          'POST /api/v1/authenticate',
          'POST /api/v2/auth/login',
        ].sort(),
      );
      const checked: string[] = [];
      for (const r of c.routes) {
        if (r.access === 'public') continue;
        const url = r.url.replace(/:(\w+)/g, 'x');
        const res = await c.app.inject({
          method: r.method as 'GET',
          url,
          payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : {},
        });
        expect(res.statusCode, `${r.method} ${url}`).toBe(401);
        checked.push(url);
      }
      expect(checked.length).toBeGreaterThan(20);
      for (const url of ['/api/v2/nope', '/api/v1/events/search', '/api/v2/stream']) {
        expect((await c.app.inject({ url })).statusCode, url).toBe(401);
      }
      expect((await c.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
      expect((await c.app.inject({ url: '/%E0%A4%A' })).statusCode).toBe(400);
      expect((await c.app.inject({ url: '/assets/../../../../etc/passwd' })).body).not.toContain('root:');
      expect(
        (await c.app.inject({ url: '/api/v2/events', headers: bearer('wrong-token-value') })).statusCode,
      ).toBe(401);
      expect(
        (await c.app.inject({ url: '/api/v2/events', headers: { cookie: 'peregrine_session=forged' } }))
          .statusCode,
      ).toBe(401);
    });

    it('session cookie is HttpOnly, SameSite=Strict, not Secure without TLS; logout ends it', async () => {
      const s = await login(c.app, 'viewer', 'viewer-pass-123');
      expect(s.setCookie).toMatch(/HttpOnly/);
      expect(s.setCookie).toMatch(/SameSite=Strict/);
      expect(s.setCookie).not.toMatch(/Secure/);
      expect((await c.app.inject({ url: '/api/v2/count', headers: { cookie: s.cookie } })).statusCode).toBe(
        200,
      );
      const out = await c.app.inject({
        method: 'POST',
        url: '/api/v2/auth/logout',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      });
      expect(out.statusCode).toBe(200);
      expect((await c.app.inject({ url: '/api/v2/count', headers: { cookie: s.cookie } })).statusCode).toBe(
        401,
      );
    });

    it('a viewer cannot write; an admin session needs the CSRF token', async () => {
      const ev = alert({ rule: 'From UI' });
      const asViewer = await c.app.inject({
        method: 'POST',
        url: '/api/v2/events',
        headers: { cookie: c.viewer.cookie, 'x-csrf-token': c.viewer.csrf },
        payload: ev,
      });
      expect(asViewer.statusCode).toBe(403);
      const viewerToken = await c.app.inject({
        method: 'POST',
        url: '/api/v2/tokens',
        headers: { cookie: c.viewer.cookie, 'x-csrf-token': c.viewer.csrf },
        payload: { name: 'x', scopes: ['read'] },
      });
      expect(viewerToken.statusCode).toBe(403);
      expect(
        (await c.app.inject({ url: '/api/v2/users', headers: { cookie: c.viewer.cookie } })).statusCode,
      ).toBe(403);
      const noCsrf = await c.app.inject({
        method: 'POST',
        url: '/api/v2/events',
        headers: { cookie: c.admin.cookie },
        payload: ev,
      });
      expect(noCsrf.statusCode).toBe(403);
      expect(noCsrf.json().error).toMatch(/CSRF/);
      const ok = await c.app.inject({
        method: 'POST',
        url: '/api/v2/events',
        headers: { cookie: c.admin.cookie, 'x-csrf-token': c.admin.csrf },
        payload: ev,
      });
      expect(ok.statusCode).toBe(200);
      expect(
        (await c.app.inject({ url: '/api/v2/logins', headers: { cookie: c.admin.cookie } })).json()[0],
      ).toMatchObject({ success: true });
    });

    it('tokens work only within their scope and are stored hashed', async () => {
      const readOnly = await c.app.inject({
        method: 'POST',
        url: '/api/v2/events',
        headers: bearer(c.readToken),
        payload: alert(),
      });
      expect(readOnly.statusCode).toBe(403);
      expect((await c.app.inject({ url: '/api/v2/count', headers: bearer(c.readToken) })).statusCode).toBe(
        200,
      );
      expect((await c.app.inject({ url: '/api/v2/count', headers: bearer(INGEST_TOKEN) })).statusCode).toBe(
        403,
      );
      expect((await c.app.inject({ url: '/api/v2/tokens', headers: bearer(c.readToken) })).statusCode).toBe(
        403,
      );
      const created = await c.app.inject({
        method: 'POST',
        url: '/api/v2/tokens',
        headers: { cookie: c.admin.cookie, 'x-csrf-token': c.admin.csrf },
        payload: { name: 'relay', scopes: ['ingest'] },
      });
      expect(created.statusCode).toBe(201);
      const { token, id } = created.json() as { token: string; id: string };
      const tokens = await store.listTokens();
      expect(tokens.some((t) => t.hash.includes(token) || t.hash === token)).toBe(false);
      expect(
        (
          await c.app.inject({
            method: 'POST',
            url: '/api/v2/events',
            headers: bearer(token),
            payload: alert({ rule: 'Via new token' }),
          })
        ).statusCode,
      ).toBe(200);
      await c.app.inject({
        method: 'DELETE',
        url: `/api/v2/tokens/${id}`,
        headers: { cookie: c.admin.cookie, 'x-csrf-token': c.admin.csrf },
      });
      expect(
        (
          await c.app.inject({
            method: 'POST',
            url: '/api/v2/events',
            headers: bearer(token),
            payload: alert(),
          })
        ).statusCode,
      ).toBe(401);
    });

    it('repeated bad logins are throttled (even with the right password afterwards) and logged', async () => {
      await c.auth.createUser('victim', 'victim-pass-123', 'viewer');
      const attempt = (password: string) =>
        c.app.inject({
          method: 'POST',
          url: '/api/v2/auth/login',
          remoteAddress: '10.9.9.9',
          payload: { username: 'victim', password },
        });
      for (let i = 0; i < 5; i++) expect((await attempt('wrong')).statusCode).toBe(401);
      const locked = await attempt('victim-pass-123');
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      const basicLocked = await c.app.inject({
        url: '/api/v2/count',
        remoteAddress: '10.9.9.9',
        headers: basic('victim', 'victim-pass-123'),
      });
      expect(basicLocked.statusCode).toBe(429);
      const log = await store.listLogins(20);
      expect(log.filter((l) => l.username === 'victim' && !l.success).length).toBeGreaterThanOrEqual(6);
      expect(log.some((l) => l.reason === 'throttled')).toBe(true);
      expect((await login(c.app, 'admin', ADMIN_PASSWORD)).status).toBe(200);
    });
  });

  const get = (url: string) => c.app.inject({ url, headers: bearer(c.readToken) });

  describe('/api/v2', () => {
    it('search filters by priority set, at-or-above, rule, text; pages by cursor', async () => {
      const q = async (qs: string) =>
        ((await get(`/api/v2/events?since=2h&cluster=seed&${qs}`)).json() as { events: StoredEvent[] })
          .events;
      expect((await q('priority=Warning')).length).toBe(2);
      expect(
        (await q('min_priority=Warning&rule=Write%20below%20etc,Terminal%20shell%20in%20container'))
          .map((e) => e.priority)
          .sort(),
      ).toEqual(['Critical', 'Warning', 'Warning']);
      expect((await q('rule=Create%20privileged%20pod'))[0]?.source).toBe('k8s_audit');
      expect((await q('q=etc/shadow')).length).toBe(1);
      expect((await q('hostname=node-b')).length).toBe(1);
      expect((await q('tags=k8s,filesystem')).length).toBe(2);
      const p1 = (
        await get('/api/v2/events?since=2h&cluster=seed&limit=2&priority=Warning,Critical,Notice')
      ).json() as { events: StoredEvent[]; nextCursor: string };
      expect(p1.events.length).toBe(2);
      const p2 = (
        await get(
          `/api/v2/events?since=2h&cluster=seed&limit=2&priority=Warning,Critical,Notice&cursor=${p1.nextCursor}`,
        )
      ).json() as { events: StoredEvent[]; nextCursor?: string };
      expect(p2.events.length).toBe(2);
      expect(p2.nextCursor).toBeUndefined();
      expect(new Set([...p1.events, ...p2.events].map((e) => e.uuid)).size).toBe(4);
      const bad = await get('/api/v2/events?priority=Loud');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatch(/priority "Loud"/);
      expect((await get('/api/v2/events?since=soon')).json().error).toMatch(/duration/);
    });

    it('one event by uuid, counts, histogram, rules, info, openapi', async () => {
      const first = (
        (await get('/api/v2/events?limit=1&rule=Write%20below%20etc')).json() as { events: StoredEvent[] }
      ).events[0]!;
      const one = await get(`/api/v2/events/${first.uuid}`);
      expect(one.json()).toEqual(first);
      expect((await get('/api/v2/events/00000000-0000-0000-0000-000000000000')).statusCode).toBe(404);
      const pr = (
        await get(
          '/api/v2/counts/priority?since=2h&rule=Write%20below%20etc,Terminal%20shell%20in%20container,Create%20privileged%20pod',
        )
      ).json();
      expect(pr.total).toBe(4);
      expect(pr.rows).toEqual([
        { value: 'Warning', count: 2 },
        { value: 'Critical', count: 1 },
        { value: 'Notice', count: 1 },
      ]);
      expect((await get('/api/v2/counts/bogus')).statusCode).toBe(400);
      const h = (await get('/api/v2/histogram?since=1h&cluster=seed&buckets=12')).json();
      expect(h.bucketMs).toBe(300_000);
      expect(h.buckets.reduce((s: number, b: { total: number }) => s + b.total, 0)).toBe(4);
      const rules = (await get('/api/v2/rules?since=2h&buckets=6')).json().rules as {
        rule: string;
        count: number;
        spark: number[];
      }[];
      expect(rules.find((r) => r.rule === 'Write below etc')).toMatchObject({
        count: 1,
        priority: 'Critical',
      });
      expect(rules[0]!.spark.length).toBe(6);
      const info = (await get('/api/v2/info')).json();
      expect(kind.name.startsWith(info.store.kind)).toBe(true);
      expect(info.store.events).toBeGreaterThanOrEqual(4);
      expect(info.ingest.sinceStart).toBeGreaterThanOrEqual(4);
      const doc = (await get('/api/v2/openapi.json')).json();
      expect(doc.openapi).toBe('3.0.3');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/v2/events',
          '/api/v2/events/{uuid}',
          '/api/v2/counts/{dimension}',
          '/api/v2/stream',
          '/api/v1/events/add',
        ]),
      );
      expect(doc.paths['/api/v2/events'].get.parameters.map((p: { name: string }) => p.name)).toContain(
        'min_priority',
      );
    });

    it('ingest: idempotent by uuid, clear errors, partial batches keep valid alerts', async () => {
      const post = (payload: unknown) =>
        c.app.inject({
          method: 'POST',
          url: '/api/v2/events',
          headers: { ...bearer(INGEST_TOKEN), 'content-type': 'application/json' },
          payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        });
      const ev = alert({ uuid: '7d0c4a52-3b8e-4f0e-9a51-0c2d7e1f9b33', rule: 'Idempotent', count: 3 });
      expect((await post(ev)).json()).toMatchObject({ accepted: 1, duplicates: 0 });
      expect((await post([ev, ev])).json()).toMatchObject({ accepted: 0, duplicates: 2 });
      const stored = (await get('/api/v2/events/7d0c4a52-3b8e-4f0e-9a51-0c2d7e1f9b33')).json();
      expect(stored.count).toBe(3);
      const bad = await post({ ...alert(), rule: undefined });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().rejected[0].error).toMatch(/"rule"/);
      const mixed = await post([alert({ rule: 'Mixed ok' }), { ...alert(), time: 'not-a-time' }]);
      expect(mixed.statusCode).toBe(207);
      expect(mixed.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
      expect((await post('{"rule": ')).statusCode).toBe(400);
      expect((await post('"just a string"')).statusCode).toBe(400);
    });
  });

  describe('/api/v1 (Falcosidekick-UI)', () => {
    it('a Falcosidekick-style POST sequence shows up in /api/v2 and the v1 search/counts', async () => {
      const refFile = join(REFDATA, 'sidekick/payloads/falco_test_input.json');
      const sample = existsSync(refFile)
        ? (JSON.parse(readFileSync(refFile, 'utf8')) as Record<string, unknown>)
        : {
            output: 'This is a test',
            priority: 'Debug',
            rule: 'Test rule',
            time: '2001-01-01T01:10:00Z',
            source: 'syscalls',
            output_fields: {},
            tags: ['test'],
            hostname: 'test-host',
          };
      // Falcosidekick's webui output adds a uuid and posts {event, outputs}; its URL carries the token as Basic password.
      const auth = basic('falcosidekick', INGEST_TOKEN);
      const uuids = [
        '0b6f7e1a-1111-4c1e-8d3a-5f2b9c0d1e2f',
        '0b6f7e1a-2222-4c1e-8d3a-5f2b9c0d1e2f',
        '0b6f7e1a-3333-4c1e-8d3a-5f2b9c0d1e2f',
      ];
      const paths = ['/api/v1/events/add', '/api/v1/', '/'];
      for (const [i, uuid] of uuids.entries()) {
        const event = {
          ...sample,
          uuid,
          time: new Date(now - (3 - i) * 1000).toISOString(),
          priority: i === 2 ? 'Critical' : sample.priority,
        };
        const r = await c.app.inject({
          method: 'POST',
          url: paths[i]!,
          headers: auth,
          payload: { event, outputs: ['WebUI', 'Slack'] },
        });
        expect(r.statusCode, r.body).toBe(200);
      }
      expect(
        (
          await c.app.inject({
            method: 'POST',
            url: '/api/v1/events/add',
            payload: { event: sample, outputs: [] },
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (
          await c.app.inject({
            method: 'POST',
            url: '/api/v1/events/add',
            headers: auth,
            payload: { event: sample },
          })
        ).statusCode,
      ).toBe(400);
      const v2 = (await get('/api/v2/events?rule=Test%20rule&hostname=test-host')).json()
        .events as StoredEvent[];
      expect(v2.map((e) => e.uuid)).toEqual([...uuids].reverse());
      expect(v2[0]!.output_fields['proc.name']).toBe('falcosidekick');
      const userAuth = basic('admin', ADMIN_PASSWORD);
      const search = (
        await c.app.inject({
          url: '/api/v1/events/search?rule=Test%20rule&limit=2&page=1',
          headers: userAuth,
        })
      ).json();
      expect(search.statistics).toEqual({ returned: 2, all: 3 });
      const page2 = (
        await c.app.inject({
          url: '/api/v1/events/search?rule=Test%20rule&limit=2&page=2',
          headers: userAuth,
        })
      ).json();
      expect(page2.results[0].uuid).toBe(uuids[0]);
      const byPrio = (
        await c.app.inject({ url: '/api/v1/events/count/priority?rule=Test%20rule', headers: userAuth })
      ).json();
      expect(byPrio).toEqual({ results: { Debug: 2, Critical: 1 }, statistics: { all: 3, distincts: 2 } });
      // The total is the number of events for every groupby, tags included (an event has several tags).
      for (const g of ['rule', 'hostname', 'source', 'tags']) {
        const r = (
          await c.app.inject({ url: `/api/v1/events/count/${g}?rule=Test%20rule`, headers: userAuth })
        ).json();
        expect(r.statistics.all, g).toBe(3);
        if (g !== 'tags')
          expect(
            Object.values(r.results).reduce((a: number, b) => a + Number(b), 0),
            g,
          ).toBe(3);
      }
      expect(
        (
          await c.app.inject({
            url: '/api/v1/events/count?rule=Test%20rule&priority=Critical',
            headers: userAuth,
          })
        ).json(),
      ).toEqual({ statistics: { all: 1 } });
      expect((await c.app.inject({ url: '/api/v1/events/count/bogus', headers: userAuth })).statusCode).toBe(
        400,
      );
      expect((await c.app.inject({ url: '/api/v1/outputs', headers: userAuth })).json()).toEqual([
        'WebUI',
        'Slack',
      ]);
      expect((await c.app.inject({ url: '/api/v1/version', headers: userAuth })).json()).toHaveProperty(
        'gitVersion',
      );
      expect((await c.app.inject({ url: '/api/v1/configuration', headers: userAuth })).json()).toHaveProperty(
        'listen-port',
        0,
      );
      expect((await c.app.inject({ url: '/api/v1/healthz' })).json()).toEqual({ status: 'ok' });
      expect(
        (await c.app.inject({ method: 'POST', url: '/api/v1/authenticate', headers: userAuth })).statusCode,
      ).toBe(200);
      expect(
        (await c.app.inject({ method: 'POST', url: '/api/v1/authenticate', headers: basic('admin', 'nope') }))
          .statusCode,
      ).toBe(401);
    });
  });

  it('live stream delivers new matching events only', async () => {
    await c.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (c.app.server.address() as { port: number }).port;
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/stream?priority=Critical`, {
      headers: bearer(c.readToken),
      signal: ac.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    await reader.read(); // ": connected"
    await c.app.inject({
      method: 'POST',
      url: '/api/v2/events',
      headers: bearer(INGEST_TOKEN),
      payload: [
        alert({ priority: 'Warning', rule: 'Not me' }),
        alert({ priority: 'Critical', rule: 'Stream me' }),
      ],
    });
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(text).toMatch(/^event: alert\n/);
    const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!);
    expect(data.rule).toBe('Stream me');
    expect(text).not.toMatch(/Not me/);
  });
});
