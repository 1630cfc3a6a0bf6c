// SPDX-License-Identifier: Apache-2.0
/* peregrine-collector: loads the eBPF programs, selects syscalls in the kernel,
 * excludes the agent's tgids, drains the ring buffer with batched wake-ups and
 * writes length-prefixed binary frames (or JSON lines) to stdout. A stats frame
 * with the per-CPU drop counters is written every --stats-ms (default 1 s).
 * Usage: peregrine-collector --help */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "syscalls.h"
#include "peregrine.skel.h"

enum mode { MODE_BIN, MODE_JSON, MODE_COUNT };

static volatile sig_atomic_t stopping;
static enum mode mode = MODE_BIN;
static int64_t boot_offset_ns;
static int ncpu;

/* ---- buffered stdout ---- */
static char *obuf;
static size_t olen, ocap = 4 << 20;

static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("peregrine-collector: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(code);
}

static void oflush(void) {
  size_t done = 0;
  while (done < olen) {
    ssize_t n = write(1, obuf + done, olen - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) { stopping = 1; olen = 0; return; }
      die(1, "write stdout: %s", strerror(errno));
    }
    done += (size_t)n;
  }
  olen = 0;
}

static void oreserve(size_t n) {
  if (olen + n > ocap) oflush();
}
static void oput(const void *p, size_t n) {
  oreserve(n);
  memcpy(obuf + olen, p, n);
  olen += n;
}
static void ostr(const char *s) { oput(s, strlen(s)); }
static void ofmt(const char *fmt, ...) {
  oreserve(512);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(obuf + olen, ocap - olen, fmt, ap);
  va_end(ap);
  if (n > 0) olen += (size_t)n < ocap - olen ? (size_t)n : ocap - olen - 1;
}
static void ojstr(const uint8_t *s, size_t n) {
  oreserve(n * 6 + 2);
  char *o = obuf + olen;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = (char)c; }
    else if (c < 0x20 || c >= 0x7f) { o += sprintf(o, "\\u%04x", c); }
    else *o++ = (char)c;
  }
  *o++ = '"';
  olen = (size_t)(o - obuf);
}

/* ---- syscall table ---- */
static const char *sc_name(int nr) {
  for (size_t i = 0; i < PG_NSYSCALLS; i++)
    if (pg_syscalls[i].nr == nr) return pg_syscalls[i].name;
  return NULL;
}
static const struct pg_sc_def *sc_by_name(const char *n) {
  for (size_t i = 0; i < PG_NSYSCALLS; i++)
    if (strcmp(pg_syscalls[i].name, n) == 0) return &pg_syscalls[i];
  return NULL;
}
/* Covered by the exec/fork records (always on): never enabled at sys_exit. */
static int covered_by_proc_records(const char *n) {
  return !strcmp(n, "clone") || !strcmp(n, "clone3") || !strcmp(n, "fork") || !strcmp(n, "vfork");
}

/* ---- JSON rendering of one frame ---- */
static void json_ip(int fam, const uint8_t *a) {
  char s[INET6_ADDRSTRLEN] = "";
  inet_ntop(fam == 2 ? AF_INET : AF_INET6, a, s, sizeof(s));
  ostr("\""); ostr(s); ostr("\"");
}

