import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/agent/config.js';

const read = (p: string) =>
  parse(readFileSync(new URL(`../../../deploy/k8s-audit/${p}`, import.meta.url), 'utf8'));

describe('deploy/k8s-audit examples', () => {
  it('the audit policy skips RequestReceived, keeps ResponseStarted and logs the resources the rules read', () => {
    const p = read('audit-policy.yaml');
    expect(p).toMatchObject({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
    });
    const text = JSON.stringify(p.rules);
    for (const r of [
      'pods/exec',
      'pods/portforward',
      'clusterrolebindings',
      'secrets',
      'namespaces',
      'serviceaccounts/token',
    ])
      expect(text).toContain(r);
    expect(p.rules.at(-1)).toEqual({ level: 'Metadata' });
  });
  it('the webhook kubeconfig points at the default port and endpoint', () => {
    const k = read('webhook-kubeconfig.yaml');
    const url = new URL(k.clusters[0].cluster.server);
    const cfg = loadConfig({ env: {} });
    expect(Number(url.port)).toBe(cfg.k8s_audit.listen_port);
    expect(url.pathname).toBe(cfg.k8s_audit.endpoint);
    expect(k['current-context']).toBe('default');
  });
});
