import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleFile } from '../engine/api.js';

export class RulesFileError extends Error {}

/**
 * Expand falco.yaml `rules_files`: a file stands for itself, a directory for its
 * `*.yaml`/`*.yml` files sorted by name (not recursive), in the configured order.
 */
export function resolveRulesPaths(entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(e);
    } catch (err) {
      throw new RulesFileError(`cannot read rules file ${e}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(e)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort();
      for (const f of files) {
        const p = join(e, f);
        if (statSync(p).isFile()) out.push(p);
      }
    } else out.push(e);
  }
  return out;
}

/** Read the rules files of `entries` (see resolveRulesPaths). */
export function readRulesFiles(entries: readonly string[]): RuleFile[] {
  return resolveRulesPaths(entries).map((p) => {
    try {
      return { name: p, content: readFileSync(p, 'utf8') };
    } catch (err) {
      throw new RulesFileError(`cannot read rules file ${p}: ${(err as Error).message}`);
    }
  });
}
