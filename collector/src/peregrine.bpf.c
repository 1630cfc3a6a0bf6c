// SPDX-License-Identifier: GPL-2.0
/* peregrine collector: CO-RE eBPF programs (tp_btf only: no kprobes/fentry on
 * the target kernels). One ring buffer, batched wake-ups, per-CPU counters,
 * kernel-side syscall selection (sc_conf map) and exclusion of tgids. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define REC_SZ 16384
#define REC_LIMIT 8192 /* TLVs start below this offset; one TLV is at most 4100 bytes */
#define REC_MASK (REC_LIMIT - 1)
#define PATH_BUF 8192
#define PATH_MASK (PATH_BUF - 1)
#define MAX_STR 4096
#define AT_FDCWD_ -100
#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
/* Re-apply a mask the compiler would otherwise fold away, so the verifier sees the bound. */
#define BOUND(v, m) asm volatile("%[x] &= " #m : [x] "+r"(v))
static __always_inline __u32 msk(__u32 v) {
  BOUND(v, 8191);
  return v;
}

const volatile __u64 wakeup_bytes = 256 * 1024;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PG_MAX_SYSCALLS);
  __type(key, __u32);
  __type(value, struct pg_sc_conf);
} sc_conf SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u8);
} excluded SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pg_cpu_stats);
} stats SEC(".maps");

struct rec_buf {
  __u8 b[REC_SZ];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct rec_buf);
} rec_scratch SEC(".maps");

struct path_buf {
  __u8 b[PATH_BUF * 2];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct path_buf);
} path_scratch SEC(".maps");

/* kernfs_node.parent was renamed __parent in 6.15 */
struct kernfs_node___old {
  struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn) {
  if (bpf_core_field_exists(kn->__parent)) return BPF_CORE_READ(kn, __parent);
  struct kernfs_node___old *o = (void *)kn;
  return BPF_CORE_READ(o, parent);
}

static __always_inline int is_excluded(__u32 tgid) {
  return bpf_map_lookup_elem(&excluded, &tgid) != 0;
}

static __always_inline void fill_hdr(struct pg_hdr *h, __u16 kind, __u16 nr) {
  __u64 pt = bpf_get_current_pid_tgid();
  __u64 ug = bpf_get_current_uid_gid(); /* real ids; replaced by effective below */
  struct task_struct *t = bpf_get_current_task_btf();
  h->kind = kind;
  h->nr = nr;
  h->ts = bpf_ktime_get_boot_ns();
  h->tgid = pt >> 32;
  h->tid = (__u32)pt;
  h->uid = BPF_CORE_READ(t, cred, euid.val);
  h->gid = BPF_CORE_READ(t, cred, egid.val);
  (void)ug;
  h->cgroup_id = bpf_get_current_cgroup_id();
  h->ret = 0;
  for (int i = 0; i < 6; i++) h->args[i] = 0;
}

/* Append a TLV with `len` bytes copied from kernel memory. Returns the new offset. */
static __always_inline __u32 tlv_kernel(__u8 *rec, __u32 off, __u16 tag, const void *src, __u32 len) {
  if (off >= REC_LIMIT) return off;
  if (len > MAX_STR) len = MAX_STR;
  __u32 o = msk(off);
  *(__u16 *)&rec[o] = tag;
  *(__u16 *)&rec[msk(o + 2)] = (__u16)len;
  BOUND(len, 8191);
  if (bpf_probe_read_kernel(&rec[msk(o + 4)], len, src) < 0) return off;
  return off + 4 + len;
}

/* Append a TLV from a NUL-terminated string (user or kernel). */
static __always_inline __u32 tlv_str(__u8 *rec, __u32 off, __u16 tag, const void *src, int user) {
  if (off >= REC_LIMIT || !src) return off;
  __u32 o = msk(off);
  long n = user ? bpf_probe_read_user_str(&rec[msk(o + 4)], MAX_STR, src)
                : bpf_probe_read_kernel_str(&rec[msk(o + 4)], MAX_STR, src);
  if (n <= 0) return off;
  n -= 1; /* drop the NUL */
  *(__u16 *)&rec[o] = tag;
  *(__u16 *)&rec[msk(o + 2)] = (__u16)n;
  return off + 4 + (__u32)n;
}

/* ---- path resolution: dentry walk crossing mounts, in a bpf_loop callback ---- */
struct walk_ctx {
  struct dentry *d;
  struct mount *mnt;
  struct dentry *mnt_root;
  __u32 pos;
  __u32 done;
};

