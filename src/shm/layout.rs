//! The bytes of the two shared-memory files: structs, constants, geometry.
//!
//! This module owns the on-disk (in-/var/shm) format described in
//! docs/SHM-LAYOUT.md and nothing else: no I/O, no `unsafe`. Every struct is
//! `#[repr(C)]` with explicit padding fields, because the seqlock copies
//! records with byte-wise atomic loads and stores, which must never touch
//! implicit (uninitialised) padding. Compile-time assertions at the bottom pin
//! sizes and offsets; the C harness pins them again from C.
#![allow(non_camel_case_types)]

use crate::types::{
    beostat_loadavg, beostat_meminfo, beostat_net_dev, beostat_stat_cpu, node_time,
};
use libc::{c_char, c_ulong, gid_t, pid_t, time_t, uid_t};
use std::mem::{align_of, offset_of, size_of};

/// Name of the control file (header, counters) in the shm directory.
pub const CONTROL_FILE_NAME: &str = "beostat";
/// Name of the node file (one record per node) in the shm directory.
pub const NODES_FILE_NAME: &str = "beostat.nodes";
/// Directory the files live in unless `BEOSTAT_SHM_DIR` says otherwise.
pub const DEFAULT_SHM_DIR: &str = "/var/shm";
/// Environment variable naming another shm directory.
pub const SHM_DIR_ENV: &str = "BEOSTAT_SHM_DIR";

/// First 8 bytes of the control file: "BEOSTAT" and a NUL, read as a
/// little-endian u64.
pub const BEOSTAT_SHM_CONTROL_MAGIC: u64 = 0x0054_4154_534F_4542;
/// First 8 bytes of the node file: "BEONODES", read as a little-endian u64.
pub const BEOSTAT_SHM_NODES_MAGIC: u64 = 0x5345_444F_4E4F_4542;
/// Layout version this code writes and reads. Readers refuse a higher one.
pub const BEOSTAT_SHM_LAYOUT_VERSION: u32 = 2;

/// Bytes reserved for each file header; records start at this offset.
pub const BEOSTAT_SHM_HEADER_BYTES: usize = 4096;
/// Record stride is rounded up to this many bytes (one cache line).
pub const BEOSTAT_SHM_RECORD_ALIGN: usize = 64;
/// Number of counter slots in the control header (see [`Counter`]).
pub const BEOSTAT_SHM_COUNTER_SLOTS: usize = 64;
/// Length of `beostat_node_record.name`, including the terminating NUL.
pub const BEOSTAT_NODE_NAME_LEN: usize = 64;

/// Default seconds without a report after which a node counts as down.
pub const DEFAULT_NODE_EXPIRY_SECS: u32 = 30;
/// Nodes the index has room for before it first grows (the ClusterWare
/// `-N` default); only a hint, the index doubles as nodes report.
pub const DEFAULT_NODE_CAPACITY: u32 = 64;
/// Default limit on distinct nodes (records) the writer keeps (`--max-nodes`).
pub const DEFAULT_MAX_NODES: u32 = 65_536;
/// Default limit on CPUs recorded per node (`--max-cpus`): CPUs past it are
/// not recorded (and counted).
pub const DEFAULT_MAX_CPUS: u32 = 4096;
/// Default limit on the node file's size (`--max-shm-bytes`), 256 MiB:
/// room for about 130,000 nodes of 8 CPUs.
pub const DEFAULT_MAX_SHM_BYTES: u64 = 256 << 20;
/// Hard ceiling on CPUs per node: the largest `CONFIG_NR_CPUS` Linux allows.
pub const MAX_CPU_CAPACITY: u32 = 8192;
/// Hard ceiling on the node file (index entries hold record offsets in
/// 64-byte units in 32 bits).
pub const MAX_SHM_BYTES: u64 = 64 << 30;

/// Control-header flag: the writer has replaced this file; reopen by path.
pub const BEOSTAT_SHM_RETIRED: u32 = 1;

