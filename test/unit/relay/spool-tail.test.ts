/**
 * The delivery thread's reader: SpoolTail follows the segment files the Spool writes, seeing only what the
 * writer published, across segment rolls, with one parse per record and a disk path for lagging readers.
 * (Same thread here; the relay integration tests run it on the real delivery thread.)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedSpoolState } from '../../../src/relay/spool/shared.js';
import { Spool } from '../../../src/relay/spool/spool.js';
import { SpoolTail } from '../../../src/relay/spool/tail.js';
import { tempDir } from '../../integration/relay/helpers.js';

const dirs: Array<() => void> = [];
afterEach(() => {
  for (const c of dirs.splice(0)) c();
});
const j = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(200), text: `alert ${i} é` });

function setup(segmentBytes = 4096, startSeq?: number, memoryRecords = 50_000) {
  const t = tempDir('spool-tail');
  dirs.push(t.cleanup);
  const spool = new Spool(t.dir, { segmentBytes });
  spool.open();
  const shared = new SharedSpoolState();
  spool.onPublish = (v, l) => shared.publish(v, l);
  const tail = new SpoolTail(t.dir, shared, startSeq, memoryRecords);
  return { dir: t.dir, spool, shared, tail };
}

async function readAll(tail: SpoolTail, after: number, max = 100): Promise<number[]> {
  const seqs: number[] = [];
  let at = after;
  for (;;) {
    const recs = await tail.read(at, max);
    if (!recs.length) return seqs;
    for (const r of recs) {
      seqs.push(r.seq);
      expect(tail.parsed(r)).toMatchObject({ i: r.seq - 1 });
      at = r.seq;
    }
  }
}

describe('spool tail (delivery thread reader)', () => {
  it('follows the writer across segment rolls, in order, with every record once', async () => {
    const { dir, spool, tail } = setup();
    for (let b = 0; b < 20; b++) await spool.append(Array.from({ length: 7 }, (_, k) => j(b * 7 + k)));
    expect(readdirSync(join(dir, 'segments')).length).toBeGreaterThan(5); // 4 KiB segments rolled
    expect(tail.visibleSeq).toBe(140);
    expect(tail.lastSeq).toBe(140);
    expect(await readAll(tail, 0)).toEqual(Array.from({ length: 140 }, (_, k) => k + 1));
    // more after the tail caught up: read from where it stopped
    await spool.append([j(140), j(141)]);
    expect((await tail.read(140, 10)).map((r) => r.seq)).toEqual([141, 142]);
    tail.close();
    spool.close();
  });

  it('sees nothing the writer has not published, and waitFor wakes on publish', async () => {
    const { spool, shared, tail } = setup(1 << 20);
    await spool.append([j(0)]);
    expect((await tail.read(0, 10)).map((r) => r.seq)).toEqual([1]);
    spool.onPublish = undefined; // records reach the file but are not published
    await spool.append([j(1)]);
    expect(await tail.read(1, 10)).toEqual([]);
    let woke = false;
    const w = tail.waitFor(1).then(() => {
      woke = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    shared.publish(spool.visibleSeq, spool.lastSeq);
    await w;
    expect(woke).toBe(true);
    expect((await tail.read(1, 10)).map((r) => r.seq)).toEqual([2]);
    tail.close();
    spool.close();
  });

  it('publishing only a new durable end updates it without waking readers; a new visible end wakes them', async () => {
    const shared = new SharedSpoolState();
    shared.publish(5, 3);
    let woke = false;
    const w = shared.waitFor(5).then(() => {
      woke = true;
    });
    shared.publish(5, 5); // the fsync of what readers already see
    expect(shared.last).toBe(5);
    await new Promise((r) => setTimeout(r, 30));
    expect(woke).toBe(false);
    shared.publish(6, 5);
    await w;
    expect(woke).toBe(true);
    expect(shared.visible).toBe(6);
  });

  it('shares one parse between readers, and serves a reader behind its memory from the files', async () => {
    const { spool, tail } = setup(8192, undefined, 10);
    await spool.append(Array.from({ length: 5 }, (_, k) => j(k)));
    const [a] = await tail.read(0, 1);
    const [b] = await tail.read(0, 1);
    expect(tail.parsed(b!)).toBe(tail.parsed(a!));
    await spool.append(Array.from({ length: 60 }, (_, k) => j(k + 5)));
    expect((await tail.read(64, 10)).map((r) => r.seq)).toEqual([65]); // tail reads to the end (trims memory)
    // seq 2 is long out of the 10-record memory: read from the segment files, still in order
    expect(await readAll(tail, 1, 7)).toEqual(Array.from({ length: 64 }, (_, k) => k + 2));
    tail.close();
    spool.close();
  });
});
