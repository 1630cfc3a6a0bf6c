/**
 * The Slack attachment message shape, shared by the Slack, Rocket.Chat and Mattermost sinks (all three
 * accept Slack-compatible incoming webhooks).
 */
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { CompiledTemplate } from '../config/template.js';
import { fieldText, goTimeString, SLACK_COLORS, stringFieldKeys, templateData } from './format.js';

export interface SlackStyle {
  username: string;
  icon: string;
  channel?: string;
  footer?: string;
  /** all | text | fields */
  outputformat: string;
  messageformat?: CompiledTemplate;
}

export interface SlackField {
  title: string;
  value: string;
  short: boolean;
}

export function slackFields(a: FalcoAlert): SlackField[] {
  const fields: SlackField[] = [
    { title: 'rule', value: a.rule, short: true },
    { title: 'priority', value: a.priority, short: true },
    { title: 'source', value: a.source, short: true },
  ];
  if (a.hostname) fields.push({ title: 'hostname', value: a.hostname, short: true });
  if (a.tags?.length) fields.push({ title: 'tags', value: [...a.tags].sort().join(', '), short: true });
  if (a.count && a.count > 1) fields.push({ title: 'count', value: String(a.count), short: true });
  for (const k of stringFieldKeys(a)) {
    const v = fieldText(a.output_fields[k]);
    fields.push({ title: k, value: v, short: [...v].length < 36 });
  }
  fields.push({ title: 'time', value: goTimeString(a.time), short: false });
  return fields;
}

export function slackPayload(a: FalcoAlert, s: SlackStyle): Record<string, unknown> {
  const withFields = s.outputformat === 'all' || s.outputformat === 'fields' || s.outputformat === 'field';
  const withText = s.outputformat === 'all' || s.outputformat === 'text';
  const att: Record<string, unknown> = {
    fallback: a.output ?? '',
    color: SLACK_COLORS[a.priority] ?? '#ccfff2',
  };
  if (withText) att.text = a.output ?? '';
  if (withFields) {
    att.fields = slackFields(a);
    if (s.footer) att.footer = s.footer;
  }
  const p: Record<string, unknown> = {};
  const text = s.messageformat?.render(templateData(a));
  if (text) p.text = text;
  p.username = s.username;
  if (s.icon) p.icon_url = s.icon;
  if (s.channel) p.channel = s.channel;
  p.attachments = [att];
  return p;
}
