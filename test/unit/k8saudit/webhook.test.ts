import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/sources/k8saudit/event.js';
import { startWebhook, type WebhookServer } from '../../../src/sources/k8saudit/webhook.js';

const ev = (id: string, pad = 0) => ({
  kind: 'Event',
  auditID: id,
  stage: 'ResponseComplete',
  verb: 'create',
  stageTimestamp: '2024-03-01T08:52:34Z',
  ...(pad ? { requestObject: { pad: 'p'.repeat(pad) } } : {}),
});

describe('audit webhook', () => {
  let srv: WebhookServer;
  const got: AuditEvent[] = [];
  const statuses: number[] = [];
  let skipped = 0;
  beforeAll(async () => {
    srv = await startWebhook(
      {
        listenAddress: '127.0.0.1',
        port: 0,
        endpoint: '/k8s-audit',
        maxEventSize: 2000,
        maxBatchSize: 64 * 1024,
        bearerToken: 's3cret',
      },
      {
        onEvents: (evs) => got.push(...evs),
        onRequest: (s) => statuses.push(s),
        onSkipped: (_r, n) => {
          skipped += n;
        },
      },
    );
  });
  afterAll(() => srv.close());

  const post = async (
    body: string,
    headers: Record<string, string> = {},
    method = 'POST',
    path = '/k8s-audit',
  ) => {
    const res = await request(`http://127.0.0.1:${srv.port}${path}`, {
      method: method as 'POST',
      body: method === 'GET' ? undefined : body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret', ...headers },
    });
    return { status: res.statusCode, body: await res.body.text() };
  };

  it('accepts an EventList and delivers every event', async () => {
    got.length = 0;
    const r = await post(JSON.stringify({ kind: 'EventList', items: [ev('a'), ev('b')] }));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ accepted: 2 });
    expect(got.map((e) => e.obj.auditID)).toEqual(['a', 'b']);
  });

  it('skips an oversized event and keeps the rest', async () => {
    got.length = 0;
    const r = await post(JSON.stringify({ kind: 'EventList', items: [ev('a'), ev('big', 5000), ev('c')] }));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ accepted: 2, skipped_oversized: 1 });
    expect(got.map((e) => e.obj.auditID)).toEqual(['a', 'c']);
    expect(skipped).toBeGreaterThanOrEqual(1);
  });

  it('answers 400 with a message for bad JSON, 405 for GET, 404 elsewhere, 401 without token, 415 not JSON', async () => {
    const bad = await post('{"kind": "EventList", "items": [');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/invalid JSON/);
    expect((await post('{"kind": 0}')).status).toBe(400);
    const get = await post('', {}, 'GET');
    expect(get.status).toBe(405);
    expect(get.body).toContain('GET method not allowed');
    expect((await post('{}', {}, 'POST', '/other')).status).toBe(404);
    expect((await post('{}', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post('{}', { authorization: '' })).status).toBe(401);
    expect((await post('{}', { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('answers 413 above webhookMaxBatchSize', async () => {
    const items = Array.from({ length: 60 }, (_, i) => ev(`e${i}`, 1500));
    const r = await post(JSON.stringify({ kind: 'EventList', items }));
    expect(r.status).toBe(413);
    expect(r.body).toContain('webhookMaxBatchSize');
  });
});

describe('audit webhook over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('serves HTTPS with a concatenated cert+key PEM', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const pem = join(dir, 'both.pem');
    execFileSync('sh', ['-c', `cat ${join(dir, 'cert.pem')} ${join(dir, 'key.pem')} > ${pem}`]);
    const got: AuditEvent[] = [];
    const srv = await startWebhook(
      {
        listenAddress: '127.0.0.1',
        port: 0,
        endpoint: '/k8s-audit',
        maxEventSize: 1e6,
        maxBatchSize: 1e6,
        tls: { certFile: pem },
      },
      { onEvents: (e) => got.push(...e) },
    );
    try {
      expect(srv.url.startsWith('https://')).toBe(true);
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem'), 'utf8') } });
      const res = await request(srv.url, {
        method: 'POST',
        body: JSON.stringify(ev('tls')),
        headers: { 'content-type': 'application/json' },
        dispatcher,
      });
      expect(res.statusCode).toBe(200);
      await res.body.text();
      expect(got[0]?.obj.auditID).toBe('tls');
      await dispatcher.close();
    } finally {
      await srv.close();
    }
  });
});
