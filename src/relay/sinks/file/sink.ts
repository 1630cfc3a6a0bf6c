import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkInstance } from '../../delivery/sink.js';

export function encodeLines(batch: FalcoAlert[], format: string): string {
  return batch.map((a) => `${format === 'text' ? (a.output ?? '') : sidekickJson(a)}\n`).join('');
}

export function create(section: ConfigTree): SinkInstance[] {
  const path = String(section.path);
  const format = String(section.format);
  const fsync = section.fsync === true;
  let fh: FileHandle | undefined;
  const handle = async () => {
    if (!fh) {
      mkdirSync(dirname(path), { recursive: true });
      fh = await open(path, 'a');
    }
    return fh;
  };
  return [
    {
      name: 'file',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        try {
          const h = await handle();
          await h.write(encodeLines(batch, format));
          if (fsync) await h.datasync();
          return OK;
        } catch (e) {
          await fh?.close().catch(() => undefined);
          fh = undefined;
          return { kind: 'retry', reason: `file ${path}: ${(e as Error).message}` };
        }
      },
      async healthcheck() {
        await handle();
      },
      async close() {
        await fh?.close();
        fh = undefined;
      },
    },
  ];
}
