/**
 * Text-index thread of the SQLite store (split layout, started with the writer
 * thread): writes each insert transaction's FTS5 rows into the text-index file on
 * its own connection, in parallel with the writer's next transaction. Rows replace
 * any with the same id, so indexing a range twice (recovery on open) is harmless.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type FtsWork, multiInsert } from './sqlite.js';

const { ftsPath, port } = workerData as { ftsPath: string; port: MessagePort };
const db = new Database(ftsPath, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -65536');
db.pragma('busy_timeout = 5000');
const replace = multiInsert(db, 'INSERT OR REPLACE INTO events_fts (rowid, text, uuid)', 3);
const write = db.transaction((args: unknown[]) => replace(args));
port.on('message', (m: FtsWork) => {
  try {
    write.immediate(m.args);
    // The callers first: if this thread dies between the two, the writer still holds the work and
    // sends it to the next text-index thread (written twice, acknowledged twice: harmless).
    parentPort!.postMessage({ lo: m.lo });
    port.postMessage({ indexed: m.lo });
  } catch (e) {
    parentPort!.postMessage({ lo: m.lo, error: (e as Error).message });
  }
});
parentPort!.on('message', (m: string) => {
  if (m !== 'stop') return;
  port.close();
  db.close();
  parentPort!.postMessage('stopped');
});
