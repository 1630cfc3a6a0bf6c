/* peregrine collector: record layout shared by the eBPF programs and the loader.
 *
 * Every record is a frame: a fixed 96-byte header (struct pg_hdr), then zero or
 * more TLVs (u16 tag, u16 len, len bytes; no padding, strings without NUL).
 * All integers are little-endian. `len` in the header is the size of the whole
 * frame, header included. docs/syscall-source.md documents the layout. */
#ifndef PEREGRINE_EVENTS_H
#define PEREGRINE_EVENTS_H

#define PG_FRAME_VERSION 1

/* header.kind */
#define PG_KIND_SYSCALL 1 /* a selected syscall returned (sys_exit) */
#define PG_KIND_EXEC 2    /* sched_process_exec: a successful execve/execveat */
#define PG_KIND_FORK 3    /* sched_process_fork: a new process or thread */
#define PG_KIND_EXIT 4    /* sched_process_exit with group_dead: the process is gone */
#define PG_KIND_STATS 5   /* loader: per-second counters (drops …) */
#define PG_KIND_HELLO 6   /* loader: first frame; key=value lines (syscall table, version) */

/* TLV tags */
#define PG_TAG_STR0 1      /* user string argument #0 of the syscall's string slots */
#define PG_TAG_STR1 2
#define PG_TAG_STR2 3
#define PG_TAG_BASE0 4     /* absolute base directory for a relative STR0 (dirfd or cwd) */
#define PG_TAG_BASE1 5
#define PG_TAG_BASE2 6
#define PG_TAG_FDPATH 7    /* absolute path of the resolved fd (or new cwd for chdir) */
#define PG_TAG_FDINFO 8    /* struct pg_fdinfo for the resolved fd */
#define PG_TAG_SOCK 9      /* struct pg_sock: socket tuple of the resolved fd */
#define PG_TAG_SADDR 10    /* raw struct sockaddr bytes passed by user space */
#define PG_TAG_OPENHOW 11  /* openat2: struct open_how (flags, mode, resolve: 3 x u64) */
#define PG_TAG_FILENAME 12 /* exec: filename as passed */
#define PG_TAG_EXE 13      /* exec: absolute path of the executable file */
#define PG_TAG_CWD 14      /* exec: absolute cwd */
#define PG_TAG_ARGV 15     /* exec: argv, NUL-separated */
#define PG_TAG_CGROUP 16   /* exec: cgroup v2 path of the task ("/a/b") */
#define PG_TAG_COMM 17     /* exec, fork: task comm */
#define PG_TAG_PROCINFO 18 /* exec: struct pg_procinfo */
#define PG_TAG_FORKINFO 19 /* fork: struct pg_forkinfo */
#define PG_TAG_EXITINFO 20 /* exit: struct pg_exitinfo */
#define PG_TAG_STATS 21    /* stats: struct pg_stats + ncpu x u64 per-CPU drops */
#define PG_TAG_HELLO 22    /* hello: text, key=value lines */
#define PG_TAG_ENV 23      /* exec: environment, NUL-separated (first 4 KiB) */

#define PG_HDR_SIZE 96

struct pg_hdr {
  __u32 len;         /* whole frame */
  __u16 kind;
  __u16 nr;          /* syscall number (x86_64); for exec/fork the syscall that caused it */
  __u64 ts;          /* ns since the Unix epoch (the loader converts from boot time) */
  __u32 tgid;        /* process id */
  __u32 tid;         /* thread id */
  __u32 uid;         /* effective uid */
  __u32 gid;         /* effective gid */
  __u64 cgroup_id;   /* cgroup v2 id */
  __s64 ret;         /* syscall return value */
  __u64 args[6];     /* raw syscall arguments (int args zero-extended) */
};

struct pg_fdinfo {
  __u32 fd;
  __u32 mode;   /* inode i_mode */
  __u32 flags;  /* file f_flags */
  __u32 dev;    /* s_dev of the superblock */
  __u64 ino;
};

