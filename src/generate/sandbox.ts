/**
 * Where `peregrine generate` performs its actions: a real container (podman with
 * runc and a busybox image imported from the host's busybox-static, no registry
 * needed), labelled like a Kubernetes pod, or — when no container runtime works —
 * fresh namespaces made with unshare(1).
 *
 * Podman runs with explicit flags instead of relying on its configuration: runc
 * (crun rejects hybrid cgroup hosts), cgroupfs, file events, and explicit
 * nofile/nproc limits (root may lack CAP_SYS_RESOURCE). CONTAINERS_CONF and
 * CONTAINERS_STORAGE_CONF in the environment choose the storage, as for podman.
 */
import { execFileSync, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GENERATE_IMAGE = 'localhost/peregrine/generate:1';
export const POD_NAME = 'peregrine-generate';
export const POD_NAMESPACE = 'peregrine-generate';

const PODMAN_GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  kind: 'container' | 'namespaces';
  /** Full container id ('' for namespaces). */
  id: string;
  name: string;
  image: string;
  podName?: string;
  podNamespace?: string;
  /** Host pid of the container's main process (for /proc/<pid>/root). */
  hostPid: number;
  /** Start time of the container (ms since the epoch). */
  startedMs: number;
  /** Run a command inside; waits for it (timeout 20 s). */
  exec(argv: string[], opts?: { tty?: boolean }): RunResult;
  /** Start a command inside without waiting for it. */
  execDetached(argv: string[]): void;
  stop(): void;
}

function which(bin: string): string | undefined {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(d, bin);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function res(r: SpawnSyncReturns<string>): RunResult {
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Why a container cannot be made here, or undefined when podman + runc + busybox are present. */
export function containerUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const b of ['podman', 'runc']) if (!which(b)) return `${b} is not installed`;
  if (!existsSync('/bin/busybox')) return 'busybox-static is not installed (/bin/busybox missing)';
  return undefined;
}

function podman(args: string[], opts: { input?: Buffer; timeoutMs?: number } = {}): string {
  return execFileSync('podman', [...PODMAN_GLOBAL, ...args], {
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  }).trim();
}

function importImage(): void {
  const dir = mkdtempSync(join(tmpdir(), 'pg-generate-rootfs-'));
  try {
    const rootfs = join(dir, 'rootfs');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'root', 'mnt'])
      mkdirSync(join(rootfs, d), { recursive: true });
    execFileSync('cp', ['/bin/busybox', join(rootfs, 'bin', 'busybox')]);
    execFileSync('chroot', [rootfs, '/bin/busybox', '--install', '-s', '/bin']);
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
    const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 });
    podman(
      ['import', '-q', '--change', 'ENV PATH=/bin', '--change', 'CMD ["/bin/sh"]', '-', GENERATE_IMAGE],
      {
        input: tar,
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The parent cgroups podman (cgroupfs manager) creates and leaves behind. */
function libpodCgroups(): string[] {
  const out: string[] = [];
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return out;
  }
  for (const h of ['', ...hierarchies]) {
    const base = join(CGROUP_ROOT, h, 'libpod_parent');
    if (existsSync(base)) out.push(join(base, 'conmon'), base);
  }
  return out.filter((d) => existsSync(d));
}

/** A busybox container labelled as pod peregrine-generate/peregrine-generate. */
export function startContainer(): Sandbox {
  const cgroupsBefore = new Set(libpodCgroups());
  let imported = false;
  try {
    podman(['image', 'exists', GENERATE_IMAGE]);
  } catch {
    importImage();
    imported = true;
  }
  const name = `pg-generate-${randomBytes(3).toString('hex')}`;
  let id = '';
  const removeAll = () => {
    try {
      podman(['rm', '-f', '-t', '0', name]);
    } catch {
      /* already gone */
    }
    if (imported) {
      try {
        podman(['rmi', '-f', GENERATE_IMAGE]);
      } catch {
        /* in use elsewhere */
      }
    }
    // Parent cgroups this run created (only empty ones can go; children first).
    for (const d of libpodCgroups()) {
      if (cgroupsBefore.has(d)) continue;
      try {
        rmdirSync(d);
      } catch {
        /* busy: another container uses it */
      }
    }
  };
  try {
    id = podman([
      'run',
      '-d',
      '--network',
      'none',
      '--cap-add',
      'NET_ADMIN',
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=4096:4096',
      '--label',
      `io.kubernetes.pod.name=${POD_NAME}`,
      '--label',
      `io.kubernetes.pod.namespace=${POD_NAMESPACE}`,
      '--label',
      'app=peregrine-generate',
      '--name',
      name,
      GENERATE_IMAGE,
      'sleep',
      '600',
    ]);
    const hostPid = Number(podman(['inspect', '-f', '{{.State.Pid}}', name]));
    const startedMs = Date.now();
    const exec = (argv: string[], opts: { tty?: boolean } = {}): RunResult =>
      res(
        spawnSync('podman', [...PODMAN_GLOBAL, 'exec', ...(opts.tty ? ['-t'] : []), name, ...argv], {
          encoding: 'utf8',
          timeout: 20_000,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    // A second address on the loopback device: connections to 192.0.2.1 stay inside
    // the container's own network namespace while not being loopback destinations.
    const r = exec(['ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'lo']);
    if (r.status !== 0) throw new Error(`cannot add a test address in the container: ${r.stderr.trim()}`);
    exec(['ip', 'link', 'set', 'lo', 'up']);
    return {
      kind: 'container',
      id,
      name,
      image: GENERATE_IMAGE,
      podName: POD_NAME,
      podNamespace: POD_NAMESPACE,
      hostPid,
      startedMs,
      exec,
      execDetached(argv) {
        podman(['exec', '-d', name, ...argv]);
      },
      stop: removeAll,
    };
  } catch (e) {
    removeAll();
    throw e;
  }
}

/** Fresh network, mount, UTS, IPC and PID namespaces per command (no container). */
export function startNamespaces(): Sandbox {
  const unshare = which('unshare');
  if (!unshare) throw new Error('neither a container runtime nor unshare(1) is available');
  const base = ['--net', '--uts', '--ipc', '--mount', '--pid', '--fork', '--mount-proc'];
  return {
    kind: 'namespaces',
    id: '',
    name: 'host',
    image: '',
    hostPid: process.pid,
    startedMs: Date.now(),
    exec(argv) {
      return res(
        spawnSync(
          unshare,
          [
            ...base,
            '--',
            'sh',
            '-c',
            'ip link set lo up 2>/dev/null; ip addr add 192.0.2.2/24 dev lo 2>/dev/null; exec "$@"',
            'pg',
            ...argv,
          ],
          {
            encoding: 'utf8',
            timeout: 20_000,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        ),
      );
    },
    execDetached() {
      throw new Error('detached commands need a container');
    },
    stop() {},
  };
}
