import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { compileTemplate } from '../../config/template.js';
import { type SlackStyle, slackPayload } from '../../delivery/chat.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

export function style(section: ConfigTree): SlackStyle {
  const mf = String(section.messageformat);
  return {
    username: String(section.username),
    icon: String(section.icon),
    footer: String(section.footer),
    outputformat: String(section.outputformat),
    messageformat: mf ? compileTemplate(mf) : undefined,
  };
}

export const encode = (a: FalcoAlert, s: SlackStyle): string => JSON.stringify(slackPayload(a, s));

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.webhookurl);
  const s = style(section);
  return [
    httpSink({
      name: 'rocketchat',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, encode(batch[0]!, s), signal),
    }),
  ];
}
