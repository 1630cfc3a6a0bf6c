/**
 * Checkpointer thread of the SQLite store (started with the writer thread): copies
 * committed WAL frames into the database file every `intervalMs` with a PASSIVE
 * checkpoint on its own connection, so the writer thread's commits do not pay for
 * it. Durability is unchanged (a checkpoint syncs the WAL before copying and the
 * database after, as an automatic one does).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 5000');
db.pragma('wal_autocheckpoint = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    /* busy or closing: the next tick (or the writer's own fallback checkpoint) covers it */
  }
}, intervalMs);
parentPort!.on('message', (m: string) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.postMessage('stopped');
});
