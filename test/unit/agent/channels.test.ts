import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { HttpOutputConfig } from '../../../src/agent/config.js';
import { alertToJson, type FalcoAlert } from '../../../src/alert/falco-alert.js';
import { fileChannel } from '../../../src/channels/file.js';
import { httpChannel } from '../../../src/channels/http.js';
import { renderAlert } from '../../../src/channels/index.js';
import { programChannel } from '../../../src/channels/program.js';
import { OutputQueue } from '../../../src/channels/queue.js';
import { stdoutChannel } from '../../../src/channels/stdout.js';
import { syslogChannel } from '../../../src/channels/syslog.js';
import type { Channel, OutputItem } from '../../../src/channels/types.js';
import { waitFor } from '../../harness/servers.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-ch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alert = (i: number): FalcoAlert => ({
  hostname: 'h',
  output: `12:00:00.000000000: Warning alert ${i}`,
  message: `alert ${i}`,
  output_fields: { 'ka.verb': 'create', n: i },
  priority: 'Warning',
  rule: 'R',
  source: 'k8s_audit',
  tags: ['a', 'b'],
  time: '2024-03-01T08:52:34.832049033Z',
});
const item = (i: number): OutputItem => ({ alert: alert(i), line: JSON.stringify(alert(i)), priority: 4 });

const httpCfg = (url: string, over: Partial<HttpOutputConfig> = {}): HttpOutputConfig => ({
  enabled: true,
  url,
  user_agent: 'falcosecurity/falco',
  insecure: false,
  ca_cert: '',
  ca_bundle: '',
  ca_path: '/etc/ssl/certs',
  mtls: false,
  client_cert: '',
  client_key: '',
  compress_uploads: false,
  keep_alive: false,
  echo: false,
  max_retries: 3,
  timeout_ms: 5000,
  concurrency: 1,
  ...over,
});

describe('renderAlert', () => {
  it('JSON with sorted keys and json_include_* options, or the text line', () => {
    const base = {
      json_output: true,
      json_include_output_property: true,
      json_include_tags_property: true,
      json_include_message_property: false,
      json_include_output_fields_property: true,
    };
    const j = renderAlert(alert(1), base);
    expect(Object.keys(JSON.parse(j))).toEqual([
      'hostname',
      'output',
      'output_fields',
      'priority',
      'rule',
      'source',
      'tags',
      'time',
    ]);
    const j2 = JSON.parse(
      renderAlert(alert(1), {
        ...base,
        json_include_output_property: false,
        json_include_tags_property: false,
        json_include_message_property: true,
      }),
    );
    expect(j2.output).toBeUndefined();
    expect(j2.tags).toBeUndefined();
    expect(j2.message).toBe('alert 1');
    expect(renderAlert(alert(1), { ...base, json_output: false })).toBe(
      '12:00:00.000000000: Warning alert 1',
    );
    // the fast path writes exactly what the generic serializer writes
    const full = {
      ...alert(2),
      cluster: 'c1',
      uuid: 'u',
      count: 3,
      output_fields: { 'ka.verb': null, list: ['a', 'b'] },
    };
    for (const opts of [
      base,
      { ...base, json_include_message_property: true, json_include_output_fields_property: false },
    ]) {
      const expected = { ...full } as Record<string, unknown>;
      if (!opts.json_include_message_property) delete expected.message;
      if (!opts.json_include_output_fields_property) delete expected.output_fields;
      expect(renderAlert(full, opts)).toBe(alertToJson(expected as unknown as FalcoAlert));
    }
    // an unknown key falls back to the generic serializer and is kept
    expect(JSON.parse(renderAlert({ ...alert(3), extra: 1 } as FalcoAlert, base)).extra).toBe(1);
  });
});

