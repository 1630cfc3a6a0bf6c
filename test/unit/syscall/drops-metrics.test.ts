import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Frame, Kind, Tag } from '../../../src/sources/syscall/frame.js';
import { dropAlert, registerSyscallMetrics } from '../../../src/sources/syscall/metrics.js';
import { type DropReport, SyscallSource } from '../../../src/sources/syscall/source.js';
import { execFrame, frame, hello } from './frames.js';

function statsFrame(emitted: number, drops: number, dropsDelta: number, perCpu: number[]): Buffer {
  const b = Buffer.alloc(48 + 8 * perCpu.length);
  b.writeBigUInt64LE(1_000_000_000n, 0);
  b.writeBigUInt64LE(BigInt(emitted), 8);
  b.writeBigUInt64LE(BigInt(drops), 16);
  b.writeBigUInt64LE(BigInt(dropsDelta), 24);
  b.writeUInt32LE(perCpu.length, 40);
  perCpu.forEach((d, i) => {
    b.writeBigUInt64LE(BigInt(d), 48 + 8 * i);
  });
  return frame({ kind: Kind.Stats, tgid: 1 }, [[Tag.Stats, b]]);
}

describe('kernel drop reports', () => {
  it('reports drops above the threshold, rate-limited, with per-CPU counts', () => {
    const reports: DropReport[] = [];
    const warnings: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn: (m: string) => warnings.push(m),
      error() {},
      child() {
        return log;
      },
    };
    const src = new SyscallSource({ onDrops: (r) => reports.push(r), log, procRoot: '/nonexistent' });
    src.attachOffline(() => {});
    const feed = (b: Buffer) => src.handleFrame(new Frame(b));
    feed(hello());
    feed(statsFrame(1000, 0, 0, [0, 0]));
    expect(reports).toHaveLength(0);
    feed(statsFrame(1100, 50, 50, [20, 30])); // 50 of 150 dropped: above 10 %
    expect(reports).toEqual([
      { drops: 50, events: 100, totalDrops: 50, perCpuDrops: [20, 30], intervalNs: 1e9, suppressed: 0 },
    ]);
    feed(statsFrame(1200, 100, 50, [40, 60])); // again within 30 s: suppressed by the token bucket
    expect(reports).toHaveLength(1);
    feed(statsFrame(3200, 105, 5, [42, 63])); // 5 of 2005: below the threshold, logged only
    expect(reports).toHaveLength(1);
    expect(warnings.filter((w) => w === 'kernel dropped events')).toHaveLength(3);
    const m = src.metrics();
    expect(m.drops).toBe(105);
    expect(m.perCpuDrops).toEqual([42, 63]);
    expect(m.kernelEmitted).toBe(3200);
  });

  it("builds Falco's internal drop alert", () => {
    const a = dropAlert(
      { drops: 7, events: 93, totalDrops: 7, perCpuDrops: [7, 0], intervalNs: 1e9, suppressed: 0 },
      'node-1',
      new Date('2026-11-29T10:00:00.123Z'),
    );
    expect(a).toMatchObject({
      rule: 'Falco internal: syscall event drop',
      priority: 'Debug',
      source: 'internal',
      hostname: 'node-1',
      time: '2026-11-29T10:00:00.123000000Z',
      message: 'Falco internal: syscall event drop. 7 system calls dropped in last second.',
    });
    expect(a.output_fields).toMatchObject({ n_drops: '7', n_evts: '100', ebpf_enabled: '1' });
  });
});

describe('Prometheus metrics', () => {
  it('exposes events per type, drops, table sizes and container misses', async () => {
    const src = new SyscallSource({ procRoot: '/nonexistent' });
    src.attachOffline(() => {});
    src.handleFrame(new Frame(hello()));
    src.handleFrame(new Frame(execFrame({ pid: 7, ppid: 1, argv: ['sh'], exe: '/bin/sh' })));
    src.handleFrame(new Frame(execFrame({ pid: 8, ppid: 7, argv: ['id'], exe: '/usr/bin/id' })));
    src.handleFrame(new Frame(statsFrame(10, 3, 3, [3])));
    const reg = new Registry();
    registerSyscallMetrics(reg, src);
    const text = await reg.metrics();
    expect(text).toContain('peregrine_syscall_events_total{type="execve"} 2');
    expect(text).toContain('peregrine_syscall_kernel_drops_total 3');
    expect(text).toContain('peregrine_syscall_collector_up 0');
    expect(text).toMatch(/peregrine_state_processes [1-9]/);
    expect(text).toContain('peregrine_container_metadata_misses_total 0');
    // a second scrape does not double-count
    expect(await reg.metrics()).toContain('peregrine_syscall_events_total{type="execve"} 2');
  });
});

describe('availability', () => {
  it('names what is missing', async () => {
    const { syscallSourceUnavailableReason } = await import('../../../src/sources/syscall/source.js');
    expect(syscallSourceUnavailableReason('/nonexistent/peregrine-collector')).toMatch(
      /not running as root|collector binary not found at \/nonexistent|BTF/,
    );
    if (process.getuid?.() === 0) expect(syscallSourceUnavailableReason('/bin/true')).toBeUndefined();
    const { SyscallSource } = await import('../../../src/sources/syscall/source.js');
    await expect(new SyscallSource({ collectorPath: '/nonexistent/pc' }).start(() => {})).rejects.toThrow(
      /collector binary not found at \/nonexistent\/pc/,
    );
  });
});