/// Record state: the slot has never received data.
pub const BEOSTAT_NODE_STATE_EMPTY: i32 = 0;
/// Record state: the node reported within its expiry time.
pub const BEOSTAT_NODE_STATE_UP: i32 = 1;
/// Record state: the node stopped reporting; its last data stays visible.
pub const BEOSTAT_NODE_STATE_DOWN: i32 = 2;

/// Record flag: `access_uid`/`access_gid`/`access_mode` hold rules.
pub const BEOSTAT_RECORD_ACCESS_RULES: u32 = 1;
/// Record flag: the CPU time arrays hold a sample (else CPU data is absent).
pub const BEOSTAT_RECORD_HAS_STAT: u32 = 2;
/// Record flag: `mem_available` holds the node's MemAvailable.
pub const BEOSTAT_RECORD_HAS_MEM_AVAILABLE: u32 = 4;
/// Record flag: this record was replaced by a larger one for the same node
/// (its CPU or interface count grew); it is never written again.
pub const BEOSTAT_RECORD_MOVED: u32 = 8;

/// Smallest hash index (slots), as a power of two.
pub const BEOSTAT_SHM_MIN_INDEX_BITS: u32 = 6;

/// The control file's header (file `beostat`, offset 0, padded to 4096 bytes).
///
/// Fields that change while the writer runs (`generation`, `node_capacity`,
/// `node_count`, `last_multicast`, `flags`, `counters`) are written and read
/// with atomic operations on aligned 4- or 8-byte words.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct beostat_shm_control {
    /// [`BEOSTAT_SHM_CONTROL_MAGIC`].
    pub magic: u64,
    /// [`BEOSTAT_SHM_LAYOUT_VERSION`] of the writer.
    pub layout_version: u32,
    /// `sizeof(struct beostat_shm_control)`.
    pub header_size: u32,
    /// Generation of the node file currently in place; changes only when a
    /// new node file replaces it (never when it grows in place). Readers
    /// compare it with the node file's own.
    pub generation: u64,
    /// Pid of the writer process.
    pub writer_pid: pid_t,
    /// [`BEOSTAT_SHM_RETIRED`] and future flags.
    pub flags: u32,
    /// When the writer started (seconds since the Epoch).
    pub writer_start_time: time_t,
    /// When the writer last multicast an update request to the nodes.
    pub last_multicast: time_t,
    /// Node records in the node file (nodes that reported, the master included).
    pub node_capacity: u32,
    /// Most CPUs recorded per node (the writer's `--max-cpus`).
    pub cpu_capacity: u32,
    /// One more than the highest node number that has reported (0 if none).
    pub node_count: u32,
    /// Seconds without a report after which a node is down.
    pub node_expiry_secs: u32,
    /// `sizeof(struct beostat_node_record)` (the fixed part of a record).
    pub record_fixed_size: u32,
    /// 0: records vary in size (each says its own, `beostat_node_record.record_size`).
    pub record_size: u32,
    /// Daemon counters, indexed by [`Counter`]. Unused slots stay 0.
    pub counters: [u64; BEOSTAT_SHM_COUNTER_SLOTS],
}

/// The node file's header (file `beostat.nodes`, offset 0, padded to 4096).
///
/// `magic`, `layout_version`, `header_size` and `generation` are written
/// before the file gets its name and never change. The other fields grow
/// in place and are stored atomically, each after what it describes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct beostat_shm_nodes {
    /// [`BEOSTAT_SHM_NODES_MAGIC`].
    pub magic: u64,
    /// [`BEOSTAT_SHM_LAYOUT_VERSION`].
    pub layout_version: u32,
    /// `sizeof(struct beostat_shm_nodes)`.
    pub header_size: u32,
    /// Generation of this file; equals the control header's while current.
    pub generation: u64,
    /// The node index in use: offset in 64-byte units (bits 0-55) and
    /// log2 of its slot count (bits 56-63). See [`index_descriptor`].
    pub index: u64,
    /// End of the last allocation (index or record), from the file start.
    pub used_bytes: u64,
    /// Bytes of the file the writer has allocated (backed by memory).
    pub file_bytes: u64,
    /// Records allocated, moved ones included.
    pub record_count: u32,
    /// Explicit padding.
    pub reserved: u32,
}

