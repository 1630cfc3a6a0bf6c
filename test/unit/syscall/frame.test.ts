import { describe, expect, it } from 'vitest';
import {
  Frame,
  FrameError,
  FrameReader,
  formatIp,
  HDR_SIZE,
  Kind,
  Tag,
} from '../../../src/sources/syscall/frame.js';
import { execFrame, fdInfo, frame, NR, sock } from './frames.js';

describe('Frame', () => {
  it('decodes the header fields', () => {
    const f = new Frame(
      frame({
        kind: Kind.Syscall,
        nr: NR.openat,
        ts: 1_700_000_000_123_456_789n,
        tgid: 4242,
        tid: 4243,
        uid: 1000,
        gid: 1001,
        cgroupId: 777n,
        ret: -2,
        args: [4294967196, 0x7ffd_0000_1000n, 577, 0o644],
      }),
    );
    expect(f.kind).toBe(Kind.Syscall);
    expect(f.nr).toBe(257);
    expect(f.ts).toBe(1_700_000_000_123_456_789n);
    expect([f.tgid, f.tid, f.uid, f.gid]).toEqual([4242, 4243, 1000, 1001]);
    expect(f.cgroupId).toBe(777n);
    expect(f.ret).toBe(-2);
    // int args arrive zero-extended: AT_FDCWD must sign-extend
    expect(f.argInt(0)).toBe(-100);
    expect(f.argRaw(1)).toBe(0x7ffd_0000_1000n);
    expect(f.argU(2)).toBe(577);
  });

  it('indexes TLVs lazily and decodes strings, fd info and socket tuples', () => {
    const f = new Frame(
      frame({ kind: Kind.Syscall, nr: NR.connect }, [
        [Tag.Str0, 'relative/päth'],
        [Tag.FdInfo, fdInfo(5, 0o140777, 99)],
        [
          Tag.Sock,
          sock({ family: 2, laddr: [10, 0, 0, 2], lport: 40000, raddr: [93, 184, 216, 34], rport: 443 }),
        ],
      ]),
    );
    expect(f.str(Tag.Str0)).toBe('relative/päth');
    expect(f.str(Tag.Str1)).toBeUndefined();
    expect(f.fdInfo()).toEqual({ fd: 5, mode: 0o140777, flags: 0, dev: 0x800001, ino: 99 });
    expect(f.sock()).toMatchObject({
      family: 2,
      laddr: '10.0.0.2',
      lport: 40000,
      raddr: '93.184.216.34',
      rport: 443,
    });
  });

  it('decodes exec records: argv split on NUL, procinfo', () => {
    const f = new Frame(
      execFrame({
        pid: 10,
        ppid: 1,
        argv: ['sh', '-c', 'echo "a b"'],
        exe: '/bin/sh',
        loginuid: 1000,
        tty: 34816,
      }),
    );
    expect(f.argv()).toEqual(['sh', '-c', 'echo "a b"']);
    expect(f.procInfo()).toMatchObject({ ppid: 1, loginuid: 1000, tty: 34816, vpid: 10 });
    expect(f.str(Tag.Exe)).toBe('/bin/sh');
  });

  it('rejects a TLV that runs past the frame, naming it', () => {
    const b = frame({ kind: Kind.Syscall }, [[Tag.Str0, 'abcdef']]);
    b.writeUInt16LE(200, HDR_SIZE + 2); // claim 200 bytes
    const f = new Frame(b);
    expect(() => f.str(Tag.Str0)).toThrow(/TLV tag 1 .* runs past the frame/);
  });

  it('rejects frames shorter than the header', () => {
    expect(() => new Frame(Buffer.alloc(10))).toThrow(FrameError);
  });
});

describe('FrameReader', () => {
  it('splits a stream cut at arbitrary points', () => {
    const frames = [
      frame({ kind: Kind.Syscall, nr: 1, tgid: 1 }, [[Tag.Str0, 'x'.repeat(300)]]),
      frame({ kind: Kind.Syscall, nr: 2, tgid: 2 }),
      frame({ kind: Kind.Syscall, nr: 3, tgid: 3 }, [[Tag.Str0, 'y']]),
    ];
    const all = Buffer.concat(frames);
    for (const cut of [1, 3, 95, 96, 97, 200, 397, all.length - 1]) {
      const r = new FrameReader();
      const got: number[] = [];
      r.push(all.subarray(0, cut), (f) => got.push(f.tgid));
      r.push(all.subarray(cut), (f) => got.push(f.tgid));
      expect(got, `cut at ${cut}`).toEqual([1, 2, 3]);
      expect(r.buffered).toBe(0);
    }
  });

  it('throws FrameError on a corrupt length', () => {
    const r = new FrameReader();
    const b = Buffer.alloc(100);
    b.writeUInt32LE(12, 0);
    expect(() => r.push(b, () => {})).toThrow(/corrupt frame length 12/);
    const big = Buffer.alloc(8);
    big.writeUInt32LE(0x7fffffff, 0);
    expect(() => new FrameReader().push(big, () => {})).toThrow(FrameError);
  });

  it('fuzz: random bytes only ever raise FrameError, never crash', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 300; i++) {
      const b = Buffer.alloc(rnd() % 600);
      for (let j = 0; j < b.length; j++) b[j] = rnd() & 255;
      // sometimes make the length plausible so TLV parsing runs
      if (b.length >= 100 && i % 2 === 0) b.writeUInt32LE(b.length, 0);
      try {
        new FrameReader().push(b, (f) => {
          f.str(Tag.Str0);
          f.sock();
          f.procInfo();
          f.argv();
          f.stats();
        });
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
    }
  });
});

describe('formatIp', () => {
  it('formats IPv4 and compressed IPv6', () => {
    expect(formatIp(Uint8Array.from([127, 0, 0, 1]), 2)).toBe('127.0.0.1');
    const v6 = new Uint8Array(16);
    v6[15] = 1;
    expect(formatIp(v6, 10)).toBe('::1');
    const m = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
    expect(formatIp(m, 10)).toBe('2001:db8::10');
    const mapped = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]);
    expect(formatIp(mapped, 10)).toBe('::ffff:10.1.2.3');
  });
});
