import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FieldValue } from '../../../src/engine/api.js';
import {
  CaptureError,
  CaptureWriter,
  parseCapture,
  readCapture,
  streamCapture,
} from '../../../src/sources/syscall/capture.js';
import type { SyscallEvent } from '../../../src/sources/syscall/event.js';
import { SyscallExtractor } from '../../../src/sources/syscall/extractor.js';
import { Frame, Kind, Tag } from '../../../src/sources/syscall/frame.js';
import { SyscallSource } from '../../../src/sources/syscall/source.js';
import { execFrame, fdInfo, frame, hello, NR, sock, sockaddrIn } from './frames.js';

/** Recorded on this kernel by test/e2e/syscall/host.test.ts, trimmed by fixtures/trim-capture.py. */
const FIXTURE = fileURLToPath(new URL('./fixtures/host-actions.capture.jsonl', import.meta.url));
const x = new SyscallExtractor();
const get = (ev: SyscallEvent, name: string, arg?: string): FieldValue => x.bind(name, arg)!(ev);
const tmp = mkdtempSync(join(tmpdir(), 'pg-capture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('replaying a capture recorded live', () => {
  const evs = readCapture(FIXTURE);
  const dir = evs[0]!.ctx.proc()!.cwd;
  const find = (type: string, comm: string) =>
    evs.find((e) => e.type === type && get(e, 'proc.name') === comm);

  it('gives back the process tree of each event', () => {
    const mv = find('execve', 'mv')!;
    expect(get(mv, 'proc.cmdline')).toBe(`mv a.txt b.txt`);
    expect(get(mv, 'proc.pname')).toBe('sh');
    expect(get(mv, 'proc.aname', '2')).toBe('node');
    expect(get(mv, 'proc.exepath')).toBe('/usr/bin/mv');
    expect(get(mv, 'user.name')).toBe('root');
    expect(get(mv, 'container.id')).toBe('host');
    expect(get(mv, 'evt.type')).toBe('execve');
  });

  it('gives back file events with kernel-resolved absolute paths', () => {
    const open = find('openat', 'sh')!;
    expect(get(open, 'fd.name')).toBe(`${dir}/a.txt`);
    expect(get(open, 'evt.arg', 'flags')).toBe('O_WRONLY|O_CREAT|O_TRUNC');
    expect(get(open, 'evt.is_open_write')).toBe(true);
    const mv = find('renameat2', 'mv')!;
    expect(get(mv, 'fs.path.source')).toBe(`${dir}/a.txt`);
    expect(get(mv, 'fs.path.target')).toBe(`${dir}/b.txt`);
    const ln = find('symlinkat', 'ln')!;
    expect(get(ln, 'fs.path.target')).toBe(`${dir}/sub/link`);
    const rm = find('unlinkat', 'rm')!;
    expect(get(rm, 'fs.path.name')).toBe(`${dir}/b.txt`);
    const ch = find('fchmodat', 'chmod')!;
    expect(get(ch, 'evt.arg', 'mode')).toContain('S_ISUID');
  });

  it('gives back network, memfd and privilege events', () => {
    const c = find('connect', 'node')!;
    expect(get(c, 'fd.sip')).toBe('127.0.0.1');
    expect(get(c, 'fd.l4proto')).toBe('tcp');
    expect(get(c, 'fd.is_server')).toBe(false);
    expect(get(c, 'fd.sport')).toBeGreaterThan(0);
    const m = find('memfd_create', 'python3')!;
    expect(get(m, 'fd.name')).toBe('/memfd:pgpayload');
    expect(get(m, 'fd.type')).toBe('memfd');
    expect(get(find('setuid', 'python3')!, 'evt.arg', 'uid')).toBe('root');
    expect(get(find('unshare', 'unshare')!, 'evt.arg', 'flags')).toContain('CLONE_NEWUSER');
    expect(get(find('procexit', 'rm')!, 'evt.type')).toBe('procexit');
  });

  it('streams the same events as it reads', async () => {
    const streamed: SyscallEvent[] = [];
    for await (const e of streamCapture(FIXTURE)) streamed.push(e);
    expect(streamed.map((e) => e.num)).toEqual(evs.map((e) => e.num));
  });
});