/// Cumulative time of one CPU in every mode /proc/stat reports, in clock
/// ticks (USER_HZ). `guest` and `guest_nice` are left out: the kernel
/// already counts them in `user` and `nice`. Kernels older than a column
/// report 0 in it (Linux 2.4 has only the first four).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct beostat_cpu_times {
    /// User mode.
    pub user: u64,
    /// User mode at low priority.
    pub nice: u64,
    /// Kernel mode.
    pub system: u64,
    /// Idle.
    pub idle: u64,
    /// Idle while I/O was outstanding.
    pub iowait: u64,
    /// Servicing interrupts.
    pub irq: u64,
    /// Servicing soft interrupts.
    pub softirq: u64,
    /// Taken by the hypervisor while runnable.
    pub steal: u64,
}

impl beostat_cpu_times {
    /// The legacy four fields (docs/SHM-LAYOUT.md, the Linux 2.4 meaning
    /// the manuals document): `system` includes irq, softirq and steal,
    /// `idle` includes iowait; wrapping sums, converted to `long` as the
    /// legacy counters wrap.
    pub fn legacy(&self) -> beostat_stat_cpu {
        beostat_stat_cpu {
            user: self.user as libc::c_long,
            system: self
                .system
                .wrapping_add(self.irq)
                .wrapping_add(self.softirq)
                .wrapping_add(self.steal) as libc::c_long,
            nice: self.nice as libc::c_long,
            idle: self.idle.wrapping_add(self.iowait) as libc::c_long,
        }
    }
}

/// One node's record: the fixed part. In the node file it is followed by
/// `net_dev[net_dev_capacity]`, `beostat_cpu_times[cpu_capacity]` (latest
/// sample) and `beostat_cpu_times[cpu_capacity]` (previous sample), padded
/// to `record_size`. The node index says where each node's record is.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct beostat_node_record {
    /// Sequence counter: odd while the writer changes the record.
    pub seq: u64,
    /// Node number this record holds (-1 for the master).
    pub node: i32,
    /// NODE_STATE_* as last set by the writer.
    pub state: i32,
    /// When the latest update arrived (seconds since the Epoch; for display).
    pub time: node_time,
    /// When the latest update arrived, nanoseconds since the Epoch (for display).
    pub time_ns: u64,
    /// When the latest update arrived, `CLOCK_MONOTONIC` nanoseconds: what
    /// up and down are judged by, so a stepped wall clock changes nothing.
    pub monotonic_ns: u64,
    /// BEOSTAT_RECORD_* bits.
    pub flags: u32,
    /// Number of CPUs the node reported (at most `cpu_capacity`).
    pub cpu_count: i32,
    /// Clock of CPU 0 in MHz (0 if the architecture does not report it).
    pub mhz: f32,
    /// Used entries of the `net_dev` array that follows.
    pub net_dev_count: i32,
    /// Owner of the node, when BEOSTAT_RECORD_ACCESS_RULES is set.
    pub access_uid: uid_t,
    /// Group of the node, when BEOSTAT_RECORD_ACCESS_RULES is set.
    pub access_gid: gid_t,
    /// BProc-style mode (0100 owner, 0010 group, 0001 others may use it).
    pub access_mode: u32,
    /// CPUs the arrays of this record have room for.
    pub cpu_capacity: u32,
    /// `net_dev` entries this record has room for.
    pub net_dev_capacity: u32,
    /// Bytes of this record, a multiple of 64.
    pub record_size: u32,
    /// /proc/loadavg.
    pub loadavg: beostat_loadavg,
    /// Bytes per second over all interfaces, over the last two samples.
    pub net_rate: c_ulong,
    /// /proc/meminfo, in bytes.
    pub meminfo: beostat_meminfo,
    /// MemAvailable in bytes (when BEOSTAT_RECORD_HAS_MEM_AVAILABLE is set).
    pub mem_available: u64,
    /// Host name the node reported, NUL-terminated.
    pub name: [c_char; BEOSTAT_NODE_NAME_LEN],
    /// statfs(2) of the node's root filesystem.
    pub statfs: libc::statfs,
}

