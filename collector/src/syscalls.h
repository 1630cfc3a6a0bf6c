/* Syscalls the collector knows how to decode (x86_64 numbers from <asm/unistd_64.h>),
 * with the per-syscall decoding configuration the eBPF program applies. */
#ifndef PEREGRINE_SYSCALLS_H
#define PEREGRINE_SYSCALLS_H
#include <asm/unistd_64.h>
#include "events.h"

struct pg_sc_def {
  const char *name;
  int nr;
  struct pg_sc_conf conf;
};

#define A PG_ARG
#define CWD PG_DIR_CWD
#define RET PG_FD_RET
#define SC(n, ...) {#n, __NR_##n, {.enabled = 1, __VA_ARGS__}}

static const struct pg_sc_def pg_syscalls[] = {
  /* files */
  SC(open, .str = {A(0)}, .dirfd = {CWD}, .fd_src = RET),
  SC(openat, .str = {A(1)}, .dirfd = {A(0)}, .fd_src = RET),
  SC(openat2, .str = {A(1)}, .dirfd = {A(0)}, .fd_src = RET, .flags = PG_SC_OPENHOW),
  SC(creat, .str = {A(0)}, .dirfd = {CWD}, .fd_src = RET),
  SC(close),
  SC(rename, .str = {A(0), A(1)}, .dirfd = {CWD, CWD}),
  SC(renameat, .str = {A(1), A(3)}, .dirfd = {A(0), A(2)}),
  SC(renameat2, .str = {A(1), A(3)}, .dirfd = {A(0), A(2)}),
  SC(unlink, .str = {A(0)}, .dirfd = {CWD}),
  SC(unlinkat, .str = {A(1)}, .dirfd = {A(0)}),
  SC(mkdir, .str = {A(0)}, .dirfd = {CWD}),
  SC(mkdirat, .str = {A(1)}, .dirfd = {A(0)}),
  SC(rmdir, .str = {A(0)}, .dirfd = {CWD}),
  SC(link, .str = {A(0), A(1)}, .dirfd = {CWD, CWD}),
  SC(linkat, .str = {A(1), A(3)}, .dirfd = {A(0), A(2)}),
  SC(symlink, .str = {A(0), A(1)}, .dirfd = {0, CWD}),
  SC(symlinkat, .str = {A(0), A(2)}, .dirfd = {0, A(1)}),
  SC(chmod, .str = {A(0)}, .dirfd = {CWD}),
  SC(fchmod, .fd_src = A(0)),
  SC(fchmodat, .str = {A(1)}, .dirfd = {A(0)}),
#ifdef __NR_fchmodat2
  SC(fchmodat2, .str = {A(1)}, .dirfd = {A(0)}),
#endif
  SC(chown, .str = {A(0)}, .dirfd = {CWD}),
  SC(lchown, .str = {A(0)}, .dirfd = {CWD}),
  SC(fchown, .fd_src = A(0)),
  SC(fchownat, .str = {A(1)}, .dirfd = {A(0)}),
  SC(truncate, .str = {A(0)}, .dirfd = {CWD}),
  SC(chdir, .str = {A(0)}, .fd_src = PG_FD_CWD),
  SC(fchdir, .fd_src = PG_FD_CWD),
  SC(chroot, .str = {A(0)}, .dirfd = {CWD}),
  SC(dup, .fd_src = RET),
  SC(dup2, .fd_src = RET),
  SC(dup3, .fd_src = RET),
  /* network */
  SC(socket, .fd_src = RET),
  SC(connect, .fd_src = A(0), .sa_arg = A(1), .sa_len = A(2)),
  SC(accept, .fd_src = RET),
  SC(accept4, .fd_src = RET),
  SC(bind, .fd_src = A(0), .sa_arg = A(1), .sa_len = A(2)),
  SC(listen, .fd_src = A(0)),
  SC(sendto, .fd_src = A(0), .sa_arg = A(4), .sa_len = A(5)),
  SC(sendmsg, .fd_src = A(0), .msg_arg = A(1)),
  /* credentials */
  SC(setuid), SC(setgid), SC(setreuid), SC(setregid), SC(setresuid), SC(setresgid),
  SC(setfsuid), SC(setfsgid),
  /* processes, namespaces, kernel */
  SC(ptrace),
  SC(kill), SC(tkill), SC(tgkill),
  SC(mount, .str = {A(0), A(1), A(2)}, .dirfd = {0, CWD, 0}),
  SC(umount2, .str = {A(0)}, .dirfd = {CWD}),
  SC(unshare),
  SC(setns, .fd_src = A(0)),
  SC(memfd_create, .str = {A(0)}, .fd_src = RET),
  SC(init_module, .str = {A(2)}),
  SC(finit_module, .fd_src = A(0), .str = {A(1)}),
  SC(bpf),
  SC(execve, .str = {A(0)}, .dirfd = {CWD}, .flags = PG_SC_SKIP_SUCCESS),
  SC(execveat, .str = {A(1)}, .dirfd = {A(0)}, .flags = PG_SC_SKIP_SUCCESS),
  SC(prctl),
  /* names only (for exec/fork records): header-only records if selected */
  SC(clone), SC(clone3), SC(fork), SC(vfork),
};

#undef A
#undef CWD
#undef RET
#undef SC

#define PG_NSYSCALLS (sizeof(pg_syscalls) / sizeof(pg_syscalls[0]))
#endif
