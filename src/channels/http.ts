import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Agent, type Dispatcher, request } from 'undici';
import type { HttpOutputConfig } from '../agent/config.js';
import type { Channel, OutputItem } from './types.js';

const gzipAsync = promisify(gzip);

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

export interface HttpChannelOptions {
  /** Content-Type: application/json when json_output, else text/plain (as Falco). */
  json: boolean;
  /** Base backoff in ms (doubled per attempt, capped at 5 s). */
  backoffMs?: number;
  /** Called before each retry (for logs and metrics). */
  onRetry?: (attempt: number, err: Error) => void;
  /** Where `echo: true` writes response bodies. */
  echo?: (body: string) => void;
}

function readCaPath(dir: string): string[] | undefined {
  try {
    const out: string[] = [];
    for (const f of readdirSync(dir)) {
      if (!/\.(pem|crt)$/.test(f)) continue;
      try {
        out.push(readFileSync(join(dir, f), 'utf8'));
      } catch {
        /* unreadable entry */
      }
    }
    return out.length > 0 ? out : undefined;
  } catch {
    return undefined;
  }
}

/** TLS options from falco.yaml http_output keys (CA precedence: ca_cert, ca_bundle, ca_path). */
export function httpTlsOptions(cfg: HttpOutputConfig): {
  ca?: string | string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
} {
  const tls: { ca?: string | string[]; cert?: string; key?: string; rejectUnauthorized: boolean } = {
    rejectUnauthorized: !cfg.insecure,
  };
  if (cfg.ca_cert) tls.ca = readFileSync(cfg.ca_cert, 'utf8');
  else if (cfg.ca_bundle) tls.ca = readFileSync(cfg.ca_bundle, 'utf8');
  else if (cfg.ca_path && cfg.ca_path !== '/etc/ssl/certs') tls.ca = readCaPath(cfg.ca_path);
  if (cfg.mtls) {
    tls.cert = readFileSync(cfg.client_cert, 'utf8');
    tls.key = readFileSync(cfg.client_key, 'utf8');
  }
  return tls;
}

/**
 * POSTs one alert per request to `url` (Falco's http_output), reusing connections
 * through one undici Agent, with up to `concurrency` requests in flight (1 keeps
 * Falco's strict order). 5xx answers and connection errors are retried with
 * exponential backoff up to max_retries; other non-2xx answers fail at once.
 */
export function httpChannel(cfg: HttpOutputConfig, opts: HttpChannelOptions): Channel {
  const tls = httpTlsOptions(cfg);
  const dispatcher: Dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: Math.max(1, cfg.concurrency),
    connect: { ...tls, keepAlive: cfg.keep_alive, timeout: cfg.timeout_ms },
    headersTimeout: cfg.timeout_ms,
    bodyTimeout: cfg.timeout_ms,
  });
  const base = opts.backoffMs ?? 100;
  const headers: Record<string, string> = {
    'content-type': opts.json ? 'application/json' : 'text/plain',
    'user-agent': cfg.user_agent,
  };
  if (cfg.compress_uploads) headers['content-encoding'] = 'gzip';

  const postOnce = async (body: Buffer | string): Promise<void> => {
    const res = await request(cfg.url, { method: 'POST', headers, body, dispatcher });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (cfg.echo && opts.echo) opts.echo(text);
      return;
    }
    throw new HttpStatusError(res.statusCode, text);
  };

  const post = async (line: string): Promise<void> => {
    const body = cfg.compress_uploads ? await gzipAsync(line) : line;
    for (let attempt = 0; ; attempt++) {
      try {
        await postOnce(body);
        return;
      } catch (e) {
        const err = e as Error;
        const retryable = !(err instanceof HttpStatusError) || err.status >= 500;
        if (!retryable || attempt >= cfg.max_retries) throw err;
        opts.onRetry?.(attempt + 1, err);
        await new Promise((r) => setTimeout(r, Math.min(5000, base * 2 ** attempt)));
      }
    }
  };

  return {
    name: 'http',
    async send(items: readonly OutputItem[]) {
      let firstError: Error | undefined;
      let failed = 0;
      let next = 0;
      // up to `concurrency` requests in flight, each alert its own request
      const worker = async () => {
        while (next < items.length) {
          const it = items[next++]!;
          try {
            await post(it.line);
          } catch (e) {
            firstError ??= e as Error;
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(cfg.concurrency, items.length)) }, worker));
      if (firstError) throw Object.assign(firstError, { failed });
    },
    async close() {
      await dispatcher.close();
    },
  };
}