/// Packs an index descriptor (see [`beostat_shm_nodes::index`]).
pub const fn index_descriptor(offset: u64, bits: u32) -> u64 {
    (offset / BEOSTAT_SHM_RECORD_ALIGN as u64) | ((bits as u64) << 56)
}

/// Unpacks an index descriptor: (offset, log2 of the slot count).
pub const fn index_parts(descriptor: u64) -> (u64, u32) {
    (
        (descriptor & ((1 << 56) - 1)) * BEOSTAT_SHM_RECORD_ALIGN as u64,
        (descriptor >> 56) as u32,
    )
}

/// An index entry: the node number (high half) and its record's offset in
/// 64-byte units (low half). 0 is an empty slot (no record starts at 0).
pub const fn index_entry(node: i32, offset: u64) -> u64 {
    ((node as u32 as u64) << 32) | (offset / BEOSTAT_SHM_RECORD_ALIGN as u64)
}

/// Unpacks an index entry: (node, record offset); `None` for an empty slot.
pub const fn entry_parts(entry: u64) -> Option<(i32, u64)> {
    let offset = (entry & 0xFFFF_FFFF) * BEOSTAT_SHM_RECORD_ALIGN as u64;
    if offset == 0 {
        None
    } else {
        Some(((entry >> 32) as u32 as i32, offset))
    }
}

/// The slot where the probe for `node` starts in an index of `2^bits`
/// slots (Fibonacci hashing: consecutive node numbers spread out). Probing
/// goes on to the next slot, wrapping, until the node or an empty slot.
pub const fn index_home(node: i32, bits: u32) -> usize {
    let hash = (node as u32).wrapping_mul(0x9E37_79B1);
    if bits == 0 {
        0
    } else {
        (hash >> (32 - bits)) as usize
    }
}

/// Where the parts of a record with room for `cpus` CPUs and `devices`
/// interfaces lie, relative to the record start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordShape {
    /// CPUs the arrays have room for.
    pub cpus: u32,
    /// `net_dev` entries.
    pub devices: u32,
}

impl RecordShape {
    /// Offset of the `net_dev` array.
    pub const fn net_dev_offset(&self) -> usize {
        size_of::<beostat_node_record>()
    }

    /// Offset of CPU `cpu`'s times in the latest (`previous == false`) or
    /// previous sample.
    pub const fn cpu_offset(&self, cpu: usize, previous: bool) -> usize {
        let base = self.net_dev_offset() + self.devices as usize * size_of::<beostat_net_dev>();
        let array = if previous { self.cpus as usize } else { 0 };
        base + (array + cpu) * size_of::<beostat_cpu_times>()
    }

    /// Bytes of the record, rounded up to [`BEOSTAT_SHM_RECORD_ALIGN`].
    pub const fn size(&self) -> usize {
        let raw =
            self.cpu_offset(0, false) + 2 * self.cpus as usize * size_of::<beostat_cpu_times>();
        raw.div_ceil(BEOSTAT_SHM_RECORD_ALIGN) * BEOSTAT_SHM_RECORD_ALIGN
    }
}

