import { readFileSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../harness/pki.js';
import { alert, post, startReceiver, startRelay, tempDir, until } from './helpers.js';

describe('relay intake (Falcosidekick-compatible)', () => {
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let hook: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    hook = await startReceiver();
    relay = await startRelay({
      webhook: { address: `${hook.url}/hook`, customheaders: { 'X-Team': 'sec' } },
      customfields: { env: 'prod' },
      customtags: ['relay'],
      intake: { maxbodybytes: 20_000 },
    });
  });
  afterAll(async () => {
    await relay.stop();
    await hook.close();
  });

  it('answers /ping, /healthz and /metrics like Falcosidekick', async () => {
    const ping = await fetch(`${relay.url}/ping`);
    expect(ping.status).toBe(200);
    expect(await ping.text()).toBe('pong\n');
    const hz = await fetch(`${relay.url}/healthz`);
    expect(hz.headers.get('content-type')).toBe('application/json');
    expect(await hz.json()).toEqual({ status: 'ok' });
    await post(relay.url, alert());
    const m = await (await fetch(`${relay.url}/metrics`)).text();
    expect(m).toMatch(/falcosecurity_falcosidekick_inputs_total\{source="requests",status="accepted"\} \d+/);
    expect(m).toContain('peregrine_relay_sink_backlog{sink="webhook"}');
    expect(m).toMatch(
      /falcosecurity_falcosidekick_falco_events_total\{[^}]*rule="Terminal shell in container"/,
    );
  });

  it('accepts an alert, assigns a uuid, enriches it and delivers it to the webhook', async () => {
    const before = hook.received.length;
    const res = await post(relay.url, alert({ uuid: 'sent-by-client', rule: 'Deliver me' }));
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const uuid = res.headers.get('x-peregrine-uuid');
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    // wait for this alert: the previous test's alert may still be on its way
    await until(
      () => hook.received.slice(before).some((r) => JSON.parse(r.body).rule === 'Deliver me'),
      5000,
      'webhook delivery',
    );
    const got = hook.received.find((r) => JSON.parse(r.body).rule === 'Deliver me')!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/hook');
    expect(got.headers['x-team']).toBe('sec');
    expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(got.body);
    expect(Object.keys(body)).toEqual([
      'uuid',
      'output',
      'priority',
      'rule',
      'time',
      'output_fields',
      'source',
      'tags',
      'hostname',
    ]);
    expect(body.uuid).toBe(uuid);
    expect(body.output_fields.env).toBe('prod');
    expect(body.tags).toEqual(['container', 'relay', 'shell']);
  });

  it('rejects bad payloads with Falcosidekick messages and says why', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['not json', /not JSON/],
      ['', /empty/],
      [{ ...alert(), priority: 'Loud' }, /priority "Loud"/],
      [{ ...alert(), priority: 3 }, /priority is missing or not a string/],
      [{ ...alert(), rule: '' }, /rule is missing/],
      [{ ...alert(), time: 'yesterday' }, /time/],
      [[alert(), { ...alert(), rule: '' }], /item 1: rule/],
    ];
    for (const [body, why] of cases) {
      const r = await post(relay.url, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.text).toBe('Please send a valid request body\n');
      expect(r.headers.get('x-peregrine-reason')).toMatch(why);
    }
    const get = await fetch(`${relay.url}/`);
    expect(get.status).toBe(400);
    expect(await get.text()).toBe('Please send with post http method\n');
    const getTest = await fetch(`${relay.url}/test`);
    expect(getTest.status).toBe(400);
  });

  it('empty output_fields is rejected without customfields (Falcosidekick Check)', async () => {
    const other = await startRelay({});
    try {
      const r = await post(other.url, { ...alert(), output_fields: {} });
      expect(r.status).toBe(400);
      expect(r.headers.get('x-peregrine-reason')).toMatch(/output_fields/);
    } finally {
      await other.stop();
    }
    // with customfields configured the same alert passes (fields are merged before the check)
    const r2 = await post(relay.url, { ...alert(), output_fields: {} });
    expect(r2.status).toBe(200);
  });

  it('accepts JSON array and NDJSON batches, returning every uuid', async () => {
    const arr = await post(relay.url, [alert({ rule: 'batch-a' }), alert({ rule: 'batch-b' })]);
    expect(arr.status).toBe(200);
    const j = JSON.parse(arr.text);
    expect(j.accepted).toBe(2);
    expect(j.uuids).toHaveLength(2);
    const nd = await post(
      relay.url,
      `${JSON.stringify(alert({ rule: 'nd-1' }))}\n${JSON.stringify(alert({ rule: 'nd-2' }))}\n`,
    );
    expect(nd.status).toBe(200);
    expect(JSON.parse(nd.text).accepted).toBe(2);
    await until(() =>
      ['batch-a', 'batch-b', 'nd-1', 'nd-2'].every((r) =>
        hook.received.some((x) => JSON.parse(x.body).rule === r),
      ),
    );
  });

  it('POST /test injects the test alert, which passes minimumpriority', async () => {
    const r = await fetch(`${relay.url}/test`, { method: 'POST' });
    expect(r.status).toBe(200);
    await until(() => hook.received.some((x) => JSON.parse(x.body).rule === 'Test rule'));
    const t = JSON.parse(hook.received.find((x) => JSON.parse(x.body).rule === 'Test rule')!.body);
    expect(t.priority).toBe('Debug');
    expect(t.source).toBe('internal');
  });

  it('limits the body size', async () => {
    const big = alert({ output_fields: { blob: 'x'.repeat(30_000) } });
    const r = await post(relay.url, big);
    expect(r.status).toBe(413);
    expect(r.text).toMatch(/intake.maxbodybytes/);
  });
});

describe('relay intake auth and TLS', () => {
  it('requires the bearer token when intake.bearertoken is set', async () => {
    const r = await startRelay({}, { INTAKE_BEARERTOKEN: 's3cret' });
    try {
      expect((await post(r.url, alert())).status).toBe(401);
      expect((await post(r.url, alert(), { authorization: 'Bearer nope' })).status).toBe(401);
      expect((await post(r.url, alert(), { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect((await fetch(`${r.url}/ping`)).status).toBe(200);
    } finally {
      await r.stop();
    }
  });

  it('serves TLS with mutual TLS, and notlspaths on the plain port', async () => {
    const t = tempDir('tls');
    const f = makeTestPki(t.dir, { clientCn: 'falco' });
    const r = await startRelay({
      tlsserver: {
        deploy: true,
        mutualtls: true,
        certfile: f('server.crt'),
        keyfile: f('server.key'),
        cacertfile: f('ca.crt'),
        notlsport: 0,
        notlspaths: ['/ping'],
      },
    });
    const req = (withCert: boolean, path = '/', method = 'POST') =>
      new Promise<number>((resolve, reject) => {
        const q = https.request(
          {
            host: '127.0.0.1',
            port: r.relay.port,
            path,
            method,
            ca: readFileSync(f('ca.crt')),
            ...(withCert ? { cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')) } : {}),
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        q.on('error', reject);
        q.end(JSON.stringify(alert()));
      });
    try {
      expect(await req(true)).toBe(200);
      await expect(req(false)).rejects.toThrow();
      expect(await req(true, '/ping', 'GET')).toBe(404);
      const plain = await fetch(`http://127.0.0.1:${r.relay.noTlsPort}/ping`);
      expect(await plain.text()).toBe('pong\n');
      expect((await post(`http://127.0.0.1:${r.relay.noTlsPort}/`, alert())).status).toBe(404);
    } finally {
      await r.stop();
      t.cleanup();
    }
  });
});
