/*
 * Every error path of the C API. argv[1] names the situation the test set
 * up in $BEOSTAT_SHM_DIR:
 *   nofiles   - the directory has no shm files: everything fails with ENOENT;
 *   badmagic  - the files are not ours: everything fails with EPROTO;
 *   newer     - the files have a newer layout version: EPROTO;
 *   busy      - the fixture with node 0's record left mid-write (odd sequence
 *               counter, as a writer killed mid-record leaves it): node 0
 *               fails with EAGAIN after the bounded retries, node 3 still reads;
 *   arguments - the known-values fixture: bad nodes (ESRCH), bad CPUs
 *               (EINVAL), NULL pointers (EFAULT), bad sizes (EINVAL); and
 *               outputs are left untouched on error.
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/beostat.h>

#include "harness.h"

/* Every function fails with `e` (the files are unusable as a whole). */
static void everything_fails_with(int e)
{
    struct beostat_loadavg load;
    struct beostat_meminfo mem;
    struct beostat_net_dev devs[MAX_NET_DEV];
    struct beostat_stat_cpu stat;
    struct statfs fs;
    struct node_time when;
    float mhz;
    char *name;
    int max, curr, *list;

    CHECK_ERRNO(beostat_get_loadavg(0, &load), -1, e);
    CHECK_ERRNO(beostat_get_meminfo(0, &mem), -1, e);
    CHECK_ERRNO(beostat_get_net_dev(0, devs, MAX_NET_DEV), -1, e);
    CHECK_ERRNO(beostat_get_net_rate(0), (unsigned long)-1, e);
    CHECK_ERRNO(beostat_get_stat_cpu(0, 0, &stat), -1, e);
    CHECK_ERRNO(beostat_get_cpu_percent(0, 0), -1.0f, e);
    CHECK_ERRNO(beostat_get_MHz(0, &mhz), -1, e);
    CHECK_ERRNO(beostat_get_statfs_p(0, &fs), -1, e);
    CHECK_ERRNO(beostat_get_time(0, &when), -1, e);
    CHECK_ERRNO(beostat_get_name(0, &name), -1, e);
    CHECK_ERRNO(beostat_get_disk_usage(0, &max, &curr), -1, e);
    CHECK_ERRNO(beostat_get_avail_nodes_by_id(&list, 0, NULL, 0), -1, e);
    CHECK_ERRNO(beostat_is_node_available(0, 0, NULL, 0), -1, e);
    CHECK_ERRNO(beostat_get_cpu_count(0), -1, e);
    CHECK_ERRNO(beostat_get_node_count(), -1, e);
    CHECK_ERRNO(beostat_count_idle_cpus(0.5f), -1, e);
    CHECK_ERRNO(beostat_count_idle_cpus_on_node(0, 0.5f), -1, e);
    CHECK_ERRNO(beostat_get_last_multicast(), (time_t)-1, e);
    CHECK_ERRNO(beostat_set_last_multicast(1), -1, e);
    /* The master's record is no exception. */
    CHECK_ERRNO(beostat_get_loadavg(-1, &load), -1, e);
}

static void bad_arguments(void)
{
    struct beostat_loadavg load;
    struct beostat_net_dev devs[2];
    struct beostat_stat_cpu stat;
    gid_t groups[1] = {0};
    float mhz = 12.5f;
    int max = 7, curr = 8, bad_nodes[] = {5, 99, -2, INT_MIN, INT_MAX};
    unsigned i;

    for (i = 0; i < sizeof bad_nodes / sizeof bad_nodes[0]; i++) {
        int node = bad_nodes[i];
        CHECK_ERRNO(beostat_get_loadavg(node, &load), -1, ESRCH);
        CHECK_ERRNO(beostat_get_cpu_percent(node, 0), -1.0f, ESRCH);
        CHECK_ERRNO(beostat_get_net_rate(node), (unsigned long)-1, ESRCH);
        CHECK_ERRNO(beostat_get_cpu_count(node), -1, ESRCH);
        CHECK_ERRNO(beostat_is_node_available(node, 0, NULL, 0), -1, ESRCH);
        CHECK_ERRNO(beostat_count_idle_cpus_on_node(node, 0.5f), -1, ESRCH);
    }
    /* Outputs are written only on success. */
    CHECK_ERRNO(beostat_get_MHz(77, &mhz), -1, ESRCH);
    CHECK(mhz == 12.5f);
    CHECK_ERRNO(beostat_get_disk_usage(77, &max, &curr), -1, ESRCH);
    CHECK(max == 7 && curr == 8);

    /* Node 0 has 4 CPUs. */
    CHECK_ERRNO(beostat_get_stat_cpu(0, 4, &stat), -1, EINVAL);
    CHECK_ERRNO(beostat_get_stat_cpu(0, -1, &stat), -1, EINVAL);
    CHECK_ERRNO(beostat_get_cpu_percent(0, 4), -1.0f, EINVAL);
    CHECK_ERRNO(beostat_get_cpu_percent(0, INT_MAX), -1.0f, EINVAL);

    CHECK_ERRNO(beostat_get_loadavg(0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_meminfo(0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_MHz(0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_net_dev(0, NULL, 2), -1, EFAULT);
    CHECK_ERRNO(beostat_get_stat_cpu(0, 0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_statfs_p(0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_time(0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_name(0, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_disk_usage(0, NULL, &curr), -1, EFAULT);
    CHECK_ERRNO(beostat_get_disk_usage(0, &max, NULL), -1, EFAULT);
    CHECK_ERRNO(beostat_get_avail_nodes_by_id(NULL, 0, NULL, 0), -1, EFAULT);
    CHECK_ERRNO(beostat_is_node_available(0, 0, NULL, 1), -1, EFAULT);

    CHECK_ERRNO(beostat_get_net_dev(0, devs, -1), -1, EINVAL);
    CHECK_ERRNO(beostat_is_node_available(0, 0, groups, -1), -1, EINVAL);
    /* size 0 with NULL is a valid (empty) request. */
    CHECK_LL(beostat_get_net_dev(0, NULL, 0), 0);
}

static void busy_record(void)
{
    struct beostat_loadavg load;
    struct beostat_meminfo mem;

    CHECK_ERRNO(beostat_get_loadavg(0, &load), -1, EAGAIN);
    CHECK_ERRNO(beostat_get_meminfo(0, &mem), -1, EAGAIN);
    CHECK_ERRNO(beostat_get_cpu_percent(0, 0), -1.0f, EAGAIN);
    CHECK_LL(beostat_get_loadavg(3, &load), 0);
    CHECK_LL(load.last_pid, 777);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";

    if (strcmp(what, "nofiles") == 0)
        everything_fails_with(ENOENT);
    else if (strcmp(what, "badmagic") == 0 || strcmp(what, "newer") == 0)
        everything_fails_with(EPROTO);
    else if (strcmp(what, "busy") == 0)
        busy_record();
    else if (strcmp(what, "arguments") == 0)
        bad_arguments();
    else {
        fprintf(stderr, "usage: api_errors nofiles|badmagic|newer|busy|arguments\n");
        return 2;
    }
    return finish();
}
