//! What `beostat`, `beostatus` and `beostat-exporter` share, and one module
//! per job they do.
//!
//! The commands read the shm files only through [`crate::shm::Reader`]: they
//! never map, lock or write the files themselves, and they never depend on
//! the layout beyond what the reader hands out. A [`Snapshot`] is one pass
//! over the files; every renderer is a pure function of a snapshot (and the
//! time it was taken), so tests render files made by the writer with known
//! values and compare text.
//!
//! - [`format`]: human units (bytes, rates, ages, percentages).
//! - [`escape`]: network-originated strings made safe for a terminal.
//! - [`select`]: node lists like `-1,0-15` (the `--node` option).
//! - [`text`]: `beostat`'s per-node text blocks.
//! - [`json`]: `beostat --json`, the one documented schema.
//! - [`table`]: `beostatus`'s rows, and its one-shot text modes.
//! - [`tui`]: `beostatus`'s terminal monitor (ratatui): table, grid,
//!   sort, filter, one node's detail, key help.
//! - [`metrics`]: the Prometheus text format and OpenMetrics.
//! - [`http`]: the HTTP server web pages run on (limits, timeouts, routing).
//! - [`exporter`]: the exporter's pages on that server (`/metrics`).
//! - [`web`]: the exporter's web view (`/web`) and the JSON it polls.

pub mod cli;
pub mod escape;
pub mod exporter;
pub mod format;
pub mod http;
pub mod json;
pub mod metrics;
pub mod select;
pub mod table;
pub mod text;
pub mod tui;
pub mod web;

use crate::error::{Error, Result};
use crate::shm::layout::BEOSTAT_SHM_COUNTER_SLOTS;
use crate::shm::reader::ControlInfo;
use crate::shm::{now_ns, NodeData, Reader};
use crate::types::beostat_meminfo;
use select::Selection;
use std::io::{self, Write};
use std::process::ExitCode;

/// Node -1 is the master, as in the C API.
pub const MASTER: i32 = -1;

/// Clock ticks per second of the /proc/stat counters (Linux `USER_HZ`, 100
/// on every architecture the kernel exports to user space).
pub const USER_HZ: f64 = 100.0;

/// What the files said at one moment: header facts, daemon counters and the
/// nodes read (in increasing node order, the master first).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the snapshot was taken, nanoseconds since the Epoch.
    pub taken_ns: u64,
    /// Header facts (expiry, capacities, writer).
    pub control: ControlInfo,
    /// Daemon counters, indexed by [`crate::shm::Counter`].
    pub counters: [u64; BEOSTAT_SHM_COUNTER_SLOTS],
    /// The nodes read.
    pub nodes: Vec<NodeData>,
}

impl Snapshot {
    /// Every node that has reported, in one pass over the files.
    pub fn read(reader: &Reader) -> Result<Snapshot> {
        let control = reader.control()?;
        let counters = reader.counters()?;
        let nodes = reader.nodes()?;
        Ok(Snapshot {
            taken_ns: now_ns(),
            control,
            counters,
            nodes,
        })
    }

