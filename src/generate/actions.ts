/**
 * The actions of `peregrine generate`: each performs, harmlessly, one behaviour a
 * default rule of rules/syscall_rules.yaml detects. Container actions run in the
 * sandbox (sandbox.ts); host actions run as children of this process (temp
 * files, loopback or in-container peers only). Every action cleans up after
 * itself; files written inside the container go with the container.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import type { RunResult, Sandbox } from './sandbox.js';

export interface ActionContext {
  sandbox: Sandbox;
}

export interface ActionOutcome {
  /** What was done, one line. */
  did: string;
  /** Set when the action could not run here. */
  skipped?: string;
}

export interface Action {
  name: string;
  /** The default rule the action should trigger. */
  rule: string;
  /** 'container': runs inside the sandbox; 'host': a host process. */
  where: 'container' | 'host';
  /** The process that performs it (proc.name) and its parent (proc.pname), when fixed. */
  proc?: string;
  parent?: string;
  /** Alerts the action should raise (default 1). */
  alerts?: number;
  describe: string;
  run(ctx: ActionContext): Promise<ActionOutcome>;
}

const PYTHON = '/usr/bin/python3';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function check(r: RunResult, what: string, okStatuses: number[] = [0]): void {
  if (r.status === null || !okStatuses.includes(r.status))
    throw new Error(`${what} failed (status ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
}

/** Run a host program as a child of this process and wait for it. */
function host(cmd: string, args: string[], opts: { uid?: number; gid?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: opts.uid,
    gid: opts.gid,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function needContainer(ctx: ActionContext): string | undefined {
  return ctx.sandbox.kind === 'container' ? undefined : 'needs a container (no container runtime works here)';
}

function needPython(): string | undefined {
  return existsSync(PYTHON) ? undefined : `${PYTHON} is not installed`;
}

/** A busybox applet under another name in the container's /tmp (nothing is installed). */
async function runAs(ctx: ActionContext, name: string): Promise<ActionOutcome> {
  const skip = needContainer(ctx);
  if (skip) return { did: '', skipped: skip };
  const path = `/tmp/${name}`;
  check(ctx.sandbox.exec(['ln', '-sf', '/bin/busybox', path]), `link ${path}`);
  // busybox answers "applet not found" (127): the program ran under that name and did nothing.
  check(ctx.sandbox.exec([path, '--help']), `run ${path}`, [0, 1, 127]);
  return { did: `ran ${path} (busybox under the name ${name}) in ${ctx.sandbox.name}` };
}

/** A one-shot listener in the container, then a client connecting to 192.0.2.1:port. */
async function connectInContainer(ctx: ActionContext, port: number): Promise<ActionOutcome> {
  const skip = needContainer(ctx);
  if (skip) return { did: '', skipped: skip };
  ctx.sandbox.execDetached(['timeout', '10', 'nc', '-l', '-p', String(port)]);
  await sleep(400);
  check(ctx.sandbox.exec(['nc', '-w', '3', '192.0.2.1', String(port)]), `nc 192.0.2.1 ${port}`, [0, 1]);
  return {
    did: `connected to 192.0.2.1:${port} (a listener inside ${ctx.sandbox.name}, no traffic leaves it)`,
  };
}

/**
 * The same with both ends in one shell of fresh namespaces (no container): for the
 * rules that do not require a container.
 */
function connectInNamespaces(ctx: ActionContext, port: number, client: string): ActionOutcome {
  const script = `busybox nc -l -p ${port} </dev/null & sleep 0.4; timeout 5 busybox nc ${client}; wait`;
  check(ctx.sandbox.exec(['sh', '-c', script]), `nc in fresh namespaces (port ${port})`, [0, 1, 124]);
  return { did: `ran a listener and busybox nc ${client} in fresh network/pid/mount namespaces` };
}

export const ACTIONS: readonly Action[] = [
  {
    name: 'package_manager',
    rule: 'Package Manager Run In Container',
    where: 'container',
    proc: 'apk',
    describe: 'runs a program named apk in the container',
    run: (ctx) => runAs(ctx, 'apk'),
  },
  {
    name: 'shell',
    rule: 'Shell Run In Container',
    where: 'container',
    proc: 'sh',
    describe: 'runs sh -c "exit 0" in the container',
    async run(ctx) {
      const skip = needContainer(ctx);
      if (skip) return { did: '', skipped: skip };
      check(ctx.sandbox.exec(['sh', '-c', 'exit 0']), 'sh');
      return { did: `ran sh -c "exit 0" in ${ctx.sandbox.name}` };
    },
  },
  {
    name: 'terminal_shell',
    rule: 'Terminal Shell In Container',
    where: 'container',
    proc: 'sh',
    describe: 'runs sh with a terminal (podman exec -t) in the container',
    async run(ctx) {
      const skip = needContainer(ctx);
      if (skip) return { did: '', skipped: skip };
      check(ctx.sandbox.exec(['sh', '-c', 'exit 0'], { tty: true }), 'sh with a tty');
      return { did: `ran sh -c "exit 0" on a terminal in ${ctx.sandbox.name}` };
    },
  },
  {
    name: 'reverse_shell',
    rule: 'Reverse Shell',
    where: 'container',
    proc: 'sh',
    describe: 'nc connects to a listener in the container and runs sh on the socket',
    async run(ctx) {
      if (ctx.sandbox.kind === 'namespaces')
        return connectInNamespaces(ctx, 24680, '127.0.0.1 24680 -e /bin/sh');
      ctx.sandbox.execDetached(['timeout', '10', 'nc', '-l', '-p', '24680']);
      await sleep(400);
      check(
        ctx.sandbox.exec(['timeout', '5', 'nc', '127.0.0.1', '24680', '-e', '/bin/sh']),
        'nc -e /bin/sh',
        [0, 1, 143],
      );
      return { did: `ran sh with its stdin/stdout on a loopback socket in ${ctx.sandbox.name}` };
    },
  },
  {
    name: 'sensitive_program',
    rule: 'Sensitive Program Run In Container',
    where: 'container',
    proc: 'kubectl',
    describe: 'runs a program named kubectl in the container',
    run: (ctx) => runAs(ctx, 'kubectl'),
  },
  {
    name: 'system_dir_change',
    rule: 'System Directory Changed In Running Container',
    where: 'container',
    proc: 'touch',
    alerts: 3,
    describe: 'creates, renames and deletes a file below /bin of the running container',
    async run(ctx) {
      const skip = needContainer(ctx);
      if (skip) return { did: '', skipped: skip };
      // The rule ignores the container's first two seconds (its setup).
      const wait = ctx.sandbox.startedMs + 2500 - Date.now();
      if (wait > 0) await sleep(wait);
      check(ctx.sandbox.exec(['touch', '/bin/pg-generate-drift']), 'touch');
      check(ctx.sandbox.exec(['mv', '/bin/pg-generate-drift', '/bin/pg-generate-drift2']), 'mv');
      check(ctx.sandbox.exec(['rm', '/bin/pg-generate-drift2']), 'rm');
      return { did: `created, renamed and deleted /bin/pg-generate-drift in ${ctx.sandbox.name}` };
    },
  },
  {
    name: 'outbound_connection',
    rule: 'Outbound Connection Outside Allow-List From Container',
    where: 'container',
    proc: 'nc',
    describe: 'connects to 192.0.2.1:8080 (not in pg_allowed_outbound_networks)',
    run: (ctx) => connectInContainer(ctx, 8080),
  },
  {
    name: 'ssh_connection',
    rule: 'SSH Connection In Container',
    where: 'container',
    proc: 'nc',
    alerts: 2,
    describe: 'connects to 192.0.2.1:22 and accepts it on port 22 (both ends in the container)',
    run: (ctx) => connectInContainer(ctx, 22),
  },
  {
    name: 'mining_pool',
    rule: 'Connection To Mining Pool Port',
    where: 'container',
    proc: 'nc',
    describe: 'connects to 192.0.2.1:3333 (a stratum port)',
    run: async (ctx) =>
      ctx.sandbox.kind === 'namespaces'
        ? connectInNamespaces(ctx, 3333, '-w 3 192.0.2.1 3333')
        : connectInContainer(ctx, 3333),
  },
  {
    name: 'mount',
    rule: 'Mount In Container',
    where: 'container',
    proc: 'mount',
    describe: 'tries to mount a tmpfs in the container (refused: no CAP_SYS_ADMIN)',
    async run(ctx) {
      const skip = needContainer(ctx);
      if (skip) return { did: '', skipped: skip };
      check(ctx.sandbox.exec(['mount', '-t', 'tmpfs', 'pg-generate', '/mnt']), 'mount', [0, 1, 255]);
      ctx.sandbox.exec(['umount', '/mnt']);
      return { did: `tried mount -t tmpfs pg-generate /mnt in ${ctx.sandbox.name}` };
    },
  },
  {
    name: 'namespace_change',
    rule: 'Namespace Change In Container',
    where: 'container',
    proc: 'unshare',
    describe: 'runs unshare -n true in the container',
    async run(ctx) {
      const skip = needContainer(ctx);
      if (skip) return { did: '', skipped: skip };
      check(ctx.sandbox.exec(['unshare', '-n', 'true']), 'unshare', [0, 1]);
      return { did: `ran unshare -n true in ${ctx.sandbox.name}` };
    },
  },
  {
    name: 'host_changes_container',
    rule: 'Host Process Changed Container Files',
    where: 'host',
    proc: 'sh',
    parent: 'node',
    describe: 'a host shell writes /tmp/pg-generate-host-write through /proc/<pid>/root',
    async run(ctx) {
      const skip = needContainer(ctx);
      if (skip) return { did: '', skipped: skip };
      const path = `/proc/${ctx.sandbox.hostPid}/root/tmp/pg-generate-host-write`;
      check(host('/bin/sh', ['-c', `echo peregrine > ${path}`]), 'write through /proc/<pid>/root');
      return { did: `host sh wrote ${path} (removed with the container)` };
    },
  },
  {
    name: 'sensitive_file_read',
    rule: 'Sensitive File Opened For Reading',
    where: 'host',
    proc: 'cat',
    parent: 'node',
    describe: 'cat /etc/shadow on the host (output discarded)',
    async run() {
      if (!existsSync('/etc/shadow')) return { did: '', skipped: '/etc/shadow does not exist' };
      check(host('/bin/cat', ['/etc/shadow']), 'cat /etc/shadow');
      return { did: 'read /etc/shadow with cat (output discarded)' };
    },
  },
  {
    name: 'write_below_etc',
    rule: 'Write Below Etc On Host',
    where: 'host',
    proc: 'touch',
    parent: 'node',
    describe: 'touch /etc/peregrine-generate-<random>, then remove it',
    async run() {
      const path = `/etc/peregrine-generate-${randomBytes(4).toString('hex')}`;
      try {
        check(host('/usr/bin/touch', [path]), `touch ${path}`);
      } finally {
        if (existsSync(path)) unlinkSync(path);
      }
      return { did: `created and removed ${path}` };
    },
  },
  {
    name: 'log_clear',
    rule: 'Log File Cleared',
    where: 'host',
    proc: 'sh',
    parent: 'node',
    describe:
      'creates /var/log/peregrine-generate-<random>.log, truncates it with a shell redirect, removes it',
    async run() {
      const path = `/var/log/peregrine-generate-${randomBytes(4).toString('hex')}.log`;
      try {
        closeSync(openSync(path, 'a'));
        check(host('/bin/sh', ['-c', `: > ${path}`]), 'truncate');
      } finally {
        if (existsSync(path)) unlinkSync(path);
      }
      return { did: `truncated and removed ${path}` };
    },
  },
  {
    name: 'ptrace_attach',
    rule: 'Ptrace Attach',
    where: 'host',
    proc: 'python3',
    parent: 'node',
    describe: 'python3 attaches to a sleep child with PTRACE_ATTACH and detaches',
    async run() {
      const skip = needPython();
      if (skip) return { did: '', skipped: skip };
      const target = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      try {
        const code = [
          'import ctypes, os, sys',
          'libc = ctypes.CDLL(None, use_errno=True)',
          'pid = int(sys.argv[1])',
          'if libc.ptrace(16, pid, None, None) != 0: sys.exit("attach: errno %d" % ctypes.get_errno())',
          'os.waitpid(pid, os.__dict__.get("WALL", 0x40000000))',
          'libc.ptrace(17, pid, None, None)',
        ].join('\n');
        check(host(PYTHON, ['-c', code, String(target.pid)]), 'ptrace attach');
      } finally {
        target.kill('SIGKILL');
      }
      return { did: `attached to and detached from sleep (pid ${target.pid}), then killed it` };
    },
  },
  {
    name: 'setuid_root',
    rule: 'Setuid To Root By Non-Root User',
    where: 'host',
    proc: 'python3',
    parent: 'node',
    describe: 'python3 running as nobody calls setuid(0) (refused)',
    async run() {
      const skip = needPython();
      if (skip) return { did: '', skipped: skip };
      const code = 'import os\ntry:\n  os.setuid(0)\nexcept PermissionError:\n  pass';
      check(host(PYTHON, ['-c', code], { uid: 65534, gid: 65534 }), 'setuid(0) as nobody');
      return { did: 'called setuid(0) as uid 65534 (EPERM)' };
    },
  },
  {
    name: 'kernel_module',
    rule: 'Kernel Module Load Attempt',
    where: 'host',
    proc: 'python3',
    parent: 'node',
    describe: 'python3 calls finit_module on /dev/null (refused by the kernel)',
    async run() {
      const skip = needPython();
      if (skip) return { did: '', skipped: skip };
      const code = [
        'import ctypes, os',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'fd = os.open("/dev/null", os.O_RDONLY)',
        'r = libc.syscall(313, fd, b"", 0)',
        'assert r != 0, "the kernel accepted /dev/null as a module"',
      ].join('\n');
      check(host(PYTHON, ['-c', code]), 'finit_module');
      return { did: 'called finit_module(/dev/null) (refused)' };
    },
  },
  {
    name: 'memfd_exec',
    rule: 'Execution From Memory File',
    where: 'host',
    parent: 'node',
    describe: 'python3 copies /bin/true into a memfd and executes it',
    async run() {
      const skip = needPython();
      if (skip) return { did: '', skipped: skip };
      const code = [
        'import os',
        'fd = os.memfd_create("pg-generate", 0)',
        'os.write(fd, open("/bin/true", "rb").read())',
        'os.execv("/proc/self/fd/%d" % fd, ["pg-generate-memfd"])',
      ].join('\n');
      check(host(PYTHON, ['-c', code]), 'exec from memfd');
      return { did: 'executed a copy of /bin/true from a memfd' };
    },
  },
];

export function findAction(name: string): Action | undefined {
  return ACTIONS.find((a) => a.name === name);
}
