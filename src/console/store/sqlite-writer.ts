/**
 * Writer thread of the SQLite store (see SqliteStore's `writerThread`): owns a
 * second connection and runs the insert transactions posted by the main thread.
 * In the split layout it hands each transaction's text-index rows to the
 * text-index thread over a MessagePort and hears back there when they are written;
 * it keeps them until then, and sends them all again to a restarted text-index
 * thread (a new port from the main thread; `port: null` = no text-index thread any more).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type Batch, type FtsWork, SqliteStore } from './sqlite.js';

const store = new SqliteStore((workerData as { path: string }).path, {
  autoCheckpointPages: 50_000,
  role: 'writer',
});
/** Text-index work sent and not yet acknowledged, by first id. */
const unacked = new Map<number, FtsWork>();
let port: MessagePort | undefined;

function connectIndexer(p: MessagePort | undefined): void {
  port?.close();
  port = p;
  if (!p) {
    unacked.clear();
    return;
  }
  p.on('message', (m: { indexed: number }) => {
    unacked.delete(m.indexed);
    try {
      store.textIndexed(m.indexed);
    } catch {
      /* the todo row stays: the range is indexed again (idempotently) on the next open */
    }
  });
  for (const work of unacked.values()) p.postMessage(work);
}
connectIndexer((workerData as { port?: MessagePort }).port);

parentPort!.on('message', (m: { groups?: Batch[]; port?: MessagePort | null }) => {
  if (m.port !== undefined) {
    connectIndexer(m.port ?? undefined);
    return;
  }
  try {
    const done = store.insertHere(m.groups!).map((s) => [...s]);
    const work = port ? store.takeTextWork() : undefined;
    if (work) {
      unacked.set(work.lo, work);
      port!.postMessage(work);
    }
    parentPort!.postMessage({ done, lo: work?.lo });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
  }
});
