import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkInstance } from '../../delivery/sink.js';

/** `json`: Falcosidekick payload JSON; `text`: the alert's output line. */
export function encodeLine(a: FalcoAlert, format: string): string {
  return format === 'text'
    ? `${a.output ?? ''}${a.count && a.count > 1 ? ` (x${a.count})` : ''}`
    : sidekickJson(a);
}

export function create(section: ConfigTree): SinkInstance[] {
  const format = String(section.format);
  return [
    {
      name: 'stdout',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        const text = batch.map((a) => `${encodeLine(a, format)}\n`).join('');
        await new Promise<void>((resolve, reject) =>
          process.stdout.write(text, (err) => (err ? reject(err) : resolve())),
        );
        return OK;
      },
      healthcheck: async () => undefined,
      close: async () => undefined,
    },
  ];
}
