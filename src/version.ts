import { readFileSync } from 'node:fs';

/** Version of this peregrine build, read from package.json once. */
export const PEREGRINE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The Falco engine version whose rule language the engine implements. */
export const FALCO_ENGINE_VERSION = '0.63.0';