    /// The nodes `selection` names. Nodes named one by one that never
    /// reported are returned as errors (after the snapshot); nodes inside a
    /// range that never reported are skipped silently.
    pub fn read_selected(reader: &Reader, selection: &Selection) -> Result<(Snapshot, Vec<Error>)> {
        let control = reader.control()?;
        let counters = reader.counters()?;
        let mut nodes = Vec::new();
        let mut missing = Vec::new();
        let highest = control.node_count as i32 - 1;
        for (node, named) in selection.nodes(highest) {
            match reader.node(node) {
                Ok(data) => nodes.push(data),
                Err(e @ Error::UnknownNode(_)) => {
                    if named {
                        missing.push(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let snapshot = Snapshot {
            taken_ns: now_ns(),
            control,
            counters,
            nodes,
        };
        Ok((snapshot, missing))
    }

    /// Seconds since the snapshot's clock, for ages.
    pub fn taken_secs(&self) -> i64 {
        (self.taken_ns / 1_000_000_000) as i64
    }

    /// Whole seconds since `node`'s last report (0 if its clock is ahead).
    pub fn age_secs(&self, node: &NodeData) -> u64 {
        (self.taken_secs() - node.time.time).max(0) as u64
    }
}

/// The root filesystem of a node, in bytes, from its `statfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disk {
    /// Total size.
    pub size: u64,
    /// Free (including blocks reserved for root).
    pub free: u64,
    /// Free for unprivileged users.
    pub avail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
}

impl Disk {
    /// The filesystem `statfs` describes; `None` when the node sent none.
    pub fn of(statfs: &libc::statfs) -> Option<Disk> {
        if statfs.f_blocks == 0 {
            return None;
        }
        // f_frsize is the unit of the block counts; very old kernels left it
        // 0 and counted in f_bsize. (Counts are u64 on the LP64 targets the
        // shm layout is defined for.)
        let unit = if statfs.f_frsize > 0 {
            statfs.f_frsize as u64
        } else {
            statfs.f_bsize as u64
        };
        Some(Disk {
            size: statfs.f_blocks * unit,
            free: statfs.f_bfree * unit,
            avail: statfs.f_bavail * unit,
            files: statfs.f_files,
            files_free: statfs.f_ffree,
        })
    }

    /// Fraction in use as df(1) counts it: used / (used + available), so
    /// the blocks reserved for root count neither way and 100% means an
    /// unprivileged user can write nothing more.
    pub fn used_fraction(&self) -> f32 {
        let used = self.size.saturating_sub(self.free);
        let usable = used.saturating_add(self.avail);
        if usable == 0 {
            return 0.0;
        }
        (used as f64 / usable as f64) as f32
    }
}

/// Physical memory: used plus free.
pub fn memory_total(meminfo: &beostat_meminfo) -> u64 {
    meminfo.mem.used.saturating_add(meminfo.mem.free)
}

/// Memory held by programs: used less buffers and page cache.
pub fn memory_used_by_programs(meminfo: &beostat_meminfo) -> u64 {
    meminfo
        .mem
        .used
        .saturating_sub(meminfo.buffers.saturating_add(meminfo.cached))
}

/// Fraction of physical memory held by programs; `None` without meminfo.
pub fn memory_fraction(meminfo: &beostat_meminfo) -> Option<f32> {
    let total = memory_total(meminfo);
    (total > 0).then(|| (memory_used_by_programs(meminfo) as f64 / total as f64) as f32)
}

/// Fraction of swap in use; `None` when the node has no swap.
pub fn swap_fraction(meminfo: &beostat_meminfo) -> Option<f32> {
    let total = meminfo.swap.used.saturating_add(meminfo.swap.free);
    (total > 0).then(|| (meminfo.swap.used as f64 / total as f64) as f32)
}

/// The calling process's uid and groups (for "may I use this node").
pub fn credentials() -> (libc::uid_t, Vec<libc::gid_t>) {
    // SAFETY: getuid/getgid/getgroups have no preconditions; getgroups is
    // given a buffer of the size it reported and its result is checked.
    unsafe {
        let uid = libc::getuid();
        let mut gids = vec![libc::getgid()];
        let n = libc::getgroups(0, std::ptr::null_mut());
        if n > 0 {
            let mut extra = vec![0 as libc::gid_t; n as usize];
            let got = libc::getgroups(n, extra.as_mut_ptr());
            if got > 0 {
                extra.truncate(got as usize);
                gids.extend(extra);
            }
        }
        (uid, gids)
    }
}

/// Writes `text` to stdout. A closed pipe (`beostat | head`) is not an
/// error worth a message: the reader has all it wanted.
pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("write to standard output", e)),
    }
}

/// Writes `PROGRAM: message` on stderr. Never panics (unlike `eprintln!`):
/// a daemon whose stderr was closed must keep serving.
pub fn log(program: &str, message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{program}: {message}");
}

/// The end of every command's `main`: nothing on success, else
/// `PROGRAM: message` on stderr and exit status 1.
pub fn exit(program: &str, result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log(program, error);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: beostat said 11% where df said 31% for the same
    // filesystem (it divided by the size, reserved blocks included).
    #[test]
    fn disk_use_is_counted_as_df_counts_it() {
        // SAFETY: statfs is plain old data; all zeroes is a valid value.
        let mut statfs: libc::statfs = unsafe { std::mem::zeroed() };
        statfs.f_frsize = 4096;
        statfs.f_bsize = 4096;
        statfs.f_blocks = 1000;
        statfs.f_bfree = 700; // 300 used
        statfs.f_bavail = 650; // 50 reserved for root
        let disk = Disk::of(&statfs).unwrap();
        let fraction = disk.used_fraction();
        assert!((fraction - 300.0 / 950.0).abs() < 1e-6, "{fraction}");
        statfs.f_bavail = 0;
        statfs.f_bfree = 50; // full for users, root's reserve left
        assert_eq!(Disk::of(&statfs).unwrap().used_fraction(), 1.0);
    }
}
