// Baseline: a bare node:http server that reads the body, JSON-parses it and answers 200.
import http from 'node:http';
import { bareJsonHandler } from './common.mjs';

const server = http.createServer(bareJsonHandler);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'stats') {
    const cpu = process.cpuUsage();
    process.send({ cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  } else if (m === 'stop') process.exit(0);
});