describe('channels', () => {
  it('stdout writes one line per alert', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    await stdoutChannel(out).send([item(1), item(2)]);
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).output_fields.n),
    ).toEqual([1, 2]);
  });

  it('file appends and, with keep_alive, reopens after rotation', async () => {
    const f = join(dir, 'alerts.json');
    const ch = fileChannel({ filename: f, keep_alive: true });
    await ch.send([item(1)]);
    renameSync(f, `${f}.1`);
    await ch.send([item(2)]); // still the old (rotated) file
    ch.reopen!();
    await ch.send([item(3)]);
    await ch.close();
    expect(readFileSync(`${f}.1`, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(readFileSync(f, 'utf8')).output_fields.n).toBe(3);
    const g = join(dir, 'plain.json');
    const ch2 = fileChannel({ filename: g, keep_alive: false });
    await ch2.send([item(1), item(2)]);
    await ch2.send([item(3)]);
    expect(readFileSync(g, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('program with keep_alive feeds one long-lived child', async () => {
    const out = join(dir, 'prog.out');
    const pids = join(dir, 'prog.pids');
    const ch = programChannel({ program: `echo $$ >> ${pids}; cat >> ${out}`, keep_alive: true });
    await ch.send([item(1)]);
    await ch.send([item(2), item(3)]);
    await ch.close();
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(3);
    expect(readFileSync(pids, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('program without keep_alive runs once per alert and reports failures', async () => {
    const pids = join(dir, 'prog2.pids');
    const ch = programChannel({ program: `read line; echo $$ >> ${pids}`, keep_alive: false });
    await ch.send([item(1), item(2)]);
    expect(readFileSync(pids, 'utf8').trim().split('\n')).toHaveLength(2);
    await expect(programChannel({ program: 'exit 3', keep_alive: false }).send([item(1)])).rejects.toThrow(
      /status 3/,
    );
  });

  it('syslog sends <PRI>-prefixed lines through logger (UDP server)', async () => {
    const sock = dgram.createSocket('udp4');
    const msgs: string[] = [];
    sock.on('message', (m) => msgs.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = (sock.address() as AddressInfo).port;
    const ch = syslogChannel({ socket: '/dev/log', server: `127.0.0.1:${port}` });
    await ch.send([{ ...item(1), priority: 2 }]);
    await waitFor(async () => msgs.length >= 1, 5000);
    await ch.close();
    sock.close();
    expect(msgs[0]).toMatch(/^<10>/); // user facility (8) + Critical (2)
    expect(msgs[0]).toContain('peregrine');
    expect(msgs[0]).toContain('"rule":"R"');
    await expect(syslogChannel({ socket: join(dir, 'nosock'), server: '' }).send([item(1)])).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('http channel', () => {
  it('posts one alert per request over one reused connection, retrying 5xx', async () => {
    const bodies: string[] = [];
    let connections = 0;
    let failNext = 2;
    const srv = http.createServer((req, res) => {
      let b = '';
      req.on('data', (d) => {
        b += d;
      });
      req.on('end', () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end('busy');
          return;
        }
        expect(req.headers['content-type']).toBe('application/json');
        expect(req.headers['user-agent']).toBe('falcosecurity/falco');
        bodies.push(b);
        res.writeHead(200).end('ok');
      });
    });
    srv.on('connection', () => {
      connections++;
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    const retries: number[] = [];
    const ch = httpChannel(httpCfg(url), { json: true, backoffMs: 5, onRetry: (n) => retries.push(n) });
    const items = Array.from({ length: 20 }, (_, i) => item(i));
    await ch.send(items);
    expect(bodies.map((b) => JSON.parse(b).output_fields.n)).toEqual(items.map((_, i) => i));
    expect(retries).toEqual([1, 2]);
    // 22 requests over at most two kept-alive connections
    expect(connections).toBeLessThanOrEqual(2);
    // with concurrency 4: all delivered, each its own request, over at most 4 connections
    const before = connections;
    bodies.length = 0;
    const ch4 = httpChannel(httpCfg(url, { concurrency: 4 }), { json: true, backoffMs: 5 });
    await ch4.send(items);
    expect(bodies.map((b) => JSON.parse(b).output_fields.n).sort((a, b) => a - b)).toEqual(
      items.map((_, i) => i),
    );
    expect(connections - before).toBeLessThanOrEqual(4);
    await ch4.close();
    await ch.close();
    srv.close();
  });

  it('gives up after max_retries, does not retry 4xx, and retries connection errors', async () => {
    let hits = 0;
    const srv = http.createServer((_req, res) => {
      hits++;
      res.writeHead(hits === 1 ? 400 : 500).end('no');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    const ch = httpChannel(httpCfg(url, { max_retries: 2 }), { json: true, backoffMs: 1 });
    await expect(ch.send([item(1)])).rejects.toThrow(/HTTP 400/);
    expect(hits).toBe(1);
    await expect(ch.send([item(2)])).rejects.toThrow(/HTTP 500/);
    expect(hits).toBe(4);
    await ch.close();
    srv.close();
    const retries: number[] = [];
    const dead = httpChannel(httpCfg(url, { max_retries: 2 }), {
      json: true,
      backoffMs: 1,
      onRetry: (n) => retries.push(n),
    });
    await expect(dead.send([item(1)])).rejects.toThrow();
    expect(retries).toEqual([1, 2]);
    await dead.close();
  });

  it('gzips bodies with compress_uploads and speaks mTLS with a private CA', async () => {
    const d = mkdtempSync(join(dir, 'pki-'));
    const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { cwd: d, stdio: 'ignore' });
    sh('openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ca -keyout ca.key -out ca.crt');
    sh('openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout srv.key -out srv.csr');
    sh(
      'printf "subjectAltName=IP:127.0.0.1" > ext; openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out srv.crt',
    );
    sh('openssl req -newkey rsa:2048 -nodes -subj /CN=agent -keyout cli.key -out cli.csr');
    sh('openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out cli.crt');
    expect(existsSync(join(d, 'cli.crt'))).toBe(true);
    const got: Array<{ body: string; cn: string }> = [];
    const srv = https.createServer(
      {
        key: readFileSync(join(d, 'srv.key')),
        cert: readFileSync(join(d, 'srv.crt')),
        ca: readFileSync(join(d, 'ca.crt')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body =
            req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
          const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
          got.push({ body, cn: String(peer.subject?.CN) });
          res.writeHead(200).end();
        });
      },
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    const ch = httpChannel(
      httpCfg(url, {
        ca_cert: join(d, 'ca.crt'),
        mtls: true,
        client_cert: join(d, 'cli.crt'),
        client_key: join(d, 'cli.key'),
        compress_uploads: true,
      }),
      { json: true },
    );
    await ch.send([item(7)]);
    expect(got).toHaveLength(1);
    expect(got[0]!.cn).toBe('agent');
    expect(JSON.parse(got[0]!.body).output_fields.n).toBe(7);
    await ch.close();
    // without the client certificate the server refuses the handshake
    const noCert = httpChannel(httpCfg(url, { ca_cert: join(d, 'ca.crt'), max_retries: 0 }), { json: true });
    await expect(noCert.send([item(8)])).rejects.toThrow();
    await noCert.close();
    srv.close();
  });
});

describe('outputs queue', () => {
  it('drops and counts when full, never blocks the producer, and drains', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: number[] = [];
    const slow: Channel = {
      name: 'slow',
      async send(items) {
        await gate;
        for (const it of items) seen.push(it.alert.output_fields.n as number);
      },
      async close() {},
    };
    const drops: number[] = [];
    const q = new OutputQueue([slow], 3, { onDrop: (n) => drops.push(n) }, 2);
    const accepted = [1, 2, 3, 4, 5, 6].map((i) => q.push(item(i)));
    // the worker starts on a microtask: all six pushes ran synchronously
    expect(accepted).toEqual([true, true, true, false, false, false]);
    expect(q.dropped).toBe(3);
    await Promise.resolve();
    expect(q.push(item(7))).toBe(true); // the worker took a batch of 2
    release();
    expect(await q.drain(2000)).toBe(0);
    expect(seen).toEqual([1, 2, 3, 7]);
    expect(drops).toEqual([1, 2, 3]);
    expect(q.push(item(8))).toBe(false); // closed after drain
  });

  it('a failing channel is counted and does not stop the others', async () => {
    const errors: Array<[string, number]> = [];
    const ok: number[] = [];
    const bad: Channel = {
      name: 'bad',
      send: async () => {
        throw new Error('nope');
      },
      close: async () => {},
    };
    const good: Channel = {
      name: 'good',
      send: async (items) => {
        ok.push(items.length);
      },
      close: async () => {},
    };
    const q = new OutputQueue([bad, good], 0, { onError: (c, _e, n) => errors.push([c, n]) });
    q.push(item(1));
    q.push(item(2));
    await q.idle();
    expect(errors).toEqual([['bad', 2]]);
    expect(ok).toEqual([2]);
  });

  it('drain gives up after the timeout and reports what is left', async () => {
    const stuck: Channel = { name: 'stuck', send: () => new Promise(() => {}), close: async () => {} };
    const q = new OutputQueue([stuck], 0, {}, 1);
    q.push(item(1));
    q.push(item(2));
    await Promise.resolve();
    expect(await q.drain(50)).toBe(2); // one in flight (stuck), one queued;
  });
});
