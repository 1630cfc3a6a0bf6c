/**
 * Writer thread of the SQLite store (see SqliteStore's `writerThread`): owns a
 * second connection and runs the insert transactions posted by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Batch, SqliteStore } from './sqlite.js';

const store = new SqliteStore((workerData as { path: string }).path, { autoCheckpointPages: 50_000 });
parentPort!.on('message', (m: { groups: Batch[] }) => {
  try {
    parentPort!.postMessage({ done: store.insertHere(m.groups).map((s) => [...s]) });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
  }
});
