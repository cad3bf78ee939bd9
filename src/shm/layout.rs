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
    beostat_loadavg, beostat_meminfo, beostat_net_dev, beostat_stat_cpu, node_time, MAX_NET_DEV,
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
pub const BEOSTAT_SHM_LAYOUT_VERSION: u32 = 1;

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
/// Default node capacity (the ClusterWare `-N` default).
pub const DEFAULT_NODE_CAPACITY: u32 = 64;
/// Default CPUs per node the records have room for before the file grows.
pub const DEFAULT_CPU_CAPACITY: u32 = 64;
/// Hard ceilings, so a forged datagram cannot make the files absurdly large.
pub const MAX_NODE_CAPACITY: u32 = 1 << 20;
/// See [`MAX_NODE_CAPACITY`].
pub const MAX_CPU_CAPACITY: u32 = 8192;

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
/// Record flag: the stat_cpu arrays hold a sample (else CPU data is absent).
pub const BEOSTAT_RECORD_HAS_STAT: u32 = 2;

/// The control file's header (file `beostat`, offset 0, padded to 4096 bytes).
///
/// Fields that change while the writer runs (`generation`, the capacities,
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
    /// Generation of the node file currently in place; changes whenever it
    /// is grown or recreated. Readers compare it with the node file's own.
    pub generation: u64,
    /// Pid of the writer process.
    pub writer_pid: pid_t,
    /// [`BEOSTAT_SHM_RETIRED`] and future flags.
    pub flags: u32,
    /// When the writer started (seconds since the Epoch).
    pub writer_start_time: time_t,
    /// When the writer last multicast an update request to the nodes.
    pub last_multicast: time_t,
    /// Node records in the node file (nodes 0..node_capacity-1), master excluded.
    pub node_capacity: u32,
    /// CPUs per record in the node file.
    pub cpu_capacity: u32,
    /// One more than the highest node number that has reported (0 if none).
    pub node_count: u32,
    /// Seconds without a report after which a node is down.
    pub node_expiry_secs: u32,
    /// `sizeof(struct beostat_node_record)` (the fixed part of a record).
    pub record_fixed_size: u32,
    /// Bytes from one record to the next in the node file.
    pub record_size: u32,
    /// Daemon counters, indexed by [`Counter`]. Unused slots stay 0.
    pub counters: [u64; BEOSTAT_SHM_COUNTER_SLOTS],
}

/// The node file's header (file `beostat.nodes`, offset 0, padded to 4096).
///
/// Written once when the file is created and never changed, so a reader that
/// validated it may trust it for as long as it keeps the mapping.
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
    /// Node records after the master's.
    pub node_capacity: u32,
    /// CPUs per record.
    pub cpu_capacity: u32,
    /// `sizeof(struct beostat_node_record)`.
    pub record_fixed_size: u32,
    /// Stride between records.
    pub record_size: u32,
    /// Offset of the first record (the master, node -1) from the file start.
    pub records_offset: u64,
}

/// One node's record: the fixed part. In the node file it is followed by
/// `stat_cpu[cpu_capacity]` (latest sample) then `stat_cpu[cpu_capacity]`
/// (previous sample), and padded to `record_size`.
///
/// Record `i` (0-based) holds node `i - 1`: record 0 is the master (node -1).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct beostat_node_record {
    /// Sequence counter: odd while the writer changes the record.
    pub seq: u64,
    /// Node number this record holds (-1 for the master).
    pub node: i32,
    /// NODE_STATE_* as last set by the writer.
    pub state: i32,
    /// When the latest update arrived (seconds since the Epoch).
    pub time: node_time,
    /// When the latest update arrived, nanoseconds since the Epoch.
    pub time_ns: u64,
    /// RECORD_FLAG_* bits.
    pub flags: u32,
    /// Number of CPUs the node reported.
    pub cpu_count: i32,
    /// Clock of CPU 0 in MHz (0 if the architecture does not report it).
    pub mhz: f32,
    /// Used entries at the start of `net_dev`.
    pub net_dev_count: i32,
    /// Owner of the node, when BEOSTAT_RECORD_ACCESS_RULES is set.
    pub access_uid: uid_t,
    /// Group of the node, when BEOSTAT_RECORD_ACCESS_RULES is set.
    pub access_gid: gid_t,
    /// BProc-style mode (0100 owner, 0010 group, 0001 others may use it).
    pub access_mode: u32,
    /// Explicit padding (keeps `loadavg` and what follows free of holes).
    pub reserved0: u32,
    /// /proc/loadavg.
    pub loadavg: beostat_loadavg,
    /// Bytes per second over all interfaces, over the last two samples.
    pub net_rate: c_ulong,
    /// /proc/meminfo, in bytes.
    pub meminfo: beostat_meminfo,
    /// Host name the node reported, NUL-terminated.
    pub name: [c_char; BEOSTAT_NODE_NAME_LEN],
    /// statfs(2) of the node's root filesystem.
    pub statfs: libc::statfs,
    /// /proc/net/dev, in the node's order; unused entries are zero.
    pub net_dev: [beostat_net_dev; MAX_NET_DEV],
}