static long walk_cb(__u32 i, void *arg) {
  struct walk_ctx *c = arg;
  __u32 zero = 0;
  struct path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
  if (!pb) return 1;
  struct dentry *d = c->d;
  struct mount *mnt = c->mnt;
  struct dentry *mnt_root = c->mnt_root;
  struct dentry *parent = BPF_CORE_READ(d, d_parent);
  if (d == parent && d != mnt_root) {
    /* a pseudo dentry (memfd, anon inode): its own name is the whole path */
    struct qstr q0 = BPF_CORE_READ(d, d_name);
    __u32 l0 = q0.len;
    if (l0 > 255) l0 = 255;
    __u32 p0 = c->pos;
    if (p0 >= l0 + 1) {
      p0 -= l0;
      BOUND(l0, 255);
      bpf_probe_read_kernel(&pb->b[msk(p0)], l0, q0.name);
      p0 -= 1;
      pb->b[msk(p0)] = '/';
      c->pos = p0;
    }
    c->done = 1;
    return 1;
  }
  if (d == mnt_root) {
    struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
    if (mp == mnt) {
      c->done = 1;
      return 1;
    }
    c->d = BPF_CORE_READ(mnt, mnt_mountpoint);
    c->mnt = mp;
    c->mnt_root = BPF_CORE_READ(mp, mnt.mnt_root);
    return 0;
  }
  struct qstr q = BPF_CORE_READ(d, d_name);
  __u32 len = q.len;
  if (len > 255) len = 255;
  __u32 pos = c->pos;
  if (pos < len + 1) {
    c->done = 2;
    return 1;
  }
  pos -= len;
  BOUND(len, 255);
  bpf_probe_read_kernel(&pb->b[msk(pos)], len, q.name);
  pos -= 1;
  pb->b[msk(pos)] = '/';
  c->pos = pos;
  c->d = parent;
  return 0;
}

/* Resolve `p` into the path scratch; append it as a TLV. */
static __noinline __u32 tlv_path(__u8 *rec, __u32 off, __u16 tag, const struct path *p) {
  if (off >= REC_LIMIT || !p) return off;
  struct walk_ctx c = {};
  struct vfsmount *vm = BPF_CORE_READ(p, mnt);
  c.d = BPF_CORE_READ(p, dentry);
  if (!c.d || !vm) return off;
  c.mnt = container_of(vm, struct mount, mnt);
  c.mnt_root = BPF_CORE_READ(vm, mnt_root);
  c.pos = PATH_BUF - 1;
  bpf_loop(64, walk_cb, &c, 0);
  __u32 zero = 0;
  struct path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
  if (!pb) return off;
  __u32 pos = c.pos;
  __u32 len;
  if (pos >= PATH_BUF - 1) { /* the root itself */
    pos = PATH_BUF - 2;
    pb->b[msk(pos)] = '/';
  }
  len = (PATH_BUF - 1) - pos;
  if (len > MAX_STR) len = MAX_STR;
  __u32 o = msk(off);
  *(__u16 *)&rec[o] = tag;
  *(__u16 *)&rec[msk(o + 2)] = (__u16)len;
  BOUND(len, 8191);
  if (bpf_probe_read_kernel(&rec[msk(o + 4)], len, &pb->b[msk(pos)]) < 0)
    return off;
  return off + 4 + len;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd) {
  if (fd < 0 || fd > 1048576) return 0;
  struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
  unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
  if ((unsigned long)fd >= max) return 0;
  struct file *f = 0;
  bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
  return f;
}

