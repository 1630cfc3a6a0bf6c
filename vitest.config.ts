import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One runner for every layer. Integration and e2e tests start real servers and
// processes, so they get longer timeouts; files run in separate forks so a
// server harness in one file never shares state with another.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/harness/summary-reporter.ts'],
    // worker threads started from the TypeScript sources (the relay's delivery thread) load .ts through this
    env: { PEREGRINE_TS_LOADER: fileURLToPath(new URL('./test/harness/ts-register.mjs', import.meta.url)) },
  },
});
