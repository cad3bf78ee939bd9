/*
 * Calls every libbeostat function on files the Rust writer made with known
 * values (tests/c_harness.rs, fn write_fixture) and checks every value
 * returned. Run with BEOSTAT_SHM_DIR pointing at the fixture.
 *
 * The fixture: master (-1) and nodes 0..3. Node 0 has 4 CPUs whose use over
 * the last interval is 1.0, 0.25, 0.5, 0.0, interfaces eth0/lo/ib0, a 100 GiB
 * root filesystem half used. Node 1 is down (last report an hour ago).
 * Node 2 is owned by uid 1000, group 100, mode 0110, CPUs at 0.9 and 0.1.
 * Node 3 has one CPU at 0.6.
 */
#include <stdlib.h>
#include <sys/beostat.h>
#include <unistd.h>

#include "harness.h"

#define GIB (1024ULL * 1024 * 1024)
#define MIB (1024ULL * 1024)

static int caller_may_use_node2(void)
{
    gid_t groups[256];
    int i, n = getgroups(256, groups);
    if (getuid() == 0 || getuid() == 1000 || getgid() == 100)
        return 1;
    for (i = 0; i < n; i++)
        if (groups[i] == 100)
            return 1;
    return 0;
}

static void loadavg_and_meminfo(void)
{
    struct beostat_loadavg load;
    struct beostat_meminfo mem;

    CHECK_LL(beostat_get_loadavg(0, &load), 0);
    CHECK_NEAR(load.load[0], 1.5);
    CHECK_NEAR(load.load[1], 1.25);
    CHECK_NEAR(load.load[2], 1.0);
    CHECK_LL(load.num_active_procs, 5);
    CHECK_LL(load.total_procs, 512);
    CHECK_LL(load.last_pid, 31337);

    CHECK_LL(beostat_get_loadavg(-1, &load), 0);
    CHECK_NEAR(load.load[0], 0.25);
    CHECK_LL(load.last_pid, 4242);

    CHECK_LL(beostat_get_meminfo(0, &mem), 0);
    CHECK(mem.mem.used == 3 * GIB);
    CHECK(mem.mem.free == 1 * GIB);
    CHECK(mem.swap.used == 256 * MIB);
    CHECK(mem.swap.free == 768 * MIB);
    CHECK(mem.shared == 64 * MIB);
    CHECK(mem.buffers == 128 * MIB);
    CHECK(mem.cached == 512 * MIB);
}

static void cpus(void)
{
    struct beostat_stat_cpu stat;
    float mhz = 0;

    CHECK_LL(beostat_get_cpu_count(0), 4);
    CHECK_LL(beostat_get_cpu_count(-1), 2);
    CHECK_NEAR(beostat_get_cpu_percent(0, 0), 1.0);
    CHECK_NEAR(beostat_get_cpu_percent(0, 1), 0.25);
    CHECK_NEAR(beostat_get_cpu_percent(0, 2), 0.5);
    CHECK_NEAR(beostat_get_cpu_percent(0, 3), 0.0);
    CHECK_NEAR(beostat_get_cpu_percent(3, 0), 0.6);

    CHECK_LL(beostat_get_stat_cpu(0, 1, &stat), 0);
    CHECK_LL(stat.user, 1015);
    CHECK_LL(stat.system, 2010);
    CHECK_LL(stat.nice, 10);
    CHECK_LL(stat.idle, 4075);

    CHECK_LL(beostat_get_MHz(0, &mhz), 0);
    CHECK_NEAR(mhz, 2400.0);
    CHECK_LL(beostat_get_MHz(-1, &mhz), 0);
    CHECK_NEAR(mhz, 3000.0);

    /* Whole cluster: nodes 0, 2 (if the rules admit us) and 3 are up. */
    if (caller_may_use_node2()) {
        CHECK_LL(beostat_count_idle_cpus(9999.0f), 7);
        CHECK_LL(beostat_count_idle_cpus(0.5f), 3);
    } else {
        CHECK_LL(beostat_count_idle_cpus(9999.0f), 5);
        CHECK_LL(beostat_count_idle_cpus(0.5f), 2);
    }
    CHECK_LL(beostat_count_idle_cpus_on_node(0, 0.5f), 2);
    CHECK_LL(beostat_count_idle_cpus_on_node(0, 9999.0f), 4);
    CHECK_LL(beostat_count_idle_cpus_on_node(3, 0.5f), 0);
    CHECK_LL(beostat_count_idle_cpus_on_node(3, 0.7f), 1);
    CHECK_LL(beostat_count_idle_cpus_on_node(1, 9999.0f), 0); /* down */
}