static __noinline __u32 tlv_sock(__u8 *rec, __u32 off, struct file *f) {
  if (off >= REC_LIMIT) return off;
  struct socket *sock = BPF_CORE_READ(f, private_data);
  if (!sock) return off;
  struct sock *sk = BPF_CORE_READ(sock, sk);
  if (!sk) return off;
  struct pg_sock s = {};
  s.family = BPF_CORE_READ(sk, __sk_common.skc_family);
  s.type = BPF_CORE_READ(sk, sk_type);
  s.proto = BPF_CORE_READ(sk, sk_protocol);
  s.state = BPF_CORE_READ(sk, __sk_common.skc_state);
  s.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
  s.rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if (s.family == 2) {
    __u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(s.laddr, &l, 4);
    __builtin_memcpy(s.raddr, &r, 4);
  } else if (s.family == 10) {
    BPF_CORE_READ_INTO(&s.laddr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO(&s.raddr, sk, __sk_common.skc_v6_daddr);
  }
  __u32 o = msk(off);
  *(__u16 *)&rec[o] = PG_TAG_SOCK;
  *(__u16 *)&rec[msk(o + 2)] = sizeof(s);
  __builtin_memcpy(&rec[msk(o + 4)], &s, sizeof(s));
  return off + 4 + sizeof(s);
}

/* Resolve an fd: a socket gives its tuple, anything else its path and inode info. */
static __noinline __u32 tlv_fd(__u8 *rec, __u32 off, struct task_struct *t, long fd) {
  struct file *f = fd_file(t, fd);
  if (!f) return off;
  struct pg_fdinfo fi = {};
  fi.fd = (__u32)fd;
  fi.mode = BPF_CORE_READ(f, f_inode, i_mode);
  fi.flags = BPF_CORE_READ(f, f_flags);
  fi.ino = BPF_CORE_READ(f, f_inode, i_ino);
  fi.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
  if (off < REC_LIMIT) {
    __u32 o = msk(off);
    *(__u16 *)&rec[o] = PG_TAG_FDINFO;
    *(__u16 *)&rec[msk(o + 2)] = sizeof(fi);
    __builtin_memcpy(&rec[msk(o + 4)], &fi, sizeof(fi));
    off += 4 + sizeof(fi);
  }
  if ((fi.mode & S_IFMT_) == S_IFSOCK_) return tlv_sock(rec, off, f);
  return tlv_path(rec, off, PG_TAG_FDPATH, &f->f_path);
}

static __always_inline __u64 reg_arg(struct pt_regs *regs, int i) {
  switch (i) {
  case 0: return regs->di;
  case 1: return regs->si;
  case 2: return regs->dx;
  case 3: return regs->r10;
  case 4: return regs->r8;
  default: return regs->r9;
  }
}

static __always_inline void emit(__u8 *rec, __u32 off) {
  __u32 zero = 0;
  struct pg_cpu_stats *st = bpf_map_lookup_elem(&stats, &zero);
  if (off > REC_SZ - 1) off = REC_SZ - 1;
  if (off >= REC_LIMIT && st) st->truncated++;
  ((struct pg_hdr *)rec)->len = off;
  __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  __u64 flags = avail + off >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
  BOUND(off, 16383);
  long err = bpf_ringbuf_output(&events, rec, off, flags);
  if (!st) return;
  if (err) st->drops++;
  else st->emitted++;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret) {
  __u32 nr = (__u32)regs->orig_ax;
  if (nr >= PG_MAX_SYSCALLS) return 0;
  struct pg_sc_conf *c = bpf_map_lookup_elem(&sc_conf, &nr);
  if (!c || !c->enabled) return 0;
  if ((c->flags & PG_SC_SKIP_SUCCESS) && ret == 0) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (is_excluded(tgid)) return 0;
  __u32 zero = 0;
  struct rec_buf *rb = bpf_map_lookup_elem(&rec_scratch, &zero);
  if (!rb) return 0;
  __u8 *rec = rb->b;
  struct pg_hdr *h = (struct pg_hdr *)rec;
  fill_hdr(h, PG_KIND_SYSCALL, nr);
  h->ret = ret;
  h->args[0] = regs->di;
  h->args[1] = regs->si;
  h->args[2] = regs->dx;
  h->args[3] = regs->r10;
  h->args[4] = regs->r8;
  h->args[5] = regs->r9;
  __u32 off = PG_HDR_SIZE;
  struct task_struct *t = bpf_get_current_task_btf();

  for (int k = 0; k < 3; k++) {
    __u8 a = c->str[k];
    if (a < 1 || a > 6) continue;
    const char *s = (const char *)reg_arg(regs, a - 1);
    if (!s) continue;
    __u32 before = off;
    off = tlv_str(rec, off, PG_TAG_STR0 + k, s, 1);
    __u8 dfa = c->dirfd[k];
    if (dfa == 0 || off == before) continue;
    char first = 0;
    bpf_probe_read_user(&first, 1, s);
    if (first == '/') continue;
    if (dfa == PG_DIR_CWD) {
      off = tlv_path(rec, off, PG_TAG_BASE0 + k, &t->fs->pwd);
    } else if (dfa >= 1 && dfa <= 6) {
      long dfd = (int)reg_arg(regs, dfa - 1);
      if (dfd == AT_FDCWD_) {
        off = tlv_path(rec, off, PG_TAG_BASE0 + k, &t->fs->pwd);
      } else {
        struct file *f = fd_file(t, dfd);
        if (f) off = tlv_path(rec, off, PG_TAG_BASE0 + k, &f->f_path);
      }
    }
  }

  __u8 fs = c->fd_src;
  if (fs == PG_FD_RET) {
    if (ret >= 0) off = tlv_fd(rec, off, t, ret);
  } else if (fs == PG_FD_CWD) {
    if (ret == 0) off = tlv_path(rec, off, PG_TAG_FDPATH, &t->fs->pwd);
  } else if (fs >= 1 && fs <= 6) {
    off = tlv_fd(rec, off, t, (int)reg_arg(regs, fs - 1));
  }

  if (c->sa_arg >= 1 && c->sa_arg <= 6 && off < REC_LIMIT) {
    const void *sa = (const void *)reg_arg(regs, c->sa_arg - 1);
    __u32 salen = 0;
    __u8 la = c->sa_len & 0x7f;
    if (la >= 1 && la <= 6) {
      __u64 v = reg_arg(regs, la - 1);
      if (c->sa_len & PG_LEN_PTR) bpf_probe_read_user(&salen, 4, (void *)v);
      else salen = (__u32)v;
    }
    if (sa && salen > 0) {
      if (salen > 128) salen = 128;
      BOUND(salen, 255);
      __u32 o = msk(off);
      if (bpf_probe_read_user(&rec[msk(o + 4)], salen, sa) == 0) {
        *(__u16 *)&rec[o] = PG_TAG_SADDR;
        *(__u16 *)&rec[msk(o + 2)] = (__u16)salen;
        off += 4 + salen;
      }
    }
  }

  if (c->msg_arg >= 1 && c->msg_arg <= 6 && off < REC_LIMIT) {
    struct user_msghdr m = {};
    if (bpf_probe_read_user(&m, sizeof(m), (void *)reg_arg(regs, c->msg_arg - 1)) == 0 && m.msg_name &&
        m.msg_namelen > 0) {
      __u32 salen = m.msg_namelen;
      if (salen > 128) salen = 128;
      BOUND(salen, 255);
      __u32 o = msk(off);
      if (bpf_probe_read_user(&rec[msk(o + 4)], salen, m.msg_name) == 0) {
        *(__u16 *)&rec[o] = PG_TAG_SADDR;
        *(__u16 *)&rec[msk(o + 2)] = (__u16)salen;
        off += 4 + salen;
      }
    }
  }

  if ((c->flags & PG_SC_OPENHOW) && off < REC_LIMIT) {
    __u64 how[3] = {};
    if (bpf_probe_read_user(how, sizeof(how), (void *)regs->dx) == 0) {
      __u32 o = msk(off);
      *(__u16 *)&rec[o] = PG_TAG_OPENHOW;
      *(__u16 *)&rec[msk(o + 2)] = sizeof(how);
      __builtin_memcpy(&rec[msk(o + 4)], how, sizeof(how));
      off += 4 + sizeof(how);
    }
  }
  emit(rec, off);
  return 0;
}

static __always_inline __u32 task_vpid(struct task_struct *t, int thread) {
  struct pid *p = thread ? BPF_CORE_READ(t, thread_pid) : BPF_CORE_READ(t, signal, pids[PIDTYPE_TGID]);
  if (!p) return 0;
  unsigned int level = BPF_CORE_READ(p, level);
  struct upid up = {};
  bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[level & 31]);
  return up.nr;
}

