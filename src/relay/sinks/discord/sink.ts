import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { fieldText, SLACK_COLORS, stringFieldKeys } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** Discord execute-webhook body: embeds with description ≤ 4096, ≤ 25 fields, field values ≤ 1024. */
export function encode(a: FalcoAlert, icon: string): Record<string, unknown> {
  const fields = [
    { name: 'rule', value: a.rule, inline: true },
    { name: 'priority', value: a.priority, inline: true },
    { name: 'source', value: a.source, inline: true },
  ];
  if (a.hostname) fields.push({ name: 'hostname', value: a.hostname, inline: true });
  for (const k of stringFieldKeys(a))
    fields.push({ name: k, value: `\`\`\`${fieldText(a.output_fields[k])}\`\`\``, inline: true });
  if (a.tags?.length) fields.push({ name: 'tags', value: a.tags.join(', '), inline: true });
  fields.push({ name: 'time', value: a.time, inline: true });
  const body: Record<string, unknown> = {
    content: '',
    embeds: [
      {
        title: '',
        description: cut(a.output ?? '', 4096),
        color: Number.parseInt((SLACK_COLORS[a.priority] ?? '#ccfff2').slice(1), 16),
        fields: fields
          .slice(0, 25)
          .map((f) => ({ ...f, name: cut(f.name, 256), value: cut(f.value || '-', 1024) })),
      },
    ],
  };
  if (icon) body.avatar_url = icon;
  return body;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.webhookurl);
  const icon = String(section.icon);
  return [
    httpSink({
      name: 'discord',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, JSON.stringify(encode(batch[0]!, icon)), signal),
    }),
  ];
}
