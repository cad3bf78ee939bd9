/*
 * c-tests/legacy/sys/beostat.h: the legacy <sys/beostat.h>, as C callers knew it.
 *
 * HAND-WRITTEN from the Scyld ClusterWare manuals (as collected in the
 * project's reference, libbeostat.md sections 4 and 6), never generated from
 * or copied out of this project's Rust code. It exists to be an independent
 * witness: the layout tests (tests/layout.rs through bindgen, and
 * c-tests/layout.c through _Static_assert) compare the header that cbindgen
 * generates from our Rust types (include/sys/beostat.h) against this one, so a
 * change to the Rust types that would break programs compiled against the
 * original library fails the build. Do not "fix" this file to match the Rust
 * code; change it only when the published record says something new.
 *
 * Status of each declaration, as in the reference:
 *   documented  - given verbatim by the manuals;
 *   referenced  - the manuals name the function but its page is lost; the
 *                 prototype is a reconstruction;
 *   ours        - not in the record; the project's documented choice.
 *
 * Target ABI: LP64 Linux.
 */
#ifndef _LEGACY_SYS_BEOSTAT_H
#define _LEGACY_SYS_BEOSTAT_H

#include <time.h>      /* time_t */
#include <sys/types.h> /* uid_t, gid_t */
#include <sys/vfs.h>   /* struct statfs */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Entries of struct beostat_net_dev kept per node. The manuals use the name
 * (as an array size) but its value was not preserved; 32 is ours.
 */
#define MAX_NET_DEV 32

/* ---- Documented structs: field order and C types exactly as published. ---- */

/* Cumulative CPU time of one CPU, in clock ticks, as in /proc/stat. */
struct beostat_stat_cpu {
	long user;
	long system;
	long nice;
	long idle;
};

/* When a node's last update arrived; holds only a time_t, so callers may
 * pass a plain time_t *. */
struct node_time {
	time_t time;
};

/* Used and free amounts of one kind of memory, in bytes. */
struct beostat_memusage {
	unsigned long long used;
	unsigned long long free;
};

/* A node's /proc/meminfo, in bytes. */
struct beostat_meminfo {
	struct beostat_memusage mem;
	struct beostat_memusage swap;
	unsigned long long shared;
	unsigned long long buffers;
	unsigned long long cached;
};

/* A node's /proc/loadavg: 1, 5 and 15 minute averages, then fields 4 and 5. */
struct beostat_loadavg {
	float load[3];
	int num_active_procs;
	int total_procs;
	int last_pid;
};

/* Counters of one direction of one interface, from /proc/net/dev. */
struct beostat_net_stat {
	unsigned long bytes;
	unsigned long packets;
	unsigned long errs;
	unsigned long drop;
	unsigned long fifo;
	unsigned long compressed;
};

/* One network interface of a node; an entry whose name[0] is 0 is unused. */
struct beostat_net_dev {
	char name[16];
	struct beostat_net_stat recv;
	unsigned long frame;
	unsigned long multicast;
	struct beostat_net_stat trans;
	unsigned long colls;
	unsigned long carrier;
};

/* The manuals' examples use these names; their existence in the original
 * header is uncertain. */
typedef struct beostat_meminfo meminfo_t;
typedef struct statfs statfs_p_t;

/* ---- Documented prototypes. 0 (or a count) on success, -1 on error;
 * float functions return -1.0 on error. Node -1 is the master. ---- */

int beostat_count_idle_cpus(float threshold);
int beostat_count_idle_cpus_on_node(int node, float cpu_idle_threshold);
float beostat_get_cpu_percent(int node, int cpu);
time_t beostat_get_last_multicast(void);
int beostat_set_last_multicast(time_t last);
int beostat_get_loadavg(int node, struct beostat_loadavg *loadavg);
int beostat_get_meminfo(int node, struct beostat_meminfo *meminfo);
int beostat_get_MHz(int node, float *MHz);
int beostat_get_net_dev(int node, struct beostat_net_dev *devs, int size);
unsigned long beostat_get_net_rate(int node);
int beostat_get_stat_cpu(int node, int cpu, struct beostat_stat_cpu *stat_cpu);
int beostat_get_statfs_p(int node, struct statfs *statfs);
int beostat_get_time(int node, struct node_time *node_time);
int beostat_is_node_available(int node, uid_t uid, gid_t *gid_list, int gid_size);

/* ---- Referenced only: the manuals name these but their pages are lost.
 * RECONSTRUCTED prototypes, not verbatim. ---- */

/* Node's name in a newly allocated string; the caller frees it. */
int beostat_get_name(int node, char **name);
/* Size and use of the node's root filesystem (unit not preserved). */
int beostat_get_disk_usage(int node, int *max, int *curr);
/* Nodes the user may use, in a newly allocated array; returns the count. */
int beostat_get_avail_nodes_by_id(int **node_list, uid_t uid, gid_t *gid_list, int gid_size);
/* Mentioned in secondary sources only. */
int beostat_get_cpu_count(int node);
int beostat_get_node_count(void);

#ifdef __cplusplus
}
#endif

#endif /* _LEGACY_SYS_BEOSTAT_H */
