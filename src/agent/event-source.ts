import type { Registry } from 'prom-client';
import type { FalcoAlert } from '../alert/falco-alert.js';
import type { AnyExtractor, Engine } from '../engine/api.js';

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
  /**
   * Called with every engine the agent installs (before start, and after each
   * successful reload), e.g. so the syscall source asks the kernel for exactly
   * the event types the rules need.
   */
  rulesLoaded?(engine: Engine): void | Promise<void>;
  /** Register the source's own metrics (optional). */
  registerMetrics?(registry: Registry): void;
  /** Where the source sends internal alerts (e.g. kernel drops); set by the agent before start. */
  emitInternal?: (alert: FalcoAlert) => void;
  /** Extra /versions entries or status (optional). */
  info?(): Record<string, unknown>;
}
