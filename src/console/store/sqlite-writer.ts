/**
 * Writer thread of the SQLite store (see SqliteStore's `writerThread`): owns a
 * second connection and runs the insert transactions posted by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EventRow } from './normalize.js';
import { SqliteStore } from './sqlite.js';

const store = new SqliteStore((workerData as { path: string }).path);
parentPort!.on('message', (m: { id: number; rows: EventRow[] }) => {
  try {
    parentPort!.postMessage({ id: m.id, done: [...store.insertHere(m.rows)] });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
