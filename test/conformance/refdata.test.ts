import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFDATA, refdataAvailable } from '../harness/refdata.js';

const have = refdataAvailable();

describe.skipIf(!have)('reference data', () => {
  it(`has the folders conformance tests read (${REFDATA})`, () => {
    for (const d of ['rules', 'k8saudit', 'engine-tests', 'sidekick', 'scap']) {
      expect(existsSync(join(REFDATA, d)), d).toBe(true);
    }
  });
});
