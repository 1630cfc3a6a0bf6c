import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { type CompiledTemplate, compileTemplate } from '../../config/template.js';
import { fieldText, stringFieldKeys, templateData } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

/** Google Chat message: `text` (messageformat, else the output) and, for `all`, a cardsV2 card. */
export function encode(a: FalcoAlert, outputformat: string, mf?: CompiledTemplate): Record<string, unknown> {
  const text = mf ? mf.render(templateData(a)) : (a.output ?? '');
  const body: Record<string, unknown> = { text };
  if (outputformat !== 'text') {
    const kv = (k: string, v: string) => ({ decoratedText: { topLabel: k, text: v } });
    const widgets = [kv('rule', a.rule), kv('priority', a.priority), kv('source', a.source)];
    if (a.hostname) widgets.push(kv('hostname', a.hostname));
    for (const k of stringFieldKeys(a)) widgets.push(kv(k, fieldText(a.output_fields[k])));
    if (a.tags?.length) widgets.push(kv('tags', a.tags.join(', ')));
    widgets.push(kv('time', a.time));
    body.cardsV2 = [
      {
        cardId: a.uuid ?? 'falco-alert',
        card: { header: { title: a.rule, subtitle: a.priority }, sections: [{ widgets }] },
      },
    ];
  }
  return body;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.webhookurl);
  const of = String(section.outputformat);
  const mf = String(section.messageformat) ? compileTemplate(String(section.messageformat)) : undefined;
  return [
    httpSink({
      name: 'googlechat',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, JSON.stringify(encode(batch[0]!, of, mf)), signal),
    }),
  ];
}