static void network(void)
{
    struct beostat_net_dev devs[MAX_NET_DEV];
    struct beostat_net_dev two[2];
    struct beostat_net_dev wide[MAX_NET_DEV + 4];
    int i;

    memset(devs, 0xff, sizeof devs);
    CHECK_LL(beostat_get_net_dev(0, devs, MAX_NET_DEV), 0);
    CHECK(strcmp(devs[0].name, "eth0") == 0);
    CHECK(strcmp(devs[1].name, "lo") == 0);
    CHECK(strcmp(devs[2].name, "ib0") == 0);
    CHECK_LL(devs[0].recv.bytes, 5000);
    CHECK_LL(devs[0].recv.packets, 50);
    CHECK_LL(devs[0].recv.errs, 1);
    CHECK_LL(devs[0].recv.drop, 2);
    CHECK_LL(devs[0].recv.fifo, 3);
    CHECK_LL(devs[0].recv.compressed, 4);
    CHECK_LL(devs[0].frame, 5);
    CHECK_LL(devs[0].multicast, 6);
    CHECK_LL(devs[0].trans.bytes, 4000);
    CHECK_LL(devs[0].trans.packets, 40);
    CHECK_LL(devs[0].colls, 7);
    CHECK_LL(devs[0].carrier, 8);
    CHECK_LL(devs[2].recv.bytes, 123456789);
    for (i = 3; i < MAX_NET_DEV; i++)
        CHECK(devs[i].name[0] == 0 && devs[i].recv.bytes == 0);

    /* size smaller than MAX_NET_DEV: exactly `size` entries written. */
    CHECK_LL(beostat_get_net_dev(0, two, 2), 0);
    CHECK(strcmp(two[1].name, "lo") == 0);

    /* size larger than MAX_NET_DEV: the extra entries are zeroed. */
    memset(wide, 0xff, sizeof wide);
    CHECK_LL(beostat_get_net_dev(0, wide, MAX_NET_DEV + 4), 0);
    CHECK(wide[MAX_NET_DEV + 3].name[0] == 0 && wide[MAX_NET_DEV + 3].colls == 0);

    /* eth0 moved 4000 + 2000 bytes, lo and ib0 nothing, in 2 seconds. */
    CHECK_LL(beostat_get_net_rate(0), 3000);
}

static void filesystem_time_name(void)
{
    struct statfs fs;
    statfs_p_t fs2;
    struct node_time when;
    time_t plain;
    int max = -1, curr = -1;
    char *name = NULL;

    CHECK_LL(beostat_get_statfs_p(0, &fs), 0);
    CHECK_LL(fs.f_type, 0xEF53);
    CHECK_LL(fs.f_bsize, 4096);
    CHECK_LL(fs.f_blocks, 26214400);
    CHECK_LL(fs.f_bfree, 13107200);
    CHECK_LL(fs.f_bavail, 12000000);
    CHECK_LL(fs.f_files, 1000);
    CHECK_LL(fs.f_ffree, 500);
    CHECK_LL(fs.f_namelen, 255);
    CHECK_LL(beostat_get_statfs_p(0, &fs2), 0);
    CHECK_LL(fs2.f_blocks, 26214400);

    CHECK_LL(beostat_get_disk_usage(0, &max, &curr), 0);
    CHECK_LL(max, 102400);
    CHECK_LL(curr, 51200);

    CHECK_LL(beostat_get_time(0, &when), 0);
    CHECK(when.time > time(NULL) - 600 && when.time <= time(NULL) + 5);
    CHECK_LL(beostat_get_time(1, (struct node_time *)&plain), 0);
    CHECK(plain < time(NULL) - 3000); /* node 1 reported an hour ago */

    CHECK_LL(beostat_get_name(0, &name), 0);
    CHECK(name != NULL && strcmp(name, "n0") == 0);
    free(name);
    CHECK_LL(beostat_get_name(-1, &name), 0);
    CHECK(name != NULL && strcmp(name, "master") == 0);
    free(name);
}

static void nodes_and_access(void)
{
    gid_t group100[1] = {100};
    gid_t group5[2] = {5, 6};
    int *list = NULL;
    int n, may2 = caller_may_use_node2();

    CHECK_LL(beostat_get_node_count(), 4);
    CHECK_LL(beostat_get_last_multicast(), 1700000000);

    CHECK_LL(beostat_is_node_available(0, 4242, NULL, 0), 1);   /* no rules */
    CHECK_LL(beostat_is_node_available(1, 0, NULL, 0), 0);      /* down */
    CHECK_LL(beostat_is_node_available(2, 1000, NULL, 0), 1);   /* owner */
    CHECK_LL(beostat_is_node_available(2, 2000, group100, 1), 1); /* group */
    CHECK_LL(beostat_is_node_available(2, 2000, group5, 2), 0); /* other */
    CHECK_LL(beostat_is_node_available(2, 0, NULL, 0), 1);      /* root */
    CHECK_LL(beostat_is_node_available(-1, 4242, NULL, 0), 1);  /* master */

    n = beostat_get_avail_nodes_by_id(&list, 2000, group5, 2);
    CHECK_LL(n, 2);
    CHECK(list != NULL && list[0] == 0 && list[1] == 3);
    free(list);
    n = beostat_get_avail_nodes_by_id(&list, 1000, NULL, 0);
    CHECK_LL(n, 3);
    CHECK(list != NULL && list[0] == 0 && list[1] == 2 && list[2] == 3);
    free(list);
    (void)may2;

    /* The legacy setter: the fixture directory is ours, so it may write. */
    CHECK_LL(beostat_set_last_multicast(1800000000), 0);
    CHECK_LL(beostat_get_last_multicast(), 1800000000);
}

int main(void)
{
    loadavg_and_meminfo();
    cpus();
    network();
    filesystem_time_name();
    nodes_and_access();
    return finish();
}
