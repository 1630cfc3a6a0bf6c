import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { EventStore } from './types.js';

export interface StoreConfig {
  type: 'sqlite' | 'postgres';
  /** SQLite file (default ./data/console.db). */
  path: string;
  /** PostgreSQL connection URL. */
  url?: string;
}

/** The only place an implementation is chosen. */
export async function openStore(c: StoreConfig): Promise<EventStore> {
  if (c.type === 'postgres') {
    if (!c.url) throw new Error('store.url is required for store.type postgres');
    return PostgresStore.open(c.url);
  }
  return new SqliteStore(c.path, { writerThread: true });
}
