/*
 * The API used the way the ClusterWare manuals' examples use it (reference
 * section 6). Existing programs were written from these examples, so this
 * file must compile unchanged against <sys/beostat.h> and print right
 * values for the known-values fixture (node 3: one CPU at 60%, loadavg
 * last_pid 777, free memory 123456789 bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/beostat.h>

#include "harness.h"

int main(void)
{
    struct beostat_net_dev devs[MAX_NET_DEV];
    struct beostat_stat_cpu stat_cpu;
    struct beostat_loadavg loadavg;
    meminfo_t meminfo;
    time_t t;
    char *name;
    int i, size = MAX_NET_DEV, all, idle, seen = 0;
    int node = 3, cpu = 0;

    /* Network: skip unused entries, print bytes with %ld. */
    if (beostat_get_net_dev(0, devs, size) == 0) {
        for (i = 0; i < size; i++) {
            if (devs[i].name[0] == 0)
                continue;
            printf("%s: %ld bytes received\n", devs[i].name, devs[i].recv.bytes);
            seen++;
        }
    }
    CHECK_LL(seen, 3);

    /* Busy CPUs are all minus idle. */
    all = beostat_count_idle_cpus(9999.0);
    idle = beostat_count_idle_cpus(0.5);
    printf("%d CPUs, %d busy\n", all, all - idle);
    CHECK(all >= 5 && idle >= 2 && all - idle >= 3);

    CHECK_LL(beostat_count_idle_cpus_on_node(3, 0.5), 0);

    printf("node %d cpu %d usage %f\n", node, cpu, beostat_get_cpu_percent(node, cpu));
    CHECK_NEAR(beostat_get_cpu_percent(node, cpu), 0.6);

    beostat_get_stat_cpu(3, 0, &stat_cpu);
    printf("idle ticks %ld\n", stat_cpu.idle);
    CHECK_LL(stat_cpu.idle, 40);

    beostat_get_time(3, &t);
    printf("node 3 last update %s", ctime(&t));
    CHECK(t > 0);

    beostat_get_loadavg(3, &loadavg);
    printf("last pid %d\n", loadavg.last_pid);
    CHECK_LL(loadavg.last_pid, 777);

    beostat_get_meminfo(3, &meminfo);
    printf("free memory %llu\n", meminfo.mem.free);
    CHECK(meminfo.mem.free == 123456789ULL);

    if (beostat_get_name(node, &name) == 0) {
        printf("node %d is %s\n", node, name);
        CHECK(name[0] == 'n' && name[1] == '3');
        free(name);
    }
    return finish();
}
