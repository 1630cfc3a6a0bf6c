/**
 * The one sender behind every Slack-style incoming webhook (Slack, Mattermost,
 * Rocket.Chat): Falcosidekick's attachment payload, one POST per alert.
 */
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { ConfigTree } from '../config/load.js';
import { compileTemplate } from '../config/template.js';
import { type SlackStyle, slackPayload } from './chat.js';
import { httpSink } from './http.js';
import type { SinkContext, SinkInstance } from './sink.js';

export function slackStyle(section: ConfigTree): SlackStyle {
  const mf = String(section.messageformat);
  return {
    username: String(section.username),
    icon: String(section.icon),
    ...(section.channel !== undefined ? { channel: String(section.channel) } : {}),
    footer: String(section.footer),
    outputformat: String(section.outputformat),
    messageformat: mf ? compileTemplate(mf) : undefined,
  };
}

export const encodeSlack = (a: FalcoAlert, s: SlackStyle): string => JSON.stringify(slackPayload(a, s));

/** `create` of a Slack-compatible sink named `name` (its section: webhookurl, username, icon, …). */
export function slackWebhookSink(name: string): (section: ConfigTree, ctx: SinkContext) => SinkInstance[] {
  return (section, ctx) => {
    const url = String(section.webhookurl);
    const s = slackStyle(section);
    return [
      httpSink({
        name,
        section,
        tls: ctx.tls(section),
        healthUrl: url,
        send: (http, batch, signal) => http.post(url, encodeSlack(batch[0]!, s), signal),
      }),
    ];
  };
}
