/**
 * Users and groups by id, from the host's /etc/passwd and /etc/group and, for a
 * process in a container, from the container's own files through /proc/<pid>/root.
 * Cached per root (host or container id), re-read when older than `ttlMs`.
 */
import { readFileSync } from 'node:fs';

export interface UserEntry {
  uid: number;
  name: string;
  homedir: string;
  shell: string;
}
export interface GroupEntry {
  gid: number;
  name: string;
}

interface Db {
  users: Map<number, UserEntry>;
  groups: Map<number, GroupEntry>;
  loadedAt: number;
}

export function parsePasswd(text: string): Map<number, UserEntry> {
  const m = new Map<number, UserEntry>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    if (!Number.isInteger(uid) || uid < 0) continue;
    if (!m.has(uid)) m.set(uid, { uid, name: f[0]!, homedir: f[5]!, shell: f[6]! });
  }
  return m;
}

export function parseGroup(text: string): Map<number, GroupEntry> {
  const m = new Map<number, GroupEntry>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid) || gid < 0) continue;
    if (!m.has(gid)) m.set(gid, { gid, name: f[0]! });
  }
  return m;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface UserDbOptions {
  /** Host root (tests point this at a fixture directory). Default '/'. */
  hostRoot?: string;
  procRoot?: string;
  ttlMs?: number;
  maxRoots?: number;
}

export class UserDb {
  private readonly dbs = new Map<string, Db>();
  private readonly hostRoot: string;
  private readonly procRoot: string;
  private readonly ttlMs: number;
  private readonly maxRoots: number;

  constructor(opts: UserDbOptions = {}) {
    this.hostRoot = (opts.hostRoot ?? '/').replace(/\/$/, '');
    this.procRoot = opts.procRoot ?? '/proc';
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxRoots = opts.maxRoots ?? 512;
  }

  /**
   * `containerId` '' = host; otherwise the files are read through /proc/<pid>/root, trying
   * each of `pids` (the process, then e.g. the container's init) until one is readable.
   */
  private db(containerId: string, pids: readonly number[]): Db {
    const key = containerId || 'host';
    const now = Date.now();
    const cur = this.dbs.get(key);
    if (cur && now - cur.loadedAt < (cur.users.size || cur.groups.size ? this.ttlMs : 1000)) return cur;
    let passwd = '';
    let group = '';
    for (const root of containerId
      ? pids.filter((p) => p > 0).map((p) => `${this.procRoot}/${p}/root`)
      : [this.hostRoot]) {
      passwd = readOr(`${root}/etc/passwd`);
      group = readOr(`${root}/etc/group`);
      if (passwd !== '' || group !== '') break;
    }
    // A container whose processes are gone keeps its last known tables.
    if (cur && passwd === '' && group === '') {
      cur.loadedAt = now;
      return cur;
    }
    const db = { users: parsePasswd(passwd), groups: parseGroup(group), loadedAt: now };
    this.dbs.delete(key);
    this.dbs.set(key, db);
    while (this.dbs.size > this.maxRoots) {
      const k = this.dbs.keys().next().value;
      if (k === undefined) break;
      this.dbs.delete(k);
    }
    return db;
  }

  /** `pid`: the process (its root is the container's); `fallbackPids`: other live processes of it. */
  user(uid: number, containerId: string, pid: number, ...fallbackPids: number[]): UserEntry | undefined {
    return this.db(containerId, [pid, ...fallbackPids]).users.get(uid);
  }
  group(gid: number, containerId: string, pid: number, ...fallbackPids: number[]): GroupEntry | undefined {
    return this.db(containerId, [pid, ...fallbackPids]).groups.get(gid);
  }
  get size(): number {
    return this.dbs.size;
  }
}
