/**
 * Builds the alert channels enabled in the agent config, and renders alerts as
 * the lines channels write (Falco JSON or the text line).
 */

import { existsSync } from 'node:fs';
import type { AgentConfig } from '../agent/config.js';
import { ALERT_KEYS, alertToJson, type FalcoAlert } from '../alert/falco-alert.js';
import type { Logger } from '../common/log.js';
import { fileChannel } from './file.js';
import { httpChannel } from './http.js';
import { programChannel } from './program.js';
import { stdoutChannel } from './stdout.js';
import { syslogChannel } from './syslog.js';
import type { Channel } from './types.js';

export { OutputQueue, type QueueHooks } from './queue.js';
export type { Channel, OutputItem } from './types.js';

/**
 * The line for an alert: with json_output the alert JSON (keys sorted, `output`,
 * `tags` and `message` per the json_include_* options), else the text line.
 * `alert.output` must be present (the text line is always built).
 */
export function renderAlert(
  alert: FalcoAlert,
  cfg: Pick<
    AgentConfig,
    | 'json_output'
    | 'json_include_output_property'
    | 'json_include_tags_property'
    | 'json_include_message_property'
    | 'json_include_output_fields_property'
  >,
): string {
  if (!cfg.json_output) return alert.output ?? alert.message ?? '';
  const src = alert as unknown as Record<string, unknown>;
  for (const k in src) {
    if (!ALERT_KEYS.has(k)) {
      // a key this fast path does not know: take the generic (sorting) serializer
      const a: FalcoAlert = { ...alert };
      if (!cfg.json_include_output_property) delete a.output;
      if (!cfg.json_include_tags_property) delete a.tags;
      if (!cfg.json_include_message_property) delete a.message;
      if (!cfg.json_include_output_fields_property) (a as Partial<FalcoAlert>).output_fields = undefined;
      return alertToJson(a);
    }
  }
  // keys in alphabetical order, as alertToJson (and Falco) write them
  let out = '{';
  const put = (k: string, v: unknown) => {
    if (v === undefined) return;
    out += `${out.length > 1 ? ',' : ''}"${k}":${JSON.stringify(v)}`;
  };
  put('cluster', alert.cluster);
  put('count', alert.count);
  put('hostname', alert.hostname);
  if (cfg.json_include_message_property) put('message', alert.message);
  if (cfg.json_include_output_property) put('output', alert.output);
  if (cfg.json_include_output_fields_property) put('output_fields', alert.output_fields);
  put('priority', alert.priority);
  put('rule', alert.rule);
  put('source', alert.source);
  if (cfg.json_include_tags_property) put('tags', alert.tags);
  put('time', alert.time);
  put('uuid', alert.uuid);
  return `${out}}`;
}

export function createChannels(cfg: AgentConfig, log: Logger): Channel[] {
  const out: Channel[] = [];
  if (cfg.stdout_output.enabled) out.push(stdoutChannel());
  if (cfg.file_output.enabled) out.push(fileChannel(cfg.file_output));
  if (cfg.program_output.enabled) out.push(programChannel(cfg.program_output));
  if (cfg.http_output.enabled)
    out.push(
      httpChannel(cfg.http_output, {
        json: cfg.json_output,
        onRetry: (n, e) => log.debug('http output retry', { attempt: n, error: e.message }),
        echo: (body) => process.stdout.write(body.endsWith('\n') ? body : `${body}\n`),
      }),
    );
  if (cfg.syslog_output.enabled) {
    if (!cfg.syslog_output.server && !existsSync(cfg.syslog_output.socket))
      log.warn('syslog_output is enabled but the syslog socket does not exist: syslog alerts will fail', {
        socket: cfg.syslog_output.socket,
        hint: 'set syslog_output.enabled=false or syslog_output.server=host:port',
      });
    out.push(syslogChannel(cfg.syslog_output));
  }
  return out;
}
