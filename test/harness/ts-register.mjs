// `node --import ./test/harness/ts-register.mjs`: lets a worker thread started from the TypeScript sources
// (under Vitest) import .ts files — the relay's delivery thread (PEREGRINE_TS_LOADER, set in vitest.config.ts).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
