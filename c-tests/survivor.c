/*
 * Keeps calling the C API while the test grows, deletes, replaces and
 * truncates the shm files under it. It must never crash (SIGBUS, SIGSEGV):
 * every call either succeeds or fails with -1 and errno. When the file
 * named by argv[1] appears, it waits (a bounded number of tries) to see the
 * fresh data the test wrote last: node 0 with MHz 777.
 */
#include <stdlib.h>
#include <sys/beostat.h>
#include <unistd.h>

#include "harness.h"

static long ok, failed_calls;

static void count(int result)
{
    if (result >= 0)
        ok++;
    else
        failed_calls++;
}

static void exercise(void)
{
    struct beostat_loadavg load;
    struct beostat_meminfo mem;
    struct beostat_net_dev devs[MAX_NET_DEV];
    struct beostat_stat_cpu stat;
    char *name = NULL;
    int node;

    for (node = -1; node < 4; node++) {
        count(beostat_get_loadavg(node, &load));
        count(beostat_get_meminfo(node, &mem));
        count(beostat_get_net_dev(node, devs, MAX_NET_DEV));
        count(beostat_get_stat_cpu(node, 0, &stat));
        count(beostat_get_cpu_percent(node, 0) >= 0 ? 0 : -1);
        if (beostat_get_name(node, &name) == 0) {
            ok++;
            free(name);
        }
    }
    count(beostat_get_node_count());
    count(beostat_count_idle_cpus(0.5f));
}

int main(int argc, char **argv)
{
    const char *done = argc > 1 ? argv[1] : "done";
    float mhz = 0;
    int tries;

    while (access(done, F_OK) != 0)
        exercise();
    for (tries = 0; tries < 3000; tries++) {
        if (beostat_get_MHz(0, &mhz) == 0 && mhz == 777.0f)
            break;
        usleep(10000);
    }
    printf("calls ok %ld failed %ld; fresh data after %d tries\n", ok, failed_calls, tries);
    CHECK(ok > 0);
    CHECK(mhz == 777.0f);
    return finish();
}
