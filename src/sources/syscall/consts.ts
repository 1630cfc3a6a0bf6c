/** Linux constants rendered the way Falco/libsinsp prints them (x86_64). */

export const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  15: 'ENOTBLK',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  26: 'ETXTBSY',
  27: 'EFBIG',
  28: 'ENOSPC',
  29: 'ESPIPE',
  30: 'EROFS',
  31: 'EMLINK',
  32: 'EPIPE',
  33: 'EDOM',
  34: 'ERANGE',
  35: 'EDEADLK',
  36: 'ENAMETOOLONG',
  37: 'ENOLCK',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  40: 'ELOOP',
  61: 'ENODATA',
  62: 'ETIME',
  75: 'EOVERFLOW',
  88: 'ENOTSOCK',
  89: 'EDESTADDRREQ',
  90: 'EMSGSIZE',
  91: 'EPROTOTYPE',
  92: 'ENOPROTOOPT',
  93: 'EPROTONOSUPPORT',
  94: 'ESOCKTNOSUPPORT',
  95: 'EOPNOTSUPP',
  96: 'EPFNOSUPPORT',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  102: 'ENETRESET',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  106: 'EISCONN',
  107: 'ENOTCONN',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  112: 'EHOSTDOWN',
  113: 'EHOSTUNREACH',
  114: 'EALREADY',
  115: 'EINPROGRESS',
  116: 'ESTALE',
  122: 'EDQUOT',
  125: 'ECANCELED',
};

const OPEN_FLAGS: [number, string][] = [
  [0o1, 'O_WRONLY'],
  [0o2, 'O_RDWR'],
  [0o100, 'O_CREAT'],
  [0o200, 'O_EXCL'],
  [0o400, 'O_NOCTTY'],
  [0o1000, 'O_TRUNC'],
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o10000, 'O_DSYNC'],
  [0o20000, 'FASYNC'],
  [0o40000, 'O_DIRECT'],
  [0o100000, 'O_LARGEFILE'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o1000000, 'O_NOATIME'],
  [0o2000000, 'O_CLOEXEC'],
  [0o4000000, 'O_SYNC'],
  [0o10000000, 'O_PATH'],
  [0o20000000, 'O_TMPFILE'],
];

export const O_ACCMODE = 3;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_TMPFILE = 0o20000000 | 0o200000;

export function openFlagsText(f: number): string {
  const names: string[] = [];
  if ((f & O_ACCMODE) === 0) names.push('O_RDONLY');
  for (const [bit, n] of OPEN_FLAGS) {
    if (bit === 0o20000000 && (f & O_TMPFILE) !== O_TMPFILE) continue;
    if (f & bit) names.push(n);
  }
  return names.join('|');
}

const MODE_BITS: [number, string][] = [
  [0o4000, 'S_ISUID'],
  [0o2000, 'S_ISGID'],
  [0o1000, 'S_ISVTX'],
  [0o400, 'S_IRUSR'],
  [0o200, 'S_IWUSR'],
  [0o100, 'S_IXUSR'],
  [0o40, 'S_IRGRP'],
  [0o20, 'S_IWGRP'],
  [0o10, 'S_IXGRP'],
  [0o4, 'S_IROTH'],
  [0o2, 'S_IWOTH'],
  [0o1, 'S_IXOTH'],
];
export function modeText(m: number): string {
  const names = MODE_BITS.filter(([b]) => m & b).map(([, n]) => n);
  return `0${(m & 0o7777).toString(8)}${names.length ? `(${names.join('|')})` : ''}`;
}

export const PTRACE_REQ: Record<number, string> = {
  0: 'PTRACE_TRACEME',
  1: 'PTRACE_PEEKTEXT',
  2: 'PTRACE_PEEKDATA',
  3: 'PTRACE_PEEKUSR',
  4: 'PTRACE_POKETEXT',
  5: 'PTRACE_POKEDATA',
  6: 'PTRACE_POKEUSR',
  7: 'PTRACE_CONT',
  8: 'PTRACE_KILL',
  9: 'PTRACE_SINGLESTEP',
  12: 'PTRACE_GETREGS',
  13: 'PTRACE_SETREGS',
  14: 'PTRACE_GETFPREGS',
  15: 'PTRACE_SETFPREGS',
  16: 'PTRACE_ATTACH',
  17: 'PTRACE_DETACH',
  24: 'PTRACE_SYSCALL',
  16896: 'PTRACE_SETOPTIONS',
  16897: 'PTRACE_GETEVENTMSG',
  16898: 'PTRACE_GETSIGINFO',
  16899: 'PTRACE_SETSIGINFO',
  16900: 'PTRACE_GETREGSET',
  16901: 'PTRACE_SETREGSET',
  16902: 'PTRACE_SEIZE',
  16903: 'PTRACE_INTERRUPT',
  16904: 'PTRACE_LISTEN',
};

