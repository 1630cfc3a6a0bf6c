import pg from 'pg';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import { ConfigError, type ConfigTree } from '../../config/load.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

export function createTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  uuid uuid PRIMARY KEY,
  time timestamptz NOT NULL,
  rule text NOT NULL,
  priority text NOT NULL,
  source text NOT NULL,
  hostname text NOT NULL DEFAULT '',
  tags text[] NOT NULL DEFAULT '{}',
  output text NOT NULL DEFAULT '',
  output_fields jsonb NOT NULL,
  count integer NOT NULL DEFAULT 1,
  received_at timestamptz NOT NULL DEFAULT now()
)`;
}

/** One multi-row INSERT … ON CONFLICT (uuid) DO NOTHING: re-deliveries are no-ops. */
export function insertSql(table: string, n: number): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = i * 10;
    rows.push(
      `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8},$${b + 9},$${b + 10})`,
    );
  }
  return `INSERT INTO ${table} (uuid,time,rule,priority,source,hostname,tags,output,output_fields,count) VALUES ${rows.join(',')} ON CONFLICT (uuid) DO NOTHING`;
}

export function rowValues(a: FalcoAlert): unknown[] {
  return [
    a.uuid,
    a.time,
    a.rule,
    a.priority,
    a.source,
    a.hostname ?? '',
    a.tags ?? [],
    a.output ?? '',
    JSON.stringify(a.output_fields),
    a.count ?? 1,
  ];
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const table = String(section.table);
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)?$/.test(table))
    throw new ConfigError(`postgresql.table: "${table}" is not a plain table name`);
  const conc = Number(section.maxconcurrentrequests);
  const pool = new pg.Pool({
    connectionString: String(section.url),
    max: conc > 0 ? conc : 4,
    connectionTimeoutMillis: 5000,
  });
  pool.on('error', (e) => ctx.log.debug('postgresql pool error', { error: e.message }));
  let prepared: Promise<void> | undefined;
  const prepare = () => {
    prepared ??= (
      section.createtable === true
        ? pool.query(createTableSql(table)).then(() => undefined)
        : Promise.resolve()
    ).catch((e: Error) => {
      prepared = undefined;
      throw e;
    });
    return prepared;
  };
  return [
    {
      name: 'postgresql',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        try {
          await prepare();
          await pool.query(insertSql(table, batch.length), batch.flatMap(rowValues));
          return OK;
        } catch (e) {
          const err = e as Error & { code?: string };
          // class 22 (data exception) and 42 (syntax/access) will not pass on retry
          if (err.code && /^(22|42)/.test(err.code))
            return { kind: 'permanent', reason: `postgresql ${err.code}: ${err.message}` };
          return { kind: 'retry', reason: `postgresql: ${err.message}` };
        }
      },
      async healthcheck() {
        await prepare();
      },
      async close() {
        await pool.end();
      },
    },
  ];
}
