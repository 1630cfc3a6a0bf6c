import { closeSync, openSync, writeSync } from 'node:fs';
import type { FileOutputConfig } from '../agent/config.js';
import type { Channel, OutputItem } from './types.js';

/**
 * Appends one line per alert to `filename`. With keep_alive the file stays open
 * and is reopened by reopen() (SIGUSR1, after log rotation); without it the file
 * is opened and closed for every batch, as Falco reopens it for every alert.
 */
export function fileChannel(cfg: Pick<FileOutputConfig, 'filename' | 'keep_alive'>): Channel {
  let fd: number | undefined;
  const open = () => openSync(cfg.filename, 'a', 0o640);
  const write = (f: number, text: string) => {
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(f, buf, off);
  };
  return {
    name: 'file',
    async send(items: readonly OutputItem[]) {
      let text = '';
      for (const it of items) text += `${it.line}\n`;
      if (cfg.keep_alive) {
        fd ??= open();
        write(fd, text);
      } else {
        const f = open();
        try {
          write(f, text);
        } finally {
          closeSync(f);
        }
      }
    },
    reopen() {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          /* already closed */
        }
        fd = undefined;
      }
    },
    async close() {
      this.reopen?.();
    },
  };
}