struct pg_sock {
  __u16 family;
  __u16 type;   /* SOCK_STREAM=1, SOCK_DGRAM=2 … */
  __u16 proto;  /* IPPROTO_TCP=6, UDP=17 … */
  __u16 lport;  /* host byte order */
  __u16 rport;
  __u16 state;  /* sk state */
  __u8 laddr[16]; /* IPv4 in the first 4 bytes */
  __u8 raddr[16];
};

struct pg_procinfo {
  __u32 ppid;
  __u32 ruid;
  __u32 rgid;
  __u32 loginuid;
  __u32 tty;    /* encoded dev_t of the controlling terminal, 0 if none */
  __u32 vpid;
  __u32 vtid;
  __u32 sid;
  __u32 pgid;
  __u32 pidns;
  __u32 mntns;
  __u32 netns;
  __u64 cap_eff;
  __u64 cap_prm;
  __u64 cap_inh;
  __u64 exe_ino;
  __u32 exe_mode;
  __u32 exe_uid;
  __u32 exe_gid;
  __u32 exe_nlink;
  __u64 start_ns; /* task start (boot-based ns) */
  __u32 exe_flags; /* PG_EXE_* */
  __u32 pad;
  __u64 exe_mtime_ns; /* executable inode mtime, ns since the epoch (0 if unknown) */
  __u64 exe_ctime_ns; /* executable inode ctime */
};

#define PG_EXE_UPPER 1 /* executable is in an overlayfs upper layer (written in the container) */
#define PG_EXE_LOWER 2 /* executable is in an overlayfs lower layer (from the image) */

struct pg_forkinfo {
  __u32 child_tgid;
  __u32 child_tid;
  __u32 child_vpid;
  __u32 child_vtid;
  __u32 flags; /* bit 0: thread (CLONE_THREAD) */
  __u32 pad;
};

struct pg_exitinfo {
  __s32 exit_code; /* raw task exit_code: status << 8 | signal */
  __u32 flags;
};

struct pg_stats {
  __u64 interval_ns;
  __u64 emitted;      /* records written by the kernel, cumulative */
  __u64 drops;        /* ring-buffer reserve failures, cumulative */
  __u64 drops_delta;  /* since the previous stats frame */
  __u64 truncated;    /* records cut short because the scratch space was full */
  __u32 ncpu;
  __u32 pad;
  /* followed by ncpu x u64: cumulative drops per CPU */
};

/* Per-syscall configuration (array map indexed by syscall nr). */
#define PG_ARG(i) ((i) + 1)
#define PG_FD_RET 7
#define PG_FD_CWD 9   /* resolve the task's cwd after the call (chdir/fchdir) */
#define PG_DIR_CWD 8  /* relative path is relative to the cwd */
#define PG_LEN_PTR 0x80

#define PG_SC_SKIP_SUCCESS 1 /* execve/execveat: success is reported by the exec record */
#define PG_SC_OPENHOW 2      /* openat2: read struct open_how at arg 2 */

struct pg_sc_conf {
  __u8 enabled;
  __u8 fd_src;   /* 0 none; PG_ARG(i); PG_FD_RET; PG_FD_CWD */
  __u8 sa_arg;   /* PG_ARG(i) of a user sockaddr */
  __u8 sa_len;   /* PG_ARG(i) holding its length; | PG_LEN_PTR when it is a socklen_t * */
  __u8 str[3];   /* PG_ARG(i) of user strings */
  __u8 dirfd[3]; /* PG_ARG(i) of the dirfd for str[k]; PG_DIR_CWD; 0 = not a path */
  __u8 msg_arg;  /* PG_ARG(i) of a struct msghdr * (sendmsg) */
  __u8 flags;
};

struct pg_cpu_stats {
  __u64 emitted;
  __u64 drops;
  __u64 truncated;
};

#define PG_MAX_SYSCALLS 512

#endif
