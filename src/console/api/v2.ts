import type { FastifyInstance, FastifyReply } from 'fastify';
import { FALCO_ENGINE_VERSION, PEREGRINE_VERSION } from '../../version.js';
import type { ConsoleConfig } from '../config.js';
import type { LiveBus } from '../server/bus.js';
import { filterFromQuery, matchesFilter } from '../store/filter.js';
import { AlertError, type EventRow, normalizeAlert } from '../store/normalize.js';
import { DIMENSIONS, type Dimension, type EventFilter, type EventStore } from '../store/types.js';
import { errorSchema, eventSchema, filterQuery } from './schemas.js';

export interface V2Deps {
  store: EventStore;
  bus: LiveBus;
  config: ConsoleConfig;
  openapi: () => Record<string, unknown>;
}

type Query = Record<string, string | undefined>;

const NICE_BUCKETS_MS = [
  1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 10_800_000,
  21_600_000, 43_200_000, 86_400_000, 604_800_000,
];

/** Smallest "nice" bucket size giving at most `target` buckets over the range. */
export function autoBucketMs(rangeMs: number, target: number): number {
  for (const b of NICE_BUCKETS_MS) if (rangeMs / b <= target) return b;
  return Math.ceil(rangeMs / target / 86_400_000) * 86_400_000;
}

function badRequest(reply: FastifyReply, e: unknown) {
  if (e instanceof AlertError) return reply.code(400).send({ error: e.message });
  throw e;
}

/** Range for histogram/rules: filter's from/to, or the last 24 h. */
function rangeOf(f: EventFilter, nowMs: number): { fromUs: number; toUs: number } {
  const toUs = f.toUs ?? nowMs * 1000;
  const fromUs = f.fromUs ?? toUs - 86_400_000_000;
  return { fromUs, toUs };
}

/** Ingest alerts: each is checked alone; valid ones are stored even if others are rejected. */
export async function ingest(
  store: EventStore,
  bus: LiveBus,
  items: unknown[],
): Promise<{
  code: number;
  body: {
    accepted: number;
    duplicates: number;
    uuids: string[];
    rejected: { index: number; error: string }[];
  };
}> {
  const rows: EventRow[] = [];
  const rejected: { index: number; error: string }[] = [];
  items.forEach((it, index) => {
    try {
      rows.push(normalizeAlert(it));
    } catch (e) {
      if (!(e instanceof AlertError)) throw e;
      rejected.push({ index, error: e.message });
    }
  });
  const res = rows.length ? await store.insertNormalized(rows) : { inserted: [], duplicates: [] };
  if (res.inserted.length) {
    const fresh = new Set(res.inserted.map((e) => e.uuid));
    bus.publish(rows.filter((r) => fresh.delete(r.uuid)));
  }
  const code = rejected.length === 0 ? 200 : rows.length === 0 ? 400 : 207;
  return {
    code,
    body: {
      accepted: res.inserted.length,
      duplicates: res.duplicates.length,
      uuids: rows.map((r) => r.uuid),
      rejected,
    },
  };
}

