//! The documented libbeostat structs, exactly as C sees them.
//!
//! Every type here carries its legacy C name, field order and C field type
//! (LP64 Linux) from the ClusterWare manuals, so `<sys/beostat.h>` generated
//! from this file is source-compatible with programs written against the old
//! header. This module owns layout only: no behaviour, no `unsafe`.
//! Changing a field here changes the ABI; the layout tests in
//! `tests/layout.rs` and `c-tests/layout.c` will fail if you do.
#![allow(non_camel_case_types)]

use libc::{c_char, c_int, c_long, c_ulong, c_ulonglong, time_t};

/// Number of `struct beostat_net_dev` entries kept per node.
///
/// Interfaces beyond this many (in /proc/net/dev order) are not recorded.
/// 32 covers a compute node's loopback, several Ethernet and InfiniBand ports,
/// bonds, bridges and VLANs; see docs/SHM-LAYOUT.md for the reasoning.
pub const MAX_NET_DEV: usize = 32;

/// Length of `struct beostat_net_dev.name`, including the terminating NUL.
pub const BEOSTAT_NET_DEV_NAME_LEN: usize = 16;

/// Cumulative CPU time of one CPU, in clock ticks (USER_HZ), as in /proc/stat.
///
/// Counters only grow (and wrap); `beostat_get_cpu_percent` is their
/// derivative over the last two samples.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct beostat_stat_cpu {
    /// Ticks spent in user mode.
    pub user: c_long,
    /// Ticks spent in kernel mode (system, irq and softirq).
    pub system: c_long,
    /// Ticks spent in user mode at low priority.
    pub nice: c_long,
    /// Ticks spent idle (idle and iowait).
    pub idle: c_long,
}

/// When a node's last status update arrived at the master.
///
/// Holds only a `time_t`, so callers may pass a plain `time_t *`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct node_time {
    /// Seconds since the Epoch.
    pub time: time_t,
}

/// Used and free amounts of one kind of memory, in bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct beostat_memusage {
    /// Bytes in use.
    pub used: c_ulonglong,
    /// Bytes free.
    pub free: c_ulonglong,
}

/// A node's memory, from /proc/meminfo. All values are in bytes.
///
/// `mem.used` includes `buffers` and `cached`; subtract them to get the
/// memory held by programs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct beostat_meminfo {
    /// Physical memory.
    pub mem: beostat_memusage,
    /// Swap space.
    pub swap: beostat_memusage,
    /// Shared memory (Shmem).
    pub shared: c_ulonglong,
    /// Block device buffers.
    pub buffers: c_ulonglong,
    /// Page cache (Cached).
    pub cached: c_ulonglong,
}

/// A node's /proc/loadavg.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct beostat_loadavg {
    /// The 1, 5 and 15 minute load averages.
    pub load: [f32; 3],
    /// Runnable scheduling entities (4th field, before the slash).
    pub num_active_procs: c_int,
    /// Scheduling entities that exist (4th field, after the slash).
    pub total_procs: c_int,
    /// Most recently created process id (5th field).
    pub last_pid: c_int,
}

/// Counters of one direction of one network interface, from /proc/net/dev.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct beostat_net_stat {
    /// Bytes.
    pub bytes: c_ulong,
    /// Packets.
    pub packets: c_ulong,
    /// Errors.
    pub errs: c_ulong,
    /// Dropped packets.
    pub drop: c_ulong,
    /// FIFO errors.
    pub fifo: c_ulong,
    /// Compressed packets.
    pub compressed: c_ulong,
}

/// One network interface of a node, from /proc/net/dev.
///
/// An entry whose `name[0]` is 0 is unused.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct beostat_net_dev {
    /// Interface name, NUL-terminated (truncated to 15 bytes if longer).
    pub name: [c_char; BEOSTAT_NET_DEV_NAME_LEN],
    /// Receive counters.
    pub recv: beostat_net_stat,
    /// Receive frame errors.
    pub frame: c_ulong,
    /// Multicast packets received.
    pub multicast: c_ulong,
    /// Transmit counters.
    pub trans: beostat_net_stat,
    /// Collisions.
    pub colls: c_ulong,
    /// Carrier losses.
    pub carrier: c_ulong,
}

/// The name the manuals' examples use for `struct beostat_meminfo`.
pub type meminfo_t = beostat_meminfo;

/// The name the manuals' examples use for the `struct statfs` filled by
/// `beostat_get_statfs_p`.
pub type statfs_p_t = libc::statfs;

impl beostat_net_dev {
    /// The interface name as bytes, without the NUL padding.
    pub fn name_bytes(&self) -> &[u8] {
        // c_char is i8 or u8 by platform; reinterpret the bit pattern.
        let bytes: &[u8; BEOSTAT_NET_DEV_NAME_LEN] =
            // SAFETY: c_char and u8 have the same size and alignment, and
            // every bit pattern is valid for both.
            unsafe { &*(&self.name as *const [c_char; BEOSTAT_NET_DEV_NAME_LEN] as *const [u8; BEOSTAT_NET_DEV_NAME_LEN]) };
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        &bytes[..end]
    }

    /// Sets the name, truncating to 15 bytes so a NUL always ends it.
    pub fn set_name(&mut self, name: &[u8]) {
        self.name = [0; BEOSTAT_NET_DEV_NAME_LEN];
        for (dst, &src) in self
            .name
            .iter_mut()
            .zip(name.iter().take(BEOSTAT_NET_DEV_NAME_LEN - 1))
        {
            *dst = src as c_char;
        }
    }
}

/// A zeroed `struct statfs` (libc's type has no `Default`).
pub fn statfs_zeroed() -> libc::statfs {
    // SAFETY: struct statfs is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_name_round_trips_and_truncates_to_leave_a_nul() {
        let mut dev = beostat_net_dev::default();
        dev.set_name(b"eth0");
        assert_eq!(dev.name_bytes(), b"eth0");
        dev.set_name(b"a-very-long-interface-name");
        assert_eq!(dev.name_bytes(), b"a-very-long-int");
        assert_eq!(dev.name[15], 0);
    }
}
