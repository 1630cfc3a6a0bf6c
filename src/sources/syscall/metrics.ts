/**
 * Prometheus metrics for the syscall source (prom-client collectors reading
 * `source.metrics()` at scrape time), and the Falco internal alert for kernel drops.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { DropReport, SyscallSource } from './source.js';

/** Register the source's metrics on an agent registry. */
export function registerSyscallMetrics(registry: Registry, source: SyscallSource): void {
  const m = () => source.metrics();
  new Counter({
    name: 'peregrine_syscall_events_total',
    help: 'Syscall-source events delivered, per event type',
    labelNames: ['type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [t, n] of Object.entries(m().eventsByType)) this.inc({ type: t }, n);
    },
  });
  new Gauge({
    name: 'peregrine_syscall_events_per_second',
    help: 'Syscall-source events per second over the last stats interval, per event type',
    labelNames: ['type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [t, n] of Object.entries(m().rateByType)) this.set({ type: t }, n);
    },
  });
  const counter = (name: string, help: string, pick: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pick());
      },
    });
  const gauge = (name: string, help: string, pick: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick());
      },
    });
  counter(
    'peregrine_syscall_kernel_drops_total',
    'Events the kernel could not queue (ring buffer full)',
    () => m().drops,
  );
  counter('peregrine_syscall_kernel_events_total', 'Events the kernel queued', () => m().kernelEmitted);
  counter(
    'peregrine_syscall_decode_errors_total',
    'Frames that could not be decoded',
    () => m().decodeErrors,
  );
  counter(
    'peregrine_syscall_collector_restarts_total',
    'Collector restarts after it died',
    () => m().restarts,
  );
  counter(
    'peregrine_container_metadata_misses_total',
    'Container ids the runtime API did not know (or could not be asked about)',
    () => m().containerMisses,
  );
  gauge('peregrine_syscall_collector_up', '1 while the collector runs', () => (m().collectorRunning ? 1 : 0));
  gauge('peregrine_state_processes', 'Entries in the process table', () => m().processes);
  gauge('peregrine_state_fds', 'Descriptors in the fd tables', () => m().fds);
  gauge('peregrine_state_containers', 'Containers in the metadata cache', () => m().containers);
}

/** Falco's internal alert for kernel drops ("Falco internal: syscall event drop", Debug). */
export function dropAlert(r: DropReport, hostname: string, now = new Date()): FalcoAlert {
  const message = `Falco internal: syscall event drop. ${r.drops} system calls dropped in last second.`;
  const time = `${now.toISOString().slice(0, 19)}.${String(now.getUTCMilliseconds()).padStart(3, '0')}000000Z`;
  return {
    hostname,
    output: `${time}: Debug ${message}`,
    message,
    output_fields: {
      ebpf_enabled: '1',
      n_drops: String(r.drops),
      n_drops_buffer_total: String(r.drops),
      n_drops_bug: '0',
      n_drops_page_faults: '0',
      n_drops_scratch_map: '0',
      n_evts: String(r.events + r.drops),
    },
    priority: 'Debug',
    rule: 'Falco internal: syscall event drop',
    source: 'internal',
    time,
  };
}
