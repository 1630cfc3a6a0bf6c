/**
 * Writer thread of the SQLite store (see SqliteStore's `writerThread`): owns a
 * second connection and runs the insert transactions posted by the main thread.
 * In the split layout it hands each transaction's text-index rows to the
 * text-index thread over `port` and hears back there when they are written.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type Batch, SqliteStore } from './sqlite.js';

const { path, port } = workerData as { path: string; port?: MessagePort };
const store = new SqliteStore(path, { autoCheckpointPages: 50_000, role: 'writer' });
parentPort!.on('message', (m: { groups: Batch[] }) => {
  try {
    const done = store.insertHere(m.groups).map((s) => [...s]);
    const work = store.takeTextWork();
    if (work) port!.postMessage(work);
    parentPort!.postMessage({ done, lo: work?.lo });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
  }
});
port?.on('message', (m: { indexed: number }) => {
  try {
    store.textIndexed(m.indexed);
  } catch {
    /* the todo row stays: the range is indexed again (idempotently) on the next open */
  }
});
