// The flood generator of bench/sensor_flood.sh: THREADS threads each open a file of their own for
// writing (O_WRONLY|O_CREAT: an event the sensor records) and close it, at a fixed total RATE
// per second for SECONDS, and print the opens made and the rate achieved. Each thread works in
// 1 ms ticks: it makes its share of the tick's opens, then sleeps until the next tick (absolute
// CLOCK_MONOTONIC deadlines, so a late tick is caught up and the average rate holds). A RATE
// beyond the machine's (1e9) makes an unlimited loop.
//   cc -O2 -pthread -o sensor_flood_gen bench/sensor_flood_gen.c
//   ./sensor_flood_gen DIR RATE SECONDS THREADS
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kTickNs = 1000000 };

struct Worker {
  pthread_t thread;
  char path[4096];
  double rate;  // opens per second for this thread
  double seconds;
  uint64_t opens;
  int failed_errno;
};

static int64_t Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void* Run(void* arg) {
  struct Worker* w = arg;
  const int64_t start = Now();
  const int64_t end = start + (int64_t)(w->seconds * 1e9);
  int64_t tick = start;
  while (tick < end) {
    // Opens due by the end of this tick, from the start: rounding never accumulates.
    const uint64_t due = (uint64_t)((double)(tick + kTickNs - start) * w->rate / 1e9);
    while (w->opens < due) {
      int fd = open(w->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
        w->failed_errno = errno;
        return NULL;
      }
      close(fd);
      // A rate beyond what the machine makes (an unlimited loop) still ends on time.
      if ((++w->opens & 1023) == 0 && Now() >= end) return NULL;
    }
    tick += kTickNs;
    struct timespec next = {(time_t)(tick / 1000000000), (long)(tick % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s DIR RATE SECONDS THREADS\n", argv[0]);
    return 2;
  }
  const double rate = atof(argv[2]);
  const double seconds = atof(argv[3]);
  const int threads = atoi(argv[4]);
  if (rate <= 0 || seconds <= 0 || threads <= 0 || threads > 256) {
    fprintf(stderr, "RATE and SECONDS must be positive, THREADS 1-256\n");
    return 2;
  }
  struct Worker* workers = calloc((size_t)threads, sizeof *workers);
  if (workers == NULL) return 1;
  const int64_t start = Now();
  for (int i = 0; i < threads; ++i) {
    snprintf(workers[i].path, sizeof workers[i].path, "%s/flood-%d", argv[1], i);
    workers[i].rate = rate / threads;
    workers[i].seconds = seconds;
    if (pthread_create(&workers[i].thread, NULL, Run, &workers[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  uint64_t opens = 0;
  int failed = 0;
  for (int i = 0; i < threads; ++i) {
    pthread_join(workers[i].thread, NULL);
    opens += workers[i].opens;
    if (workers[i].failed_errno) failed = workers[i].failed_errno;
  }
  const double elapsed = (double)(Now() - start) / 1e9;
  if (failed) {
    fprintf(stderr, "open failed: %s\n", strerror(failed));
    return 1;
  }
  // One line: the opens made, the seconds taken, the rate achieved.
  printf("%llu %.3f %.0f\n", (unsigned long long)opens, elapsed, (double)opens / elapsed);
  free(workers);
  return 0;
}