static void json_frame(const uint8_t *p, uint32_t len) {
  const struct pg_hdr *h = (const void *)p;
  static const char *kinds[] = {"?", "syscall", "exec", "fork", "exit", "stats", "hello"};
  const char *name = sc_name(h->nr);
  ofmt("{\"kind\":\"%s\",\"nr\":%u,", h->kind < 7 ? kinds[h->kind] : "?", h->nr);
  if (name) { ostr("\"name\":\""); ostr(name); ostr("\","); }
  ofmt("\"ts\":%llu,\"tgid\":%u,\"tid\":%u,\"uid\":%u,\"gid\":%u,\"cgroup_id\":%llu,\"ret\":%lld,\"args\":[",
       (unsigned long long)h->ts, h->tgid, h->tid, h->uid, h->gid, (unsigned long long)h->cgroup_id,
       (long long)h->ret);
  for (int i = 0; i < 6; i++) ofmt(i ? ",%llu" : "%llu", (unsigned long long)h->args[i]);
  ostr("]");
  static const char *tags[] = {"?", "str0", "str1", "str2", "base0", "base1", "base2", "fdpath", "fdinfo",
                               "sock", "saddr", "openhow", "filename", "exe", "cwd", "argv", "cgroup",
                               "comm", "procinfo", "forkinfo", "exitinfo", "stats", "hello", "env"};
  uint32_t off = PG_HDR_SIZE;
  while (off + 4 <= len) {
    uint16_t tag, tl;
    memcpy(&tag, p + off, 2);
    memcpy(&tl, p + off + 2, 2);
    const uint8_t *v = p + off + 4;
    if (off + 4 + tl > len) break;
    ofmt(",\"%s\":", tag < 24 ? tags[tag] : "?");
    switch (tag) {
    case PG_TAG_FDINFO: {
      struct pg_fdinfo f; memcpy(&f, v, sizeof(f));
      ofmt("{\"fd\":%u,\"mode\":%u,\"flags\":%u,\"dev\":%u,\"ino\":%llu}", f.fd, f.mode, f.flags, f.dev,
           (unsigned long long)f.ino);
      break;
    }
    case PG_TAG_SOCK: {
      struct pg_sock s; memcpy(&s, v, sizeof(s));
      ofmt("{\"family\":%u,\"type\":%u,\"proto\":%u,\"state\":%u,\"lport\":%u,\"rport\":%u", s.family, s.type,
           s.proto, s.state, s.lport, s.rport);
      if (s.family == 2 || s.family == 10) {
        ostr(",\"laddr\":"); json_ip(s.family, s.laddr);
        ostr(",\"raddr\":"); json_ip(s.family, s.raddr);
      }
      ostr("}");
      break;
    }
    case PG_TAG_SADDR: case PG_TAG_OPENHOW: {
      ostr("\"");
      for (int i = 0; i < tl; i++) ofmt("%02x", v[i]);
      ostr("\"");
      break;
    }
    case PG_TAG_PROCINFO: {
      struct pg_procinfo q; memcpy(&q, v, sizeof(q));
      ofmt("{\"ppid\":%u,\"ruid\":%u,\"rgid\":%u,\"loginuid\":%d,\"tty\":%u,\"vpid\":%u,\"vtid\":%u,\"sid\":%u,"
           "\"pgid\":%u,\"pidns\":%u,\"mntns\":%u,\"netns\":%u,\"cap_eff\":%llu,\"exe_ino\":%llu,"
           "\"exe_mode\":%u,\"exe_uid\":%u,\"exe_nlink\":%u,\"exe_flags\":%u,\"exe_mtime_ns\":%llu}",
           q.ppid, q.ruid, q.rgid, (int)q.loginuid, q.tty, q.vpid, q.vtid, q.sid, q.pgid, q.pidns, q.mntns,
           q.netns, (unsigned long long)q.cap_eff, (unsigned long long)q.exe_ino, q.exe_mode, q.exe_uid,
           q.exe_nlink, q.exe_flags, (unsigned long long)q.exe_mtime_ns);
      break;
    }
    case PG_TAG_FORKINFO: {
      struct pg_forkinfo q; memcpy(&q, v, sizeof(q));
      ofmt("{\"child_tgid\":%u,\"child_tid\":%u,\"child_vpid\":%u,\"child_vtid\":%u,\"thread\":%s}",
           q.child_tgid, q.child_tid, q.child_vpid, q.child_vtid, q.flags & 1 ? "true" : "false");
      break;
    }
    case PG_TAG_EXITINFO: {
      struct pg_exitinfo q; memcpy(&q, v, sizeof(q));
      ofmt("{\"exit_code\":%d}", q.exit_code);
      break;
    }
    case PG_TAG_STATS: {
      struct pg_stats q; memcpy(&q, v, sizeof(q));
      ofmt("{\"emitted\":%llu,\"drops\":%llu,\"drops_delta\":%llu,\"truncated\":%llu,\"per_cpu_drops\":[",
           (unsigned long long)q.emitted, (unsigned long long)q.drops, (unsigned long long)q.drops_delta,
           (unsigned long long)q.truncated);
      for (uint32_t i = 0; i < q.ncpu && sizeof(q) + 8 * (i + 1) <= tl; i++) {
        uint64_t d; memcpy(&d, v + sizeof(q) + 8 * i, 8);
        ofmt(i ? ",%llu" : "%llu", (unsigned long long)d);
      }
      ostr("]}");
      break;
    }
    default:
      ojstr(v, tl); /* strings; argv keeps its NULs as \u0000 */
    }
    off += 4 + tl;
  }
  ostr("}\n");
}

