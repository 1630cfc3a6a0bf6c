import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A new directory under the system temp dir (`<prefix>-XXXXXX`), removed when the calling test finishes. */
export function testDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `${prefix}-`));
  onTestFinished(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
