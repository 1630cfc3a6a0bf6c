import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { fieldText, stringFieldKeys } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

const COLORS: Record<string, string> = {
  Emergency: 'e20b0b',
  Alert: 'ff5400',
  Critical: 'ff9000',
  Error: 'ffc700',
  Warning: 'ffff00',
  Notice: '5bffb5',
  Informational: '68c2ff',
  Debug: 'ccfff2',
};

/** Office 365 connector MessageCard: summary, themeColor, one section with text and facts. */
export function encode(a: FalcoAlert, outputformat: string, activityimage: string): Record<string, unknown> {
  const section: Record<string, unknown> = { activityTitle: 'Falcosidekick', activitySubtitle: a.time };
  if (activityimage) section.activityImage = activityimage;
  if (outputformat === 'all' || outputformat === 'text') section.text = a.output ?? '';
  if (outputformat === 'all' || outputformat === 'facts') {
    const facts = [
      { name: 'rule', value: a.rule },
      { name: 'priority', value: a.priority },
      { name: 'source', value: a.source },
    ];
    if (a.hostname) facts.push({ name: 'hostname', value: a.hostname });
    for (const k of stringFieldKeys(a)) facts.push({ name: k, value: fieldText(a.output_fields[k]) });
    if (a.tags?.length) facts.push({ name: 'tags', value: a.tags.join(', ') });
    if (a.count && a.count > 1) facts.push({ name: 'count', value: String(a.count) });
    section.facts = facts;
  }
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: a.output ?? a.rule,
    themeColor: COLORS[a.priority] ?? 'ccfff2',
    sections: [section],
  };
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.webhookurl);
  const of = String(section.outputformat);
  const img = String(section.activityimage);
  return [
    httpSink({
      name: 'teams',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, JSON.stringify(encode(batch[0]!, of, img)), signal),
    }),
  ];
}
