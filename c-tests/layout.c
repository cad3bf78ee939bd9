/*
 * c-tests/layout.c: pins the C layout of <sys/beostat.h> at compile time.
 *
 * One translation unit sees both headers: the hand-written legacy one
 * (c-tests/legacy/sys/beostat.h, from the manuals) with every name it declares
 * renamed to legacy_*, and the one cbindgen generates from our Rust types
 * (include/sys/beostat.h). _Static_assert then demands that every documented
 * struct has the same size, alignment and field offsets in both, that
 * MAX_NET_DEV agrees, and that the shared-memory structs sit at the offsets
 * the published file format (docs/SHM-LAYOUT.md) fixes. Nothing is run: if
 * this file compiles, the layouts agree.
 *
 * Compiled by tests/c_layout.rs with:
 *     gcc -std=c99 -Wall -Wextra -Werror -c c-tests/layout.c -o /dev/null
 * (_Static_assert is C11; gcc accepts it in C99 mode as an extension, and
 * only -pedantic would warn, so the harness does not pass -pedantic.)
 */
#include <stddef.h>

/* ---- The legacy header, every declared name prefixed with legacy_. ---- */
#define beostat_stat_cpu legacy_beostat_stat_cpu
#define node_time legacy_node_time
#define beostat_memusage legacy_beostat_memusage
#define beostat_meminfo legacy_beostat_meminfo
#define beostat_loadavg legacy_beostat_loadavg
#define beostat_net_stat legacy_beostat_net_stat
#define beostat_net_dev legacy_beostat_net_dev
#define meminfo_t legacy_meminfo_t
#define statfs_p_t legacy_statfs_p_t
/* The prototypes too: with renamed struct types they would otherwise
 * conflict with the generated header's declarations of the same functions. */
#define beostat_count_idle_cpus legacy_beostat_count_idle_cpus
#define beostat_count_idle_cpus_on_node legacy_beostat_count_idle_cpus_on_node
#define beostat_get_cpu_percent legacy_beostat_get_cpu_percent
#define beostat_get_last_multicast legacy_beostat_get_last_multicast
#define beostat_set_last_multicast legacy_beostat_set_last_multicast
#define beostat_get_loadavg legacy_beostat_get_loadavg
#define beostat_get_meminfo legacy_beostat_get_meminfo
#define beostat_get_MHz legacy_beostat_get_MHz
#define beostat_get_net_dev legacy_beostat_get_net_dev
#define beostat_get_net_rate legacy_beostat_get_net_rate
#define beostat_get_stat_cpu legacy_beostat_get_stat_cpu
#define beostat_get_statfs_p legacy_beostat_get_statfs_p
#define beostat_get_time legacy_beostat_get_time
#define beostat_is_node_available legacy_beostat_is_node_available
#define beostat_get_name legacy_beostat_get_name
#define beostat_get_disk_usage legacy_beostat_get_disk_usage
#define beostat_get_avail_nodes_by_id legacy_beostat_get_avail_nodes_by_id
#define beostat_get_cpu_count legacy_beostat_get_cpu_count
#define beostat_get_node_count legacy_beostat_get_node_count

#include "legacy/sys/beostat.h"

/* A macro cannot be renamed before its definition; capture it after. */
enum { LEGACY_MAX_NET_DEV = MAX_NET_DEV };
#undef MAX_NET_DEV

#undef beostat_stat_cpu
#undef node_time
#undef beostat_memusage
#undef beostat_meminfo
#undef beostat_loadavg
#undef beostat_net_stat
#undef beostat_net_dev
#undef meminfo_t
#undef statfs_p_t
#undef beostat_count_idle_cpus
#undef beostat_count_idle_cpus_on_node
#undef beostat_get_cpu_percent
#undef beostat_get_last_multicast
#undef beostat_set_last_multicast
#undef beostat_get_loadavg
#undef beostat_get_meminfo
#undef beostat_get_MHz
#undef beostat_get_net_dev
#undef beostat_get_net_rate
#undef beostat_get_stat_cpu
#undef beostat_get_statfs_p
#undef beostat_get_time
#undef beostat_is_node_available
#undef beostat_get_name
#undef beostat_get_disk_usage
#undef beostat_get_avail_nodes_by_id
#undef beostat_get_cpu_count
#undef beostat_get_node_count

