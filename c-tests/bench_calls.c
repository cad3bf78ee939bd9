/*
 * Benchmark of libbeostat calls (not a test: nothing here is timed against a
 * limit). scripts/bench-calls.sh builds the library, writes a fixture with
 * examples/bench_fixture.rs and runs this program on it; the results are
 * kept in docs/PERFORMANCE.md.
 *
 *     bench_calls [-n ITERATIONS] [-r REPEATS]
 *         Steady state: each of beostat_get_loadavg, beostat_get_meminfo and
 *         beostat_get_cpu_percent (and beostat_get_node_count, which reads no
 *         record, as a floor) called ITERATIONS times on one node after a
 *         warm-up, REPEATS times; then every call swept over every node,
 *         REPEATS times; then the cluster-wide calls, REPEATS times.
 *         Prints a tab-separated table (median and fastest repeat).
 *
 *     bench_calls -c CALL [-n ITERATIONS] [-r REPEATS]
 *         Only the steady-state loop of CALL (loadavg, meminfo, cpu_percent
 *         or node_count), for profilers (perf record, valgrind --tool=callgrind).
 *
 *     bench_calls -s SECONDS
 *         Syscall check: after a first call has mapped the files, writes
 *         "bench_calls: steady state begins" to stderr, calls the three
 *         steady-state functions in a loop for SECONDS, then writes
 *         "bench_calls: steady state ends". Run it under strace and count the
 *         system calls between the two markers.
 *
 * Run with BEOSTAT_SHM_DIR naming the fixture. Exits 1 if any call fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/beostat.h>
#include <time.h>
#include <unistd.h>

static long failures;
/* Every loop folds what it read into this, so no result is dead. */
static volatile long sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void failed(const char *call, int node)
{
    if (failures++ < 10)
        fprintf(stderr, "bench_calls: %s(node %d) failed: %s\n", call, node,
                strerror(errno));
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the `n` samples (sorts them); samples[0] is then the fastest. */
static double median(double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof *samples, compare_doubles);
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

static void print_header(void)
{
    printf("section\tcall\tcalls\trepeats\tmedian_ns_per_call\tmin_ns_per_call"
           "\tmedian_ms_total\n");
}

/* One row: `samples` are nanoseconds for `calls` calls each. */
static void print_row(const char *section, const char *call, long calls,
                      double *samples, int repeats)
{
    double mid = median(samples, repeats);
    printf("%s\t%s\t%ld\t%d\t%.1f\t%.1f\t%.3f\n", section, call, calls, repeats,
           mid / calls, samples[0] / calls, mid / 1e6);
    fflush(stdout);
}

/* ---- steady state: one node, the same call over and over ---- */

static double loop_loadavg(int node, long n)
{
    struct beostat_loadavg load;
    long i, acc = 0;
    double start = now_ns();
    for (i = 0; i < n; i++) {
        if (beostat_get_loadavg(node, &load) != 0)
            failed("beostat_get_loadavg", node);
        acc += load.last_pid;
    }
    sink += acc;
    return now_ns() - start;
}

static double loop_meminfo(int node, long n)
{
    struct beostat_meminfo mem;
    long i, acc = 0;
    double start = now_ns();
    for (i = 0; i < n; i++) {
        if (beostat_get_meminfo(node, &mem) != 0)
            failed("beostat_get_meminfo", node);
        acc += (long)mem.mem.used;
    }
    sink += acc;
    return now_ns() - start;
}

static double loop_cpu_percent(int node, long n)
{
    long i, acc = 0;
    double start = now_ns();
    for (i = 0; i < n; i++) {
        float busy = beostat_get_cpu_percent(node, 0);
        if (busy < 0)
            failed("beostat_get_cpu_percent", node);
        acc += busy > 0.5f;
    }
    sink += acc;
    return now_ns() - start;
}

static double loop_node_count(int node, long n)
{
    long i, acc = 0;
    double start = now_ns();
    for (i = 0; i < n; i++) {
        int count = beostat_get_node_count();
        if (count < 0)
            failed("beostat_get_node_count", node);
        acc += count;
    }
    sink += acc;
    return now_ns() - start;
}

static const struct {
    const char *short_name, *call;
    double (*loop)(int, long);
} steady_calls[] = {
    {"loadavg", "beostat_get_loadavg", loop_loadavg},
    {"meminfo", "beostat_get_meminfo", loop_meminfo},
    {"cpu_percent", "beostat_get_cpu_percent", loop_cpu_percent},
    {"node_count", "beostat_get_node_count", loop_node_count},
};
#define STEADY_CALLS (int)(sizeof steady_calls / sizeof steady_calls[0])

static void steady(const char *call, double (*loop)(int, long), int node,
                   long iterations, int repeats, double *samples)
{
    int r;
    loop(node, iterations / 10 + 1); /* warm-up: caches, branch predictors */
    for (r = 0; r < repeats; r++)
        samples[r] = loop(node, iterations);
    print_row("steady", call, iterations, samples, repeats);
}

/* ---- sweeps: each call over every node, then everything per node ---- */

static int nodes;     /* compute nodes 0 .. nodes-1 */
static gid_t groups[256];
static int group_count;

static long sweep_loadavg(void)
{
    struct beostat_loadavg load;
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_loadavg(node, &load) != 0)
            failed("beostat_get_loadavg", node);
        sink += load.last_pid;
    }
    return nodes;
}

