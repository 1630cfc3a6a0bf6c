import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Location of the upstream reference data (`../shared/refdata` beside the repo).
 * Conformance tests call `refdataOrSkip()`: in a user's clone the folder is
 * absent and the tests skip with a printed reason; under CI=true its absence fails.
 */
export const REFDATA = resolve(
  process.env.PEREGRINE_REFDATA ?? new URL('../../../shared/refdata', import.meta.url).pathname,
);

export function refdataAvailable(): boolean {
  if (existsSync(REFDATA)) return true;
  if (process.env.CI === 'true') {
    throw new Error(`reference data not found at ${REFDATA}; CI must have ../shared/refdata`);
  }
  process.stderr.write(`[conformance] skipped: reference data not found at ${REFDATA}\n`);
  return false;
}
