import type { FastifyInstance, FastifyReply } from 'fastify';
import { PEREGRINE_VERSION } from '../../version.js';
import type { ConsoleConfig } from '../config.js';
import type { LiveBus } from '../server/bus.js';
import { filterFromQuery } from '../store/filter.js';
import { AlertError } from '../store/normalize.js';
import type { Dimension, EventStore } from '../store/types.js';
import { ingest } from './v2.js';

/**
 * Falcosidekick-UI's API (`/api/v1`, see its swagger) so a Falcosidekick `webui`
 * output and existing scripts keep working — with authentication: posting needs an
 * ingest token (Bearer, or as the Basic password in webui.url), reads need read access.
 */
export async function v1Routes(
  app: FastifyInstance,
  deps: { store: EventStore; bus: LiveBus; config: ConsoleConfig },
): Promise<void> {
  const { store, bus } = deps;
  let outputs: string[] = [];
  const send = (reply: FastifyReply, pretty: unknown, body: unknown) =>
    reply
      .type('application/json')
      .send(pretty === 'true' || pretty === true ? JSON.stringify(body, null, 2) : JSON.stringify(body));
  const tags = ['falcosidekick-ui'];
  const q = {
    type: 'object',
    properties: {
      pretty: { type: 'string' },
      priority: { type: 'string' },
      rule: { type: 'string' },
      source: { type: 'string' },
      hostname: { type: 'string' },
      tags: { type: 'string' },
      filter: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
      page: { type: 'integer', minimum: 0, default: 1 },
    },
  } as const;

  const add = async (req: { body: unknown }, reply: FastifyReply) => {
    const body = req.body as { event?: unknown; outputs?: unknown };
    if (Array.isArray(body.outputs)) outputs = body.outputs.map(String);
    const r = await ingest(store, bus, [body.event]);
    if (r.code !== 200)
      return reply.code(400).send(`invalid event: ${r.body.rejected[0]?.error ?? 'rejected'}`);
    return reply.type('application/json').send(JSON.stringify('{}'));
  };
  const addSchema = {
    summary: 'Add an event (Falcosidekick webui output)',
    tags,
    body: {
      type: 'object',
      properties: { event: { type: 'object' }, outputs: { type: 'array', items: { type: 'string' } } },
      required: ['event', 'outputs'],
    },
  };
  for (const url of ['/api/v1/', '/api/v1/events/add'])
    app.post(url, { config: { access: 'ingest' }, schema: addSchema }, add);
  // Old Falcosidekick versions post to the root URL.
  app.post('/', { config: { access: 'ingest' }, schema: addSchema }, add);

  for (const url of ['/api/v1/auth', '/api/v1/authenticate'])
    app.post(
      url,
      { config: { access: 'public' }, schema: { summary: 'Check HTTP Basic credentials', tags } },
      async (req, reply) =>
        req.principal
          ? reply.send(JSON.stringify('authorized'))
          : reply.code(401).send(JSON.stringify('unauthorized')),
    );

  app.get(
    '/api/v1/healthz',
    { config: { access: 'public' }, schema: { summary: 'Health', tags } },
    async () => ({ status: 'ok' }),
  );

  for (const url of ['/api/v1/config', '/api/v1/configuration'])
    app.get(
      url,
      { schema: { summary: 'Configuration (Falcosidekick-UI keys)', tags } },
      async (req, reply) => {
        const c = deps.config;
        return send(reply, (req.query as { pretty?: string }).pretty, {
          'listen-address': c.listenAddress,
          'listen-port': c.listenPort,
          'redis-server': '',
          'redis-password': '',
          'dev-mode': false,
          'disable-auth': false,
          'log-level': process.env.PEREGRINE_LOG_LEVEL ?? 'info',
          ttl: Math.round(c.retention.maxAgeMs / 1000),
          credentials: '',
          store: c.store.type,
          'max-events': c.retention.maxEvents,
        });
      },
    );

  app.get('/api/v1/version', { schema: { summary: 'Version', tags } }, async () => ({
    gitVersion: PEREGRINE_VERSION,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: '',
    compiler: `node ${process.version}`,
    platform: `${process.platform}/${process.arch}`,
  }));

  app.get(
    '/api/v1/outputs',
    { schema: { summary: 'Falcosidekick outputs named in the last posted event', tags } },
    async () => outputs,
  );

  app.get(
    '/api/v1/events/count',
    { schema: { summary: 'Count events', tags, querystring: q } },
    async (req, reply) => {
      try {
        const all = await store.count(filterFromQuery(req.query as Record<string, string>));
        return send(reply, (req.query as { pretty?: string }).pretty, { statistics: { all } });
      } catch (e) {
        if (e instanceof AlertError) return reply.code(400).send(JSON.stringify(e.message));
        throw e;
      }
    },
  );

  app.get(
    '/api/v1/events/count/:groupby',
    {
      schema: {
        summary: 'Count events by priority, rule, source, tags or hostname',
        tags,
        querystring: q,
        params: { type: 'object', properties: { groupby: { type: 'string' } } },
      },
    },
    async (req, reply) => {
      const g = (req.params as { groupby: string }).groupby;
      if (!['priority', 'rule', 'source', 'tags', 'hostname'].includes(g))
        return reply
          .code(400)
          .send(JSON.stringify(`wrong groupby "${g}" (use priority, rule, source, tags or hostname)`));
      try {
        const f = filterFromQuery(req.query as Record<string, string>);
        // Every dimension but tags gives the total with the counts (as /api/v2/counts does): one query set.
        const [by, total] = await Promise.all([
          store.countBy(f, g as Dimension, 100_000),
          g === 'tags' ? store.count(f) : undefined,
        ]);
        return send(reply, (req.query as { pretty?: string }).pretty, {
          results: Object.fromEntries(by.rows.map((r) => [r.value, r.count])),
          statistics: { all: total ?? by.total ?? 0, distincts: by.distinct },
        });
      } catch (e) {
        if (e instanceof AlertError) return reply.code(400).send(JSON.stringify(e.message));
        throw e;
      }
    },
  );

  app.get(
    '/api/v1/events/search',
    { schema: { summary: 'Search events, newest first', tags, querystring: q } },
    async (req, reply) => {
      const query = req.query as Record<string, string> & { limit: number; page: number };
      try {
        const f = filterFromQuery(query);
        const offset = query.page <= 1 ? 0 : (query.page - 1) * query.limit;
        const [page, all] = await Promise.all([
          store.search(f, { limit: query.limit, offset }),
          store.count(f),
        ]);
        return send(reply, query.pretty, {
          results: page.events,
          statistics: { returned: page.events.length, all },
        });
      } catch (e) {
        if (e instanceof AlertError) return reply.code(400).send(JSON.stringify(e.message));
        throw e;
      }
    },
  );
}
