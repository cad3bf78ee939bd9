/* Instructions per libbeostat call, counted by valgrind --tool=callgrind
 * as the difference between N=0 and N=K calls (scripts/call-instructions.sh).
 * Usage: call_instructions N l|p|s|i   (loadavg of node 5000, cpu_percent of
 * its 16 CPUs, loadavg sweeping nodes 0..9999, count_idle_cpus). */
#include <sys/beostat.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    long n = atol(argv[1]);
    const char *what = argv[2];
    int node = 5000;
    struct beostat_loadavg la;
    long sink = 0;
    if (beostat_get_loadavg(node, &la) != 0) { perror("warm"); return 1; }
    for (long i = 0; i < n; i++) {
        if (what[0] == 'l') { beostat_get_loadavg(node, &la); sink += la.last_pid; }
        else if (what[0] == 'p') sink += (long)(beostat_get_cpu_percent(node, (int)(i & 15)) * 100);
        else if (what[0] == 's') { beostat_get_loadavg((int)(i % 10000), &la); sink += la.last_pid; }
        else if (what[0] == 'i') sink += beostat_count_idle_cpus(0.5f);
    }
    printf("%ld\n", sink);
    return 0;
}
