/**
 * The relay's HTTP intake, compatible with Falco's `http_output` and Falcosidekick:
 * `POST /` (or any unmatched path) with one alert, a JSON array or NDJSON; `/ping`; `/healthz`; `POST /test`;
 * `/metrics`. Answers 200 only once every alert of the request is in the spool (fsynced).
 * Plain node:http: the intake is the hot path.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { Logger } from '../../common/log.js';
import type { RelayMetrics } from '../delivery/metrics.js';
import { SpoolUnavailable } from '../spool/spool.js';
import {
  acceptAlertJson,
  decodeBody,
  type Enrichment,
  INVALID_BODY,
  NOT_POST,
  PayloadError,
  testAlert,
} from './payload.js';

export interface IntakeDeps {
  enrichment: Enrichment;
  maxBodyBytes: number;
  bearerToken: string;
  metrics: RelayMetrics;
  log: Logger;
  debug: boolean;
  /**
   * Append alert JSON lines (with their uuids) to the spool or the bus; resolves when durable. `alerts` are
   * the same alerts as objects (key order = JSON order), handed to the sinks so they need not parse the JSON
   * again; they are read-only from here on.
   */
  append(jsons: string[], uuids: string[], alerts?: FalcoAlert[]): Promise<void>;
  /** undefined when healthy, else why the spool cannot take alerts. */
  spoolProblem(): string | undefined;
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(`${body}\n`);
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const len = Number(req.headers['content-length']);
    if (Number.isFinite(len) && len > limit) {
      resolve(undefined);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () =>
      resolve(
        over
          ? undefined
          : chunks.length === 1
            ? chunks[0]!.toString('utf8')
            : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    req.on('error', reject);
  });
}

export function createIntakeHandler(deps: IntakeDeps, allowedPaths?: Set<string>) {
  const token = deps.bearerToken ? Buffer.from(`Bearer ${deps.bearerToken}`) : undefined;
  const authorized = (req: IncomingMessage) => {
    if (!token) return true;
    const got = Buffer.from(String(req.headers.authorization ?? ''));
    return got.length === token.length && timingSafeEqual(got, token);
  };
  const rejected = () => deps.metrics.inputs.inc({ source: 'requests', status: 'rejected' });

  async function ingest(res: ServerResponse, items: unknown[], batch: boolean): Promise<void> {
    const alerts: FalcoAlert[] = [];
    const jsons: string[] = [];
    const uuids: string[] = [];
    for (let i = 0; i < items.length; i++) {
      let accepted: { alert: FalcoAlert; json: string };
      try {
        accepted = acceptAlertJson(items[i], deps.enrichment);
      } catch (e) {
        rejected();
        const why = batch ? `item ${i}: ${(e as Error).message}` : (e as Error).message;
        text(res, 400, INVALID_BODY, { 'x-peregrine-reason': why.replace(/[^\x20-\x7e]/g, '?') });
        return;
      }
      alerts.push(accepted.alert);
      jsons.push(accepted.json);
      uuids.push(accepted.alert.uuid!);
    }
    const problem = deps.spoolProblem();
    if (problem) {
      deps.metrics.spoolErrors.inc();
      text(res, 503, `spool unavailable: ${problem}`, { 'retry-after': '1' });
      return;
    }
    try {
      await deps.append(jsons, uuids, alerts);
    } catch (e) {
      deps.metrics.spoolErrors.inc();
      const msg = e instanceof SpoolUnavailable ? e.message : `spool error: ${(e as Error).message}`;
      deps.log.error('alert not accepted', { error: msg, count: alerts.length });
      text(res, 503, msg, { 'retry-after': '1' });
      return;
    }
    deps.metrics.countAccepted(alerts.length);
    for (let i = 0; i < alerts.length; i++) deps.metrics.countEvent(alerts[i]!);
    if (deps.debug) for (const a of alerts) deps.log.info('alert accepted', { uuid: a.uuid, rule: a.rule });
    if (batch) {
      const body = JSON.stringify({ accepted: alerts.length, uuids: alerts.map((a) => a.uuid) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    } else {
      res.writeHead(200, { 'x-peregrine-uuid': alerts[0]!.uuid! });
      res.end();
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q >= 0 ? req.url!.slice(0, q) : (req.url ?? '/');
    if (allowedPaths && !allowedPaths.has(path)) {
      text(res, 404, 'not found');
      req.resume();
      return;
    }
    try {
      if (path === '/ping') {
        req.resume();
        return text(res, 200, 'pong');
      }
      if (path === '/healthz') {
        req.resume();
        const problem = deps.spoolProblem();
        res.writeHead(problem ? 503 : 200, { 'content-type': 'application/json' });
        res.end(problem ? JSON.stringify({ status: 'error', reason: problem }) : '{"status": "ok"}');
        return;
      }
      if (path === '/metrics') {
        req.resume();
        const body = await deps.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
        res.end(body);
        return;
      }
      if (req.method !== 'POST') {
        req.resume();
        rejected();
        return text(res, 400, NOT_POST);
      }
      if (!authorized(req)) {
        req.resume();
        rejected();
        return text(res, 401, 'Unauthorized: send Authorization: Bearer <intake.bearertoken>', {
          'www-authenticate': 'Bearer',
        });
      }
      if (path === '/test') {
        req.resume();
        return await ingest(res, [testAlert()], false);
      }
      const body = await readBody(req, deps.maxBodyBytes);
      if (body === undefined) {
        rejected();
        return text(res, 413, `Request body larger than ${deps.maxBodyBytes} bytes (intake.maxbodybytes)`, {
          connection: 'close',
        });
      }
      let decoded: { items: unknown[]; batch: boolean };
      try {
        decoded = decodeBody(body);
      } catch (e) {
        rejected();
        return text(res, 400, INVALID_BODY, {
          'x-peregrine-reason': (e instanceof PayloadError ? e.message : 'bad body').replace(
            /[^\x20-\x7e]/g,
            '?',
          ),
        });
      }
      await ingest(res, decoded.items, decoded.batch);
    } catch (e) {
      deps.log.error('intake error', { error: (e as Error).message });
      if (!res.headersSent) text(res, 500, 'internal error');
      else res.destroy();
    }
  };
}