static __always_inline __u32 cgroup_path(__u8 *rec, __u32 off, struct task_struct *t) {
  struct kernfs_node *kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
  struct kernfs_node *chain[12] = {};
  int n = 0;
#pragma unroll
  for (int i = 0; i < 12; i++) {
    if (!kn) break;
    struct kernfs_node *p = kn_parent(kn);
    if (!p) break; /* the root has no name */
    chain[i] = kn;
    n = i + 1;
    kn = p;
  }
  if (off >= REC_LIMIT) return off;
  __u32 start = off;
  __u32 pos = off + 4;
  if (n == 0) {
    rec[msk(pos)] = '/';
    pos++;
  }
#pragma unroll
  for (int i = 11; i >= 0; i--) {
    if (i >= n) continue;
    if (pos - start > 3800) break;
    rec[msk(pos)] = '/';
    pos++;
    const char *name = BPF_CORE_READ(chain[i], name);
    long l = bpf_probe_read_kernel_str(&rec[msk(pos)], 256, name);
    if (l > 0) pos += l - 1;
  }
  __u32 o = msk(start);
  *(__u16 *)&rec[o] = PG_TAG_CGROUP;
  *(__u16 *)&rec[msk(o + 2)] = (__u16)(pos - start - 4);
  return pos;
}

