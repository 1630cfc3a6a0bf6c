/**
 * `peregrine generate [ACTION|all]`: prepares the sandbox (a container when a
 * runtime works, else fresh namespaces), runs the chosen actions in order, and
 * reports one line (or one JSON object) per action with the rule it should trigger.
 */
import { ACTIONS, type Action, findAction } from './actions.js';
import { containerUnavailableReason, type Sandbox, startContainer, startNamespaces } from './sandbox.js';

export interface GenerateReport {
  action: string;
  rule: string;
  where: 'container' | 'host';
  proc?: string;
  parent?: string;
  /** Alerts the action should raise. */
  alerts: number;
  did?: string;
  skipped?: string;
  error?: string;
  container?: { id: string; name: string; image: string; podName?: string; podNamespace?: string };
}

export interface GenerateOptions {
  /** 'auto' (container when possible), 'container' (fail without one), 'namespaces'. */
  sandbox?: 'auto' | 'container' | 'namespaces';
  onReport?: (r: GenerateReport) => void;
  onInfo?: (line: string) => void;
}

export function selectActions(names: readonly string[]): Action[] {
  if (names.length === 0 || names.includes('all')) return [...ACTIONS];
  return names.map((n) => {
    const a = findAction(n);
    if (!a) throw new Error(`unknown action '${n}' (peregrine generate --list shows them)`);
    return a;
  });
}

function openSandbox(mode: 'auto' | 'container' | 'namespaces', info: (l: string) => void): Sandbox {
  if (mode !== 'namespaces') {
    const why = containerUnavailableReason();
    if (!why) {
      try {
        return startContainer();
      } catch (e) {
        if (mode === 'container') throw e;
        info(`container runtime failed (${(e as Error).message.split('\n')[0]}); using fresh namespaces`);
      }
    } else if (mode === 'container') {
      throw new Error(`no container runtime: ${why}`);
    } else {
      info(`no container runtime (${why}); using fresh namespaces`);
    }
  }
  return startNamespaces();
}

/** Runs the actions; returns the reports (also passed to onReport as they finish). */
export async function runGenerate(
  actions: readonly Action[],
  opts: GenerateOptions = {},
): Promise<GenerateReport[]> {
  const info = opts.onInfo ?? (() => {});
  const needsSandbox = actions.some((a) => a.where === 'container' || a.name === 'host_changes_container');
  const sandbox = needsSandbox ? openSandbox(opts.sandbox ?? 'auto', info) : startNamespaces();
  const reports: GenerateReport[] = [];
  try {
    if (sandbox.kind === 'container')
      info(
        `container ${sandbox.name} id=${sandbox.id.slice(0, 12)} image=${sandbox.image} pod=${sandbox.podNamespace}/${sandbox.podName}`,
      );
    for (const a of actions) {
      const r: GenerateReport = { action: a.name, rule: a.rule, where: a.where, alerts: a.alerts ?? 1 };
      if (a.proc) r.proc = a.proc;
      if (a.parent) r.parent = a.parent;
      if (a.where === 'container' && sandbox.kind === 'container')
        r.container = {
          id: sandbox.id,
          name: sandbox.name,
          image: sandbox.image,
          podName: sandbox.podName,
          podNamespace: sandbox.podNamespace,
        };
      try {
        const out = await a.run({ sandbox });
        if (out.skipped) r.skipped = out.skipped;
        else r.did = out.did;
      } catch (e) {
        r.error = (e as Error).message;
      }
      reports.push(r);
      opts.onReport?.(r);
    }
  } finally {
    sandbox.stop();
  }
  return reports;
}
