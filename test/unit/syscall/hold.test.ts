/**
 * Events of a container whose metadata is being fetched are held, in order, until
 * the API answers (or containerWaitMs passes), so the first events of a new
 * container already carry its name and image.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyscallEvent } from '../../../src/sources/syscall/event.js';
import { Frame } from '../../../src/sources/syscall/frame.js';
import { SyscallSource } from '../../../src/sources/syscall/source.js';
import { waitFor } from '../../harness/servers.js';
import { execFrame, hello } from './frames.js';

const FAST = 'a'.repeat(64);
const SLOW = 'b'.repeat(64);
let dir: string;
let server: http.Server;
let sock: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pg-hold-'));
  sock = join(dir, 'api.sock');
  server = http.createServer((req, res) => {
    const id = /containers\/([0-9a-f]+)\/json/.exec(req.url ?? '')?.[1];
    const answer = () =>
      res.end(JSON.stringify({ Id: id, Name: `/c-${id?.slice(0, 4)}`, Config: { Image: 'img:1' } }));
    if (id === FAST) setTimeout(answer, 80);
    else if (id === SLOW) setTimeout(answer, 3000).unref();
    else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(sock, r));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function run(containerWaitMs: number) {
  const src = new SyscallSource({ procRoot: join(dir, 'noproc'), containerSocket: sock, containerWaitMs });
  const got: { ev: SyscallEvent; name: unknown; at: number }[] = [];
  const nameOf = src.extractor.bind('container.name', undefined)!;
  src.attachOffline((ev) => got.push({ ev, name: nameOf(ev), at: Date.now() }));
  src.handleFrame(new Frame(hello()));
  return { src, got };
}

describe('container metadata hold-back', () => {
  it('holds events in order until the API answers, then delivers them with the name', async () => {
    const { src, got } = run(1000);
    const t0 = Date.now();
    src.handleFrame(
      new Frame(execFrame({ pid: 10, ppid: 1, argv: ['sh'], exe: '/bin/sh', cgroup: `/docker/${FAST}` })),
    );
    src.handleFrame(new Frame(execFrame({ pid: 11, ppid: 1, argv: ['ls'], exe: '/bin/ls' }))); // host, behind it
    expect(got).toHaveLength(0);
    expect(src.metrics().heldEvents).toBe(2);
    await waitFor(async () => got.length === 2, 2000);
    expect(got.map((g) => g.ev.frame.tgid)).toEqual([10, 11]);
    expect(got[0]!.name).toBe(`c-${FAST.slice(0, 4)}`);
    expect(got[1]!.name).toBe('host');
    expect(got[0]!.at - t0).toBeGreaterThanOrEqual(60);
    // later events of that container pass straight through
    src.handleFrame(
      new Frame(
        execFrame({ pid: 12, ppid: 10, argv: ['id'], exe: '/usr/bin/id', cgroup: `/docker/${FAST}` }),
      ),
    );
    expect(got).toHaveLength(3);
  });

  it('gives up waiting after containerWaitMs and delivers without metadata', async () => {
    const { src, got } = run(150);
    const t0 = Date.now();
    src.handleFrame(
      new Frame(execFrame({ pid: 20, ppid: 1, argv: ['sh'], exe: '/bin/sh', cgroup: `/docker/${SLOW}` })),
    );
    await waitFor(async () => got.length === 1, 2000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(got[0]!.name).toBeUndefined();
    expect(src.extractor.bind('container.id', undefined)!(got[0]!.ev)).toBe(SLOW.slice(0, 12));
  });
});
