import type { FastifyInstance, RouteOptions } from 'fastify';
import { PEREGRINE_VERSION } from '../../version.js';

interface Collected {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
} & Record<string, unknown>;

/** Collect every route's schema (added on the root before routes register) to publish an OpenAPI 3 document. */
export function collectRoutes(app: FastifyInstance): () => Record<string, unknown> {
  const routes: Collected[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    if (!r.url.startsWith('/api/')) return;
    for (const m of methods)
      if (m !== 'HEAD')
        routes.push({
          method: m.toLowerCase(),
          url: r.url,
          schema: (r.schema ?? {}) as Record<string, unknown>,
        });
  });
  return () => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of routes) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      const s = r.schema;
      const params: unknown[] = [];
      for (const [where, key] of [
        ['query', 'querystring'],
        ['path', 'params'],
      ] as const) {
        const obj = s[key] as JsonSchema | undefined;
        for (const [name, p] of Object.entries(obj?.properties ?? {}))
          params.push({
            name,
            in: where,
            required: where === 'path' || (obj?.required ?? []).includes(name),
            ...(p.description ? { description: p.description } : {}),
            schema: { ...p, description: undefined },
          });
      }
      const responses: Record<string, unknown> = {};
      for (const [code, body] of Object.entries((s.response ?? {}) as Record<string, JsonSchema>))
        responses[code] = {
          description: body.description ?? 'response',
          content: { 'application/json': { schema: body } },
        };
      if (!Object.keys(responses).length) responses['200'] = { description: 'OK' };
      responses['401'] = { description: 'no or invalid credentials' };
      paths[path] ??= {};
      paths[path]![r.method] = {
        ...(s.summary ? { summary: s.summary } : {}),
        ...(s.tags ? { tags: s.tags } : {}),
        ...(params.length ? { parameters: params } : {}),
        ...(s.body
          ? { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.0.3',
      info: { title: 'peregrine console API', version: PEREGRINE_VERSION },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          basic: { type: 'http', scheme: 'basic' },
          session: { type: 'apiKey', in: 'cookie', name: 'peregrine_session' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }, { session: [] }],
      paths,
    };
  };
}