export const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  16: 'SIGSTKFLT',
  17: 'SIGCHLD',
  18: 'SIGCONT',
  19: 'SIGSTOP',
  20: 'SIGTSTP',
  21: 'SIGTTIN',
  22: 'SIGTTOU',
  23: 'SIGURG',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  26: 'SIGVTALRM',
  27: 'SIGPROF',
  28: 'SIGWINCH',
  29: 'SIGIO',
  30: 'SIGPWR',
  31: 'SIGSYS',
};

export const SOCKET_FAMILY: Record<number, string> = {
  0: 'AF_UNSPEC',
  1: 'AF_UNIX',
  2: 'AF_INET',
  10: 'AF_INET6',
  16: 'AF_NETLINK',
  17: 'AF_PACKET',
};

const CLONE_NS: [number, string][] = [
  [0x00020000, 'CLONE_NEWNS'],
  [0x02000000, 'CLONE_NEWCGROUP'],
  [0x04000000, 'CLONE_NEWUTS'],
  [0x08000000, 'CLONE_NEWIPC'],
  [0x10000000, 'CLONE_NEWUSER'],
  [0x20000000, 'CLONE_NEWPID'],
  [0x40000000, 'CLONE_NEWNET'],
  [0x00000080, 'CLONE_NEWTIME'],
  [0x00000200, 'CLONE_FS'],
  [0x00000400, 'CLONE_FILES'],
  [0x00000100, 'CLONE_VM'],
];
export function cloneFlagsText(f: number): string {
  return (
    CLONE_NS.filter(([b]) => f & b)
      .map(([, n]) => n)
      .join('|') || '0'
  );
}

export const BPF_CMD: Record<number, string> = {
  0: 'BPF_MAP_CREATE',
  1: 'BPF_MAP_LOOKUP_ELEM',
  2: 'BPF_MAP_UPDATE_ELEM',
  3: 'BPF_MAP_DELETE_ELEM',
  4: 'BPF_MAP_GET_NEXT_KEY',
  5: 'BPF_PROG_LOAD',
  6: 'BPF_OBJ_PIN',
  7: 'BPF_OBJ_GET',
  8: 'BPF_PROG_ATTACH',
  9: 'BPF_PROG_DETACH',
  10: 'BPF_PROG_TEST_RUN',
  28: 'BPF_LINK_CREATE',
};

const MOUNT_FLAGS: [number, string][] = [
  [1, 'RDONLY'],
  [2, 'NOSUID'],
  [4, 'NODEV'],
  [8, 'NOEXEC'],
  [16, 'SYNCHRONOUS'],
  [32, 'REMOUNT'],
  [64, 'MANDLOCK'],
  [128, 'DIRSYNC'],
  [1024, 'NOATIME'],
  [2048, 'NODIRATIME'],
  [4096, 'BIND'],
  [8192, 'MOVE'],
  [16384, 'REC'],
  [32768, 'SILENT'],
  [1 << 17, 'PRIVATE'],
  [1 << 18, 'SLAVE'],
  [1 << 19, 'SHARED'],
];
export function mountFlagsText(f: number): string {
  return (
    MOUNT_FLAGS.filter(([b]) => f & b)
      .map(([, n]) => n)
      .join('|') || '0'
  );
}

export const CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];
/** Capability set as Falco prints it: names separated by spaces. */
export function capsText(v: bigint): string {
  const out: string[] = [];
  for (let i = 0; i < CAPS.length; i++) if ((v >> BigInt(i)) & 1n) out.push(CAPS[i]!);
  return out.join(' ');
}