/* ---- frame output ---- */
static uint64_t count_by_kind[8], count_bytes;

static void put_frame(uint8_t *p, uint32_t len) {
  if (mode == MODE_COUNT) {
    struct pg_hdr *h = (void *)p;
    count_by_kind[h->kind & 7]++;
    count_bytes += len;
    return;
  }
  if (mode == MODE_JSON) json_frame(p, len);
  else oput(p, len);
}

static int on_record(void *ctx, void *data, size_t size) {
  (void)ctx;
  if (size < PG_HDR_SIZE) return 0;
  const struct pg_hdr *in = data; /* ring memory is mapped read-only: copy, then patch */
  uint32_t len = in->len;
  if (len > size || len < PG_HDR_SIZE) len = (uint32_t)size;
  if (mode == MODE_COUNT) {
    count_by_kind[in->kind & 7]++;
    count_bytes += len;
    return 0;
  }
  static uint8_t scratch[65536];
  uint8_t *dst;
  if (mode == MODE_BIN) {
    oreserve(len);
    dst = (uint8_t *)obuf + olen;
  } else {
    dst = scratch;
    if (len > sizeof(scratch)) len = sizeof(scratch);
  }
  memcpy(dst, data, len);
  struct pg_hdr *h = (void *)dst;
  h->len = len;
  h->ts += (uint64_t)boot_offset_ns; /* boot time → epoch */
  if (mode == MODE_BIN) olen += len;
  else json_frame(dst, len);
  return 0;
}

static uint64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void emit_meta(uint16_t kind, uint16_t tag, const void *body, uint32_t blen) {
  uint8_t *f = calloc(1, PG_HDR_SIZE + 4 + blen);
  struct pg_hdr *h = (void *)f;
  h->len = PG_HDR_SIZE + 4 + blen;
  h->kind = kind;
  h->ts = now_ns(CLOCK_REALTIME);
  h->tgid = (uint32_t)getpid();
  h->tid = h->tgid;
  memcpy(f + PG_HDR_SIZE, &tag, 2);
  uint16_t bl = (uint16_t)blen;
  memcpy(f + PG_HDR_SIZE + 2, &bl, 2);
  memcpy(f + PG_HDR_SIZE + 4, body, blen);
  put_frame(f, h->len);
  free(f);
}

static uint64_t prev_drops;
static void emit_stats(struct peregrine_bpf *skel, uint64_t interval_ns) {
  struct pg_cpu_stats *per = calloc((size_t)ncpu, sizeof(*per));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &zero, per) != 0) { free(per); return; }
  size_t blen = sizeof(struct pg_stats) + 8 * (size_t)ncpu;
  uint8_t *body = calloc(1, blen);
  struct pg_stats s = {.interval_ns = interval_ns, .ncpu = (uint32_t)ncpu};
  for (int i = 0; i < ncpu; i++) {
    s.emitted += per[i].emitted;
    s.drops += per[i].drops;
    s.truncated += per[i].truncated;
    memcpy(body + sizeof(s) + 8 * i, &per[i].drops, 8);
  }
  s.drops_delta = s.drops - prev_drops;
  prev_drops = s.drops;
  memcpy(body, &s, sizeof(s));
  if (mode == MODE_COUNT) {
    fprintf(stderr,
            "{\"type\":\"stats\",\"emitted\":%llu,\"drops\":%llu,\"received\":%llu,\"syscall\":%llu,"
            "\"exec\":%llu,\"fork\":%llu,\"exit\":%llu,\"bytes\":%llu}\n",
            (unsigned long long)s.emitted, (unsigned long long)s.drops,
            (unsigned long long)(count_by_kind[1] + count_by_kind[2] + count_by_kind[3] + count_by_kind[4]),
            (unsigned long long)count_by_kind[1], (unsigned long long)count_by_kind[2],
            (unsigned long long)count_by_kind[3], (unsigned long long)count_by_kind[4],
            (unsigned long long)count_bytes);
  } else {
    emit_meta(PG_KIND_STATS, PG_TAG_STATS, body, (uint32_t)blen);
  }
  free(body);
  free(per);
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, ap);
}