/* ---- The generated header, names as they are. ---- */
#include "../include/sys/beostat.h"

#ifndef _LEGACY_SYS_BEOSTAT_H
#error "the legacy header was not included"
#endif
#ifndef _SYS_BEOSTAT_H
#error "the generated header was not included (include guard clash?)"
#endif

/* In strict C99 mode glibc's <sys/cdefs.h> replaces _Static_assert with a
 * negative-bit-field trick whose error never shows the message. gcc's own
 * _Static_assert (accepted in C99 mode as an extension) keeps the message. */
#ifdef _Static_assert
#undef _Static_assert
#endif

/* alignof without C11: the offset of T after a char. */
#define ALIGNOF(T) offsetof(struct { char c; T t; }, t)

#define SAME_SIZE(tag)                                                        \
	_Static_assert(sizeof(struct tag) == sizeof(struct legacy_##tag),         \
		       "sizeof(struct " #tag ") differs from the legacy header");     \
	_Static_assert(ALIGNOF(struct tag) == ALIGNOF(struct legacy_##tag),       \
		       "alignof(struct " #tag ") differs from the legacy header")

#define SAME_FIELD(tag, field)                                                \
	_Static_assert(offsetof(struct tag, field) ==                             \
			       offsetof(struct legacy_##tag, field),                  \
		       "offsetof(struct " #tag ", " #field ") differs from the legacy header"); \
	_Static_assert(sizeof(((struct tag *)0)->field) ==                        \
			       sizeof(((struct legacy_##tag *)0)->field),             \
		       "sizeof(struct " #tag "." #field ") differs from the legacy header")

SAME_SIZE(beostat_stat_cpu);
SAME_FIELD(beostat_stat_cpu, user);
SAME_FIELD(beostat_stat_cpu, system);
SAME_FIELD(beostat_stat_cpu, nice);
SAME_FIELD(beostat_stat_cpu, idle);

SAME_SIZE(node_time);
SAME_FIELD(node_time, time);

SAME_SIZE(beostat_memusage);
SAME_FIELD(beostat_memusage, used);
SAME_FIELD(beostat_memusage, free);

SAME_SIZE(beostat_meminfo);
SAME_FIELD(beostat_meminfo, mem);
SAME_FIELD(beostat_meminfo, swap);
SAME_FIELD(beostat_meminfo, shared);
SAME_FIELD(beostat_meminfo, buffers);
SAME_FIELD(beostat_meminfo, cached);

SAME_SIZE(beostat_loadavg);
SAME_FIELD(beostat_loadavg, load);
SAME_FIELD(beostat_loadavg, num_active_procs);
SAME_FIELD(beostat_loadavg, total_procs);
SAME_FIELD(beostat_loadavg, last_pid);

SAME_SIZE(beostat_net_stat);
SAME_FIELD(beostat_net_stat, bytes);
SAME_FIELD(beostat_net_stat, packets);
SAME_FIELD(beostat_net_stat, errs);
SAME_FIELD(beostat_net_stat, drop);
SAME_FIELD(beostat_net_stat, fifo);
SAME_FIELD(beostat_net_stat, compressed);

SAME_SIZE(beostat_net_dev);
SAME_FIELD(beostat_net_dev, name);
SAME_FIELD(beostat_net_dev, recv);
SAME_FIELD(beostat_net_dev, frame);
SAME_FIELD(beostat_net_dev, multicast);
SAME_FIELD(beostat_net_dev, trans);
SAME_FIELD(beostat_net_dev, colls);
SAME_FIELD(beostat_net_dev, carrier);

_Static_assert(MAX_NET_DEV == LEGACY_MAX_NET_DEV, "MAX_NET_DEV differs from the legacy header");
_Static_assert(sizeof(meminfo_t) == sizeof(legacy_meminfo_t), "meminfo_t differs from the legacy header");
_Static_assert(sizeof(statfs_p_t) == sizeof(legacy_statfs_p_t), "statfs_p_t differs from the legacy header");

/* The typedefs must name the structs themselves, not copies: assigning
 * through a pointer of the other spelling is a constraint violation (and
 * with -Werror an error) if they are different types. */
static inline void typedefs_name_the_structs(meminfo_t *m, struct beostat_meminfo *s,
					     statfs_p_t *f, struct statfs *g)
{
	struct beostat_meminfo *m_as_struct = m;
	meminfo_t *s_as_typedef = s;
	struct statfs *f_as_struct = f;
	statfs_p_t *g_as_typedef = g;
	(void)m_as_struct;
	(void)s_as_typedef;
	(void)f_as_struct;
	(void)g_as_typedef;
}

/* ---- The shared-memory file format: offsets fixed by docs/SHM-LAYOUT.md and
 * pinned in Rust by the const assertions in src/shm/layout.rs. ---- */
_Static_assert(sizeof(struct beostat_shm_control) == 584, "sizeof(struct beostat_shm_control)");
_Static_assert(sizeof(struct beostat_shm_control) <= BEOSTAT_SHM_HEADER_BYTES, "control header fits its page");
_Static_assert(offsetof(struct beostat_shm_control, magic) == 0, "beostat_shm_control.magic");
_Static_assert(offsetof(struct beostat_shm_control, layout_version) == 8, "beostat_shm_control.layout_version");
_Static_assert(offsetof(struct beostat_shm_control, header_size) == 12, "beostat_shm_control.header_size");
_Static_assert(offsetof(struct beostat_shm_control, generation) == 16, "beostat_shm_control.generation");
_Static_assert(offsetof(struct beostat_shm_control, writer_pid) == 24, "beostat_shm_control.writer_pid");
_Static_assert(offsetof(struct beostat_shm_control, flags) == 28, "beostat_shm_control.flags");
_Static_assert(offsetof(struct beostat_shm_control, writer_start_time) == 32, "beostat_shm_control.writer_start_time");
_Static_assert(offsetof(struct beostat_shm_control, last_multicast) == 40, "beostat_shm_control.last_multicast");
_Static_assert(offsetof(struct beostat_shm_control, node_capacity) == 48, "beostat_shm_control.node_capacity");
_Static_assert(offsetof(struct beostat_shm_control, cpu_capacity) == 52, "beostat_shm_control.cpu_capacity");
_Static_assert(offsetof(struct beostat_shm_control, node_count) == 56, "beostat_shm_control.node_count");
_Static_assert(offsetof(struct beostat_shm_control, node_expiry_secs) == 60, "beostat_shm_control.node_expiry_secs");
_Static_assert(offsetof(struct beostat_shm_control, record_fixed_size) == 64, "beostat_shm_control.record_fixed_size");
_Static_assert(offsetof(struct beostat_shm_control, record_size) == 68, "beostat_shm_control.record_size");
_Static_assert(offsetof(struct beostat_shm_control, counters) == 72, "beostat_shm_control.counters");
_Static_assert(sizeof(((struct beostat_shm_control *)0)->counters) == 8 * BEOSTAT_SHM_COUNTER_SLOTS, "beostat_shm_control.counters length");

_Static_assert(sizeof(struct beostat_shm_nodes) == 56, "sizeof(struct beostat_shm_nodes)");
_Static_assert(offsetof(struct beostat_shm_nodes, magic) == 0, "beostat_shm_nodes.magic");
_Static_assert(offsetof(struct beostat_shm_nodes, layout_version) == 8, "beostat_shm_nodes.layout_version");
_Static_assert(offsetof(struct beostat_shm_nodes, header_size) == 12, "beostat_shm_nodes.header_size");
_Static_assert(offsetof(struct beostat_shm_nodes, generation) == 16, "beostat_shm_nodes.generation");
_Static_assert(offsetof(struct beostat_shm_nodes, index) == 24, "beostat_shm_nodes.index");
_Static_assert(offsetof(struct beostat_shm_nodes, used_bytes) == 32, "beostat_shm_nodes.used_bytes");
_Static_assert(offsetof(struct beostat_shm_nodes, file_bytes) == 40, "beostat_shm_nodes.file_bytes");
_Static_assert(offsetof(struct beostat_shm_nodes, record_count) == 48, "beostat_shm_nodes.record_count");

_Static_assert(sizeof(struct beostat_cpu_times) == 64, "sizeof(struct beostat_cpu_times)");
_Static_assert(offsetof(struct beostat_cpu_times, iowait) == 32, "beostat_cpu_times.iowait");
_Static_assert(offsetof(struct beostat_cpu_times, steal) == 56, "beostat_cpu_times.steal");

_Static_assert(sizeof(struct beostat_node_record) == 360, "sizeof(struct beostat_node_record)");
_Static_assert(ALIGNOF(struct beostat_node_record) == 8, "alignof(struct beostat_node_record)");
_Static_assert(offsetof(struct beostat_node_record, seq) == 0, "beostat_node_record.seq");
_Static_assert(offsetof(struct beostat_node_record, node) == 8, "beostat_node_record.node");
_Static_assert(offsetof(struct beostat_node_record, state) == 12, "beostat_node_record.state");
_Static_assert(offsetof(struct beostat_node_record, time) == 16, "beostat_node_record.time");
_Static_assert(offsetof(struct beostat_node_record, time_ns) == 24, "beostat_node_record.time_ns");
_Static_assert(offsetof(struct beostat_node_record, monotonic_ns) == 32, "beostat_node_record.monotonic_ns");
_Static_assert(offsetof(struct beostat_node_record, flags) == 40, "beostat_node_record.flags");
_Static_assert(offsetof(struct beostat_node_record, cpu_count) == 44, "beostat_node_record.cpu_count");
_Static_assert(offsetof(struct beostat_node_record, mhz) == 48, "beostat_node_record.mhz");
_Static_assert(offsetof(struct beostat_node_record, net_dev_count) == 52, "beostat_node_record.net_dev_count");
_Static_assert(offsetof(struct beostat_node_record, access_uid) == 56, "beostat_node_record.access_uid");
_Static_assert(offsetof(struct beostat_node_record, access_gid) == 60, "beostat_node_record.access_gid");
_Static_assert(offsetof(struct beostat_node_record, access_mode) == 64, "beostat_node_record.access_mode");
_Static_assert(offsetof(struct beostat_node_record, cpu_capacity) == 68, "beostat_node_record.cpu_capacity");
_Static_assert(offsetof(struct beostat_node_record, net_dev_capacity) == 72, "beostat_node_record.net_dev_capacity");
_Static_assert(offsetof(struct beostat_node_record, record_size) == 76, "beostat_node_record.record_size");
_Static_assert(offsetof(struct beostat_node_record, loadavg) == 80, "beostat_node_record.loadavg");
_Static_assert(offsetof(struct beostat_node_record, net_rate) == 104, "beostat_node_record.net_rate");
_Static_assert(offsetof(struct beostat_node_record, meminfo) == 112, "beostat_node_record.meminfo");
_Static_assert(offsetof(struct beostat_node_record, mem_available) == 168, "beostat_node_record.mem_available");
_Static_assert(offsetof(struct beostat_node_record, name) == 176, "beostat_node_record.name");
_Static_assert(offsetof(struct beostat_node_record, statfs) == 240, "beostat_node_record.statfs");
_Static_assert(sizeof(((struct beostat_node_record *)0)->name) == BEOSTAT_NODE_NAME_LEN, "beostat_node_record.name length");
_Static_assert(sizeof(struct beostat_stat_cpu) == 32, "stat_cpu entries after a record are 32 bytes");

/* ISO C forbids an empty translation unit; give it one symbol. */
int beostat_layout_checks_compiled(void);
int beostat_layout_checks_compiled(void)
{
	typedefs_name_the_structs(0, 0, 0, 0);
	return 1;
}
