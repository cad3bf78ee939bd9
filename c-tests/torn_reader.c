/*
 * Reads node 0 through the C API until it has made argv[1] successful reads
 * while another process rewrites that record as fast as it can. The writer
 * keeps every field of meminfo and loadavg equal to one counter k, so a read
 * that mixes two writes shows up as unequal fields ("torn"). The writer must
 * really be racing us: the value must change many times during the run. On a
 * loaded machine the two may rarely run at the same time, so the reader goes
 * on past argv[1] reads until it has seen 100 changes (up to 100 times as
 * many reads), instead of failing because of the scheduler.
 */
#include <stdlib.h>
#include <sys/beostat.h>

#include "harness.h"

int main(int argc, char **argv)
{
    long want = argc > 1 ? atol(argv[1]) : 1000000;
    long ok = 0, torn = 0, busy = 0, other = 0, changes = 0;
    unsigned long long last = 0;
    struct beostat_meminfo m;
    struct beostat_loadavg l;

    while ((ok < want || changes <= 100) && ok < 100 * want) {
        if (beostat_get_meminfo(0, &m) == 0) {
            unsigned long long k = m.mem.used;
            ok++;
            if (m.mem.free != k || m.swap.used != k || m.swap.free != k ||
                m.shared != k || m.buffers != k || m.cached != k)
                torn++;
            if (k != last)
                changes++;
            last = k;
        } else if (errno == EAGAIN) {
            busy++;
        } else {
            other++;
        }
        if (beostat_get_loadavg(0, &l) == 0) {
            int k = l.num_active_procs;
            ok++;
            if (l.total_procs != k || l.last_pid != k || l.load[0] != (float)k ||
                l.load[1] != (float)k || l.load[2] != (float)k)
                torn++;
        } else if (errno == EAGAIN) {
            busy++;
        } else {
            other++;
        }
    }
    printf("reads %ld torn %ld busy %ld other-errors %ld value-changes %ld\n", ok, torn,
           busy, other, changes);
    CHECK_LL(torn, 0);
    CHECK_LL(other, 0);
    CHECK(changes > 100);
    return finish();
}
