// Small pieces shared by the relay benchmarks (run.mjs, webhook-pipelining.mjs, micro/*.mjs).
import net from 'node:net';

/** Send `msg` to a forked child and resolve with its next message. */
export const ask = (child, msg) =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Resolves once something accepts connections on the port (5 s at most, then throws). */
export async function waitTcp(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing on port ${port}`);
}

/** Command-line builds `label=dir` (or `dir`) to compare; `current=dist` when none are given. */
export function parseBuilds(args) {
  return (args.length ? args : ['current=dist']).map((a) => {
    const [label, dir] = a.includes('=') ? a.split('=') : [a, a];
    return { label, dir };
  });
}

/** The baseline's request handler: read the body, JSON.parse it, answer 200 (400 on bad JSON). */
export function bareJsonHandler(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200);
      res.end();
    } catch {
      res.writeHead(400);
      res.end('bad json\n');
    }
  });
}
