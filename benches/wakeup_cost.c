/*
 * wakeup_cost: CPU time charged to a task per sleep/wake cycle, for each
 * way of sleeping on a timer. Backs the "a timer wakeup costs this VM
 * about 20 µs whatever the primitive" in docs/PERFORMANCE.md (Aims).
 *
 *     gcc -O2 -o /tmp/wakeup_cost benches/wakeup_cost.c
 *     taskset -c 1 /tmp/wakeup_cost [CYCLES [PERIOD_NS]]   # on an idle CPU
 *
 * Each primitive sleeps CYCLES times (default 3000) for PERIOD_NS (default
 * 1 ms) and does nothing else; the task's run time comes from
 * /proc/thread-self/schedstat (nanoseconds on a CPU), as beostat-loadgen
 * measures recvstats.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static long long run_time_ns(void)
{
    long long ns = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f || fscanf(f, "%lld", &ns) != 1) {
        perror("wakeup_cost: /proc/thread-self/schedstat");
        exit(1);
    }
    fclose(f);
    return ns;
}

static long long wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

enum mode { NANOSLEEP, POLL, TIMERFD_PERIODIC, TIMERFD_ONESHOT, CLOCK_NANOSLEEP_ABS };
static const char *names[] = {"nanosleep", "poll (timeout only)", "timerfd, periodic",
                              "timerfd, one-shot", "clock_nanosleep, absolute"};

static void measure(enum mode mode, int cycles, long period)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    if (tfd < 0) {
        perror("wakeup_cost: timerfd_create");
        exit(1);
    }
    struct itimerspec periodic = {{0, period}, {0, period}};
    struct itimerspec once = {{0, 0}, {0, period}};
    if (mode == TIMERFD_PERIODIC)
        timerfd_settime(tfd, 0, &periodic, NULL);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    unsigned long long expirations;
    long long cpu0 = run_time_ns(), wall0 = wall_ns();
    for (int i = 0; i < cycles; i++) {
        switch (mode) {
        case NANOSLEEP: {
            struct timespec d = {0, period};
            nanosleep(&d, NULL);
            break;
        }
        case POLL:
            poll(NULL, 0, (int)(period / 1000000));
            break;
        case TIMERFD_PERIODIC:
            if (read(tfd, &expirations, sizeof expirations) < 0)
                perror("read");
            break;
        case TIMERFD_ONESHOT:
            timerfd_settime(tfd, 0, &once, NULL);
            if (read(tfd, &expirations, sizeof expirations) < 0)
                perror("read");
            break;
        case CLOCK_NANOSLEEP_ABS:
            next.tv_nsec += period;
            while (next.tv_nsec >= 1000000000L) {
                next.tv_nsec -= 1000000000L;
                next.tv_sec++;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
            break;
        }
    }
    long long cpu = run_time_ns() - cpu0, wall = wall_ns() - wall0;
    printf("%-26s %6.2f µs of CPU per wakeup (%.0f µs apart)\n", names[mode],
           cpu / 1e3 / cycles, wall / 1e3 / cycles);
    close(tfd);
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 3000;
    long period = argc > 2 ? atol(argv[2]) : 1000000;
    if (cycles <= 0 || period <= 0 || period >= 1000000000L) {
        fprintf(stderr, "usage: wakeup_cost [CYCLES [PERIOD_NS < 1e9]]\n");
        return 2;
    }
    for (int mode = NANOSLEEP; mode <= CLOCK_NANOSLEEP_ABS; mode++)
        measure(mode, cycles, period);
    return 0;
}