static long sweep_meminfo(void)
{
    struct beostat_meminfo mem;
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_meminfo(node, &mem) != 0)
            failed("beostat_get_meminfo", node);
        sink += (long)mem.cached;
    }
    return nodes;
}

static long sweep_net_dev(void)
{
    struct beostat_net_dev devs[MAX_NET_DEV];
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_net_dev(node, devs, MAX_NET_DEV) != 0)
            failed("beostat_get_net_dev", node);
        sink += (long)devs[1].recv.bytes;
    }
    return nodes;
}

static long sweep_net_rate(void)
{
    int node;
    for (node = 0; node < nodes; node++) {
        unsigned long rate = beostat_get_net_rate(node);
        if (rate == (unsigned long)-1)
            failed("beostat_get_net_rate", node);
        sink += (long)rate;
    }
    return nodes;
}

static long sweep_stat_cpu(void)
{
    struct beostat_stat_cpu stat;
    long calls = 0;
    int node, cpu, cpus;
    for (node = 0; node < nodes; node++) {
        cpus = beostat_get_cpu_count(node);
        for (cpu = 0; cpu < cpus; cpu++, calls++) {
            if (beostat_get_stat_cpu(node, cpu, &stat) != 0)
                failed("beostat_get_stat_cpu", node);
            sink += stat.idle;
        }
    }
    return calls;
}

static long sweep_cpu_percent(void)
{
    long calls = 0;
    int node, cpu, cpus;
    for (node = 0; node < nodes; node++) {
        cpus = beostat_get_cpu_count(node);
        for (cpu = 0; cpu < cpus; cpu++, calls++) {
            float busy = beostat_get_cpu_percent(node, cpu);
            if (busy < 0)
                failed("beostat_get_cpu_percent", node);
            sink += busy > 0.5f;
        }
    }
    return calls;
}

static long sweep_MHz(void)
{
    float mhz;
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_MHz(node, &mhz) != 0)
            failed("beostat_get_MHz", node);
        sink += (long)mhz;
    }
    return nodes;
}

static long sweep_statfs_p(void)
{
    struct statfs fs;
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_statfs_p(node, &fs) != 0)
            failed("beostat_get_statfs_p", node);
        sink += (long)fs.f_bfree;
    }
    return nodes;
}

static long sweep_time(void)
{
    struct node_time when;
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_time(node, &when) != 0)
            failed("beostat_get_time", node);
        sink += (long)when.time;
    }
    return nodes;
}

static long sweep_name(void)
{
    char *name;
    int node;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_name(node, &name) != 0) {
            failed("beostat_get_name", node);
            continue;
        }
        sink += name[0];
        free(name);
    }
    return nodes;
}

static long sweep_is_node_available(void)
{
    uid_t uid = getuid();
    int node;
    for (node = 0; node < nodes; node++) {
        int available = beostat_is_node_available(node, uid, groups, group_count);
        if (available != 1)
            failed("beostat_is_node_available (expected 1)", node);
        sink += available;
    }
    return nodes;
}

static long sweep_cpu_count(void)
{
    int node;
    for (node = 0; node < nodes; node++) {
        int cpus = beostat_get_cpu_count(node);
        if (cpus <= 0)
            failed("beostat_get_cpu_count", node);
        sink += cpus;
    }
    return nodes;
}

