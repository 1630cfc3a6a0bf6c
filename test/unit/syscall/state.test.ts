import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerRegistry, parseImageRef } from '../../../src/state/containers.js';
import { ProcessTable } from '../../../src/state/processes.js';
import { parseGroup, parsePasswd, UserDb } from '../../../src/state/users.js';

const CID = 'c'.repeat(64);
let root: string;

function fakeProc(
  pid: number,
  o: {
    ppid: number;
    comm: string;
    argv: string[];
    exe: string;
    cwd: string;
    uid?: number;
    cgroup?: string;
    fds?: Record<number, string>;
  },
) {
  const d = join(root, 'proc', String(pid));
  mkdirSync(join(d, 'fd'), { recursive: true });
  mkdirSync(join(d, 'ns'), { recursive: true });
  // pid (comm) state ppid pgrp session tty_nr … starttime is field 22
  const rest = ['S', o.ppid, pid, pid, 34817, ...Array(14).fill(0), 500];
  writeFileSync(join(d, 'stat'), `${pid} (${o.comm}) ${rest.join(' ')}\n`);
  const uid = o.uid ?? 0;
  writeFileSync(
    join(d, 'status'),
    `Name:\t${o.comm}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t0\t0\t0\t0\nNSpid:\t${pid}\t7\nNSpgid:\t${pid}\nThreads:\t3\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n`,
  );
  writeFileSync(join(d, 'cmdline'), `${o.argv.join('\0')}\0`);
  writeFileSync(join(d, 'cgroup'), `0::${o.cgroup ?? '/'}\n`);
  writeFileSync(join(d, 'loginuid'), '1000');
  symlinkSync(o.exe, join(d, 'exe'));
  symlinkSync(o.cwd, join(d, 'cwd'));
  symlinkSync('mnt:[4026531832]', join(d, 'ns', 'mnt'));
  symlinkSync('pid:[4026531836]', join(d, 'ns', 'pid'));
  for (const [n, target] of Object.entries(o.fds ?? {})) symlinkSync(target, join(d, 'fd', n));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pg-state-'));
  mkdirSync(join(root, 'proc', 'net'), { recursive: true });
  writeFileSync(join(root, 'proc', 'stat'), 'cpu 1 2 3\nbtime 1700000000\n');
  // one listening TCP socket 0.0.0.0:22 (inode 5555) and one established 127.0.0.1:40000->127.0.0.1:8080 (6666)
  writeFileSync(
    join(root, 'proc', 'net', 'tcp'),
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1\n' +
      '   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 6666 1\n',
  );
  fakeProc(1, { ppid: 0, comm: 'init', argv: ['/sbin/init'], exe: '/sbin/init', cwd: '/' });
  fakeProc(10, {
    ppid: 1,
    comm: 'sshd',
    argv: ['/usr/sbin/sshd', '-D'],
    exe: '/usr/sbin/sshd',
    cwd: '/',
    fds: { 3: 'socket:[5555]', 4: '/var/log/auth.log', 5: 'pipe:[77]', 6: 'anon_inode:[eventfd]' },
  });
  fakeProc(20, {
    ppid: 10,
    comm: 'bash',
    argv: ['-bash'],
    exe: '/usr/bin/bash',
    cwd: '/root',
    uid: 1000,
    cgroup: `/libpod_parent/libpod-${CID}`,
    fds: { 0: '/dev/pts/0', 7: 'socket:[6666]' },
  });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/bash\n# c\nalice:x:1000:1000::/home/alice:/bin/zsh\nbad-line\n',
  );
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:alice\n');
  // container root seen through /proc/20/root
  mkdirSync(join(root, 'proc', '20', 'root', 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'proc', '20', 'root', 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1000::/var/www:/sbin/nologin\n',
  );
  writeFileSync(join(root, 'proc', '20', 'root', 'etc', 'group'), 'www:x:1000:\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ProcessTable', () => {
  it('snapshots /proc: names, args, ids, caps, container, fds with socket tuples', () => {
    const t = new ProcessTable({ procRoot: join(root, 'proc'), lazyProcRead: false });
    expect(t.snapshot()).toBe(3);
    const sshd = t.get(10)!;
    expect(sshd).toMatchObject({
      pid: 10,
      ppid: 1,
      comm: 'sshd',
      exe: '/usr/sbin/sshd',
      args: ['-D'],
      exepath: '/usr/sbin/sshd',
    });
    expect(sshd.fds.get(3)).toMatchObject({
      type: 'ipv4',
      l4proto: 'tcp',
      lip: '0.0.0.0',
      lport: 22,
      isServer: true,
      name: '0.0.0.0:22',
    });
    expect(sshd.fds.get(4)).toMatchObject({ type: 'file', name: '/var/log/auth.log' });
    expect(sshd.fds.get(5)?.type).toBe('pipe');
    expect(sshd.fds.get(6)?.type).toBe('event');
    const bash = t.get(20)!;
    expect(bash).toMatchObject({
      uid: 1000,
      vpid: 7,
      tty: 34817,
      loginuid: 1000,
      containerId: CID,
      containerType: 'podman',
      nthreads: 3,
    });
    expect(bash.capEff).toBe(0xa80425fbn);
    expect(bash.startNs).toBe(1700000000e9 + 5e9);
    expect(bash.fds.get(7)).toMatchObject({
      lip: '127.0.0.1',
      lport: 40000,
      rip: '127.0.0.1',
      rport: 8080,
      name: '127.0.0.1:40000->127.0.0.1:8080',
    });
    expect(t.ancestor(20, 1)?.comm).toBe('sshd');
    expect(t.ancestor(20, 2)?.comm).toBe('init');
    expect(t.ancestor(20, 3)).toBeUndefined();
    expect(t.ancestors(20).map((p) => p.pid)).toEqual([10, 1]);
    expect(t.loginShellId(20)).toBe(20);
  });

  it('follows fork, exec and exit; closes O_CLOEXEC fds on exec; expires the dead', () => {
    const t = new ProcessTable({ procRoot: join(root, 'proc'), lazyProcRead: false, deadTtlMs: 1000 });
    t.snapshot();
    t.fork(20, 30, 30, 8, false, 1e18);
    const child = t.get(30)!;
    expect(child).toMatchObject({ ppid: 20, comm: 'bash', containerId: CID });
    t.addFd(30, { num: 9, type: 'file', name: '/tmp/keep', openFlags: 0 });
    t.addFd(30, { num: 10, type: 'file', name: '/tmp/cloexec', openFlags: 0o2000000 });
    t.exec({
      pid: 30,
      tid: 30,
      ppid: 20,
      vpid: 8,
      comm: 'cat',
      argv: ['cat', '/etc/shadow'],
      exepath: '/usr/bin/cat',
      cwd: '/root',
      tty: 0,
      sid: 20,
      pgid: 30,
      loginuid: 1000,
      uid: 0,
      gid: 0,
      capEff: 0n,
      capPrm: 0n,
      capInh: 0n,
      exeIno: 1,
      exeMode: 0o100755,
      exeUid: 0,
      exeGid: 0,
      exeNlink: 1,
      startNs: 1e18,
      cgroup: '/',
      containerId: CID,
      pidns: 1,
      mntns: 1,
      netns: 1,
      ts: 1e18,
    });
    const cat = t.get(30)!;
    expect(cat).toMatchObject({ comm: 'cat', exe: 'cat', args: ['/etc/shadow'] });
    expect(cat.fds.has(9)).toBe(true);
    expect(cat.fds.has(10)).toBe(false);
    expect(t.dupFd(30, 9, 1)?.name).toBe('/tmp/keep');
    // threads map to their process
    t.fork(30, 30, 31, 9, true, 1e18);
    expect(t.get(31)?.pid).toBe(30);
    expect(t.get(30)?.nthreads).toBe(2);
    const exitMs = Date.now();
    t.exit(30, exitMs * 1e6, 0);
    expect(t.get(30)?.exitNs).toBe(exitMs * 1e6); // still there for children's ancestry
    t.expire(exitMs + 500);
    expect(t.peek(30)).toBeDefined();
    t.expire(exitMs + 1500);
    expect(t.peek(30)).toBeUndefined();
  });

  it('is bounded: evicts when full, caps fds per process', () => {
    const t = new ProcessTable({
      procRoot: join(root, 'proc'),
      lazyProcRead: false,
      maxProcesses: 3,
      maxFdsPerProcess: 2,
    });
    t.snapshot();
    t.fork(20, 40, 40, 40, false, 0);
    expect(t.size).toBe(3);
    expect(t.stats.evicted).toBe(1);
    t.addFd(40, { num: 50, type: 'file', name: '/a' });
    t.addFd(40, { num: 51, type: 'file', name: '/b' });
    expect(t.stats.fdOverflow).toBeGreaterThan(0);
    expect(t.get(40)!.fds.size).toBe(2);
  });

  it('reads an unknown pid lazily from /proc when enabled', () => {
    const t = new ProcessTable({ procRoot: join(root, 'proc') });
    expect(t.get(10)?.comm).toBe('sshd');
    expect(t.get(99999)).toBeUndefined();
  });
});

describe('users and groups', () => {
  it('parses passwd and group, skipping comments and bad lines', () => {
    const u = parsePasswd(
      'root:x:0:0:root:/root:/bin/bash\n#x\nbroken\nbob:x:1001:1001::/home/bob:/bin/sh\n',
    );
    expect([...u.keys()]).toEqual([0, 1001]);
    expect(u.get(1001)).toEqual({ uid: 1001, name: 'bob', homedir: '/home/bob', shell: '/bin/sh' });
    expect(parseGroup('wheel:x:10:a,b\nnope\n').get(10)).toEqual({ gid: 10, name: 'wheel' });
  });
  it('resolves host ids from the host root and container ids through /proc/<pid>/root', () => {
    const db = new UserDb({ hostRoot: root, procRoot: join(root, 'proc') });
    expect(db.user(1000, '', 0)?.name).toBe('alice');
    expect(db.user(1000, CID, 20)).toEqual({
      uid: 1000,
      name: 'www',
      homedir: '/var/www',
      shell: '/sbin/nologin',
    });
    expect(db.group(50, '', 0)?.name).toBe('staff');
    expect(db.group(1000, CID, 20)?.name).toBe('www');
    expect(db.user(4242, '', 0)).toBeUndefined();
  });
});

describe('ContainerRegistry (Docker-compatible API over a unix socket)', () => {
  let server: http.Server;
  let sock: string;
  let requests = 0;
  beforeAll(async () => {
    sock = join(root, 'api.sock');
    server = http.createServer((req, res) => {
      requests++;
      if (req.url === `/v1.41/containers/${CID}/json`) {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            Id: CID,
            Name: '/web1',
            Image: 'sha256:5819e0ff',
            Config: {
              Image: 'registry.local:5000/team/web:1.2@sha256:abcd',
              Labels: {
                app: 'demo',
                'io.kubernetes.pod.name': 'web-1',
                'io.kubernetes.pod.namespace': 'prod',
                'io.kubernetes.pod.uid': 'u-1',
              },
            },
            HostConfig: { Privileged: true, NetworkMode: 'host' },
            State: { StartedAt: '2026-11-29T10:00:00.5Z', Pid: 20 },
            Mounts: [
              { Source: '/srv/data', Destination: '/data', Mode: 'z', RW: true, Propagation: 'rprivate' },
            ],
          }),
        );
        return;
      }
      res.statusCode = 404;
      res.end('{"message":"no such container"}');
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches, caches, and maps labels to k8s fields', async () => {
    const reg = new ContainerRegistry({ socketPath: sock });
    const first = reg.get(CID, 'podman');
    expect(first.hasMetadata).toBe(false); // fetch started
    const c = await reg.fetch(CID, 'podman');
    expect(c).toMatchObject({
      hasMetadata: true,
      name: 'web1',
      image: 'registry.local:5000/team/web:1.2@sha256:abcd',
      imageRepository: 'registry.local:5000/team/web',
      imageTag: '1.2',
      imageDigest: 'sha256:abcd',
      imageId: '5819e0ff',
      privileged: true,
      hostNetwork: true,
      hostPid: false,
      podName: 'web-1',
      podNamespace: 'prod',
      podUid: 'u-1',
      podLabels: { app: 'demo' },
      startTs: Date.parse('2026-11-29T10:00:00.5Z') * 1e6,
    });
    expect(c.mounts[0]).toEqual({
      source: '/srv/data',
      dest: '/data',
      mode: 'z',
      rdwr: true,
      propagation: 'rprivate',
    });
    const before = requests;
    expect(reg.get(CID, 'podman').name).toBe('web1');
    expect(requests).toBe(before); // served from the cache
    expect(reg.stats.hits).toBe(1);
  });

  it('counts misses for unknown ids and does not re-ask before the negative TTL', async () => {
    const reg = new ContainerRegistry({ socketPath: sock, negativeTtlMs: 60_000 });
    const id = 'd'.repeat(64);
    const c = await reg.fetch(id, 'docker');
    expect(c).toMatchObject({ id, hasMetadata: false, type: 'docker' });
    expect(reg.stats.misses).toBe(1);
    const before = requests;
    await reg.fetch(id, 'docker');
    expect(requests).toBe(before);
  });

  it('reports an unreachable socket as an API error and a miss', async () => {
    const errors: string[] = [];
    const reg = new ContainerRegistry({
      socketPath: join(root, 'missing.sock'),
      onError: (m) => errors.push(m),
    });
    const c = await reg.fetch(CID, 'podman');
    expect(c.hasMetadata).toBe(false);
    expect(reg.stats.apiErrors).toBe(1);
    expect(errors[0]).toMatch(/missing\.sock/);
  });

  it('parses image references', () => {
    expect(parseImageRef('nginx')).toEqual({ repository: 'nginx', tag: undefined, digest: undefined });
    expect(parseImageRef('localhost:5000/a/b')).toEqual({
      repository: 'localhost:5000/a/b',
      tag: undefined,
      digest: undefined,
    });
    expect(parseImageRef('docker.io/library/nginx:1.25')).toMatchObject({
      repository: 'docker.io/library/nginx',
      tag: '1.25',
    });
  });
});
