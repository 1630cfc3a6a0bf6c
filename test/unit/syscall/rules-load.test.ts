/**
 * The upstream rule files compile against the live extractor: every field they
 * use is bound (an unbound field would make the engine report it unknown), and
 * the kernel selection derived from their event types is what the collector traces.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../../src/engine/index.js';
import { SyscallExtractor } from '../../../src/sources/syscall/extractor.js';
import { kernelSelection, STATE_SYSCALLS } from '../../../src/sources/syscall/source.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';
import { NR } from './frames.js';

describe.runIf(refdataAvailable())('upstream rules against the syscall extractor', () => {
  for (const file of ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml']) {
    it(`${file} loads with every field bound`, () => {
      const engine = createEngine({ extractors: [new SyscallExtractor()], hostname: 'test' });
      const res = engine.load([{ name: file, content: readFileSync(join(REFDATA, 'rules', file), 'utf8') }]);
      expect(res.successful, res.toText()).toBe(true);
      const types = engine.eventTypes('syscall');
      expect(types.size).toBeGreaterThan(5);
      const sel = kernelSelection(types, new Set(Object.keys(NR)));
      for (const s of STATE_SYSCALLS) expect(sel.syscalls).toContain(s);
      expect(sel.syscalls).toContain('openat');
    });
  }
});
