/**
 * Container ids from cgroup paths. Formats handled (last path component wins):
 *   docker cgroupfs       /docker/<64hex>
 *   docker systemd        /system.slice/docker-<64hex>.scope
 *   k8s cgroupfs          /kubepods/besteffort/pod<uid>/<64hex>
 *   containerd (CRI)      /kubepods.slice/…/cri-containerd-<64hex>.scope
 *   cri-o                 /kubepods.slice/…/crio-<64hex>.scope
 *   podman (cgroupfs)     /libpod_parent/libpod-<64hex>, /libpod_parent/<podid>/libpod-<64hex>
 *   podman (systemd)      /machine.slice/libpod-<64hex>.scope
 * Only 64-hex ids are accepted: the 32-hex `/process_api/<id>` leaf some sandboxes use,
 * `…/conmon` and `libpod-conmon-<id>` (the runtime's monitor process) are not containers.
 */
export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'cri';

export interface CgroupContainer {
  id: string;
  runtime: ContainerRuntime;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function containerFromCgroupPath(path: string): CgroupContainer | undefined {
  if (!path) return undefined;
  const parts = path.split('/').filter((p) => p !== '');
  let last = parts[parts.length - 1];
  if (!last) return undefined;
  if (last.endsWith('.scope')) last = last.slice(0, -'.scope'.length);
  if (last.startsWith('libpod-conmon-') || last.startsWith('crio-conmon-')) return undefined;
  const prefixes: [string, ContainerRuntime][] = [
    ['libpod-', 'podman'],
    ['docker-', 'docker'],
    ['cri-containerd-', 'containerd'],
    ['crio-', 'cri-o'],
  ];
  for (const [prefix, runtime] of prefixes) {
    if (last.startsWith(prefix)) {
      const id = last.slice(prefix.length);
      return HEX64.test(id) ? { id, runtime } : undefined;
    }
  }
  if (!HEX64.test(last)) return undefined;
  const parent = parts.slice(0, -1).join('/');
  if (parent.startsWith('kubepods') || parent.includes('/kubepods')) return { id: last, runtime: 'cri' };
  return { id: last, runtime: 'docker' };
}

/**
 * The container of a process from the text of /proc/<pid>/cgroup: the unified (`0::`)
 * line first, then the pids/cpu/memory/systemd v1 lines.
 */
export function containerFromProcCgroup(text: string): { cgroup: string; container?: CgroupContainer } {
  const lines = text.split('\n').filter((l) => l !== '');
  const paths = new Map<string, string>();
  for (const l of lines) {
    const a = l.indexOf(':');
    const b = l.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    paths.set(l.slice(a + 1, b), l.slice(b + 1));
  }
  const order = ['', 'pids', 'cpu,cpuacct', 'cpu', 'memory', 'name=systemd'];
  for (const key of order) {
    const p = paths.get(key);
    if (p === undefined) continue;
    const c = containerFromCgroupPath(p);
    if (c) return { cgroup: p, container: c };
  }
  for (const p of paths.values()) {
    const c = containerFromCgroupPath(p);
    if (c) return { cgroup: p, container: c };
  }
  return { cgroup: paths.get('') ?? paths.get('pids') ?? '/' };
}
