/**
 * Live: the collector binary on its own: JSON mode, argument errors, and kernel
 * drops when the reader stalls (counted per CPU and reported in stats frames).
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultCollectorPath } from '../../../src/sources/syscall/collector.js';
import { type Frame, FrameReader, Kind } from '../../../src/sources/syscall/frame.js';
import { liveOrSkip } from '../../harness/live.js';
import { waitFor } from '../../harness/servers.js';

const live = liveOrSkip('collector binary e2e');
const BIN = defaultCollectorPath();
const LOADGEN = BIN.replace(/peregrine-collector$/, 'loadgen');

describe.runIf(live)('peregrine-collector', () => {
  it('rejects bad arguments with exit 2 and a message naming them', () => {
    const a = spawnSync(BIN, ['--syscalls', 'openat,nosuchcall'], { encoding: 'utf8' });
    expect(a.status).toBe(2);
    expect(a.stderr).toContain("unknown syscall 'nosuchcall'");
    const b = spawnSync(BIN, ['--format', 'xml'], { encoding: 'utf8' });
    expect(b.status).toBe(2);
    expect(b.stderr).toContain("expected bin, json or count, got 'xml'");
    const c = spawnSync(BIN, ['--ringbuf-mb', '3'], { encoding: 'utf8' });
    expect(c.status).toBe(2);
    const l = spawnSync(BIN, ['--list-syscalls'], { encoding: 'utf8' });
    expect(l.stdout).toMatch(/^openat 257$/m);
  });

  it('JSON mode: hello, exec with argv, selected syscalls, stats', async () => {
    const child = spawn(
      BIN,
      ['--format', 'json', '--syscalls', 'openat', '--stats-ms', '200', '--duration', '2'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    await waitFor(async () => out.includes('"kind":"hello"'), 15_000, 'the hello line (programs attached)');
    spawnSync('sh', ['-c', 'cat /etc/hostname > /dev/null; echo pg-json-mode > /dev/null']);
    await new Promise((r) => child.once('exit', r));
    const objs = out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs[0]?.kind).toBe('hello');
    const exec = objs.find((o) => o.kind === 'exec' && String(o.argv).includes('pg-json-mode'));
    expect(exec, 'exec of sh').toBeDefined();
    expect(
      objs.some((o) => o.kind === 'syscall' && o.name === 'openat' && o.fdpath === '/etc/hostname'),
    ).toBe(true);
    expect(objs.some((o) => o.kind === 'stats')).toBe(true);
    expect(objs.some((o) => o.kind === 'syscall' && o.name !== 'openat')).toBe(false);
  });

  it('counts kernel drops per CPU when the reader stalls, and reports them', async () => {
    const child = spawn(BIN, ['--syscalls', 'openat,close', '--ringbuf-mb', '1', '--stats-ms', '200'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const frames: Frame[] = [];
    const reader = new FrameReader();
    const onData = (c: Buffer) => reader.push(c, (f) => frames.push(f));
    child.stdout.on('data', onData);
    await waitFor(async () => frames.some((f) => f.kind === Kind.Hello), 15_000, 'the hello frame');
    child.stdout.pause(); // stall: the pipe fills, the loader blocks, the ring buffer overflows
    spawnSync(LOADGEN, ['--seconds', '1.5']);
    child.stdout.resume();
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const stats = frames.filter((f) => f.kind === Kind.Stats).map((f) => f.stats()!);
    const last = stats[stats.length - 1]!;
    expect(last.drops).toBeGreaterThan(0);
    expect(last.perCpuDrops.reduce((a, b) => a + b, 0)).toBe(last.drops);
    expect(stats.some((s) => s.dropsDelta > 0)).toBe(true);
  }, 20_000);
});
