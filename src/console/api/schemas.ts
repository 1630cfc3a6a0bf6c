/** JSON schemas shared by the routes (they also drive the OpenAPI document). */

const s = (description: string) => ({ type: 'string', description }) as const;

export const filterQuery = {
  priority: s('comma list of priorities (any of)'),
  min_priority: s('this priority or more severe, e.g. Warning'),
  rule: s('comma list of rule names'),
  source: s('comma list of sources (syscall, k8s_audit, …)'),
  hostname: s('comma list of hostnames'),
  tags: s('comma list of tags (any of)'),
  tag: s('alias of tags'),
  cluster: s('comma list of clusters'),
  container: s('container id, name or image repository (comma list)'),
  namespace: s('Kubernetes namespace (comma list)'),
  q: s('free text: case-insensitive substring of output, rule, hostname or any output field'),
  filter: s('alias of q (Falcosidekick-UI)'),
  since: s('duration back from now: 15min, 24h, 7d, 1w, 1M'),
  from: s('start, RFC 3339 or epoch milliseconds (inclusive)'),
  to: s('end, RFC 3339 or epoch milliseconds (exclusive)'),
} as const;

export const eventSchema = {
  type: 'object',
  description: 'a Falco alert as stored: Falco keys plus uuid, count and optional cluster',
  additionalProperties: true,
} as const;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;

declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    tags?: readonly string[];
  }
}
