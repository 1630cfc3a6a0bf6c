/**
 * The live syscall source as an agent EventSource: wraps SyscallSource (eBPF
 * collector + process/container state) so that the kernel is asked for exactly
 * the event types the loaded rules need, re-selected when a reload changes them.
 * A collector that fails to load is logged and retried with backoff while the
 * agent keeps serving its other sources.
 */
import { existsSync } from 'node:fs';
import type { Registry } from 'prom-client';
import type { FalcoAlert } from '../alert/falco-alert.js';
import type { Logger } from '../common/log.js';
import type { Engine } from '../engine/api.js';
import type { SyscallEvent } from '../sources/syscall/event.js';
import { SyscallExtractor } from '../sources/syscall/extractor.js';
import { dropAlert, registerSyscallMetrics } from '../sources/syscall/metrics.js';
import { SyscallSource, syscallSourceUnavailableReason } from '../sources/syscall/source.js';
import type { SyscallConfig } from './config.js';
import type { EventSource } from './event-source.js';

/** Docker-compatible API sockets tried, in order, when `syscall.container_socket` is empty. */
export const CONTAINER_SOCKETS = [
  '/run/podman/podman.sock',
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/run/user/0/podman/podman.sock',
];

export function defaultContainerSocket(): string | undefined {
  return CONTAINER_SOCKETS.find((p) => existsSync(p));
}

/** Whether the agent runs the syscall source: `enabled: auto` decides by root/BPF/collector. */
export function syscallDecision(cfg: SyscallConfig): { run: boolean; reason?: string } {
  if (cfg.enabled === false)
    return { run: false, reason: 'disabled in the configuration (syscall.enabled=false)' };
  const reason = syscallSourceUnavailableReason(cfg.collector || undefined);
  if (reason && cfg.enabled === 'auto') return { run: false, reason };
  // enabled: true with a reason: try anyway; start() reports the failure.
  return reason ? { run: true, reason } : { run: true };
}

export class SyscallEventSource implements EventSource<SyscallEvent> {
  readonly name = 'syscall';
  readonly extractor = new SyscallExtractor();
  emitInternal?: (alert: FalcoAlert) => void;
  private source: SyscallSource | undefined;
  private types: string[] | undefined;
  private onEvent: ((ev: SyscallEvent) => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly socket: string | undefined;

  constructor(
    private readonly cfg: SyscallConfig,
    private readonly hostname: string,
    private readonly log: Logger,
  ) {
    this.socket = cfg.container_socket || defaultContainerSocket();
  }

  rulesLoaded(engine: Engine): Promise<void> {
    const types = [...engine.eventTypes('syscall')].sort();
    if (this.types && types.join(',') === this.types.join(',')) return Promise.resolve();
    this.types = types;
    if (!this.onEvent || this.stopped) return Promise.resolve();
    this.log.info('rules need other event types: re-selecting syscalls in the kernel', {
      types: types.length,
    });
    return this.serial(async () => {
      await this.source?.stop();
      await this.startSource();
    });
  }

  registerMetrics(registry: Registry): void {
    // The metrics read whichever SyscallSource instance currently runs.
    const view = { metrics: () => this.current().metrics() } as unknown as SyscallSource;
    registerSyscallMetrics(registry, view);
  }

  async start(onEvent: (ev: SyscallEvent) => void): Promise<void> {
    this.onEvent = onEvent;
    this.stopped = false;
    await this.serial(() => this.startSource());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.serial(async () => {
      await this.source?.stop();
    });
  }

  info(): Record<string, unknown> {
    return this.source ? this.source.info() : { collector: 'not running' };
  }

  /** The running SyscallSource (a fresh idle one before start, so metrics read zeros). */
  private current(): SyscallSource {
    this.source ??= this.makeSource();
    return this.source;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn, fn);
    return this.chain;
  }

  private makeSource(): SyscallSource {
    return new SyscallSource({
      eventTypes: this.types,
      collectorPath: this.cfg.collector || undefined,
      containerSocket: this.socket,
      ringbufMb: this.cfg.ringbuf_mb || undefined,
      pollMs: this.cfg.poll_ms || undefined,
      maxProcesses: this.cfg.max_processes || undefined,
      onDrops: (r) => this.emitInternal?.(dropAlert(r, this.hostname)),
      log: this.log,
    });
  }

  private async startSource(): Promise<void> {
    if (this.stopped || !this.onEvent) return;
    const source = this.makeSource();
    this.source = source;
    try {
      await source.start(this.onEvent);
      this.retryMs = 1000;
      this.log.info('syscall source running', {
        syscalls: source.selectedSyscalls.length,
        container_socket: this.socket ?? 'none',
      });
    } catch (e) {
      this.log.error('syscall source failed to start; retrying (other sources keep running)', {
        error: (e as Error).message,
        retry_in_ms: this.retryMs,
      });
      await source.stop().catch(() => {});
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.serial(() => this.startSource()), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, 60_000);
    }
  }
}
