import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebserverConfig } from '../../../src/agent/config.js';
import { startWebServer } from '../../../src/agent/webserver.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-web-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (over: Partial<WebserverConfig> = {}): WebserverConfig => ({
  enabled: true,
  listen_address: '127.0.0.1',
  listen_port: 0,
  k8s_healthz_endpoint: '/healthz',
  prometheus_metrics_enabled: false,
  ssl_enabled: false,
  ssl_certificate: '',
  ...over,
});

describe('agent web server', () => {
  it('health on the configured endpoint, /versions, /metrics only when enabled, 405 for POST', async () => {
    let healthy = true;
    const ws = await startWebServer(cfg({ k8s_healthz_endpoint: '/health' }), {
      registry: new Registry(),
      versions: () => ({ peregrine_version: 'x' }),
      healthy: () => healthy,
    });
    try {
      expect(await (await fetch(`${ws.url}/health`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${ws.url}/healthz`)).status).toBe(404);
      expect(await (await fetch(`${ws.url}/versions`)).json()).toEqual({ peregrine_version: 'x' });
      expect((await fetch(`${ws.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${ws.url}/health`, { method: 'POST' })).status).toBe(405);
      healthy = false;
      expect((await fetch(`${ws.url}/health`)).status).toBe(503);
    } finally {
      await ws.close();
    }
  });

  it('serves HTTPS with ssl_certificate and Prometheus text when enabled', async () => {
    execFileSync(
      'sh',
      [
        '-c',
        'openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout k.pem -out c.pem && cat c.pem k.pem > both.pem',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const reg = new Registry();
    reg.registerMetric(
      new (await import('prom-client')).Counter({ name: 'peregrine_test_total', help: 't', registers: [] }),
    );
    const ws = await startWebServer(
      cfg({ ssl_enabled: true, ssl_certificate: join(dir, 'both.pem'), prometheus_metrics_enabled: true }),
      { registry: reg, versions: () => ({}), healthy: () => true },
    );
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'c.pem'), 'utf8') } });
    try {
      expect(ws.url.startsWith('https://')).toBe(true);
      const r = await request(`${ws.url}/metrics`, { dispatcher });
      expect(r.statusCode).toBe(200);
      expect(String(r.headers['content-type'])).toContain('text/plain; version=0.0.4');
      expect(await r.body.text()).toContain('peregrine_test_total 0');
    } finally {
      await dispatcher.close();
      await ws.close();
    }
  });
});
