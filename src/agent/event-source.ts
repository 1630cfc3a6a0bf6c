import type { AnyExtractor } from '../engine/api.js';

/**
 * An event source the agent runs: the Kubernetes audit webhook today, the
 * syscall collector next. The agent starts each source with a callback and
 * feeds every event to the engine under the source's extractor.
 */
export interface EventSource<E = unknown> {
  /** Engine source name: 'k8s_audit', 'syscall', … */
  readonly name: string;
  /** Field extraction for this source's events. */
  readonly extractor: AnyExtractor;
  /** Begin delivering events; resolves once the source is ready (e.g. listening). */
  start(onEvent: (ev: E) => void): Promise<void>;
  /** Stop intake; resolves once no more events will be delivered. */
  stop(): Promise<void>;
  /** Extra /versions entries or status (optional). */
  info?(): Record<string, unknown>;
}
