/**
 * Live: a real podman container (runc, busybox rootfs image, API socket from
 * `podman system service`). Events from inside the containers carry the right
 * container id, name, image and, for a container labelled as a pod member, the
 * pod name and namespace; users come from the container's own /etc/passwd.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldValue } from '../../../src/engine/api.js';
import type { SyscallEvent } from '../../../src/sources/syscall/event.js';
import { SyscallSource } from '../../../src/sources/syscall/source.js';
import { type PodmanEnv, podmanUnavailableReason, startPodman } from '../../harness/containers.js';
import { liveOrSkip } from '../../harness/live.js';
import { waitFor } from '../../harness/servers.js';

function containersOrSkip(): boolean {
  if (!liveOrSkip('syscall container e2e')) return false;
  const why = podmanUnavailableReason();
  if (!why) return true;
  if (process.env.CI === 'true') throw new Error(`syscall container e2e: cannot run under CI: ${why}`);
  process.stderr.write(`[live] syscall container e2e skipped: ${why}\n`);
  return false;
}

describe.runIf(containersOrSkip())('syscall source with real podman containers', () => {
  let env: PodmanEnv;
  let src: SyscallSource;
  const events: SyscallEvent[] = [];
  let web: { id: string; pid: number };
  let pod: { id: string; pid: number };
  const podUid = randomUUID();
  const get = (ev: SyscallEvent, name: string, arg?: string): FieldValue =>
    src.extractor.bind(name, arg)!(ev);

  beforeAll(async () => {
    env = await startPodman();
    web = env.run('web1', { labels: { app: 'demo' } });
    pod = env.run(`k8s_app_web-2_prod_${podUid}_0`, {
      cgroupParent: `/kubepods/besteffort/pod${podUid}`,
      labels: {
        'io.kubernetes.pod.name': 'web-2',
        'io.kubernetes.pod.namespace': 'prod',
        'io.kubernetes.pod.uid': podUid,
        'io.kubernetes.container.name': 'app',
        tier: 'frontend',
      },
    });
    src = new SyscallSource({
      eventTypes: ['execve', 'openat', 'open', 'setuid'],
      containerSocket: env.socket,
    });
    await src.start((ev) => events.push(ev));
  }, 60_000);

  afterAll(async () => {
    await src?.stop();
    await env?.stop();
  }, 60_000);

  it('the snapshot attributes already-running container processes', () => {
    const p = src.table.get(web.pid);
    expect(p?.containerId).toBe(web.id);
    expect(p?.containerType).toBe('podman');
  });

  it('exec inside a container: container id/name/image and the container user', async () => {
    env.exec('web1', ['cat', '/etc/passwd']);
    await waitFor(
      async () =>
        events.some(
          (e) => e.type === 'execve' && get(e, 'proc.name') === 'cat' && get(e, 'container.id') !== 'host',
        ),
      15_000,
    );
    const ex = events.find(
      (e) => e.type === 'execve' && get(e, 'proc.name') === 'cat' && get(e, 'container.full_id') === web.id,
    )!;
    expect(get(ex, 'container.id')).toBe(web.id.slice(0, 12));
    expect(get(ex, 'container.name')).toBe('web1');
    expect(get(ex, 'container.image')).toBe('localhost/local/test:1');
    expect(get(ex, 'container.image.repository')).toBe('localhost/local/test');
    expect(get(ex, 'container.image.tag')).toBe('1');
    expect(get(ex, 'container.type')).toBe('podman');
    expect(get(ex, 'container.label', 'app')).toBe('demo');
    expect(get(ex, 'container.privileged')).toBe(false);
    expect(get(ex, 'k8s.pod.name')).toBeUndefined();
    expect(get(ex, 'proc.cmdline')).toBe('cat /etc/passwd');
    expect(get(ex, 'user.name')).toBe('root');
    expect(get(ex, 'proc.is_exe_lower_layer')).toBe(true); // busybox from the image
    expect(get(ex, 'proc.is_exe_upper_layer')).toBe(false);
    const open = events.find(
      (e) =>
        e.type === 'openat' && get(e, 'fd.name') === '/etc/passwd' && get(e, 'container.full_id') === web.id,
    );
    expect(open, 'the open of /etc/passwd inside the container').toBeDefined();
  });

  it('pod-labelled container: k8s.pod.name, k8s.ns.name, pod labels', async () => {
    const name = `k8s_app_web-2_prod_${podUid}_0`;
    env.exec(name, ['sh', '-c', 'echo hi > /tmp/x']);
    await waitFor(
      async () => events.some((e) => get(e, 'container.full_id') === pod.id && e.type === 'execve'),
      15_000,
    );
    const ex = events.find((e) => get(e, 'container.full_id') === pod.id && e.type === 'execve')!;
    expect(get(ex, 'k8s.pod.name')).toBe('web-2');
    expect(get(ex, 'k8s.ns.name')).toBe('prod');
    expect(get(ex, 'k8s.pod.uid')).toBe(podUid);
    expect(get(ex, 'k8s.pod.label', 'tier')).toBe('frontend');
    expect(get(ex, 'container.name')).toBe(name);
    expect(get(ex, 'container.id')).toBe(pod.id.slice(0, 12));
  });

  it('a binary written in the container runs from the overlayfs upper layer', async () => {
    env.exec('web1', ['sh', '-c', 'cp /bin/busybox /tmp/true && /tmp/true']);
    const isDropped = (e: SyscallEvent) => e.type === 'execve' && get(e, 'proc.exepath') === '/tmp/true';
    await waitFor(async () => events.some(isDropped), 15_000);
    const ex = events.find(isDropped)!;
    expect(get(ex, 'proc.is_exe_upper_layer')).toBe(true);
    expect(get(ex, 'container.name')).toBe('web1');
  });

  it('a user from the container passwd that the host does not have', async () => {
    env.podman(['exec', '--user', '33', 'web1', 'cat', '/etc/group']);
    await waitFor(
      async () =>
        events.some(
          (e) =>
            e.type === 'execve' && get(e, 'proc.cmdline') === 'cat /etc/group' && get(e, 'user.uid') === 33,
        ),
      15_000,
    );
    const ex = events.find(
      (e) => e.type === 'execve' && get(e, 'proc.cmdline') === 'cat /etc/group' && get(e, 'user.uid') === 33,
    )!;
    expect(get(ex, 'user.name')).toBe('www');
    expect(get(ex, 'user.homedir')).toBe('/var/www');
    const m = src.metrics();
    expect(m.containers).toBeGreaterThanOrEqual(2);
    expect(m.decodeErrors).toBe(0);
  });
});
