#!/usr/bin/env node
// Entry point of the `peregrine` command: runs the compiled CLI from dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('peregrine: not built yet (dist/ is missing); run ./scripts/setup.sh or npm run build\n');
  process.exit(2);
}
const { run } = await import(main);
await run(process.argv);
