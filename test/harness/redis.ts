import net from 'node:net';
import { type RunningServer, startServer } from './servers.js';

/** Send one RESP command and resolve the raw reply (for readiness and small checks). */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    sock.setTimeout(1000, () => {
      sock.destroy();
      reject(new Error('redis timeout'));
    });
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.endsWith('\r\n')) {
        sock.end();
        resolve(buf);
      }
    });
    sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** redis-server on a free loopback port, no persistence, data in a temp dir. */
export function startRedis(): Promise<RunningServer & { url: string }> {
  return startServer({
    name: 'redis',
    command: 'redis-server',
    args: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    ready: async (port) => (await redisCommand(port, 'PING').catch(() => '')).startsWith('+PONG'),
  }).then((s) => Object.assign(s, { url: `redis://127.0.0.1:${s.port}` }));
}