/// Daemon counters kept in `beostat_shm_control.counters`. The index of each
/// is part of the layout: append, never renumber.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Datagrams read from the socket.
    DatagramsReceived = 0,
    /// Datagrams whose data was published.
    DatagramsAccepted = 1,
    /// Dropped: shorter than a header, or longer than the largest legal one.
    DroppedTruncated = 2,
    /// Dropped: wrong magic.
    DroppedBadMagic = 3,
    /// Dropped: protocol version this daemon does not speak.
    DroppedBadVersion = 4,
    /// Dropped: structure broken (lengths overrun, bad counts).
    DroppedMalformed = 5,
    /// Dropped: node number unknown, negative or over the node cap.
    DroppedBadNode = 6,
    /// Dropped: missing or wrong authentication.
    DroppedAuth = 7,
    /// Dropped: replayed sequence number or stale time.
    DroppedReplay = 8,
    /// Sections of accepted datagrams whose text did not parse.
    ParseErrors = 9,
    /// Update requests multicast to the nodes.
    UpdateRequestsSent = 10,
    /// Times the node file was grown or recreated.
    FileGrowths = 11,
    /// Dropped: message type not expected by the receiver.
    DroppedBadType = 12,
    /// Dropped: the claimed node number belongs to another address (per the
    /// iprange lines of the configuration file).
    DroppedSpoofed = 13,
    /// Refused: a new node or a larger record needed room the file could
    /// not get (ENOSPC, EROFS, EIO...); nodes already held are unaffected.
    DroppedNoSpace = 14,
    /// Refused: a new node past `--max-nodes` distinct nodes.
    DroppedNodeLimit = 15,
    /// Refused: a new node or a larger record would pass `--max-shm-bytes`.
    DroppedShmLimit = 16,
    /// Reports that named more CPUs than `--max-cpus` (the rest were not recorded).
    CpusTruncated = 17,
    /// Reports that listed more interfaces than `MAX_NET_DEV` (the rest were not recorded).
    NetDevsTruncated = 18,
    /// Split texts abandoned unfinished: too many parts or bytes pending, or too old.
    ReassemblyAbandoned = 19,
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 20] = [
        Counter::DatagramsReceived,
        Counter::DatagramsAccepted,
        Counter::DroppedTruncated,
        Counter::DroppedBadMagic,
        Counter::DroppedBadVersion,
        Counter::DroppedMalformed,
        Counter::DroppedBadNode,
        Counter::DroppedAuth,
        Counter::DroppedReplay,
        Counter::ParseErrors,
        Counter::UpdateRequestsSent,
        Counter::FileGrowths,
        Counter::DroppedBadType,
        Counter::DroppedSpoofed,
        Counter::DroppedNoSpace,
        Counter::DroppedNodeLimit,
        Counter::DroppedShmLimit,
        Counter::CpusTruncated,
        Counter::NetDevsTruncated,
        Counter::ReassemblyAbandoned,
    ];

    /// A stable snake_case name (used in logs and metrics).
    pub fn name(self) -> &'static str {
        match self {
            Counter::DatagramsReceived => "datagrams_received",
            Counter::DatagramsAccepted => "datagrams_accepted",
            Counter::DroppedTruncated => "dropped_truncated",
            Counter::DroppedBadMagic => "dropped_bad_magic",
            Counter::DroppedBadVersion => "dropped_bad_version",
            Counter::DroppedMalformed => "dropped_malformed",
            Counter::DroppedBadNode => "dropped_bad_node",
            Counter::DroppedAuth => "dropped_auth",
            Counter::DroppedReplay => "dropped_replay",
            Counter::ParseErrors => "parse_errors",
            Counter::UpdateRequestsSent => "update_requests_sent",
            Counter::FileGrowths => "file_growths",
            Counter::DroppedBadType => "dropped_bad_type",
            Counter::DroppedSpoofed => "dropped_spoofed",
            Counter::DroppedNoSpace => "dropped_no_space",
            Counter::DroppedNodeLimit => "dropped_node_limit",
            Counter::DroppedShmLimit => "dropped_shm_limit",
            Counter::CpusTruncated => "cpus_truncated",
            Counter::NetDevsTruncated => "net_devs_truncated",
            Counter::ReassemblyAbandoned => "reassembly_abandoned",
        }
    }
}

