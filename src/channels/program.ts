import { type ChildProcess, spawn } from 'node:child_process';
import type { ProgramOutputConfig } from '../agent/config.js';
import type { Channel, OutputItem } from './types.js';

/**
 * Pipes alerts to a shell command (`sh -c program`), one line per alert. With
 * keep_alive one long-lived child gets every alert on its stdin (restarted if it
 * exits); without it a child is started for every alert and awaited, as Falco does.
 */
export function programChannel(cfg: Pick<ProgramOutputConfig, 'program' | 'keep_alive'>): Channel {
  let child: ChildProcess | undefined;
  let childError: Error | undefined;

  const start = (): ChildProcess => {
    const c = spawn('/bin/sh', ['-c', cfg.program], { stdio: ['pipe', 'inherit', 'inherit'] });
    c.on('error', (e) => {
      childError = e;
    });
    c.stdin!.on('error', (e) => {
      childError = e;
    });
    c.on('exit', () => {
      if (child === c) child = undefined;
    });
    return c;
  };

  const writeTo = (c: ChildProcess, text: string) =>
    new Promise<void>((resolve, reject) => {
      c.stdin!.write(text, (err) => (err ? reject(err) : resolve()));
    });

  const runOnce = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn('/bin/sh', ['-c', cfg.program], { stdio: ['pipe', 'inherit', 'inherit'] });
      c.on('error', reject);
      c.stdin!.on('error', () => {
        /* the program may exit without reading; its exit status tells */
      });
      c.on('exit', (code, sig) =>
        code === 0 ? resolve() : reject(new Error(`program exited with ${sig ?? `status ${code}`}`)),
      );
      c.stdin!.end(`${line}\n`);
    });

  return {
    name: 'program',
    async send(items: readonly OutputItem[]) {
      if (cfg.keep_alive) {
        if (childError) {
          const e = childError;
          childError = undefined;
          child?.kill();
          child = undefined;
          throw e;
        }
        child ??= start();
        let text = '';
        for (const it of items) text += `${it.line}\n`;
        await writeTo(child, text);
      } else {
        for (const it of items) await runOnce(it.line);
      }
    },
    reopen() {
      if (child) {
        child.stdin!.end();
        child = undefined;
      }
    },
    async close() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          c.kill('SIGTERM');
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
