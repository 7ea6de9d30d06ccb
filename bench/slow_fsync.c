/* A disk whose flush takes time, for bench/receiver_durability.py --flush-ms: LD_PRELOADed into the receiver,
 * it sleeps $HUB_BENCH_FLUSH_US microseconds before every fsync/fdatasync, then does the real call. The bench
 * machine's virtual disk acknowledges flushes almost at once (0.2 ms), which hides what FULL costs on a disk
 * that really flushes; this adds the flush time back. Built by the bench with `cc -shared -fPIC`. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void flush_delay(void) {
    const char *raw = getenv("HUB_BENCH_FLUSH_US");
    long us = raw ? atol(raw) : 0;
    if (us > 0) {
        struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    flush_delay();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    flush_delay();
    return real(fd);
}