// Layout pins. Offsets are part of the published format (docs/SHM-LAYOUT.md).
const _: () = {
    assert!(size_of::<beostat_shm_control>() == 584);
    assert!(size_of::<beostat_shm_control>() <= BEOSTAT_SHM_HEADER_BYTES);
    assert!(offset_of!(beostat_shm_control, generation) == 16);
    assert!(offset_of!(beostat_shm_control, last_multicast) == 40);
    assert!(offset_of!(beostat_shm_control, counters) == 72);
    assert!(size_of::<beostat_shm_nodes>() == 56);
    assert!(offset_of!(beostat_shm_nodes, index) == 24);
    assert!(offset_of!(beostat_shm_nodes, used_bytes) == 32);
    assert!(offset_of!(beostat_shm_nodes, file_bytes) == 40);
    assert!(offset_of!(beostat_shm_nodes, record_count) == 48);
    assert!(offset_of!(beostat_node_record, monotonic_ns) == 32);
    assert!(offset_of!(beostat_node_record, flags) == 40);
    assert!(offset_of!(beostat_node_record, cpu_capacity) == 68);
    assert!(offset_of!(beostat_node_record, record_size) == 76);
    assert!(offset_of!(beostat_node_record, loadavg) == 80);
    assert!(offset_of!(beostat_node_record, net_rate) == 104);
    assert!(offset_of!(beostat_node_record, meminfo) == 112);
    assert!(offset_of!(beostat_node_record, mem_available) == 168);
    assert!(offset_of!(beostat_node_record, name) == 176);
    assert!(offset_of!(beostat_node_record, statfs) == 240);
    assert!(size_of::<beostat_node_record>() == 360);
    assert!(align_of::<beostat_node_record>() == 8);
    assert!(size_of::<beostat_cpu_times>() == 64);
    assert!(size_of::<beostat_stat_cpu>() == 32);
    assert!(size_of::<beostat_net_dev>() == 144);
    assert!(size_of::<beostat_meminfo>() == 56);
    assert!(size_of::<beostat_loadavg>() == 24);
    assert!(size_of::<node_time>() == 8);
    // The 8-CPU, 4-interface record the issue budgets 2.5 KiB for.
    assert!(
        RecordShape {
            cpus: 8,
            devices: 4
        }
        .size()
            == 1984
    );
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_spell_their_names() {
        assert_eq!(BEOSTAT_SHM_CONTROL_MAGIC.to_le_bytes(), *b"BEOSTAT\0");
        assert_eq!(BEOSTAT_SHM_NODES_MAGIC.to_le_bytes(), *b"BEONODES");
    }

    #[test]
    fn index_words_round_trip() {
        for (node, offset) in [
            (-1, 4096u64),
            (0, 64),
            (60_000, 1 << 30),
            (i32::MAX, 64 << 20),
        ] {
            assert_eq!(entry_parts(index_entry(node, offset)), Some((node, offset)));
        }
        assert_eq!(entry_parts(0), None);
        assert_eq!(index_parts(index_descriptor(8192, 17)), (8192, 17));
        for bits in [6, 10, 20] {
            for node in [-1, 0, 1, 65_535, i32::MAX] {
                assert!(index_home(node, bits) < 1 << bits);
            }
        }
    }

    #[test]
    fn record_parts_fit_inside_the_record() {
        let shape = RecordShape {
            cpus: 7,
            devices: 3,
        };
        let end_of_previous = shape.cpu_offset(6, true) + size_of::<beostat_cpu_times>();
        assert!(end_of_previous <= shape.size());
        assert_eq!(shape.size() % BEOSTAT_SHM_RECORD_ALIGN, 0);
        assert_eq!(shape.cpu_offset(0, true), shape.cpu_offset(7, false));
        assert_eq!(
            shape.cpu_offset(0, false),
            size_of::<beostat_node_record>() + 3 * size_of::<beostat_net_dev>()
        );
    }

    #[test]
    fn counter_indices_are_dense_and_names_unique() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        let mut names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Counter::ALL.len());
    }
}
