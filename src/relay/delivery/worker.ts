/**
 * The delivery thread (`delivery.workerthread`, on by default): loads the same config, creates the sinks,
 * and runs every sink pipeline against a SpoolTail of the spool the intake thread writes — or, with
 * `bus.type: jetstream`, against the sinks' JetStream consumers over this thread's own NATS connection
 * (created before it reports ready, so the intake never publishes an alert no consumer covers). It runs at
 * a lower CPU priority (`delivery.nice`), so under overload the intake keeps accepting and the spool (or
 * the stream) absorbs the difference; otherwise the two threads use two cores.
 *
 * Messages: see DeliveryThread (main side) in relay.ts.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger, LogLevel } from '../../common/log.js';
import { JetStreamBus } from '../bus/jetstream.js';
import { ConfigError } from '../config/load.js';
import { type LoadOptions, loadRelayConfig } from '../config/relay-config.js';
import { SINKS } from '../sinks/registry.js';
import { CursorStore, DeadLetter } from '../spool/cursor.js';
import { SharedSpoolState } from '../spool/shared.js';
import { SpoolTail } from '../spool/tail.js';
import { DeliveryHost } from './host.js';
import { RelayMetrics } from './metrics.js';
import type { CursorLike } from './pipeline.js';

export interface DeliveryWorkerData {
  source: LoadOptions;
  spoolDir: string;
  shared: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'start'; startSeq: number }
  | { type: 'metrics'; id: number }
  | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; sinks: string[]; warning?: string }
  | { type: 'fatal'; message: string; config: boolean }
  | { type: 'log'; level: LogLevel; component: string; msg: string; fields?: Record<string, unknown> }
  | { type: 'metrics'; id: number; json: unknown }
  | { type: 'closed' };

const port = parentPort!;
const data = workerData as DeliveryWorkerData;
const post = (m: FromWorker) => port.postMessage(m);

/** Log records go to the main thread's logger (one output, the caller's level and writer). */
function forwardingLogger(component: string): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    try {
      post({ type: 'log', level, component, msg, fields });
    } catch {
      post({ type: 'log', level, component, msg, fields: JSON.parse(JSON.stringify(fields ?? {})) });
    }
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (c) => forwardingLogger(component ? `${component}/${c}` : c),
  };
}

async function main(): Promise<void> {
  const log = forwardingLogger('');
  let host: DeliveryHost;
  let tail: SpoolTail | undefined;
  const metrics = new RelayMetrics({ defaultMetrics: false });
  let warning: string | undefined;
  let memoryRecords = 50_000;
  let bus: JetStreamBus | undefined;
  try {
    const config = loadRelayConfig(SINKS, data.source);
    memoryRecords = config.spool.memoryRecords;
    try {
      setPriority(config.delivery.nice); // this thread only (Linux nice values are per thread)
    } catch (e) {
      warning = `delivery.nice ${config.delivery.nice} not applied: ${(e as Error).message}`;
    }
    host = await DeliveryHost.create(config, metrics, log);
    if (config.bus.type === 'jetstream') {
      try {
        bus = await JetStreamBus.open(config.bus, log.child('bus'));
      } catch (e) {
        throw new ConfigError((e as Error).message);
      }
      // cursors are the consumers' acks; dead letters stay local (spool.dir/deadletter)
      const acks: CursorLike = { load: () => 0, save: async () => undefined, saveSync: () => undefined };
      const b = bus;
      await host.start((name) => b.source(name), acks, new DeadLetter(data.spoolDir));
    }
  } catch (e) {
    await bus?.close().catch(() => undefined);
    post({ type: 'fatal', message: (e as Error).message, config: e instanceof ConfigError });
    return;
  }
  const shared = new SharedSpoolState(data.shared);
  let publisher: NodeJS.Timeout | undefined;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'start') {
      if (bus) return; // the bus's pipelines started before 'ready'
      tail = new SpoolTail(data.spoolDir, shared, m.startSeq, memoryRecords);
      const t = tail;
      void host
        .start(() => t, new CursorStore(data.spoolDir), new DeadLetter(data.spoolDir))
        .then(() => {
          const publish = () => {
            shared.minCursor = host.minCursor(shared.last);
          };
          publish();
          publisher = setInterval(publish, 200);
        })
        .catch((e: Error) => post({ type: 'fatal', message: e.message, config: false }));
    } else if (m.type === 'metrics') {
      void metrics.registry.getMetricsAsJSON().then((json) => post({ type: 'metrics', id: m.id, json }));
    } else if (m.type === 'close') {
      if (publisher) clearInterval(publisher);
      void host
        .close()
        .catch(() => undefined)
        .then(() => bus?.close())
        .catch(() => undefined)
        .then(() => {
          tail?.close();
          post({ type: 'closed' });
          port.close();
        });
    }
  });
  post({ type: 'ready', sinks: host.sinkNames, warning });
}

void main();
