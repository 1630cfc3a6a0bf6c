/**
 * Every sink, in one explicit list. Each sink's folder has `index.ts` (its config keys and defaults, when
 * it is enabled) and `sink.ts` (encoder, sender, healthcheck), loaded lazily so unused client libraries are
 * never imported.
 */
import type { SinkDefinition } from '../delivery/sink.js';
import { fileSink } from './file/index.js';
import { stdoutSink } from './stdout/index.js';
import { webhookSink } from './webhook/index.js';

export const SINKS: SinkDefinition[] = [stdoutSink, fileSink, webhookSink];
