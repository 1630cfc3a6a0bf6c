/**
 * ka.req.pod.* on the PSP-era pod samples of ../shared/refdata/k8saudit/events-psp:
 * the expected values follow from each file's name (e.g. run_as_user_1000_sec_ctx_30_container:
 * pod runAsUser 1000, container runAsUser 30 → effective 30).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AuditEvent, type JsonObject, toAuditEvent } from '../../../src/sources/k8saudit/event.js';
import { k8sAuditExtractor } from '../../../src/sources/k8saudit/extractor.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';

const have = refdataAvailable();
const ex = k8sAuditExtractor();
const f = (ev: AuditEvent, name: string, arg?: string) => ex.bind(name, arg)!(ev);
const dir = join(REFDATA, 'k8saudit', 'events-psp');
const load = (name: string) => toAuditEvent(JSON.parse(readFileSync(join(dir, name), 'utf8')) as JsonObject);

describe.runIf(have)('ka.req.pod.* on the PSP samples', () => {
  it('effective uid/gid: container value, else the pod security context, else 0', () => {
    const files = readdirSync(dir).filter((n) => /^run_as_(user|group)_/.test(n));
    expect(files.length).toBe(16);
    for (const file of files) {
      const m = /^run_as_(user|group)_(\d+)_(container|sec_ctx)(?:_(\d+)_container)?\.json$/.exec(file)!;
      const [, kind, first, where, second] = m;
      const pod = where === 'sec_ctx' ? first : undefined;
      const container = where === 'container' ? first : second;
      const ev = load(file);
      const field = kind === 'user' ? 'run_as_user' : 'run_as_group';
      expect(f(ev, `ka.req.pod.${field}`), file).toBe(pod);
      expect(f(ev, `ka.req.pod.containers.${field}`), file).toEqual(
        container === undefined ? [] : [container],
      );
      expect(f(ev, `ka.req.pod.containers.eff_${field}`), file).toEqual([container ?? pod ?? '0']);
    }
  });

  it('host namespaces, security context flags, capabilities, volumes and groups', () => {
    expect(f(load('host_ipc.json'), 'ka.req.pod.host_ipc')).toBe('true');
    expect(f(load('host_pid.json'), 'ka.req.pod.host_pid')).toBe('true');
    expect(f(load('host_network.json'), 'ka.req.pod.host_network')).toBe('true');
    expect(f(load('host_network.json'), 'ka.req.container.host_network')).toBe('true');
    const vanilla = load('create_vanilla_nginx_deployment.json');
    for (const field of ['host_ipc', 'host_pid', 'host_network', 'fs_group', 'run_as_user'])
      expect(f(vanilla, `ka.req.pod.${field}`), field).toBeUndefined();
    expect(f(vanilla, 'ka.req.pod.containers.privileged')).toEqual([]);
    expect(f(vanilla, 'ka.req.container.privileged')).toBe('false');
    expect(f(load('privileged.json'), 'ka.req.pod.containers.privileged')).toEqual(['true']);
    expect(f(load('privileged.json'), 'ka.req.container.privileged')).toBe('true');
    expect(f(load('privilege_escalation.json'), 'ka.req.pod.containers.allow_privilege_escalation')).toEqual([
      'true',
    ]);
    expect(f(load('read_only_root_fs.json'), 'ka.req.pod.containers.read_only_fs')).toEqual(['true']);
    expect(f(load('proc_mount_type_unmasked.json'), 'ka.req.pod.containers.proc_mount')).toEqual([
      'Unmasked',
    ]);
    expect(f(load('proc_mount_type_default.json'), 'ka.req.pod.containers.proc_mount', '0')).toEqual([
      'Default',
    ]);
    expect(f(load('capability_add_sys_nice.json'), 'ka.req.pod.containers.add_capabilities')).toEqual([
      'SYS_NICE',
    ]);
    expect(f(load('flex_volumes.json'), 'ka.req.pod.volumes.flexvolume_driver')).toEqual(['dummy/dummy']);
    expect(f(load('flex_volumes.json'), 'ka.req.pod.volumes.volume_type')).toEqual(['flexVolume']);
    expect(f(load('mount_etc_using_host_path.json'), 'ka.req.pod.volumes.hostpath')).toEqual(['/etc']);
    expect(f(load('mount_etc_using_host_path.json'), 'ka.req.volume.hostpath', '/etc')).toBe('true');
    expect(f(load('fs_group.json'), 'ka.req.pod.fs_group')).toBe('2000');
    expect(f(load('supplemental_groups_10_20.json'), 'ka.req.pod.supplemental_groups')).toEqual(['10', '20']);
    expect(f(load('host_network_ports.json'), 'ka.req.pod.containers.host_port', '0')).toEqual(['1234']);
  });
});
