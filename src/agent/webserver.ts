/**
 * The agent's web server (falco.yaml `webserver`, default :8765): the health
 * endpoint (`k8s_healthz_endpoint`, default /healthz), /versions, and /metrics
 * when prometheus_metrics_enabled.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { WebserverConfig } from './config.js';

export interface WebServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startWebServer(
  cfg: WebserverConfig,
  deps: { registry: Registry; versions: () => Record<string, unknown>; healthy: () => boolean },
): Promise<WebServer> {
  const handler: http.RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, 'application/json', JSON.stringify({ error: `${req.method} method not allowed` }));
    }
    if (path === cfg.k8s_healthz_endpoint) {
      const ok = deps.healthy();
      return send(ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ok' : 'stopping' }));
    }
    if (path === '/versions') return send(200, 'application/json', JSON.stringify(deps.versions()));
    if (path === '/metrics' && cfg.prometheus_metrics_enabled) {
      deps.registry
        .metrics()
        .then((text) => send(200, 'text/plain; version=0.0.4; charset=utf-8', text))
        .catch((e: Error) => send(500, 'text/plain', e.message));
      return;
    }
    send(404, 'application/json', JSON.stringify({ error: `not found: ${path}` }));
  };
  let server: http.Server;
  if (cfg.ssl_enabled) {
    const pem = readFileSync(cfg.ssl_certificate);
    server = https.createServer({ cert: pem, key: pem }, handler);
  } else server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen_port, cfg.listen_address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host =
    cfg.listen_address === '0.0.0.0' || cfg.listen_address === '' ? '127.0.0.1' : cfg.listen_address;
  return {
    port,
    url: `${cfg.ssl_enabled ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