/// Daemon counters kept in `beostat_shm_control.counters`. The index of each
/// is part of the layout: append, never renumber.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 14] = [
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
        }
    }
}

/// The shape of a node file: how many records of what size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Records for nodes 0..node_capacity-1 (the master's comes in addition).
    pub node_capacity: u32,
    /// CPUs each record has room for.
    pub cpu_capacity: u32,
}

impl Geometry {
    /// Bytes from one record to the next.
    pub fn record_size(&self) -> usize {
        let raw = size_of::<beostat_node_record>()
            + 2 * self.cpu_capacity as usize * size_of::<beostat_stat_cpu>();
        raw.div_ceil(BEOSTAT_SHM_RECORD_ALIGN) * BEOSTAT_SHM_RECORD_ALIGN
    }

    /// Records in the file (nodes plus the master).
    pub fn record_count(&self) -> usize {
        self.node_capacity as usize + 1
    }

    /// Total file length.
    pub fn file_len(&self) -> usize {
        BEOSTAT_SHM_HEADER_BYTES + self.record_count() * self.record_size()
    }

    /// Offset of the record for `node` (-1 is the master), if it fits.
    pub fn record_offset(&self, node: i32) -> Option<usize> {
        let index = usize::try_from(node.checked_add(1)?).ok()?;
        (index < self.record_count()).then(|| BEOSTAT_SHM_HEADER_BYTES + index * self.record_size())
    }

    /// Offset, within a record, of `stat_cpu` number `cpu` of the latest
    /// (`previous == false`) or previous sample.
    pub fn stat_cpu_offset(&self, cpu: usize, previous: bool) -> usize {
        let base = size_of::<beostat_node_record>();
        let array = if previous {
            self.cpu_capacity as usize
        } else {
            0
        };
        base + (array + cpu) * size_of::<beostat_stat_cpu>()
    }
}

// Layout pins. Offsets are part of the published format (docs/SHM-LAYOUT.md).

// Layout pins. Offsets are part of the published format (docs/SHM-LAYOUT.md).
const _: () = {
    assert!(size_of::<beostat_shm_control>() == 584);
    assert!(size_of::<beostat_shm_control>() <= BEOSTAT_SHM_HEADER_BYTES);
    assert!(offset_of!(beostat_shm_control, generation) == 16);
    assert!(offset_of!(beostat_shm_control, last_multicast) == 40);
    assert!(offset_of!(beostat_shm_control, counters) == 72);
    assert!(size_of::<beostat_shm_nodes>() == 48);
    assert!(offset_of!(beostat_node_record, loadavg) == 64);
    assert!(offset_of!(beostat_node_record, net_rate) == 88);
    assert!(offset_of!(beostat_node_record, meminfo) == 96);
    assert!(offset_of!(beostat_node_record, name) == 152);
    assert!(offset_of!(beostat_node_record, statfs) == 216);
    assert!(offset_of!(beostat_node_record, net_dev) == 336);
    assert!(size_of::<beostat_node_record>() == 336 + 144 * MAX_NET_DEV);
    assert!(align_of::<beostat_node_record>() == 8);
    assert!(size_of::<beostat_stat_cpu>() == 32);
    assert!(size_of::<beostat_net_dev>() == 144);
    assert!(size_of::<beostat_meminfo>() == 56);
    assert!(size_of::<beostat_loadavg>() == 24);
    assert!(size_of::<node_time>() == 8);
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
    fn master_is_record_zero_and_nodes_follow() {
        let g = Geometry {
            node_capacity: 4,
            cpu_capacity: 2,
        };
        assert_eq!(g.record_offset(-1), Some(BEOSTAT_SHM_HEADER_BYTES));
        assert_eq!(
            g.record_offset(0),
            Some(BEOSTAT_SHM_HEADER_BYTES + g.record_size())
        );
        assert_eq!(
            g.record_offset(3),
            Some(BEOSTAT_SHM_HEADER_BYTES + 4 * g.record_size())
        );
        assert_eq!(g.record_offset(4), None);
        assert_eq!(g.record_offset(-2), None);
        assert_eq!(g.record_offset(i32::MAX), None);
        assert_eq!(g.file_len(), BEOSTAT_SHM_HEADER_BYTES + 5 * g.record_size());
    }

    #[test]
    fn cpu_arrays_fit_inside_the_record_stride() {
        let g = Geometry {
            node_capacity: 1,
            cpu_capacity: 7,
        };
        let end_of_previous = g.stat_cpu_offset(6, true) + size_of::<beostat_stat_cpu>();
        assert!(end_of_previous <= g.record_size());
        assert_eq!(g.record_size() % BEOSTAT_SHM_RECORD_ALIGN, 0);
        assert_eq!(g.stat_cpu_offset(0, true), g.stat_cpu_offset(7, false));
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
