/*
 * Prints, through the C API, everything libbeostat knows about one node
 * (argv[1]), one fact per line, for tests to compare with the /proc files
 * the node sent:
 *   loadavg L1 L5 L15 ACTIVE TOTAL LASTPID
 *   meminfo MEMUSED MEMFREE SWAPUSED SWAPFREE SHARED BUFFERS CACHED
 *   cpus N / mhz F / name NAME / time T / statfs BSIZE BLOCKS
 *   stat CPU USER SYSTEM NICE IDLE          (one per CPU)
 *   net NAME RX.BYTES RX.PACKETS RX.ERRS RX.DROP RX.FIFO FRAME RX.COMPRESSED
 *       MULTICAST TX.BYTES TX.PACKETS TX.ERRS TX.DROP TX.FIFO COLLS CARRIER
 *       TX.COMPRESSED                        (one per interface, /proc order)
 * Exits 1 if a call fails.
 */
#include <stdlib.h>
#include <sys/beostat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int node = argc > 1 ? atoi(argv[1]) : 0;
    struct beostat_loadavg l;
    struct beostat_meminfo m;
    struct beostat_net_dev d[MAX_NET_DEV];
    struct beostat_stat_cpu s;
    struct statfs fs;
    time_t t;
    float mhz;
    char *name;
    int i, cpus;

    if (beostat_get_loadavg(node, &l) != 0 || beostat_get_meminfo(node, &m) != 0 ||
        beostat_get_net_dev(node, d, MAX_NET_DEV) != 0 || beostat_get_MHz(node, &mhz) != 0 ||
        beostat_get_name(node, &name) != 0 || beostat_get_time(node, &t) != 0 ||
        beostat_get_statfs_p(node, &fs) != 0 || (cpus = beostat_get_cpu_count(node)) < 0) {
        fprintf(stderr, "dump_node %d: %s\n", node, strerror(errno));
        return 1;
    }
    printf("loadavg %.2f %.2f %.2f %d %d %d\n", l.load[0], l.load[1], l.load[2],
           l.num_active_procs, l.total_procs, l.last_pid);
    printf("meminfo %llu %llu %llu %llu %llu %llu %llu\n", m.mem.used, m.mem.free, m.swap.used,
           m.swap.free, m.shared, m.buffers, m.cached);
    printf("cpus %d\nmhz %.3f\nname %s\ntime %ld\nstatfs %ld %llu\n", cpus, mhz, name, (long)t,
           (long)fs.f_bsize, (unsigned long long)fs.f_blocks);
    free(name);
    for (i = 0; i < cpus; i++) {
        if (beostat_get_stat_cpu(node, i, &s) != 0) {
            fprintf(stderr, "dump_node %d cpu %d: %s\n", node, i, strerror(errno));
            return 1;
        }
        printf("stat %d %ld %ld %ld %ld\n", i, s.user, s.system, s.nice, s.idle);
    }
    for (i = 0; i < MAX_NET_DEV && d[i].name[0]; i++)
        printf("net %s %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu\n", d[i].name,
               d[i].recv.bytes, d[i].recv.packets, d[i].recv.errs, d[i].recv.drop, d[i].recv.fifo,
               d[i].frame, d[i].recv.compressed, d[i].multicast, d[i].trans.bytes,
               d[i].trans.packets, d[i].trans.errs, d[i].trans.drop, d[i].trans.fifo, d[i].colls,
               d[i].carrier, d[i].trans.compressed);
    return 0;
}
