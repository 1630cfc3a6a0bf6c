/**
 * Per-sink cursor: the sequence number up to which every record is delivered, dead-lettered or filtered
 * out. Saved with write-to-temp + rename (a crash keeps the old or the new value, never a torn one); a
 * stale cursor only means re-delivery (at least once), never loss.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class CursorStore {
  private readonly dir: string;
  constructor(spoolDir: string) {
    this.dir = join(spoolDir, 'cursors');
    mkdirSync(this.dir, { recursive: true });
  }

  private file(sink: string) {
    return join(this.dir, `${sink}.json`);
  }

  /** The saved cursor, or undefined for a sink seen for the first time. */
  load(sink: string): number | undefined {
    try {
      const v = JSON.parse(readFileSync(this.file(sink), 'utf8')) as { seq?: unknown };
      return typeof v.seq === 'number' ? v.seq : undefined;
    } catch {
      return undefined;
    }
  }

  saveSync(sink: string, seq: number): void {
    const f = this.file(sink);
    writeFileSync(`${f}.tmp`, JSON.stringify({ seq, savedAt: new Date().toISOString() }));
    renameSync(`${f}.tmp`, f);
  }

  async save(sink: string, seq: number): Promise<void> {
    const f = this.file(sink);
    await writeFile(`${f}.tmp`, JSON.stringify({ seq, savedAt: new Date().toISOString() }));
    await rename(`${f}.tmp`, f);
  }
}

/** Dead-letter file per sink: one JSON line per alert given up on, with the reason. */
export class DeadLetter {
  readonly dir: string;
  constructor(spoolDir: string) {
    this.dir = join(spoolDir, 'deadletter');
    mkdirSync(this.dir, { recursive: true });
  }
  file(sink: string): string {
    return join(this.dir, `${sink}.ndjson`);
  }
  async add(sink: string, alerts: string[], reason: string, attempts: number): Promise<void> {
    const at = new Date().toISOString();
    const text = alerts
      .map(
        (a) =>
          `{"sink":${JSON.stringify(sink)},"reason":${JSON.stringify(reason)},"attempts":${attempts},"deadletteredAt":"${at}","alert":${a}}\n`,
      )
      .join('');
    await appendFile(this.file(sink), text);
  }
}