/** Our API under /api/v2 (registered with that prefix). */
export async function v2Routes(app: FastifyInstance, deps: V2Deps): Promise<void> {
  const { store, bus, config } = deps;
  const tags = ['events'];
  const streams = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });

  app.post(
    '/events',
    {
      config: { access: 'ingest' },
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        summary: 'Ingest one Falco alert or an array of them',
        tags,
        body: {
          description: 'a Falco alert (JSON object) or an array of alerts',
          anyOf: [{ type: 'object' }, { type: 'array' }],
        },
        response: {
          '2xx': {
            type: 'object',
            properties: {
              accepted: { type: 'integer' },
              duplicates: { type: 'integer' },
              uuids: { type: 'array', items: { type: 'string' } },
              rejected: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { index: { type: 'integer' }, error: { type: 'string' } },
                },
              },
            },
          },
          '4xx': { type: 'object', additionalProperties: true },
        },
      },
    },
    async (req, reply) => {
      const items = Array.isArray(req.body) ? (req.body as unknown[]) : [req.body];
      const r = await ingest(store, bus, items);
      return reply.code(r.code).send(r.body);
    },
  );

  app.get(
    '/events',
    {
      schema: {
        summary: 'Search events, newest first, with cursor pagination',
        tags,
        querystring: {
          type: 'object',
          properties: {
            ...filterQuery,
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', description: 'nextCursor of the previous page' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { events: { type: 'array', items: eventSchema }, nextCursor: { type: 'string' } },
          },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const q = req.query as Query & { limit: number };
      try {
        return await store.search(filterFromQuery(q), {
          limit: q.limit,
          ...(q.cursor ? { cursor: q.cursor } : {}),
        });
      } catch (e) {
        return badRequest(reply, e);
      }
    },
  );

  app.get(
    '/events/:uuid',
    {
      schema: {
        summary: 'One event by uuid',
        tags,
        params: { type: 'object', properties: { uuid: { type: 'string' } }, required: ['uuid'] },
        response: { 200: eventSchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const e = await store.get((req.params as { uuid: string }).uuid);
      return e ?? reply.code(404).send({ error: 'no event with this uuid' });
    },
  );

  app.get(
    '/count',
    {
      schema: {
        summary: 'Number of events matching the filter',
        tags: ['counts'],
        querystring: { type: 'object', properties: filterQuery },
        response: { 200: { type: 'object', properties: { count: { type: 'integer' } } }, 400: errorSchema },
      },
    },
    async (req, reply) => {
      try {
        return { count: await store.count(filterFromQuery(req.query as Query)) };
      } catch (e) {
        return badRequest(reply, e);
      }
    },
  );

  app.get(
    '/counts/:dimension',
    {
      schema: {
        summary: 'Counts grouped by one dimension, largest first',
        tags: ['counts'],
        params: {
          type: 'object',
          properties: { dimension: { type: 'string', enum: [...DIMENSIONS] } },
          required: ['dimension'],
        },
        querystring: {
          type: 'object',
          properties: { ...filterQuery, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 50 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              dimension: { type: 'string' },
              total: { type: 'integer' },
              distinct: { type: 'integer' },
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { value: { type: 'string' }, count: { type: 'integer' } },
                },
              },
            },
          },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const dim = (req.params as { dimension: Dimension }).dimension;
      const q = req.query as Query & { limit: number };
      try {
        const f = filterFromQuery(q);
        // Every dimension but tags gives the total with the counts: one query set, not two.
        const [r, total] = await Promise.all([
          store.countBy(f, dim, q.limit),
          dim === 'tags' ? store.count(f) : undefined,
        ]);
        return { dimension: dim, total: total ?? r.total ?? 0, distinct: r.distinct, rows: r.rows };
      } catch (e) {
        return badRequest(reply, e);
      }
    },
  );

  app.get(
    '/histogram',
    {
      schema: {
        summary: 'Events per time bucket, by priority; bucket size chosen automatically from the range',
        tags: ['counts'],
        querystring: {
          type: 'object',
          properties: {
            ...filterQuery,
            buckets: {
              type: 'integer',
              minimum: 1,
              maximum: 1000,
              default: 60,
              description: 'at most this many buckets',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              bucketMs: { type: 'integer' },
              buckets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    start: { type: 'string' },
                    total: { type: 'integer' },
                    byPriority: { type: 'object', additionalProperties: { type: 'integer' } },
                  },
                },
              },
            },
          },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const q = req.query as Query & { buckets: number };
      try {
        const nowMs = Date.now();
        const f = filterFromQuery(q, nowMs);
        const { fromUs, toUs } = rangeOf(f, nowMs);
        const bucketMs = autoBucketMs((toUs - fromUs) / 1000, q.buckets);
        const start = Math.floor(fromUs / 1000 / bucketMs) * bucketMs * 1000;
        const buckets = await store.histogram(f, start, toUs, bucketMs * 1000);
        return {
          from: new Date(start / 1000).toISOString(),
          to: new Date(toUs / 1000).toISOString(),
          bucketMs,
          buckets: buckets.map((b) => ({
            start: new Date(b.startUs / 1000).toISOString(),
            total: b.total,
            byPriority: b.byPriority,
          })),
        };
      } catch (e) {
        return badRequest(reply, e);
      }
    },
  );

  app.get(
    '/rules',
    {
      schema: {
        summary:
          'Per-rule count, most severe priority, last seen and a sparkline over the range (default 24 h)',
        tags: ['counts'],
        querystring: {
          type: 'object',
          properties: { ...filterQuery, buckets: { type: 'integer', minimum: 1, maximum: 200, default: 24 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    rule: { type: 'string' },
                    count: { type: 'integer' },
                    priority: { type: 'string' },
                    last: { type: 'string' },
                    sources: { type: 'array', items: { type: 'string' } },
                    spark: { type: 'array', items: { type: 'integer' } },
                  },
                },
              },
            },
          },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const q = req.query as Query & { buckets: number };
      try {
        const nowMs = Date.now();
        const f = filterFromQuery(q, nowMs);
        const { fromUs, toUs } = rangeOf(f, nowMs);
        // Ranges of at least an hour per bucket get hour-aligned buckets, which the rollups answer.
        const hourUs = 3_600_000_000;
        let start = fromUs;
        let n = q.buckets;
        let bucketUs: number | undefined;
        if (toUs - fromUs >= q.buckets * hourUs) {
          bucketUs = Math.ceil((toUs - fromUs) / q.buckets / hourUs) * hourUs;
          start = Math.floor(fromUs / bucketUs) * bucketUs;
          n = Math.ceil((toUs - start) / bucketUs);
        }
        const rules = await store.rules({ ...f, fromUs }, start, toUs, n, bucketUs);
        return {
          from: new Date(start / 1000).toISOString(),
          to: new Date(toUs / 1000).toISOString(),
          rules: rules.map(({ lastUs, ...r }) => ({ ...r, last: new Date(lastUs / 1000).toISOString() })),
        };
      } catch (e) {
        return badRequest(reply, e);
      }
    },
  );

  app.get(
    '/stream',
    {
      schema: {
        summary: 'Server-sent events: each newly stored event matching the filter as an `alert` event',
        tags,
        querystring: { type: 'object', properties: filterQuery },
      },
    },
    async (req, reply) => {
      let f: EventFilter;
      try {
        f = filterFromQuery(req.query as Query);
      } catch (e) {
        return badRequest(reply, e);
      }
      delete f.fromUs;
      delete f.toUs;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': connected\n\n');
      const unsubscribe = bus.subscribe((rows) => {
        let out = '';
        for (const r of rows)
          if (matchesFilter(f, r)) out += `event: alert\nid: ${r.uuid}\ndata: ${r.raw}\n\n`;
        if (out) res.write(out);
      });
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      streams.add(res);
      const end = () => {
        clearInterval(beat);
        unsubscribe();
        streams.delete(res);
      };
      req.raw.on('close', end);
    },
  );

  app.get(
    '/info',
    {
      schema: {
        summary: 'Version, store, retention and ingest rate',
        tags: ['info'],
        response: {
          200: {
            type: 'object',
            properties: {
              version: { type: 'string' },
              falcoEngineVersion: { type: 'string' },
              uptimeSeconds: { type: 'number' },
              store: {
                type: 'object',
                properties: {
                  kind: { type: 'string' },
                  location: { type: 'string' },
                  events: { type: 'integer' },
                  bytes: { type: 'integer' },
                  oldest: { type: 'string' },
                  newest: { type: 'string' },
                },
              },
              retention: {
                type: 'object',
                properties: { maxAgeMs: { type: 'integer' }, maxEvents: { type: 'integer' } },
              },
              ingest: {
                type: 'object',
                properties: {
                  sinceStart: { type: 'integer' },
                  perSecond1m: { type: 'number' },
                  last: { type: 'string' },
                  liveStreams: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
    async () => {
      const st = await store.stats();
      const iso = (us?: number) => (us ? new Date(us / 1000).toISOString() : undefined);
      return {
        version: PEREGRINE_VERSION,
        falcoEngineVersion: FALCO_ENGINE_VERSION,
        uptimeSeconds: Math.round(process.uptime()),
        store: {
          kind: st.kind,
          location: st.location,
          events: st.events,
          bytes: st.bytes,
          oldest: iso(st.oldestUs),
          newest: iso(st.newestUs),
        },
        retention: { maxAgeMs: config.retention.maxAgeMs, maxEvents: config.retention.maxEvents },
        ingest: {
          sinceStart: bus.total,
          perSecond1m: bus.ratePerSecond(),
          last: iso(bus.lastUs),
          liveStreams: bus.subscribers,
        },
      };
    },
  );

  app.get('/openapi.json', { schema: { summary: 'This OpenAPI 3 document', tags: ['info'] } }, async () =>
    deps.openapi(),
  );
}
