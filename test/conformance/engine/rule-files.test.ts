import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createValidator } from '../../../src/engine/index.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';
import { readRuleFiles } from './helpers.js';

const RULES = join(REFDATA, 'rules');

/** Every upstream rule file, with the file it builds on when it is not standalone. */
const CASES: { file: string; base?: string }[] = [
  { file: 'falco_rules.yaml' },
  { file: 'falco-incubating_rules.yaml', base: 'falco_rules.yaml' },
  { file: 'falco-sandbox_rules.yaml', base: 'falco_rules.yaml' },
  { file: 'falco-deprecated_rules.yaml', base: 'falco_rules.yaml' },
  { file: 'archive_application_rules.yaml' },
  { file: 'k8s_audit_rules.yaml' },
  { file: 'k8s_audit_rules_gke.yaml', base: 'k8s_audit_rules.yaml' },
  { file: 'legacy-falco-2022-05/falco_rules.yaml' },
  { file: 'legacy-falco-2022-05/k8s_audit_rules.yaml' },
  { file: 'legacy-falco-2022-12/falco_rules.yaml' },
  { file: 'legacy-falco-2022-12/application_rules.yaml', base: 'legacy-falco-2022-12/falco_rules.yaml' },
  { file: 'legacy-falco-2022-12/falco_rules.local.yaml', base: 'legacy-falco-2022-12/falco_rules.yaml' },
  { file: 'pinned-legacy-tests/falco-rules-1.0.1_falco_rules.yaml' },
  { file: 'pinned-legacy-tests/k8saudit-0.6.0_k8s_audit_rules.yaml' },
];

describe.skipIf(!refdataAvailable())('upstream rule files validate', () => {
  for (const c of CASES) {
    it(`${c.file}${c.base ? ` (after ${c.base})` : ''}`, () => {
      const v = createValidator();
      const res = v.load(readRuleFiles(RULES, c.base ? [c.base, c.file] : [c.file]));
      const errors = res.files.flatMap((f) => f.errors.map((e) => `${f.name}: ${e.code} ${e.message}`));
      expect(errors).toEqual([]);
      expect(res.successful).toBe(true);
      expect(v.rules().length).toBeGreaterThanOrEqual(0);
    });
  }

  it('the stable rules load without any warning (Falco: builtin_rules_no_warnings)', () => {
    const v = createValidator();
    const res = v.load(readRuleFiles(RULES, ['falco_rules.yaml']));
    expect(res.files[0]!.warnings.map((w) => `${w.code} ${w.message}`)).toEqual([]);
    expect(v.rules().length).toBeGreaterThan(20);
  });
});
