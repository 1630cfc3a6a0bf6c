/* peregrine load generator: issues a syscall mix at a target rate of traced
 * events per second (0 = as fast as possible) for a duration, then prints one
 * JSON line: {"target":…,"seconds":…,"events":…,"rate":…,"cpu_s":…}.
 * One "event" is one syscall of the mix: openat, close, renameat2 (cycled),
 * plus a UDP socket/connect/close every 16th step. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double rate = 0, seconds = 2;
  const char *dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else { fprintf(stderr, "usage: loadgen [--rate EV/S] [--seconds S] [--dir DIR]\n"); return 2; }
  }
  char a[4096], b[4096];
  snprintf(a, sizeof a, "%s/loadgen-%d-a", dir, getpid());
  snprintf(b, sizeof b, "%s/loadgen-%d-b", dir, getpid());
  int fd = open(a, O_CREAT | O_WRONLY, 0644);
  if (fd < 0) { perror(a); return 1; }
  close(fd);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  unsigned long events = 0, step = 0;
  double t0 = now(), end = t0 + seconds;
  const double tick = 0.001;
  double next = t0;
  for (;;) {
    double t = now();
    if (t >= end) break;
    unsigned long want = rate > 0 ? (unsigned long)((t - t0 + tick) * rate) : events + 256;
    while (events < want) {
      switch (step++ & 15) {
      case 15: {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        connect(s, (struct sockaddr *)&sin, sizeof sin);
        close(s);
        events += 3;
        break;
      }
      case 7:
        renameat(AT_FDCWD, a, AT_FDCWD, b);
        renameat(AT_FDCWD, b, AT_FDCWD, a);
        events += 2;
        break;
      default:
        fd = openat(AT_FDCWD, a, O_RDONLY);
        close(fd);
        events += 2;
      }
    }
    if (rate > 0) {
      next += tick;
      if (next > t) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)((next - t) * 1e9)};
        nanosleep(&ts, NULL);
      } else next = t;
    }
  }
  double el = now() - t0;
  unlink(a);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"target\":%.0f,\"seconds\":%.3f,\"events\":%lu,\"rate\":%.0f,\"cpu_s\":%.3f}\n", rate, el, events,
         events / el, cpu);
  return 0;
}
