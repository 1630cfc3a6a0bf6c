import { describe, expect, it } from 'vitest';
import { containerFromCgroupPath, containerFromProcCgroup } from '../../../src/state/cgroup.js';

const ID = '2e32f68e0705162f695057fc5dfac28f9a22b84e9dab10c24849fbf04ac67564';
const POD = 'a'.repeat(64);

describe('containerFromCgroupPath', () => {
  it.each([
    [`/docker/${ID}`, 'docker'],
    [`/system.slice/docker-${ID}.scope`, 'docker'],
    [`/kubepods/besteffort/pod1234-5678/${ID}`, 'cri'],
    [
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-${ID}.scope`,
      'containerd',
    ],
    [`/kubepods.slice/kubepods-burstable.slice/crio-${ID}.scope`, 'cri-o'],
    [`/libpod_parent/libpod-${ID}`, 'podman'],
    [`/libpod_parent/${POD}/libpod-${ID}`, 'podman'],
    [`/machine.slice/libpod-${ID}.scope`, 'podman'],
    [`/kubepods/besteffort/pod${'b'.repeat(8)}/libpod-${ID}`, 'podman'],
  ])('%s → %s', (path, runtime) => {
    expect(containerFromCgroupPath(path)).toEqual({ id: ID, runtime });
  });

  it.each([
    ['/'],
    [''],
    ['/process_api/9caa2844a3315a5154aace5f6ef9655d'], // 32-hex sandbox leaf, not a container
    [`/libpod_parent/${POD}/conmon`], // pod conmon: must not report the pod id
    [`/machine.slice/libpod-conmon-${ID}.scope`],
    ['/user.slice/user-1000.slice/session-2.scope'],
    [`/docker/${ID.slice(0, 63)}`],
    [`/docker/${ID.toUpperCase()}`],
  ])('%s → not a container', (path) => {
    expect(containerFromCgroupPath(path)).toBeUndefined();
  });
});

describe('containerFromProcCgroup', () => {
  it('prefers the unified line, ignores the 32-hex memory leaf', () => {
    const text = [
      '9:name=systemd:/',
      '8:pids:/',
      '4:memory:/process_api/9caa2844a3315a5154aace5f6ef9655d',
      '0::/',
      '',
    ].join('\n');
    expect(containerFromProcCgroup(text)).toEqual({ cgroup: '/' });
  });
  it('finds a podman container on a hybrid host', () => {
    const p = `/libpod_parent/libpod-${ID}`;
    const text = `9:name=systemd:${p}\n8:pids:${p}\n4:memory:${p}\n0::${p}\n`;
    expect(containerFromProcCgroup(text)).toEqual({ cgroup: p, container: { id: ID, runtime: 'podman' } });
  });
  it('falls back to a v1 line when v2 is the root', () => {
    const text = `8:pids:/docker/${ID}\n0::/\n`;
    expect(containerFromProcCgroup(text).container).toEqual({ id: ID, runtime: 'docker' });
  });
});
