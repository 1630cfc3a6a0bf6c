import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleFile } from '../../../src/engine/index.js';

/** Read rule files (a directory contributes its *.yaml / *.yml files, sorted, non-recursive). */
export function readRuleFiles(base: string, names: string[]): RuleFile[] {
  const out: RuleFile[] = [];
  for (const n of names) {
    const p = join(base, n);
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        if (/\.ya?ml$/.test(f)) out.push({ name: join(n, f), content: readFileSync(join(p, f), 'utf8') });
      }
    } else out.push({ name: n, content: readFileSync(p, 'utf8') });
  }
  return out;
}