static long sweep_disk_usage(void)
{
    int node, max, curr;
    for (node = 0; node < nodes; node++) {
        if (beostat_get_disk_usage(node, &max, &curr) != 0)
            failed("beostat_get_disk_usage", node);
        sink += max - curr;
    }
    return nodes;
}

static long sweep_count_idle_cpus_on_node(void)
{
    int node;
    for (node = 0; node < nodes; node++) {
        int idle = beostat_count_idle_cpus_on_node(node, 0.5f);
        if (idle < 0)
            failed("beostat_count_idle_cpus_on_node", node);
        sink += idle;
    }
    return nodes;
}

/* Every per-node call above, for one node after another. */
static long sweep_all_calls(void)
{
    struct beostat_loadavg load;
    struct beostat_meminfo mem;
    struct beostat_net_dev devs[MAX_NET_DEV];
    struct beostat_stat_cpu stat;
    struct node_time when;
    struct statfs fs;
    uid_t uid = getuid();
    char *name;
    float mhz;
    int node, cpu, cpus, max, curr;
    long bad = 0;

    for (node = 0; node < nodes; node++) {
        bad += beostat_get_loadavg(node, &load) != 0;
        bad += beostat_get_meminfo(node, &mem) != 0;
        bad += beostat_get_net_dev(node, devs, MAX_NET_DEV) != 0;
        bad += beostat_get_net_rate(node) == (unsigned long)-1;
        cpus = beostat_get_cpu_count(node);
        bad += cpus <= 0;
        for (cpu = 0; cpu < cpus; cpu++) {
            bad += beostat_get_stat_cpu(node, cpu, &stat) != 0;
            bad += beostat_get_cpu_percent(node, cpu) < 0;
        }
        bad += beostat_get_MHz(node, &mhz) != 0;
        bad += beostat_get_statfs_p(node, &fs) != 0;
        bad += beostat_get_time(node, &when) != 0;
        if (beostat_get_name(node, &name) == 0)
            free(name);
        else
            bad++;
        bad += beostat_is_node_available(node, uid, groups, group_count) != 1;
        bad += beostat_get_disk_usage(node, &max, &curr) != 0;
        bad += beostat_count_idle_cpus_on_node(node, 0.5f) < 0;
        sink += load.last_pid + (long)mem.cached + (long)devs[0].recv.bytes +
                stat.idle + (long)mhz + (long)fs.f_bfree + (long)when.time + max;
    }
    if (bad)
        failed("a call in the all-calls sweep", -1);
    return nodes;
}

static void sweep(const char *call, long (*body)(void), int repeats, double *samples)
{
    long calls = body(); /* warm-up */
    int r;
    for (r = 0; r < repeats; r++) {
        double start = now_ns();
        body();
        samples[r] = now_ns() - start;
    }
    print_row("sweep", call, calls, samples, repeats);
}

/* ---- cluster-wide calls ---- */

static long cluster_count_idle_cpus(void)
{
    int idle = beostat_count_idle_cpus(0.5f);
    if (idle < 0)
        failed("beostat_count_idle_cpus", -1);
    sink += idle;
    return 1;
}

static long cluster_avail_nodes_by_id(void)
{
    int *list;
    int n = beostat_get_avail_nodes_by_id(&list, getuid(), groups, group_count);
    if (n != nodes) {
        failed("beostat_get_avail_nodes_by_id (expected every node)", -1);
        if (n < 0)
            return 1;
    }
    sink += list[n / 2];
    free(list);
    return 1;
}

static void cluster(const char *call, long (*body)(void), int repeats, double *samples)
{
    int r;
    body(); /* warm-up */
    for (r = 0; r < repeats; r++) {
        double start = now_ns();
        body();
        samples[r] = now_ns() - start;
    }
    print_row("cluster", call, 1, samples, repeats);
}

/* ---- syscall check ---- */

