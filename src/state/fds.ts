/** File-descriptor entries (Falco's fd.* view of one descriptor). */

export type FdType =
  | 'file'
  | 'directory'
  | 'ipv4'
  | 'ipv6'
  | 'unix'
  | 'pipe'
  | 'event'
  | 'signalfd'
  | 'eventpoll'
  | 'inotify'
  | 'timerfd'
  | 'netlink'
  | 'bpf'
  | 'userfaultfd'
  | 'io_uring'
  | 'memfd'
  | 'pidfd'
  | 'unknown';

export const FD_TYPECHAR: Record<FdType, string> = {
  file: 'f',
  directory: 'd',
  ipv4: '4',
  ipv6: '6',
  unix: 'u',
  pipe: 'p',
  event: 'e',
  signalfd: 's',
  eventpoll: 'l',
  inotify: 'i',
  timerfd: 't',
  netlink: 'n',
  bpf: 'b',
  userfaultfd: 'u',
  io_uring: 'r',
  memfd: 'm',
  pidfd: 'P',
  unknown: 'o',
};

export interface FdEntry {
  num: number;
  type: FdType;
  /** Path for files; `cip:cport->sip:sport` for connected IP sockets; path for unix sockets. */
  name: string;
  l4proto?: 'tcp' | 'udp' | 'icmp' | 'raw';
  lip?: string;
  lport?: number;
  rip?: string;
  rport?: number;
  /** The process is the server end (accepted or listening socket). */
  isServer?: boolean;
  connected?: boolean;
  dev?: number;
  ino?: number;
  /** Open flags as passed to open (for O_CLOEXEC on exec). */
  openFlags?: number;
}

const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFIFO = 0o010000;

/** Type of a non-socket descriptor from its inode mode and resolved name. */
export function fdTypeOf(mode: number, name: string): FdType {
  const fmt = mode & S_IFMT;
  if (fmt === S_IFREG && name.charCodeAt(1) !== 109 /* 'm' of /memfd: */) return 'file';
  if (fmt === S_IFDIR) return 'directory';
  if (fmt === S_IFIFO || name.startsWith('pipe:')) return 'pipe';
  if (name.startsWith('/memfd:') || name.startsWith('memfd:')) return 'memfd';
  const anon = /^(?:\/|anon_inode:)?\[?([a-z_-]+)\]?/.exec(name.replace(/^\//, ''));
  if (fmt !== S_IFREG && anon) {
    const k = anon[1] ?? '';
    if (k === 'eventfd') return 'event';
    if (k === 'signalfd') return 'signalfd';
    if (k === 'eventpoll') return 'eventpoll';
    if (k === 'inotify') return 'inotify';
    if (k === 'timerfd') return 'timerfd';
    if (k.startsWith('bpf')) return 'bpf';
    if (k === 'userfaultfd') return 'userfaultfd';
    if (k === 'io_uring') return 'io_uring';
    if (k === 'pidfd') return 'pidfd';
  }
  return 'file';
}

export function l4protoOf(type: number, proto: number): FdEntry['l4proto'] {
  if (proto === 6) return 'tcp';
  if (proto === 17) return 'udp';
  if (proto === 1 || proto === 58) return 'icmp';
  if (type === 1) return 'tcp';
  if (type === 2) return 'udp';
  if (type === 3) return 'raw';
  return undefined;
}

export function ipFdName(e: FdEntry): string {
  const fmt = (ip: string | undefined, port: number | undefined) =>
    `${e.type === 'ipv6' ? `${ip ?? '::'}` : (ip ?? '0.0.0.0')}:${port ?? 0}`;
  if (!e.rport && (!e.rip || e.rip === '0.0.0.0' || e.rip === '::')) return fmt(e.lip, e.lport);
  // client->server
  if (e.isServer) return `${fmt(e.rip, e.rport)}->${fmt(e.lip, e.lport)}`;
  return `${fmt(e.lip, e.lport)}->${fmt(e.rip, e.rport)}`;
}
