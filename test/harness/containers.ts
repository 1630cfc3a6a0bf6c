/**
 * Real containers for live tests: podman with runc (crun rejects this host's
 * hybrid cgroups), an image imported from a busybox-static rootfs (no registry),
 * explicit nofile/nproc ulimits (root lacks CAP_SYS_RESOURCE), and podman's
 * Docker-compatible API on a unix socket in a temp dir. Config, storage and
 * state live in the temp dir; stop() removes containers, the service, the
 * parent cgroups podman leaves behind, and the dir.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEST_IMAGE = 'localhost/local/test:1';

export interface PodmanEnv {
  dir: string;
  /** Docker-compatible API socket. */
  socket: string;
  podman(args: string[], opts?: { input?: string; timeoutMs?: number }): string;
  /** `podman run -d` a long-running container; returns its full id and host pid. */
  run(
    name: string,
    opts?: { labels?: Record<string, string>; cgroupParent?: string; cmd?: string[] },
  ): {
    id: string;
    pid: number;
  };
  exec(name: string, cmd: string[]): string;
  stop(): Promise<void>;
}

function which(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why real containers cannot run here, or undefined when they can. */
export function podmanUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const b of ['podman', 'runc'])
    if (!which(b)) return `${b} not installed (scripts/setup.sh installs it)`;
  if (!existsSync('/bin/busybox')) return 'busybox-static not installed (/bin/busybox missing)';
  return undefined;
}

function ping(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: sock, path: '/_ping', timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export async function startPodman(): Promise<PodmanEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-podman-'));
  const socket = join(dir, 'podman.sock');
  writeFileSync(
    join(dir, 'containers.conf'),
    `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\ntmp_dir = "${dir}/libpod-tmp"\n`,
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`,
  );
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
  };
  const podman = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    execFileSync('podman', args, {
      env,
      input: opts.input,
      timeout: opts.timeoutMs ?? 30_000,
      encoding: 'utf8',
    }).trim();
  const cgroupParents = new Set<string>(['libpod_parent']);
  let service: ChildProcess | undefined;
  const stop = async () => {
    try {
      podman(['rm', '-f', '-a', '-t', '0']);
    } catch {
      /* best effort */
    }
    if (service && service.exitCode === null) {
      await new Promise<void>((r) => {
        service!.once('exit', () => r());
        service!.kill('SIGTERM');
        setTimeout(() => service!.kill('SIGKILL'), 3000).unref();
      });
    }
    try {
      podman(['system', 'reset', '-f'], { timeoutMs: 30_000 });
    } catch {
      /* best effort */
    }
    // podman leaves the parent cgroups it created: remove the empty ones (deepest first).
    for (const h of readdirSync('/sys/fs/cgroup')) {
      for (const parent of cgroupParents) {
        const base = join('/sys/fs/cgroup', h, parent);
        const stack = [base];
        const all: string[] = [];
        while (stack.length) {
          const d = stack.pop()!;
          if (!existsSync(d)) continue;
          all.push(d);
          try {
            for (const e of readdirSync(d, { withFileTypes: true }))
              if (e.isDirectory()) stack.push(join(d, e.name));
          } catch {
            /* gone */
          }
        }
        for (const d of all.reverse()) {
          try {
            rmdirSync(d);
          } catch {
            /* busy or not ours */
          }
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const rootfs = join(dir, 'rootfs');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'root'])
      mkdirSync(join(rootfs, d), { recursive: true });
    execFileSync('cp', ['/bin/busybox', join(rootfs, 'bin', 'busybox')]);
    execFileSync('chroot', [rootfs, '/bin/busybox', '--install', '-s', '/bin']);
    writeFileSync(
      join(rootfs, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n',
    );
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nwww:x:33:\n');
    const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 });
    execFileSync(
      'podman',
      ['import', '-q', '--change', 'ENV PATH=/bin', '--change', 'CMD ["/bin/sh"]', '-', TEST_IMAGE],
      { env, input: tar, timeout: 60_000 },
    );
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      env,
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (!(await ping(socket))) {
      if (Date.now() > deadline)
        throw new Error('podman system service did not answer on its socket within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    socket,
    podman,
    run(name, opts = {}) {
      const args = ['run', '-d', '--network', 'none', '--name', name];
      for (const [k, v] of Object.entries(opts.labels ?? {})) args.push('--label', `${k}=${v}`);
      if (opts.cgroupParent) {
        args.push('--cgroup-parent', opts.cgroupParent);
        cgroupParents.add(opts.cgroupParent.replace(/^\//, '').split('/')[0]!);
      }
      args.push(TEST_IMAGE, ...(opts.cmd ?? ['sleep', '300']));
      const id = podman(args);
      const pid = Number(podman(['inspect', '-f', '{{.State.Pid}}', name]));
      return { id, pid };
    },
    exec(name, cmd) {
      return podman(['exec', name, ...cmd]);
    },
    stop,
  };
}
