import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/relay/delivery/http.js';
import { backoffMs } from '../../../src/relay/delivery/pipeline.js';
import { CursorStore } from '../../../src/relay/spool/cursor.js';
import { ReadPosition, Spool } from '../../../src/relay/spool/spool.js';
import { tempDir, until } from '../../integration/relay/helpers.js';

const dirs: Array<() => void> = [];
afterEach(() => {
  for (const c of dirs.splice(0)) c();
});
const mk = () => {
  const t = tempDir('spool-unit');
  dirs.push(t.cleanup);
  return t.dir;
};
const j = (i: number) => JSON.stringify({ i, text: `alert ${i} é` });

describe('spool', () => {
  it('parses a recent record once for every reader, and drops the parsed copy of old records', async () => {
    const s = new Spool(mk());
    s.open();
    await s.append(Array.from({ length: 10 }, (_, i) => j(i)));
    const [a] = await s.read(0, 1);
    const [b] = await s.read(0, 1);
    const pa = s.parsed(a!);
    expect(pa).toEqual({ i: 0, text: 'alert 0 é' });
    expect(s.parsed(b!)).toBe(pa); // the second sink shares the first one's parse
    await s.append(Array.from({ length: 9000 }, (_, i) => j(i + 10)));
    const [c] = await s.read(0, 1);
    expect(c!.alert).toBeUndefined(); // out of the window: memory is bounded
    expect(s.parsed(c!)).toEqual(pa);
    expect(c!.alert).toBeUndefined(); // and it is not cached again
    s.close();
  });

  it('appends durably, shares fsyncs between concurrent appends, and reads back in order', async () => {
    const s = new Spool(mk());
    s.open();
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => s.append([j(i)])));
    expect(all.map((r) => r[0]!.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(s.fsyncs).toBeLessThan(20); // group commit
    const got = await s.read(0, 1000);
    expect(got.map((r) => JSON.parse(r.json).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect((await s.read(150, 10)).map((r) => r.seq)).toEqual([
      151, 152, 153, 154, 155, 156, 157, 158, 159, 160,
    ]);
    s.close();
  });

  it('recovers after a restart, cuts a torn tail, and reads old records from disk across segments', async () => {
    const dir = mk();
    const s = new Spool(dir, { segmentBytes: 600, memoryRecords: 10 });
    s.open();
    for (let i = 0; i < 100; i++) await s.append([j(i)]);
    s.close();
    expect(readdirSync(join(dir, 'segments')).length).toBeGreaterThan(3);
    // simulate a crash in the middle of a write
    const segs = readdirSync(join(dir, 'segments')).sort();
    appendFileSync(join(dir, 'segments', segs[segs.length - 1]!), '101\t123\t{"half":');
    const s2 = new Spool(dir, { segmentBytes: 600, memoryRecords: 10 });
    s2.open();
    expect(s2.lastSeq).toBe(100);
    const rec = await s2.append([j(100)]);
    expect(rec[0]!.seq).toBe(101);
    const pos = new ReadPosition();
    const out: number[] = [];
    let after = 0;
    for (;;) {
      const r = await s2.read(after, 7, pos);
      if (!r.length) break;
      out.push(...r.map((x) => x.seq));
      after = r[r.length - 1]!.seq;
    }
    expect(out).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
    expect(JSON.parse((await s2.read(100, 1))[0]!.json).i).toBe(100);
    // gc removes whole segments every cursor passed, never the last one
    const before = s2.segmentCount;
    await s2.gc(60);
    expect(s2.segmentCount).toBeLessThan(before);
    expect((await s2.read(60, 1))[0]!.seq).toBe(61);
    await s2.gc(101);
    expect(s2.segmentCount).toBe(1);
    s2.close();
  });

  it('zero-fills the next segment in the background and rolls into it by renaming', async () => {
    const dir = mk();
    const s = new Spool(dir, { segmentBytes: 64 * 1024 });
    s.open();
    const segs = () => readdirSync(join(dir, 'segments')).sort();
    const rec = (i: number) => JSON.stringify({ i, pad: 'y'.repeat(900) });
    await s.append(Array.from({ length: 40 }, (_, i) => rec(i))); // past half of the first segment
    await until(() => segs().includes('next.tmp'));
    const spare = join(dir, 'segments', 'next.tmp');
    await until(() => (s as unknown as { spareReady: boolean }).spareReady); // filled and fsynced
    expect(statSync(spare).size).toBe(64 * 1024);
    for (let k = 0; k < 4; k++) await s.append(Array.from({ length: 10 }, (_, i) => rec(40 + k * 10 + i)));
    await s.append([rec(80)]); // the first append after the roll goes to the renamed spare
    const names = segs().filter((f) => f.endsWith('.seg'));
    expect(names.length).toBe(2);
    expect(segs()).not.toContain('next.tmp'); // renamed into place, not created at the roll
    expect(statSync(join(dir, 'segments', names[1]!)).size).toBe(64 * 1024); // pre-allocated, not grown
    const all = await s.read(0, 1000);
    expect(all.map((r) => JSON.parse(r.json).i)).toEqual(Array.from({ length: 81 }, (_, i) => i));
    s.close();
    // a spare left behind by a run that stopped is not data: removed at open, segments intact
    const again = new Spool(dir, { segmentBytes: 64 * 1024 });
    again.open();
    expect(again.lastSeq).toBe(81);
    expect(segs().filter((f) => f.endsWith('.seg'))).toEqual(names);
    again.close();
  });

  it('fails appends with SpoolUnavailable when the disk is full', async () => {
    const dir = mk();
    const s = new Spool(dir);
    s.open();
    // Simulate ENOSPC by pointing the spool's fd at /dev/full.
    const fs = await import('node:fs');
    const full = fs.openSync('/dev/full', 'w');
    (s as unknown as { fd: number }).fd = full;
    await expect(s.append([j(1)])).rejects.toThrow(/spool write failed: ENOSPC/);
    expect(s.lastError).toBeDefined();
  });

  it('cursors survive restarts', () => {
    const dir = mk();
    const c = new CursorStore(dir);
    expect(c.load('slack')).toBeUndefined();
    c.saveSync('slack', 42);
    expect(new CursorStore(dir).load('slack')).toBe(42);
    expect(JSON.parse(readFileSync(join(dir, 'cursors', 'slack.json'), 'utf8')).seq).toBe(42);
  });
});

describe('retry timing', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffMs(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffMs(30, 100, 10_000, () => 1)).toBe(10_000);
  });
  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString(), Date.now())).toBeGreaterThan(3000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