static int syscall_check(double seconds)
{
    static const char begin[] = "bench_calls: steady state begins\n";
    static const char end[] = "bench_calls: steady state ends\n";
    int node = nodes / 2;
    long calls = 0;
    double stop;

    loop_loadavg(node, 1); /* maps the files */
    if (write(STDERR_FILENO, begin, sizeof begin - 1) < 0)
        return 1;
    stop = now_ns() + seconds * 1e9;
    while (now_ns() < stop) {
        loop_loadavg(node, 4096);
        loop_meminfo(node, 4096);
        loop_cpu_percent(node, 4096);
        calls += 3 * 4096;
    }
    if (write(STDERR_FILENO, end, sizeof end - 1) < 0)
        return 1;
    printf("syscall check: %ld calls in %.0f s\n", calls, seconds);
    return failures != 0;
}

static long number(const char *text, const char *what)
{
    char *rest;
    long value = strtol(text, &rest, 10);
    if (*text == '\0' || *rest != '\0' || value <= 0) {
        fprintf(stderr, "bench_calls: %s must be a positive integer, not '%s'\n",
                what, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    long iterations = 10000000, seconds = 0;
    int repeats = 7, opt, i;
    const char *only = NULL;
    double *samples;

    while ((opt = getopt(argc, argv, "c:n:r:s:")) != -1) {
        switch (opt) {
        case 'c':
            only = optarg;
            break;
        case 'n':
            iterations = number(optarg, "-n ITERATIONS");
            break;
        case 'r':
            repeats = (int)number(optarg, "-r REPEATS");
            break;
        case 's':
            seconds = number(optarg, "-s SECONDS");
            break;
        default:
            fprintf(stderr, "usage: bench_calls [-c CALL] [-n ITERATIONS] [-r REPEATS]"
                            " | -s SECONDS\n");
            return 2;
        }
    }

    nodes = beostat_get_node_count();
    if (nodes <= 0) {
        fprintf(stderr, "bench_calls: no nodes (is BEOSTAT_SHM_DIR a fixture?): %s\n",
                strerror(errno));
        return 1;
    }
    group_count = getgroups(256, groups);
    if (group_count < 0)
        group_count = 0;
    if (seconds)
        return syscall_check((double)seconds);

    samples = malloc((size_t)repeats * sizeof *samples);
    if (!samples)
        return 1;
    printf("# %d nodes, %d CPUs on node 0; steady state on node %d\n", nodes,
           beostat_get_cpu_count(0), nodes / 2);
    print_header();
    for (i = 0; i < STEADY_CALLS; i++) {
        if (only && strcmp(only, steady_calls[i].short_name) != 0)
            continue;
        steady(steady_calls[i].call, steady_calls[i].loop, nodes / 2, iterations, repeats,
               samples);
        if (only) {
            free(samples);
            return failures != 0;
        }
    }
    if (only) {
        fprintf(stderr, "bench_calls: -c takes loadavg, meminfo, cpu_percent or node_count\n");
        return 2;
    }

    sweep("beostat_get_loadavg", sweep_loadavg, repeats, samples);
    sweep("beostat_get_meminfo", sweep_meminfo, repeats, samples);
    sweep("beostat_get_net_dev", sweep_net_dev, repeats, samples);
    sweep("beostat_get_net_rate", sweep_net_rate, repeats, samples);
    sweep("beostat_get_stat_cpu", sweep_stat_cpu, repeats, samples);
    sweep("beostat_get_cpu_percent", sweep_cpu_percent, repeats, samples);
    sweep("beostat_get_MHz", sweep_MHz, repeats, samples);
    sweep("beostat_get_statfs_p", sweep_statfs_p, repeats, samples);
    sweep("beostat_get_time", sweep_time, repeats, samples);
    sweep("beostat_get_name+free", sweep_name, repeats, samples);
    sweep("beostat_is_node_available", sweep_is_node_available, repeats, samples);
    sweep("beostat_get_cpu_count", sweep_cpu_count, repeats, samples);
    sweep("beostat_get_disk_usage", sweep_disk_usage, repeats, samples);
    sweep("beostat_count_idle_cpus_on_node", sweep_count_idle_cpus_on_node, repeats,
          samples);
    sweep("all_calls_per_node", sweep_all_calls, repeats, samples);

    cluster("beostat_count_idle_cpus", cluster_count_idle_cpus, repeats, samples);
    cluster("beostat_get_avail_nodes_by_id+free", cluster_avail_nodes_by_id, repeats,
            samples);

    free(samples);
    if (failures) {
        fprintf(stderr, "bench_calls: %ld calls failed\n", failures);
        return 1;
    }
    return 0;
}