static __always_inline __u64 cap64(kernel_cap_t c) {
  __u64 v = 0;
  __builtin_memcpy(&v, &c, sizeof(v) < sizeof(c) ? sizeof(v) : sizeof(c));
  return v;
}

static __always_inline __u32 tty_dev(struct task_struct *t) {
  struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
  if (!tty) return 0;
  int index = BPF_CORE_READ(tty, index);
  int major = BPF_CORE_READ(tty, driver, major);
  int minor = BPF_CORE_READ(tty, driver, minor_start) + index;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (is_excluded(tgid)) return 0;
  __u32 zero = 0;
  struct rec_buf *rb = bpf_map_lookup_elem(&rec_scratch, &zero);
  if (!rb) return 0;
  __u8 *rec = rb->b;
  struct pg_hdr *h = (struct pg_hdr *)rec;
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);
  __u16 nr = regs ? (__u16)BPF_CORE_READ(regs, orig_ax) : 59;
  fill_hdr(h, PG_KIND_EXEC, nr);
  __u32 off = PG_HDR_SIZE;

  struct pg_procinfo pi = {};
  pi.ppid = BPF_CORE_READ(p, real_parent, tgid);
  pi.ruid = BPF_CORE_READ(p, cred, uid.val);
  pi.rgid = BPF_CORE_READ(p, cred, gid.val);
  pi.loginuid = BPF_CORE_READ(p, loginuid.val);
  pi.tty = tty_dev(p);
  pi.vpid = task_vpid(p, 0);
  pi.vtid = task_vpid(p, 1);
  struct pid *sp = BPF_CORE_READ(p, signal, pids[PIDTYPE_SID]);
  pi.sid = BPF_CORE_READ(sp, numbers[0].nr);
  struct pid *gp = BPF_CORE_READ(p, signal, pids[PIDTYPE_PGID]);
  pi.pgid = BPF_CORE_READ(gp, numbers[0].nr);
  struct pid *tp = BPF_CORE_READ(p, thread_pid);
  unsigned int level = BPF_CORE_READ(tp, level);
  struct upid up = {};
  bpf_probe_read_kernel(&up, sizeof(up), &tp->numbers[level & 31]);
  pi.pidns = BPF_CORE_READ(up.ns, ns.inum);
  pi.mntns = BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum);
  pi.netns = BPF_CORE_READ(p, nsproxy, net_ns, ns.inum);
  pi.cap_eff = cap64(BPF_CORE_READ(p, cred, cap_effective));
  pi.cap_prm = cap64(BPF_CORE_READ(p, cred, cap_permitted));
  pi.cap_inh = cap64(BPF_CORE_READ(p, cred, cap_inheritable));
  struct file *exe = BPF_CORE_READ(bprm, file);
  pi.exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
  pi.exe_mode = BPF_CORE_READ(exe, f_inode, i_mode);
  pi.exe_uid = BPF_CORE_READ(exe, f_inode, i_uid.val);
  pi.exe_gid = BPF_CORE_READ(exe, f_inode, i_gid.val);
  pi.exe_nlink = BPF_CORE_READ(exe, f_inode, __i_nlink);
  pi.start_ns = BPF_CORE_READ(p, start_time);
  {
    struct inode *ino = BPF_CORE_READ(exe, f_inode);
    if (bpf_core_field_exists(ino->i_mtime_sec)) {
      pi.exe_mtime_ns = (__u64)BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_mtime_nsec);
      pi.exe_ctime_ns = (__u64)BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_ctime_nsec);
    }
    unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
    if (magic == 0x794c7630 /* OVERLAYFS_SUPER_MAGIC */) {
      struct ovl_inode *ovl = container_of(ino, struct ovl_inode, vfs_inode);
      struct dentry *upper = BPF_CORE_READ(ovl, __upperdentry);
      pi.exe_flags = upper ? PG_EXE_UPPER : PG_EXE_LOWER;
    }
  }
  {
    __u32 o = msk(off);
    *(__u16 *)&rec[o] = PG_TAG_PROCINFO;
    *(__u16 *)&rec[msk(o + 2)] = sizeof(pi);
    __builtin_memcpy(&rec[msk(o + 4)], &pi, sizeof(pi));
    off += 4 + sizeof(pi);
  }
  off = tlv_str(rec, off, PG_TAG_COMM, p->comm, 0);
  off = tlv_str(rec, off, PG_TAG_FILENAME, BPF_CORE_READ(bprm, filename), 0);
  off = tlv_path(rec, off, PG_TAG_EXE, &exe->f_path);
  off = tlv_path(rec, off, PG_TAG_CWD, &p->fs->pwd);
  off = cgroup_path(rec, off, p);
  if (off < REC_LIMIT) {
    unsigned long as = BPF_CORE_READ(p, mm, arg_start);
    unsigned long ae = BPF_CORE_READ(p, mm, arg_end);
    __u32 len = ae > as ? ae - as : 0;
    if (len > MAX_STR) len = MAX_STR;
    __u32 o = msk(off);
    BOUND(len, 8191);
    if (len > 0 && bpf_probe_read_user(&rec[msk(o + 4)], len, (void *)as) == 0) {
      *(__u16 *)&rec[o] = PG_TAG_ARGV;
      *(__u16 *)&rec[msk(o + 2)] = (__u16)len;
      off += 4 + len;
    }
  }
  if (off < REC_LIMIT) {
    unsigned long es = BPF_CORE_READ(p, mm, env_start);
    unsigned long ee = BPF_CORE_READ(p, mm, env_end);
    __u32 len = ee > es ? ee - es : 0;
    if (len > MAX_STR) len = MAX_STR;
    __u32 o = msk(off);
    BOUND(len, 8191);
    if (len > 0 && bpf_probe_read_user(&rec[msk(o + 4)], len, (void *)es) == 0) {
      *(__u16 *)&rec[o] = PG_TAG_ENV;
      *(__u16 *)&rec[msk(o + 2)] = (__u16)len;
      off += 4 + len;
    }
  }
  emit(rec, off);
  return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  /* Forks of excluded processes are still reported (rare, cheap): their children are
   * not excluded, and without the fork record their first events would be attributed
   * through a late /proc read. */
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u32 zero = 0;
  struct rec_buf *rb = bpf_map_lookup_elem(&rec_scratch, &zero);
  if (!rb) return 0;
  __u8 *rec = rb->b;
  struct pg_hdr *h = (struct pg_hdr *)rec;
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(parent);
  __u16 nr = regs ? (__u16)BPF_CORE_READ(regs, orig_ax) : 56;
  fill_hdr(h, PG_KIND_FORK, nr);
  struct pg_forkinfo fi = {};
  fi.child_tgid = BPF_CORE_READ(child, tgid);
  fi.child_tid = BPF_CORE_READ(child, pid);
  fi.child_vpid = task_vpid(child, 0);
  fi.child_vtid = task_vpid(child, 1);
  fi.flags = fi.child_tgid == tgid ? 1 : 0;
  h->ret = fi.child_tid;
  __u32 off = PG_HDR_SIZE;
  __u32 o = msk(off);
  *(__u16 *)&rec[o] = PG_TAG_FORKINFO;
  *(__u16 *)&rec[msk(o + 2)] = sizeof(fi);
  __builtin_memcpy(&rec[msk(o + 4)], &fi, sizeof(fi));
  off += 4 + sizeof(fi);
  off = tlv_str(rec, off, PG_TAG_COMM, parent->comm, 0);
  emit(rec, off);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead) {
  if (!group_dead) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (is_excluded(tgid)) return 0;
  __u32 zero = 0;
  struct rec_buf *rb = bpf_map_lookup_elem(&rec_scratch, &zero);
  if (!rb) return 0;
  __u8 *rec = rb->b;
  struct pg_hdr *h = (struct pg_hdr *)rec;
  fill_hdr(h, PG_KIND_EXIT, 0);
  struct pg_exitinfo ei = {};
  ei.exit_code = BPF_CORE_READ(p, exit_code);
  if (ei.exit_code == 0) ei.exit_code = BPF_CORE_READ(p, signal, group_exit_code);
  ei.flags = 1;
  h->ret = ei.exit_code;
  __u32 off = PG_HDR_SIZE;
  __u32 o = msk(off);
  *(__u16 *)&rec[o] = PG_TAG_EXITINFO;
  *(__u16 *)&rec[msk(o + 2)] = sizeof(ei);
  __builtin_memcpy(&rec[msk(o + 4)], &ei, sizeof(ei));
  off += 4 + sizeof(ei);
  emit(rec, off);
  return 0;
}