static void usage(void) {
  fputs("usage: peregrine-collector [options]\n"
        "  --syscalls LIST      comma-separated syscall names to emit, or 'all' (default: none;\n"
        "                       exec/fork/exit records are always emitted)\n"
        "  --exclude-pid PID    do not emit events of this tgid (repeatable; own tgid always excluded)\n"
        "  --format bin|json|count  output: binary frames (default), JSON lines, or count only\n"
        "  --ringbuf-mb N       ring buffer size in MiB, a power of two (default 16)\n"
        "  --wakeup-kb N        wake the reader once this much data is pending (default 256)\n"
        "  --poll-ms N          drain interval in ms (default 10)\n"
        "  --stats-ms N         stats frame interval in ms (default 1000)\n"
        "  --duration S         stop after S seconds (default: until SIGTERM/SIGINT or EPIPE)\n"
        "  --list-syscalls      print the known syscall names and numbers, then exit\n",
        stderr);
}

int main(int argc, char **argv) {
  static struct option opts[] = {{"syscalls", required_argument, 0, 's'},
                                 {"exclude-pid", required_argument, 0, 'x'},
                                 {"format", required_argument, 0, 'f'},
                                 {"ringbuf-mb", required_argument, 0, 'r'},
                                 {"wakeup-kb", required_argument, 0, 'w'},
                                 {"poll-ms", required_argument, 0, 'p'},
                                 {"stats-ms", required_argument, 0, 'S'},
                                 {"duration", required_argument, 0, 'd'},
                                 {"list-syscalls", no_argument, 0, 'l'},
                                 {"help", no_argument, 0, 'h'},
                                 {0, 0, 0, 0}};
  const char *syscalls = "";
  uint32_t excl[64];
  int nexcl = 0;
  long ring_mb = 16, wakeup_kb = 256, poll_ms = 10, stats_ms = 1000;
  double duration = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's': syscalls = optarg; break;
    case 'x': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v <= 0 || v > 0x7fffffff) die(2, "--exclude-pid: not a pid: '%s'", optarg);
      if (nexcl >= 63) die(2, "--exclude-pid: at most 63 pids");
      excl[nexcl++] = (uint32_t)v;
      break;
    }
    case 'f':
      if (!strcmp(optarg, "bin")) mode = MODE_BIN;
      else if (!strcmp(optarg, "json")) mode = MODE_JSON;
      else if (!strcmp(optarg, "count")) mode = MODE_COUNT;
      else die(2, "--format: expected bin, json or count, got '%s'", optarg);
      break;
    case 'r': ring_mb = strtol(optarg, NULL, 10); break;
    case 'w': wakeup_kb = strtol(optarg, NULL, 10); break;
    case 'p': poll_ms = strtol(optarg, NULL, 10); break;
    case 'S': stats_ms = strtol(optarg, NULL, 10); break;
    case 'd': duration = strtod(optarg, NULL); break;
    case 'l':
      for (size_t i = 0; i < PG_NSYSCALLS; i++) printf("%s %d\n", pg_syscalls[i].name, pg_syscalls[i].nr);
      return 0;
    case 'h': usage(); return 0;
    default: usage(); return 2;
    }
  }
  if (ring_mb < 1 || ring_mb > 1024 || (ring_mb & (ring_mb - 1))) die(2, "--ringbuf-mb: power of two 1..1024");
  if (poll_ms < 1 || poll_ms > 1000) die(2, "--poll-ms: 1..1000");
  if (stats_ms < 10) die(2, "--stats-ms: at least 10");
  if (wakeup_kb < 0) die(2, "--wakeup-kb: not negative");

  /* selection */
  static struct pg_sc_conf conf[PG_MAX_SYSCALLS];
  char sel_names[8192] = "";
  size_t sel_len = 0;
  int all = !strcmp(syscalls, "all");
  if (all) {
    for (size_t i = 0; i < PG_NSYSCALLS; i++)
      if (!covered_by_proc_records(pg_syscalls[i].name)) conf[pg_syscalls[i].nr] = pg_syscalls[i].conf;
  } else if (*syscalls) {
    char *dup = strdup(syscalls), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      const struct pg_sc_def *d = sc_by_name(t);
      if (!d) die(2, "--syscalls: unknown syscall '%s' (see --list-syscalls)", t);
      if (!covered_by_proc_records(t)) conf[d->nr] = d->conf;
    }
    free(dup);
  }
  for (int i = 0; i < PG_MAX_SYSCALLS; i++) {
    if (!conf[i].enabled) continue;
    const char *n = sc_name(i);
    sel_len += (size_t)snprintf(sel_names + sel_len, sizeof(sel_names) - sel_len, "%s%s", sel_len ? "," : "", n);
  }

  /* Exit with the agent even if it dies without closing our stdout. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  obuf = malloc(ocap);
  ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) die(3, "cannot count CPUs");
  libbpf_set_print(libbpf_log);
  /* RLIMIT_MEMLOCK: kernels ≥5.11 account BPF memory in memcg; a failed raise is harmless. */
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  setrlimit(RLIMIT_MEMLOCK, &rl);

  struct peregrine_bpf *skel = peregrine_bpf__open();
  if (!skel) die(3, "open BPF object: %s", strerror(errno));
  skel->rodata->wakeup_bytes = (uint64_t)wakeup_kb * 1024;
  bpf_map__set_max_entries(skel->maps.events, (uint32_t)ring_mb * 1024 * 1024);
  int err = peregrine_bpf__load(skel);
  if (err) die(3, "load BPF programs: %s (needs root, BTF and a kernel ≥5.17 with tp_btf)", strerror(-err));
  int cfd = bpf_map__fd(skel->maps.sc_conf);
  for (uint32_t i = 0; i < PG_MAX_SYSCALLS; i++)
    if (conf[i].enabled && bpf_map_update_elem(cfd, &i, &conf[i], BPF_ANY)) die(3, "sc_conf update failed");
  excl[nexcl++] = (uint32_t)getpid();
  uint8_t one = 1;
  for (int i = 0; i < nexcl; i++) bpf_map_update_elem(bpf_map__fd(skel->maps.excluded), &excl[i], &one, BPF_ANY);
  err = peregrine_bpf__attach(skel);
  if (err) die(3, "attach BPF programs: %s", strerror(-err));

  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
  if (!rb) die(3, "ring buffer: %s", strerror(errno));
  boot_offset_ns = (int64_t)now_ns(CLOCK_REALTIME) - (int64_t)now_ns(CLOCK_BOOTTIME);

  /* hello frame: what the reader needs to decode */
  {
    size_t cap = 16384, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t + n, cap - n, "version=%d\narch=x86_64\nncpu=%d\npid=%d\nselected=%s\nsyscalls=",
                          PG_FRAME_VERSION, ncpu, getpid(), sel_names);
    for (size_t i = 0; i < PG_NSYSCALLS; i++)
      n += (size_t)snprintf(t + n, cap - n, "%s%s:%d", i ? "," : "", pg_syscalls[i].name, pg_syscalls[i].nr);
    n += (size_t)snprintf(t + n, cap - n, "\n");
    emit_meta(PG_KIND_HELLO, PG_TAG_HELLO, t, (uint32_t)n);
    free(t);
    oflush();
  }
  if (mode == MODE_COUNT) fprintf(stderr, "{\"type\":\"ready\",\"selected\":\"%s\"}\n", sel_names);

  uint64_t start = now_ns(CLOCK_MONOTONIC), last_stats = start;
  while (!stopping) {
    int n = ring_buffer__poll(rb, (int)poll_ms);
    if (n < 0 && n != -EINTR) die(1, "ring buffer poll: %s", strerror(-n));
    ring_buffer__consume(rb);
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now - last_stats >= (uint64_t)stats_ms * 1000000ull) {
      emit_stats(skel, now - last_stats);
      last_stats = now;
    }
    oflush();
    if (duration > 0 && (double)(now - start) / 1e9 >= duration) break;
  }
  ring_buffer__consume(rb);
  emit_stats(skel, now_ns(CLOCK_MONOTONIC) - last_stats);
  oflush();
  ring_buffer__free(rb);
  peregrine_bpf__destroy(skel);
  return 0;
}