describe('writing captures', () => {
  it('round-trips events enriched from synthetic frames, field for field', async () => {
    const src = new SyscallSource({ procRoot: join(tmp, 'noproc') });
    const live: SyscallEvent[] = [];
    const fields: [string, string?][] = [
      ['evt.type'],
      ['proc.name'],
      ['proc.cmdline'],
      ['proc.pname'],
      ['proc.aname', '1'],
      ['proc.aname'],
      ['fd.name'],
      ['fd.sip'],
      ['fd.sport'],
      ['fd.typechar'],
      ['evt.arg', 'flags'],
      ['user.uid'],
      ['proc.tty'],
      ['container.id'],
      ['evt.args'],
      ['proc.stdin.type'],
      ['fd.types'],
      ['proc.loginshellid'],
      ['proc.sname'],
    ];
    const atDelivery = new Map<number, FieldValue[]>();
    src.attachOffline((ev) => {
      live.push(ev);
      atDelivery.set(
        ev.num,
        fields.map(([f, a]) => get(ev, f, a)),
      );
    });
    const w = new CaptureWriter(join(tmp, 'w.capture.jsonl'));
    const feed = (b: Buffer) => {
      const n = live.length;
      src.handleFrame(new Frame(b));
      for (const e of live.slice(n)) w.write(e);
    };
    feed(hello());
    feed(execFrame({ pid: 50, ppid: 1, argv: ['bash'], exe: '/bin/bash', tty: 34816, sid: 50 }));
    feed(execFrame({ pid: 51, ppid: 50, argv: ['nc', '10.1.1.1', '4444'], exe: '/usr/bin/nc', sid: 50 }));
    feed(
      frame({ kind: Kind.Syscall, nr: NR.connect, tgid: 51, ret: 0, args: [3, 0, 16] }, [
        [Tag.FdInfo, fdInfo(3, 0o140777)],
        [
          Tag.Sock,
          sock({ family: 2, laddr: [10, 0, 0, 5], lport: 50000, raddr: [10, 1, 1, 1], rport: 4444 }),
        ],
        [Tag.SAddr, sockaddrIn([10, 1, 1, 1], 4444)],
      ]),
    );
    feed(frame({ kind: Kind.Syscall, nr: NR.dup2, tgid: 51, ret: 0, args: [3, 0] }));
    feed(
      frame({ kind: Kind.Syscall, nr: NR.openat, tgid: 51, ret: 4, args: [4294967196, 0, 0o101, 0o644] }, [
        [Tag.Str0, '/tmp/out'],
        [Tag.FdInfo, fdInfo(4, 0o100644)],
        [Tag.FdPath, '/tmp/out'],
      ]),
    );
    await w.close();
    const back = readCapture(w.path);
    expect(back.length).toBe(live.length);
    expect(back.length).toBe(5);
    for (const r of back) {
      const want = atDelivery.get(r.num)!;
      fields.forEach(([f, a], i) => {
        expect(get(r, f, a), `${r.type} ${f}`).toEqual(want[i]);
      });
    }
    const dup = back.find((e) => e.type === 'openat')!;
    expect(get(dup, 'proc.stdin.type')).toBe('ipv4');
    expect(get(dup, 'proc.aname')).toEqual(['bash']);
  });

  it('rejects bad files with messages naming the problem', async () => {
    expect(() => parseCapture('', 'f')).toThrow(/first line is not a capture header/);
    expect(() => parseCapture('{"format":"other"}\n', 'f')).toThrow(/not a peregrine-syscall-capture file/);
    expect(() => parseCapture('{"format":"peregrine-syscall-capture","version":9}\n', 'f')).toThrow(
      /version 9/,
    );
    const h = readFileSync(FIXTURE, 'utf8').split('\n')[0];
    expect(() => parseCapture(`${h}\nnot json\n`, 'f')).toThrow(CaptureError);
    expect(() => parseCapture(`${h}\n{"t":"open"}\n`, 'f')).toThrow(/line 2: missing "f"/);
    expect(() => parseCapture(`${h}\n{"t":"open","f":"AAAA","p":[]}\n`, 'f')).toThrow(/line 2: bad frame/);
    writeFileSync(join(tmp, 'empty.jsonl'), '');
    await expect(async () => {
      for await (const _ of streamCapture(join(tmp, 'empty.jsonl'))) void _;
    }).rejects.toThrow(/empty file/);
  });
});
