import nodemailer from 'nodemailer';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import { ConfigError, type ConfigTree } from '../../config/load.js';
import { fieldText, SLACK_COLORS } from '../../delivery/format.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface Mail {
  subject: string;
  text: string;
  html?: string;
}

/** Subject `[<Priority>] <output>`; text body; HTML table coloured by priority when outputformat = html. */
export function encode(a: FalcoAlert, format: string): Mail {
  const rows: Array<[string, string]> = [
    ['Rule', a.rule],
    ['Priority', a.priority],
    ['Source', a.source],
    ['Hostname', a.hostname ?? ''],
    ['Time', a.time],
    ['Tags', (a.tags ?? []).join(', ')],
  ];
  if (a.count && a.count > 1) rows.push(['Count', String(a.count)]);
  for (const k of Object.keys(a.output_fields).sort()) rows.push([k, fieldText(a.output_fields[k])]);
  rows.push(['UUID', a.uuid ?? '']);
  const text = `${a.output ?? ''}\n\n${rows.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
  const mail: Mail = { subject: `[${a.priority}] ${(a.output ?? a.rule).replace(/[\r\n]+/g, ' ')}`, text };
  if (format === 'html') {
    const color = SLACK_COLORS[a.priority] ?? '#ccfff2';
    mail.html = `<!doctype html><html><body><table style="border-collapse:collapse;font-family:sans-serif">
<tr><td colspan="2" style="background:${color};padding:8px"><b>${esc(a.output ?? '')}</b></td></tr>
${rows.map(([k, v]) => `<tr><td style="padding:4px 8px;border:1px solid #ddd"><b>${esc(k)}</b></td><td style="padding:4px 8px;border:1px solid #ddd">${esc(v)}</td></tr>`).join('\n')}
</table></body></html>`;
  }
  return mail;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const [host, portText] = String(section.hostport).split(':');
  const port = Number(portText ?? 25);
  if (!host || !Number.isInteger(port))
    throw new ConfigError(`smtp.hostport: "${String(section.hostport)}" is not host:port`);
  const mech = String(section.authmechanism).toLowerCase();
  const tls = ctx.tls(section);
  const auth =
    mech === 'none' || mech === 'anonymous' || !section.user
      ? undefined
      : mech === 'oauthbearer'
        ? { type: 'OAuth2' as const, user: String(section.user), accessToken: String(section.token) }
        : { user: String(section.user), pass: String(section.password) };
  const transport = nodemailer.createTransport({
    host,
    port,
    pool: true,
    maxConnections: 1,
    secure: port === 465,
    requireTLS: section.tls === true && port !== 465,
    ignoreTLS: section.tls !== true,
    auth,
    tls: { rejectUnauthorized: tls.rejectUnauthorized, ca: tls.ca, cert: tls.cert, key: tls.key },
  });
  const from = String(section.from);
  const to = (section.to as string[]).join(', ');
  const format = String(section.outputformat);
  return [
    {
      name: 'smtp',
      maxBatch: 1,
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        const a = batch[0]!;
        const m = encode(a, format);
        try {
          await transport.sendMail({
            from,
            to,
            subject: m.subject,
            text: m.text,
            html: m.html,
            messageId: a.uuid ? `<${a.uuid}@peregrine>` : undefined,
            date: new Date(),
          });
          return OK;
        } catch (e) {
          const err = e as Error & { responseCode?: number };
          if (err.responseCode && err.responseCode >= 500 && err.responseCode < 600)
            return { kind: 'permanent', reason: `smtp ${err.responseCode}: ${err.message}` };
          return { kind: 'retry', reason: `smtp: ${err.message}` };
        }
      },
      async healthcheck() {
        await transport.verify();
      },
      async close() {
        transport.close();
      },
    },
  ];
}
