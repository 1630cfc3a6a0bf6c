import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FalcoAlert } from '../../../src/alert/falco-alert.js';
import type { PriorityName } from '../../../src/alert/priority.js';
import { PostgresStore } from '../../../src/console/store/postgres.js';
import { SqliteStore } from '../../../src/console/store/sqlite.js';
import type { EventStore } from '../../../src/console/store/types.js';
import { startPostgres } from '../../harness/postgres.js';
import type { RunningServer } from '../../harness/servers.js';

/** A Falco alert as the agent writes it; `over` replaces keys. */
export function alert(over: Partial<FalcoAlert> & { at?: Date } = {}): FalcoAlert {
  const { at, ...rest } = over;
  const time = (at ?? new Date())
    .toISOString()
    .replace('Z', '123456Z')
    .replace(/\.(\d{3})123456Z$/, '.$1123456Z');
  return {
    hostname: 'node-a',
    output: '10:00:00.000000000: Warning Shell spawned in container (user=root shell=bash container=web)',
    output_fields: {
      'container.id': 'abc123def456',
      'container.name': 'web',
      'container.image.repository': 'nginx',
      'k8s.ns.name': 'prod',
      'proc.cmdline': 'bash -i',
      'user.name': 'root',
    },
    priority: 'Warning' as PriorityName,
    rule: 'Terminal shell in container',
    source: 'syscall',
    tags: ['container', 'shell'],
    time,
    ...rest,
  };
}

export interface StoreKind {
  name: 'sqlite' | 'sqlite-writer-thread' | 'postgres';
  open(): Promise<EventStore>;
  cleanup(): Promise<void>;
}

/** The two store implementations, each opened fresh (a new database) per call. */
export function storeKinds(): StoreKind[] {
  let pgServer: RunningServer & { url: string };
  let dbn = 0;
  const dirs: string[] = [];
  return [
    {
      name: 'sqlite',
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'peregrine-console-'));
        dirs.push(dir);
        return new SqliteStore(join(dir, 'console.db'));
      },
      async cleanup() {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      },
    },
    {
      // The compiled store with inserts on its writer thread (needs `npm run build`).
      name: 'sqlite-writer-thread',
      async open() {
        const built = new URL('../../../dist/console/store/sqlite.js', import.meta.url).pathname;
        if (!existsSync(built)) throw new Error(`${built} missing: run npm run build first`);
        const mod = (await import(built)) as { SqliteStore: typeof SqliteStore };
        const dir = mkdtempSync(join(tmpdir(), 'peregrine-console-'));
        dirs.push(dir);
        const s = new mod.SqliteStore(join(dir, 'console.db'), { writerThread: true });
        if (!s.threaded) throw new Error('writer thread did not start');
        return s;
      },
      async cleanup() {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      },
    },
    {
      name: 'postgres',
      async open() {
        pgServer ??= await startPostgres();
        const admin = await PostgresStore.open(pgServer.url);
        const db = `t${process.pid}_${++dbn}`;
        await (admin as unknown as { pool: { query(s: string): Promise<unknown> } }).pool.query(
          `CREATE DATABASE ${db}`,
        );
        await admin.close();
        return PostgresStore.open(pgServer.url.replace(/\/peregrine$/, `/${db}`));
      },
      async cleanup() {
        await pgServer?.stop();
      },
    },
  ];
}
