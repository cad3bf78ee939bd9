/*
 * What a C program linked with -lbeostat reads for one node (argv[1]; -1 is
 * the master), labelled for a person: the demo (scripts/demo.sh) runs it.
 * The tests' machine-readable twin is c-tests/dump_node.c.
 */
#include <sys/beostat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

int main(int argc, char **argv)
{
    int node = argc > 1 ? atoi(argv[1]) : 0;
    struct beostat_loadavg l;
    struct beostat_meminfo m;
    struct beostat_net_dev d[MAX_NET_DEV];
    time_t t;
    float mhz;
    char *name;
    int i, cpus, disk_max, disk_used, interfaces = 0;

    if (beostat_get_name(node, &name) != 0 || beostat_get_loadavg(node, &l) != 0 ||
        beostat_get_meminfo(node, &m) != 0 || beostat_get_MHz(node, &mhz) != 0 ||
        beostat_get_time(node, &t) != 0 || beostat_get_net_dev(node, d, MAX_NET_DEV) != 0 ||
        (cpus = beostat_get_cpu_count(node)) < 0) {
        fprintf(stderr, "demo_node %d: %s\n", node, strerror(errno));
        return 1;
    }
    printf("  node %d (%s), reported at %s", node, name, ctime(&t));
    free(name);
    printf("  load average     %.2f %.2f %.2f, %d of %d processes running\n", l.load[0],
           l.load[1], l.load[2], l.num_active_procs, l.total_procs);
    printf("  memory           %.0f MiB used, %.0f MiB free (%.0f MiB cache)\n",
           m.mem.used / MIB, m.mem.free / MIB, m.cached / MIB);
    printf("  swap             %.0f MiB used, %.0f MiB free\n", m.swap.used / MIB,
           m.swap.free / MIB);
    printf("  CPUs             %d at %.0f MHz; use:", cpus, mhz);
    for (i = 0; i < cpus && i < 8; i++)
        printf(" %.0f%%", 100.0 * beostat_get_cpu_percent(node, i)); /* a fraction */
    printf("%s\n", cpus > 8 ? " ..." : "");
    for (i = 0; i < MAX_NET_DEV && d[i].name[0]; i++)
        interfaces++;
    printf("  network          %d interfaces, %lu bytes/s\n", interfaces,
           beostat_get_net_rate(node));
    if (beostat_get_disk_usage(node, &disk_max, &disk_used) == 0)
        printf("  root filesystem  %d of %d MiB used\n", disk_used, disk_max);
    return 0;
}
