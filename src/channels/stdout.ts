import type { Writable } from 'node:stream';
import type { Channel, OutputItem } from './types.js';

/** One line per alert on stdout (or any writable, for tests). Waits on backpressure. */
export function stdoutChannel(out: Writable = process.stdout): Channel {
  return {
    name: 'stdout',
    async send(items: readonly OutputItem[]) {
      let buf = '';
      for (const it of items) buf += `${it.line}\n`;
      if (!out.write(buf)) await new Promise<void>((resolve) => out.once('drain', resolve));
    },
    async close() {},
  };
}
