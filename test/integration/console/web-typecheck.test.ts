import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The web UI has its own tsconfig (DOM, JSX, bundler resolution) that the root
// typecheck excludes; check it here so `npm test` catches type errors in it.
describe('console web UI sources', () => {
  it('type-check with src/console/web/tsconfig.json', () => {
    const tsc = new URL('../../../node_modules/typescript/bin/tsc', import.meta.url).pathname;
    let out = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'src/console/web/tsconfig.json', '--noEmit'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      out = String((e as { stdout: string }).stdout);
    }
    expect(out).toBe('');
  }, 120_000);
});
