/**
 * The one sink interface. A sink only encodes and sends, and classifies the outcome; spooling, routing,
 * dedup, retries with backoff, dead-lettering, concurrency and metrics are the delivery machinery's job.
 */
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { Logger } from '../../common/log.js';
import type { ConfigTree } from '../config/load.js';

export type SendResult =
  | { kind: 'ok' }
  /** Transient: try again later (after `retryAfterMs` if the server said so). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** Will never succeed as is: dead-letter it. */
  | { kind: 'permanent'; reason: string };

export const OK: SendResult = Object.freeze({ kind: 'ok' });

export interface SinkInstance {
  /** Unique name (metrics label, cursor file): the config section, or `<section>_<i>` for host lists. */
  readonly name: string;
  /** How many alerts one `send` may carry (1 = one request per alert). */
  readonly maxBatch: number;
  send(batch: FalcoAlert[], signal: AbortSignal): Promise<SendResult>;
  /** Resolves when the destination looks reachable; rejects with a reason otherwise. */
  healthcheck(): Promise<void>;
  close(): Promise<void>;
}

/** Client TLS material resolved from the global keys (tlsclient.*, mutualtlsclient.*, mutualtlsfilespath). */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface SinkContext {
  log: Logger;
  /** TLS options for a sink with the common `checkcert` / `mutualtls` keys. */
  tls(section: ConfigTree): { rejectUnauthorized: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Falcosidekick display names of every enabled sink (`Slack`, `AlertManager` …), sent to the UI. */
  enabledOutputs: string[];
  /** Keys of `customfields` and `templatedfields` (Loki and others turn them into labels). */
  customFieldNames: string[];
}

export interface SinkModule {
  create(section: ConfigTree, ctx: SinkContext): SinkInstance[] | Promise<SinkInstance[]>;
}

export interface SinkDefinition {
  /** Config section name (Falcosidekick's): `slack`, `alertmanager`, … */
  name: string;
  /** Falcosidekick output name used in UI `outputs` lists and metrics (`Slack`, `AlertManager`). */
  displayName: string;
  /** Sink-specific keys and defaults (common keys are added by the registry). */
  defaults: () => ConfigTree;
  /** Enabled when its key field is set (as in Falcosidekick). */
  enabled(section: ConfigTree): boolean;
  /** Default batch size if the sink can carry many alerts per request. */
  batch?: number;
  /** Falcosidekick-UI ignores minimumpriority. */
  ignoresMinimumPriority?: boolean;
  /** Lazy import so unused client libraries are never loaded. */
  load(): Promise<SinkModule>;
}
