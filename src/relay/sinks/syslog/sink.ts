import dgram from 'node:dgram';
import net from 'node:net';
import { hostname as osHostname } from 'node:os';
import tls from 'node:tls';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import { parsePriority } from '../../../alert/priority.js';
import { ConfigError, type ConfigTree } from '../../config/load.js';
import { fieldText, sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

const sdEsc = (s: string) => s.replace(/["\\\]]/g, (c) => `\\${c}`);
const cefEsc = (s: string) => s.replace(/[\\=]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');

/** CEF severity 0–10 from the Falco priority. */
const CEF_SEV = [10, 9, 8, 7, 6, 4, 3, 1];

export function message(a: FalcoAlert, format: string): string {
  if (format === 'cef') {
    const lvl = parsePriority(a.priority) ?? 7;
    const fields = Object.entries(a.output_fields)
      .map(([k, v]) => `${k}:${fieldText(v)}`)
      .join(' ');
    return `CEF:0|Falcosecurity|Falco|1.0|Falco Event|${a.rule.replace(/[|\\]/g, (c) => `\\${c}`)}|${CEF_SEV[lvl]}|uuid=${a.uuid ?? ''} start=${a.time} msg=${cefEsc(a.output ?? '')} source=${cefEsc(a.source)} hostname=${cefEsc(a.hostname ?? '')} outputfields=${cefEsc(fields)} tags=${(a.tags ?? []).join(',')}`;
  }
  if (format === 'text') return a.output ?? '';
  return sidekickJson(a);
}

/**
 * RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [falco@32473 rule=".." priority=".." uuid=".."] MSG`.
 * PRI = facility·8 + severity (Emergency 0 … Debug 7, as Falco's priorities).
 */
export function frame(
  a: FalcoAlert,
  format: string,
  facility: number,
  appname: string,
  host = osHostname(),
): string {
  const sev = parsePriority(a.priority) ?? 7;
  const sd = `[falco@32473 rule="${sdEsc(a.rule)}" priority="${a.priority}" source="${sdEsc(a.source)}" uuid="${a.uuid ?? ''}"]`;
  const h = (a.hostname || host || '-').replace(/\s/g, '_').slice(0, 255);
  return `<${facility * 8 + sev}>1 ${a.time} ${h} ${appname} ${process.pid} ${format === 'cef' ? 'CEF' : 'ALERT'} ${sd} ${message(a, format)}`;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const host = String(section.host);
  const port = Number(section.port);
  const protocol = String(section.protocol).toLowerCase();
  if (!['tcp', 'udp', 'tls'].includes(protocol))
    throw new ConfigError(`syslog.protocol: "${protocol}" is not tcp, udp or tls`);
  const format = String(section.format).toLowerCase();
  if (!['json', 'cef', 'text'].includes(format))
    throw new ConfigError(`syslog.format: "${format}" is not json, cef or text`);
  const facility = Number(section.facility);
  const appname = String(section.appname);
  const tlsOpts = ctx.tls(section);
  let sock: net.Socket | undefined;
  let udp: dgram.Socket | undefined;

  const stream = (): Promise<net.Socket> => {
    if (sock && !sock.destroyed && sock.writable) return Promise.resolve(sock);
    return new Promise((resolve, reject) => {
      const s =
        protocol === 'tls'
          ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...tlsOpts })
          : net.connect({ host, port });
      const onErr = (e: Error) => reject(e);
      s.once('error', onErr);
      s.once(protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        s.off('error', onErr);
        s.on('error', (e) => ctx.log.debug('syslog socket error', { error: e.message }));
        s.on('close', () => {
          if (sock === s) sock = undefined;
        });
        s.setKeepAlive(true);
        sock = s;
        resolve(s);
      });
    });
  };

  return [
    {
      name: 'syslog',
      maxBatch: protocol === 'udp' ? 1 : Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        try {
          if (protocol === 'udp') {
            udp ??= dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
            const msg = Buffer.from(frame(batch[0]!, format, facility, appname));
            await new Promise<void>((res, rej) => udp!.send(msg, port, host, (e) => (e ? rej(e) : res())));
            return OK;
          }
          const s = await stream();
          // RFC 6587 octet counting: "<len> <message>"
          let out = '';
          for (const a of batch) {
            const m = frame(a, format, facility, appname);
            out += `${Buffer.byteLength(m)} ${m}`;
          }
          await new Promise<void>((res, rej) => s.write(out, (e) => (e ? rej(e) : res())));
          return OK;
        } catch (e) {
          sock?.destroy();
          sock = undefined;
          return { kind: 'retry', reason: `syslog ${protocol}://${host}:${port}: ${(e as Error).message}` };
        }
      },
      async healthcheck() {
        if (protocol !== 'udp') await stream();
      },
      async close() {
        sock?.end();
        udp?.close();
      },
    },
  ];
}
