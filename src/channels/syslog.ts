import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { SyslogOutputConfig } from '../agent/config.js';
import type { Channel, OutputItem } from './types.js';

/** syslog PRI for facility user (1) and the alert's priority (Falco passes its priority to syslog()). */
export function syslogPri(priority: number): number {
  return 8 + priority;
}

/**
 * Sends each alert to syslog through one long-lived `logger` child (util-linux):
 * local socket (default /dev/log) or a remote server over UDP (`server: host:port`).
 * Each line carries its own <PRI>, so severities follow the alert priorities.
 */
export function syslogChannel(
  cfg: Pick<SyslogOutputConfig, 'socket' | 'server'>,
  tag = 'peregrine',
): Channel {
  let child: ChildProcess | undefined;
  let failure: Error | undefined;
  const args = ['--prio-prefix', '-t', tag];
  if (cfg.server) {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(cfg.server);
    args.push('-d', '-n', m?.[1] ?? cfg.server, '-P', m?.[2] ?? '514');
  } else {
    args.push('-u', cfg.socket, '--socket-errors=on');
  }
  const start = () => {
    if (!cfg.server && !existsSync(cfg.socket)) throw new Error(`syslog socket ${cfg.socket} does not exist`);
    const c = spawn('logger', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-500);
    });
    c.on('error', (e) => {
      failure = e;
    });
    c.stdin!.on('error', (e) => {
      failure = e;
    });
    c.on('exit', (code) => {
      if (child === c) child = undefined;
      if (code !== 0) failure = new Error(`logger exited with status ${code}: ${err.trim()}`);
    });
    return c;
  };
  return {
    name: 'syslog',
    async send(items: readonly OutputItem[]) {
      if (failure) {
        const e = failure;
        failure = undefined;
        throw e;
      }
      child ??= start();
      let text = '';
      // logger reads one message per line: strip embedded newlines
      for (const it of items) text += `<${syslogPri(it.priority)}>${it.line.replace(/\n/g, ' ')}\n`;
      const c = child;
      await new Promise<void>((resolve, reject) => c.stdin!.write(text, (e) => (e ? reject(e) : resolve())));
    },
    async close() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          c.kill();
          resolve();
        }, 2000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        c.stdin!.end();
      });
    },
  };
}
