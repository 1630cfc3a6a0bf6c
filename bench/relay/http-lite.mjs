// A small HTTP/1.1 client and server on raw sockets for the bench's own pieces: the open loop's load generator
// (it stands in for Falco's http_output) and the webhook receiver (it stands in for a remote service).
// On the 2-core bench machine undici's client and node:http's server cost 70–80 µs per request each, taken
// from the relay they measure; these cost a fraction of that. Keep-alive, one request in flight per
// connection, Content-Length or chunked bodies; enough for the relay and its webhook sink, not a general
// HTTP implementation (the relay's own tests use node:http and undici).
import net from 'node:net';

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Splits complete HTTP/1.1 messages off a connection's buffer. Calls `onMessage(startLine, body)` for each;
 * returns the unconsumed rest. Throws on a message it cannot frame.
 */
function parseMessages(buf, onMessage) {
  let off = 0;
  for (;;) {
    const he = buf.indexOf(CRLF2, off);
    if (he < 0) break;
    const head = buf.toString('latin1', off, he);
    const lines = head.split('\r\n');
    let len = 0;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      const c = l.indexOf(':');
      const name = l.slice(0, c).trim().toLowerCase();
      if (name === 'content-length') len = Number(l.slice(c + 1).trim());
      else if (name === 'transfer-encoding' && /chunked/i.test(l.slice(c + 1))) chunked = true;
    }
    let p = he + 4;
    if (chunked) {
      const parts = [];
      let complete = false;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) break;
        const size = Number.parseInt(buf.toString('latin1', p, le), 16);
        if (!Number.isFinite(size)) throw new Error('bad chunk size');
        if (size === 0) {
          const te = buf.indexOf('\r\n', le + 2);
          if (te < 0) break;
          p = te + 2;
          complete = true;
          break;
        }
        if (buf.length < le + 2 + size + 2) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!complete) break;
      onMessage(lines[0], Buffer.concat(parts));
    } else {
      if (!Number.isFinite(len) || len < 0) throw new Error('bad content-length');
      if (buf.length < p + len) break;
      onMessage(lines[0], buf.subarray(p, p + len));
      p += len;
    }
    off = p;
  }
  return off === 0 ? buf : buf.subarray(off);
}

/**
 * Keep-alive client: `post(body)` resolves with the status code (0 when the connection failed). Requests
 * wait for a free connection; at most `connections` are open.
 */
export function liteClient(port, connections = 64, path = '/') {
  const idle = [];
  const waiting = [];
  let open = 0;
  const prefix = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: `;
  function connect() {
    open++;
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    // one connection: its socket, the answer it waits for, the bytes of a partial response
    const c = { sock, resolve: undefined, buf: Buffer.alloc(0) };
    sock.on('data', (d) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      c.buf = parseMessages(c.buf, (line) => {
        const resolve = c.resolve;
        c.resolve = undefined;
        resolve?.(Number(line.split(' ')[1]));
        next(c);
      });
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      open--;
      c.resolve?.(0);
      c.resolve = undefined;
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
    });
    return c;
  }
  function send(c, body, resolve) {
    c.resolve = resolve;
    c.sock.write(`${prefix}${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  function next(c) {
    const w = waiting.shift();
    if (w) send(c, w.body, w.resolve);
    else idle.push(c);
  }
  return {
    post(body) {
      return new Promise((resolve) => {
        const c = idle.pop() ?? (open < connections ? connect() : undefined);
        if (c) send(c, body, resolve);
        else waiting.push({ body, resolve });
      });
    },
    close() {
      for (const c of idle) c.sock.destroy();
      idle.length = 0;
    },
  };
}

/** Server answering every request 200 with an empty body; `onBody(body: string)` gets each request body. */
export function liteServer(onBody) {
  const OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  return net.createServer((s) => {
    s.setNoDelay(true);
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      let answers = 0;
      try {
        buf = parseMessages(buf, (_line, body) => {
          answers++;
          onBody(body.length ? body.toString('utf8') : '');
        });
      } catch {
        s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      if (answers === 1) s.write(OK);
      else if (answers > 1) s.write(Buffer.concat(Array(answers).fill(OK)));
    });
    s.on('error', () => {});
  });
}
