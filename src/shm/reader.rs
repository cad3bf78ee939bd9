//! The many readers of the shm files (the C API and the commands use it).
//!
//! A [`Reader`] opens the files lazily, keeps them mapped, and answers
//! queries with seqlock-protected copies: no locks, no system calls in steady
//! state (a query loads the control header's generation, compares it with
//! the mapped node file's, finds the node in the file's hash index and
//! copies). When the writer replaces the node file, grows it past what we
//! mapped, or a file is truncated under us (see `guard`), the next query
//! maps the files again. Every query does bounded work whatever the files
//! hold: a node lookup probes at most the index's slots, every offset is
//! checked against the mapping before it is used, and files are opened
//! without blocking (a FIFO in a file's place is refused, not waited on). Readers never write to the files (except
//! [`set_last_multicast`], the legacy setter, which needs write permission).

use super::layout::*;
use super::mapping::{file_len, Mapping};
use super::seqlock;
use super::writer::legacy_stat_cpu;
use super::writer::{atomic_u32, atomic_u64};
use crate::error::{Error, Result};
use crate::types::{
    beostat_loadavg, beostat_meminfo, beostat_net_dev, beostat_stat_cpu, node_time, MAX_NET_DEV,
};
use arc_swap::ArcSwapOption;
use libc::{gid_t, time_t, uid_t};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Loads one field of the record at `r` (a `*const beostat_node_record`).
macro_rules! unsafe_load {
    ($record:expr, $field:ident) => {
        // SAFETY: `read_record` hands the closure a pointer to a whole record
        // inside a live mapping; fields are loaded atomically.
        unsafe { seqlock::load(&raw const (*$record).$field) }
    };
}

/// How many times a query remaps and retries when the files change under it.
const REMAP_ATTEMPTS: u32 = 8;

/// Whether a node is up, as a reader judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Reported within the expiry time.
    Up,
    /// Has reported before but not within the expiry time; data is stale.
    Down,
}

/// Everything a record holds, copied in one consistent read.
#[derive(Debug, Clone)]
pub struct NodeData {
    /// Node number (-1 is the master).
    pub node: i32,
    /// Up or down, judged against the expiry time now.
    pub state: NodeState,
    /// When the last report arrived.
    pub time: node_time,
    /// Same, in nanoseconds since the Epoch.
    pub time_ns: u64,
    /// Host name the node reported (may be empty).
    pub name: Vec<u8>,
    /// Number of CPUs.
    pub cpu_count: i32,
    /// Clock of CPU 0 in MHz (0 if unknown).
    pub mhz: f32,
    /// /proc/loadavg.
    pub loadavg: beostat_loadavg,
    /// /proc/meminfo in bytes.
    pub meminfo: beostat_meminfo,
    /// Used entries of /proc/net/dev.
    pub net_dev: Vec<beostat_net_dev>,
    /// Bytes per second over all interfaces.
    pub net_rate: u64,
    /// statfs of the root filesystem.
    pub statfs: libc::statfs,
    /// Latest per-CPU counters in the legacy four fields (empty if no stat
    /// sample yet).
    pub stat_cpu: Vec<beostat_stat_cpu>,
    /// Previous per-CPU counters in the legacy four fields.
    pub stat_cpu_previous: Vec<beostat_stat_cpu>,
    /// Latest per-CPU times in every mode (same length as `stat_cpu`).
    pub cpu_times: Vec<beostat_cpu_times>,
    /// Previous per-CPU times in every mode.
    pub cpu_times_previous: Vec<beostat_cpu_times>,
    /// MemAvailable in bytes, when the node reports it.
    pub mem_available: Option<u64>,
    /// Access rules, if any.
    pub access: Option<(uid_t, gid_t, u32)>,
}

impl NodeData {
    /// Fraction (0.0..=1.0) of CPU `cpu` busy between the last two samples.
    pub fn cpu_percent(&self, cpu: usize) -> Option<f32> {
        Some(cpu_usage(
            self.stat_cpu.get(cpu)?,
            self.stat_cpu_previous.get(cpu)?,
        ))
    }
}

/// What a whole-cluster view needs of one node ([`Reader::summaries`]):
/// read in one pass with the idle CPUs, without copying the record's
/// arrays or allocating per node.
#[derive(Debug, Clone, Copy)]
pub struct NodeSummary {
    /// Node number (-1 is the master).
    pub node: i32,
    /// Up or down, judged against the expiry time now.
    pub state: NodeState,
    /// Number of CPUs.
    pub cpu_count: i32,
    /// 1-minute load average.
    pub load1: f32,
    /// /proc/meminfo in bytes.
    pub meminfo: beostat_meminfo,
    /// Bytes per second over all interfaces.
    pub net_rate: u64,
    /// Mean busy fraction (0.0..=1.0) of the CPUs between the last two
    /// samples, as [`NodeData::cpu_percent`] averages; `None` before the
    /// node's first stat sample.
    pub cpu_busy: Option<f32>,
    /// CPUs busy less than the threshold asked for, when the node is up and
    /// its rules admit the caller; 0 otherwise (what
    /// [`Reader::count_idle_cpus`] adds up over the compute nodes).
    pub idle_cpus: i32,
}

/// Header facts about the files.
#[derive(Debug, Clone, Copy)]
pub struct ControlInfo {
    /// Layout version of the files.
    pub layout_version: u32,
    /// Node file generation.
    pub generation: u64,
    /// Writer's pid.
    pub writer_pid: i32,
    /// Writer's start time.
    pub writer_start_time: time_t,
    /// Last update-request multicast.
    pub last_multicast: time_t,
    /// Node records in the file (nodes that reported, the master included).
    pub records: u32,
    /// Most CPUs recorded per node (the writer's limit).
    pub max_cpus: u32,
    /// One more than the highest node number that reported.
    pub node_count: u32,
    /// Seconds after which a silent node is down.
    pub node_expiry_secs: u32,
}

/// How often (milliseconds) a reader checks that the paths still name the
/// files it has mapped, to notice files deleted or replaced by someone other
/// than the writer. The one system call a steady-state reader makes.
const REVALIDATE_MS: u64 = 1000;

/// The files as mapped at one moment.
#[derive(Debug)]
struct Snapshot {
    control: Mapping,
    nodes: Mapping,
    generation: u64,
    /// (device, inode) of the control and node files we mapped.
    identity: [(u64, u64); 2],
    /// Coarse monotonic milliseconds of the last identity check.
    checked_at: AtomicU64,
}

/// A reader of one shm directory. Cheap to query from many threads.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    current: ArcSwapOption<Snapshot>,
}

/// The shm directory: `$BEOSTAT_SHM_DIR` if set and not empty, else /var/shm.
pub fn default_dir() -> PathBuf {
    match std::env::var_os(SHM_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_SHM_DIR),
    }
}

/// A clock read from the vDSO page: never a system call.
fn coarse_clock(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}

fn monotonic_coarse_ns() -> u64 {
    let ts = coarse_clock(libc::CLOCK_MONOTONIC_COARSE);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn monotonic_ms() -> u64 {
    let ts = coarse_clock(libc::CLOCK_MONOTONIC_COARSE);
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

fn identity(metadata: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino())
}

/// CPU usage between two samples; counters that went backwards count as 0.
pub fn cpu_usage(current: &beostat_stat_cpu, previous: &beostat_stat_cpu) -> f32 {
    let delta = |now: libc::c_long, then: libc::c_long| now.wrapping_sub(then).max(0) as f64;
    let busy = delta(current.user, previous.user)
        + delta(current.system, previous.system)
        + delta(current.nice, previous.nice);
    let total = busy + delta(current.idle, previous.idle);
    if total > 0.0 {
        (busy / total) as f32
    } else {
        0.0
    }
}

impl Reader {
    /// A reader of `dir`. Nothing is opened until the first query.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Reader {
            dir: dir.into(),
            current: ArcSwapOption::empty(),
        }
    }

    /// A reader of [`default_dir`].
    pub fn from_env() -> Self {
        Self::new(default_dir())
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `query` on current mappings, remapping first if the files changed
    /// and retrying if they changed (or were truncated) during the query.
    fn with<R>(&self, mut query: impl FnMut(&Snapshot) -> Result<R>) -> Result<R> {
        let mut last_error = None;
        for _ in 0..REMAP_ATTEMPTS {
            {
                let guard = self.current.load();
                if let Some(snapshot) = guard.as_ref() {
                    if snapshot.is_current(&self.dir) {
                        match query(snapshot) {
                            // The file grew past our mapping: map it again.
                            Err(e @ Error::Inconsistent(_)) => last_error = Some(e),
                            result if !snapshot.poisoned() => return result,
                            _ => {}
                        }
                    }
                }
            }
            match Snapshot::open(&self.dir) {
                Ok(fresh) => self.current.store(Some(Arc::new(fresh))),
                Err(e @ Error::Inconsistent(_)) => last_error = Some(e),
                Err(e) => {
                    self.current.store(None);
                    return Err(e);
                }
            }
        }
        Err(last_error.unwrap_or(Error::Busy))
    }

    /// Header facts (capacities, writer, generation).
    pub fn control(&self) -> Result<ControlInfo> {
        self.with(|s| Ok(s.control_info()))
    }

    /// One more than the highest node number that has reported.
    pub fn node_count(&self) -> Result<i32> {
        self.with(|s| Ok(s.control_info().node_count as i32))
    }

    /// When recvstats last asked the nodes for an update.
    pub fn last_multicast(&self) -> Result<time_t> {
        self.with(|s| Ok(s.control_info().last_multicast))
    }

    /// The daemon counters, indexed by [`Counter`].
    pub fn counters(&self) -> Result<[u64; BEOSTAT_SHM_COUNTER_SLOTS]> {
        self.with(|s| {
            let c = s.control_ptr();
            let mut out = [0u64; BEOSTAT_SHM_COUNTER_SLOTS];
            for (i, value) in out.iter_mut().enumerate() {
                // SAFETY: the control mapping covers the header; counters are
                // only ever accessed atomically.
                *value = unsafe { atomic_u64(&raw mut (*c).counters[i]).load(Ordering::Relaxed) };
            }
            Ok(out)
        })
    }

    /// Up or down.
    pub fn state(&self, node: i32) -> Result<NodeState> {
        self.with(|s| {
            s.read_record(node, |r| {
                (unsafe_load!(r, state), unsafe_load!(r, monotonic_ns))
            })
            .map(|(state, arrived)| s.judge(state, arrived))
        })
    }

    /// /proc/loadavg of `node`.
    pub fn loadavg(&self, node: i32) -> Result<beostat_loadavg> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, loadavg)))
    }

    /// /proc/meminfo of `node`, in bytes.
    pub fn meminfo(&self, node: i32) -> Result<beostat_meminfo> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, meminfo)))
    }

    /// The whole net_dev table of `node` (unused entries zeroed).
    pub fn net_dev(&self, node: i32) -> Result<[beostat_net_dev; MAX_NET_DEV]> {
        let mut table = [beostat_net_dev::default(); MAX_NET_DEV];
        self.net_dev_into(node, &mut table)?;
        Ok(table)
    }

    /// Copies the used net_dev entries of `node` to the start of `table`
    /// (which should be zeroed: entries past the used ones are not touched)
    /// and returns how many there are. Copies only the used entries.
    pub fn net_dev_into(
        &self,
        node: i32,
        table: &mut [beostat_net_dev; MAX_NET_DEV],
    ) -> Result<usize> {
        self.with(|s| {
            s.read_record_shaped(node, |r, shape| {
                let used = (unsafe_load!(r, net_dev_count).max(0) as usize)
                    .min(MAX_NET_DEV)
                    .min(shape.devices as usize);
                // SAFETY: r points at a whole record of `shape`; entry
                // i < shape.devices lies inside its net_dev array.
                let first = unsafe { (r as *const u8).add(shape.net_dev_offset()) }
                    as *const beostat_net_dev;
                for (i, entry) in table.iter_mut().enumerate().take(used) {
                    // SAFETY: as above.
                    *entry = unsafe { seqlock::load(first.add(i)) };
                }
                used
            })
        })
    }

    /// Bytes per second summed over the node's interfaces.
    pub fn net_rate(&self, node: i32) -> Result<u64> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, net_rate)))
    }

    /// When the node's last report arrived.
    pub fn time(&self, node: i32) -> Result<node_time> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, time)))
    }

    /// When the node's last report arrived, in nanoseconds since the Epoch
    /// (what the latency benchmark compares with the send time).
    pub fn time_ns(&self, node: i32) -> Result<u64> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, time_ns)))
    }

    /// Clock of CPU 0 in MHz.
    pub fn mhz(&self, node: i32) -> Result<f32> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, mhz)))
    }

    /// Number of CPUs of `node`.
    pub fn cpu_count(&self, node: i32) -> Result<i32> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, cpu_count)))
    }

    /// statfs of the node's root filesystem.
    pub fn statfs(&self, node: i32) -> Result<libc::statfs> {
        self.with(|s| s.read_record(node, |r| unsafe_load!(r, statfs)))
    }

    /// Host name the node reported, without the NUL.
    pub fn name(&self, node: i32) -> Result<Vec<u8>> {
        self.with(|s| {
            s.read_record(node, |r| unsafe_load!(r, name))
                .map(|n| c_bytes(&n))
        })
    }

    /// Latest cumulative counters of one CPU, in the legacy four fields.
    pub fn stat_cpu(&self, node: i32, cpu: i32) -> Result<beostat_stat_cpu> {
        self.with(|s| {
            s.read_cpu(node, cpu)
                .map(|(current, _)| legacy_stat_cpu(&current))
        })
    }

    /// Latest cumulative times of one CPU in every mode.
    pub fn cpu_times(&self, node: i32, cpu: i32) -> Result<beostat_cpu_times> {
        self.with(|s| s.read_cpu(node, cpu).map(|(current, _)| current))
    }

    /// MemAvailable of `node` in bytes (`None` when the node does not report it).
    pub fn mem_available(&self, node: i32) -> Result<Option<u64>> {
        self.with(|s| {
            s.read_record(node, |r| {
                (unsafe_load!(r, flags) & BEOSTAT_RECORD_HAS_MEM_AVAILABLE != 0)
                    .then(|| unsafe_load!(r, mem_available))
            })
        })
    }

    /// Fraction of CPU `cpu` busy between the last two samples (the legacy
    /// rule: user, nice and system with irq, softirq and steal are busy).
    pub fn cpu_percent(&self, node: i32, cpu: i32) -> Result<f32> {
        self.with(|s| {
            s.read_cpu(node, cpu).map(|(current, previous)| {
                cpu_usage(&legacy_stat_cpu(&current), &legacy_stat_cpu(&previous))
            })
        })
    }

    /// Everything about one node, in one consistent copy.
    pub fn node(&self, node: i32) -> Result<NodeData> {
        self.with(|s| s.read_node(node))
    }

    /// Every node that has reported (the master first, then by number), in
    /// one pass.
    pub fn nodes(&self) -> Result<Vec<NodeData>> {
        self.with(|s| {
            let numbers = s.node_numbers()?;
            let mut out = Vec::with_capacity(numbers.len());
            for node in numbers {
                match s.read_node(node) {
                    Ok(data) => out.push(data),
                    Err(Error::UnknownNode(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    /// Numbers of the nodes that have records, in increasing order (the
    /// master, -1, first). Gaps are simply absent.
    pub fn node_numbers(&self) -> Result<Vec<i32>> {
        self.with(|s| s.node_numbers())
    }

    /// May `uid` (with groups `gids`) use `node`? Up, and the access rules
    /// (if any) let the user in. Root may use every up node.
    pub fn is_available(&self, node: i32, uid: uid_t, gids: &[gid_t]) -> Result<bool> {
        self.with(|s| s.available(node, uid, gids))
    }

    /// The compute nodes (0 and up) `uid` may use, in increasing order.
    /// Numbers that never reported are skipped; down nodes are not available.
    pub fn available_nodes(&self, uid: uid_t, gids: &[gid_t]) -> Result<Vec<i32>> {
        self.with(|s| {
            let mut out = Vec::new();
            for node in s.node_numbers()?.into_iter().filter(|&n| n >= 0) {
                match s.available(node, uid, gids) {
                    Ok(true) => out.push(node),
                    Ok(false) | Err(Error::UnknownNode(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    /// CPUs of `node` busy less than `threshold` (0.0..1.0); 0 if down.
    pub fn count_idle_cpus_on_node(&self, node: i32, threshold: f32) -> Result<i32> {
        self.with(|s| s.idle_cpus(node, threshold))
    }

    /// CPUs busy less than `threshold` on every compute node `uid` may use.
    /// Numbers that never reported are skipped and down nodes count 0.
    pub fn count_idle_cpus(&self, threshold: f32, uid: uid_t, gids: &[gid_t]) -> Result<i32> {
        self.with(|s| {
            let mut total = 0i32;
            let mut failure = None;
            // One pass over the index; each record is read once, where the
            // index says it is (no second lookup per node).
            s.for_each_entry(|node, offset| {
                if node < 0 || failure.is_some() {
                    return;
                }
                let counted = s.record_at(offset).and_then(|(record, shape)| {
                    s.usable_idle_cpus(record, shape, threshold, uid, gids)
                });
                match counted {
                    Ok(n) => total = total.saturating_add(n),
                    Err(Error::UnknownNode(_)) => {}
                    Err(e) => failure = Some(e),
                }
            })?;
            match failure {
                Some(e) => Err(e),
                None => Ok(total),
            }
        })
    }

    /// Every node that has reported (the master first, then by number),
    /// summarised for a whole-cluster view, with the CPUs busy less than
    /// `threshold` that `uid` may use: one pass over the index, each record
    /// read once, nothing copied but the fields of [`NodeSummary`].
    pub fn summaries(
        &self,
        threshold: f32,
        uid: uid_t,
        gids: &[gid_t],
    ) -> Result<Vec<NodeSummary>> {
        self.with(|s| {
            let mut out = Vec::new();
            let mut failure = None;
            s.for_each_entry(|node, offset| {
                if failure.is_some() {
                    return;
                }
                let summary = s.record_at(offset).and_then(|(record, shape)| {
                    s.summary(node, record, shape, threshold, uid, gids)
                });
                match summary {
                    Ok(summary) => out.push(summary),
                    Err(Error::UnknownNode(_)) => {}
                    Err(e) => failure = Some(e),
                }
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
            out.sort_unstable_by_key(|summary| summary.node);
            out.dedup_by_key(|summary| summary.node);
            Ok(out)
        })
    }
}

fn c_bytes(field: &[libc::c_char]) -> Vec<u8> {
    field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

impl Snapshot {
    /// Opens and validates both files.
    fn open(dir: &Path) -> Result<Snapshot> {
        let control_path = dir.join(CONTROL_FILE_NAME);
        let control_file = open_read(&control_path)?;
        if file_len(&control_file, &control_path)? < BEOSTAT_SHM_HEADER_BYTES as u64 {
            return Err(Error::BadMagic(control_path));
        }
        let control = Mapping::read_only(&control_file, BEOSTAT_SHM_HEADER_BYTES, &control_path)?;
        let control_identity = metadata_of(&control_file, &control_path)?;
        let c = control.ptr() as *mut beostat_shm_control;
        // SAFETY: the mapping covers the whole header (length checked above).
        let (magic, version, generation) = unsafe {
            (
                seqlock::load(&raw const (*c).magic),
                seqlock::load(&raw const (*c).layout_version),
                atomic_u64(&raw mut (*c).generation).load(Ordering::Acquire),
            )
        };
        check_version(&control_path, magic, BEOSTAT_SHM_CONTROL_MAGIC, version)?;

        let nodes_path = dir.join(NODES_FILE_NAME);
        let nodes_file = open_read(&nodes_path)?;
        let len = file_len(&nodes_file, &nodes_path)? as usize;
        if len < BEOSTAT_SHM_HEADER_BYTES {
            return Err(Error::BadMagic(nodes_path));
        }
        let nodes = Mapping::read_only(&nodes_file, len, &nodes_path)?;
        let nodes_identity = metadata_of(&nodes_file, &nodes_path)?;
        // SAFETY: the mapping covers the header; the fields read here are
        // written before the file gets its name and never change after.
        let (nodes_magic, nodes_version, nodes_generation) = unsafe {
            let h = nodes.ptr() as *const beostat_shm_nodes;
            (
                seqlock::load(&raw const (*h).magic),
                seqlock::load(&raw const (*h).layout_version),
                seqlock::load(&raw const (*h).generation),
            )
        };
        check_version(
            &nodes_path,
            nodes_magic,
            BEOSTAT_SHM_NODES_MAGIC,
            nodes_version,
        )?;
        if nodes_generation != generation {
            // The writer is between renaming a new file and publishing it.
            return Err(Error::Inconsistent(nodes_path));
        }
        if nodes.poisoned() || control.poisoned() {
            return Err(Error::Inconsistent(nodes_path));
        }
        Ok(Snapshot {
            control,
            nodes,
            generation,
            identity: [control_identity, nodes_identity],
            checked_at: AtomicU64::new(monotonic_ms()),
        })
    }

    fn control_ptr(&self) -> *mut beostat_shm_control {
        self.control.ptr() as *mut beostat_shm_control
    }

    /// Still the files the writer publishes?
    fn is_current(&self, dir: &Path) -> bool {
        let c = self.control_ptr();
        // SAFETY: the control mapping covers the header; these words are only
        // accessed atomically. Acquire pairs with the writer's Release of the
        // generation.
        let (generation, flags) = unsafe {
            (
                atomic_u64(&raw mut (*c).generation).load(Ordering::Acquire),
                atomic_u32(&raw mut (*c).flags).load(Ordering::Acquire),
            )
        };
        generation == self.generation
            && flags & BEOSTAT_SHM_RETIRED == 0
            && !self.poisoned()
            && self.still_named_by(dir)
    }

    /// Do the paths still name the files we mapped? Checked at most every
    /// REVALIDATE_MS; in between, assumed.
    fn still_named_by(&self, dir: &Path) -> bool {
        let now = monotonic_ms();
        let last = self.checked_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) < REVALIDATE_MS {
            return true;
        }
        self.checked_at.store(now, Ordering::Relaxed);
        [CONTROL_FILE_NAME, NODES_FILE_NAME]
            .iter()
            .zip(self.identity)
            .all(|(name, mapped)| {
                std::fs::metadata(dir.join(name)).is_ok_and(|m| identity(&m) == mapped)
            })
    }

    fn poisoned(&self) -> bool {
        self.control.poisoned() || self.nodes.poisoned()
    }

    fn control_info(&self) -> ControlInfo {
        let c = self.control_ptr();
        // SAFETY: the control mapping covers the header; fields the writer
        // changes are loaded atomically.
        unsafe {
            ControlInfo {
                layout_version: seqlock::load(&raw const (*c).layout_version),
                generation: self.generation,
                writer_pid: seqlock::load(&raw const (*c).writer_pid),
                writer_start_time: seqlock::load(&raw const (*c).writer_start_time),
                last_multicast: atomic_u64(&raw mut (*c).last_multicast as *mut u64)
                    .load(Ordering::Acquire) as time_t,
                records: atomic_u32(&raw mut (*c).node_capacity).load(Ordering::Acquire),
                max_cpus: seqlock::load(&raw const (*c).cpu_capacity),
                node_count: atomic_u32(&raw mut (*c).node_count).load(Ordering::Acquire),
                node_expiry_secs: seqlock::load(&raw const (*c).node_expiry_secs),
            }
        }
    }

    /// Up when the last report arrived (monotonic ns) within the expiry
    /// time and the writer has not marked the node down; the wall clock
    /// plays no part.
    fn judge(&self, state: i32, arrived: u64) -> NodeState {
        let expiry = u64::from(self.control_info().node_expiry_secs) * 1_000_000_000;
        // The coarse clock may lag the writer's precise one by a tick.
        let now = monotonic_coarse_ns().max(arrived);
        if state == BEOSTAT_NODE_STATE_UP && now - arrived <= expiry {
            NodeState::Up
        } else {
            NodeState::Down
        }
    }

    /// The index in use: (offset, log2 of its slots), checked to lie in
    /// our mapping. Past the mapping means the file grew: map again.
    fn index(&self) -> Result<(usize, u32)> {
        let h = self.nodes.ptr() as *mut beostat_shm_nodes;
        // SAFETY: the mapping covers the header; the word is accessed atomically.
        let descriptor = unsafe { atomic_u64(&raw mut (*h).index).load(Ordering::Acquire) };
        let (offset, bits) = index_parts(descriptor);
        if !(BEOSTAT_SHM_MIN_INDEX_BITS..=26).contains(&bits)
            || offset < BEOSTAT_SHM_HEADER_BYTES as u64
        {
            return Err(Error::BadMagic(PathBuf::from(NODES_FILE_NAME)));
        }
        let end = offset + (8u64 << bits);
        if end > self.nodes.size() as u64 {
            return Err(Error::Inconsistent(PathBuf::from(NODES_FILE_NAME)));
        }
        Ok((offset as usize, bits))
    }

    /// Calls `f(node, record offset)` for every entry of the index, in slot
    /// order.
    fn for_each_entry(&self, mut f: impl FnMut(i32, usize)) -> Result<()> {
        let (offset, bits) = self.index()?;
        let table = self.nodes.ptr().wrapping_add(offset) as *mut u64;
        for slot in 0..1usize << bits {
            // SAFETY: slot < 2^bits: inside the index, inside the mapping.
            let entry = unsafe { atomic_u64(table.add(slot)) }.load(Ordering::Acquire);
            if let Some((node, record)) = entry_parts(entry) {
                f(node, record as usize);
            }
        }
        Ok(())
    }

    /// Node numbers in the index, sorted (duplicates a damaged file may
    /// hold removed).
    fn node_numbers(&self) -> Result<Vec<i32>> {
        let mut numbers = Vec::new();
        self.for_each_entry(|node, _| numbers.push(node))?;
        numbers.sort_unstable();
        numbers.dedup();
        Ok(numbers)
    }

    /// The record of `node` and its shape, checked to lie in our mapping.
    fn record(&self, node: i32) -> Result<(*const beostat_node_record, RecordShape)> {
        let (offset, bits) = self.index()?;
        let table = self.nodes.ptr().wrapping_add(offset) as *mut u64;
        let mask = (1usize << bits) - 1;
        let mut slot = index_home(node, bits);
        for _ in 0..=mask {
            // SAFETY: slot <= mask: inside the index, inside the mapping.
            let entry = unsafe { atomic_u64(table.add(slot)) }.load(Ordering::Acquire);
            match entry_parts(entry) {
                None => return Err(Error::UnknownNode(node)),
                Some((n, record)) if n == node => return self.record_at(record as usize),
                Some(_) => slot = (slot + 1) & mask,
            }
        }
        Err(Error::UnknownNode(node))
    }

    fn record_at(&self, offset: usize) -> Result<(*const beostat_node_record, RecordShape)> {
        let fixed = self
            .nodes
            .at::<beostat_node_record>(offset)
            .filter(|_| offset >= BEOSTAT_SHM_HEADER_BYTES)
            .ok_or_else(|| Error::Inconsistent(PathBuf::from(NODES_FILE_NAME)))?;
        // SAFETY: the fixed part lies inside the mapping (checked by `at`);
        // the shape fields are written before the record is published and
        // never change.
        let (cpus, devices, size) = unsafe {
            (
                seqlock::load(&raw const (*fixed).cpu_capacity),
                seqlock::load(&raw const (*fixed).net_dev_capacity),
                seqlock::load(&raw const (*fixed).record_size),
            )
        };
        let shape = RecordShape { cpus, devices };
        if cpus > MAX_CPU_CAPACITY
            || devices as usize > MAX_NET_DEV
            || size as usize != shape.size()
        {
            return Err(Error::BadMagic(PathBuf::from(NODES_FILE_NAME)));
        }
        if offset + shape.size() > self.nodes.size() {
            return Err(Error::Inconsistent(PathBuf::from(NODES_FILE_NAME)));
        }
        Ok((fixed as *const _, shape))
    }

    /// Copies what `copy` loads from `node`'s record, consistently; a node
    /// that never reported is unknown.
    fn read_record<R>(
        &self,
        node: i32,
        mut copy: impl FnMut(*const beostat_node_record) -> R,
    ) -> Result<R> {
        self.read_record_shaped(node, |r, _| copy(r))
    }

    /// [`Snapshot::read_record`], with the record's shape for its arrays.
    fn read_record_shaped<R>(
        &self,
        node: i32,
        copy: impl FnMut(*const beostat_node_record, RecordShape) -> R,
    ) -> Result<R> {
        let (record, shape) = self.record(node)?;
        self.read_located(node, record, shape, copy)
    }

    /// Copies what `copy` loads from a record already found (by
    /// [`Snapshot::record`] or [`Snapshot::record_at`]), consistently.
    fn read_located<R>(
        &self,
        node: i32,
        record: *const beostat_node_record,
        shape: RecordShape,
        mut copy: impl FnMut(*const beostat_node_record, RecordShape) -> R,
    ) -> Result<R> {
        // SAFETY: record points at a whole record of `shape` in our live mapping.
        let (state, value) = unsafe {
            seqlock::read(&raw const (*record).seq, || {
                (
                    seqlock::load(&raw const (*record).state),
                    copy(record, shape),
                )
            })?
        };
        if state == BEOSTAT_NODE_STATE_EMPTY {
            return Err(Error::UnknownNode(node));
        }
        Ok(value)
    }

    /// Latest and previous times of one CPU.
    fn read_cpu(&self, node: i32, cpu: i32) -> Result<(beostat_cpu_times, beostat_cpu_times)> {
        let (flags, pair) = self.read_record_shaped(node, |r, shape| {
            let count = unsafe_load!(r, cpu_count);
            let flags = unsafe_load!(r, flags);
            let pair = usize::try_from(cpu)
                .ok()
                .filter(|&c| c < count.max(0) as usize && c < shape.cpus as usize)
                .map(|c| {
                    let base = r as *const u8;
                    // SAFETY: c < shape.cpus, so both offsets lie inside
                    // this record, inside the mapping.
                    unsafe {
                        (
                            seqlock::load(
                                base.add(shape.cpu_offset(c, false)) as *const beostat_cpu_times
                            ),
                            seqlock::load(
                                base.add(shape.cpu_offset(c, true)) as *const beostat_cpu_times
                            ),
                        )
                    }
                });
            (flags, pair)
        })?;
        match pair {
            Some(pair) if flags & BEOSTAT_RECORD_HAS_STAT != 0 => Ok(pair),
            _ => Err(Error::UnknownCpu { node, cpu }),
        }
    }

    fn read_node(&self, node: i32) -> Result<NodeData> {
        let mut cpu_times = Vec::new();
        let mut cpu_times_previous = Vec::new();
        let mut net_dev = Vec::new();
        let fixed = self.read_record_shaped(node, |r, shape| {
            // SAFETY: r points at a whole record of `shape` inside the live mapping.
            let fixed: beostat_node_record = unsafe { seqlock::load(r) };
            let count = (fixed.cpu_count.max(0) as usize).min(shape.cpus as usize);
            let base = r as *const u8;
            cpu_times.clear();
            cpu_times_previous.clear();
            for c in 0..count {
                // SAFETY: c < shape.cpus: inside the record.
                unsafe {
                    cpu_times.push(seqlock::load(
                        base.add(shape.cpu_offset(c, false)) as *const beostat_cpu_times
                    ));
                    cpu_times_previous.push(seqlock::load(
                        base.add(shape.cpu_offset(c, true)) as *const beostat_cpu_times
                    ));
                }
            }
            let used = (fixed.net_dev_count.max(0) as usize).min(shape.devices as usize);
            net_dev.clear();
            for i in 0..used {
                // SAFETY: i < shape.devices: inside the record's net_dev array.
                net_dev.push(unsafe {
                    seqlock::load(
                        (base.add(shape.net_dev_offset()) as *const beostat_net_dev).add(i),
                    )
                });
            }
            fixed
        })?;
        if fixed.flags & BEOSTAT_RECORD_HAS_STAT == 0 {
            cpu_times.clear();
            cpu_times_previous.clear();
        }
        Ok(NodeData {
            node,
            state: self.judge(fixed.state, fixed.monotonic_ns),
            time: fixed.time,
            time_ns: fixed.time_ns,
            name: c_bytes(&fixed.name),
            cpu_count: fixed.cpu_count,
            mhz: fixed.mhz,
            loadavg: fixed.loadavg,
            meminfo: fixed.meminfo,
            net_dev,
            net_rate: fixed.net_rate,
            statfs: fixed.statfs,
            stat_cpu: cpu_times.iter().map(legacy_stat_cpu).collect(),
            stat_cpu_previous: cpu_times_previous.iter().map(legacy_stat_cpu).collect(),
            cpu_times,
            cpu_times_previous,
            mem_available: (fixed.flags & BEOSTAT_RECORD_HAS_MEM_AVAILABLE != 0)
                .then_some(fixed.mem_available),
            access: (fixed.flags & BEOSTAT_RECORD_ACCESS_RULES != 0).then_some((
                fixed.access_uid,
                fixed.access_gid,
                fixed.access_mode,
            )),
        })
    }

    fn available(&self, node: i32, uid: uid_t, gids: &[gid_t]) -> Result<bool> {
        let (state, arrived, rules) = self.read_record(node, |r| {
            (
                unsafe_load!(r, state),
                unsafe_load!(r, monotonic_ns),
                access_rules(r),
            )
        })?;
        Ok(self.judge(state, arrived) == NodeState::Up && admits(rules, uid, gids))
    }

    /// The CPUs of a found record that `uid` may use and that are used less
    /// than `threshold`: 0 when the node is down or its rules refuse the
    /// user. One consistent read of the record.
    fn usable_idle_cpus(
        &self,
        record: *const beostat_node_record,
        shape: RecordShape,
        threshold: f32,
        uid: uid_t,
        gids: &[gid_t],
    ) -> Result<i32> {
        let node = unsafe_load!(record, node);
        let (state, arrived, rules, idle) =
            self.read_located(node, record, shape, |r, shape| {
                (
                    unsafe_load!(r, state),
                    unsafe_load!(r, monotonic_ns),
                    access_rules(r),
                    count_idle(r, shape, threshold),
                )
            })?;
        Ok(
            if self.judge(state, arrived) == NodeState::Up && admits(rules, uid, gids) {
                idle
            } else {
                0
            },
        )
    }

    /// CPUs of an up node used less than `threshold`, computed during the
    /// copy: no allocation, only the CPU pairs are read.
    fn idle_cpus(&self, node: i32, threshold: f32) -> Result<i32> {
        let (state, arrived, idle) = self.read_record_shaped(node, |r, shape| {
            (
                unsafe_load!(r, state),
                unsafe_load!(r, monotonic_ns),
                count_idle(r, shape, threshold),
            )
        })?;
        Ok(if self.judge(state, arrived) == NodeState::Up {
            idle
        } else {
            0
        })
    }

    /// The [`NodeSummary`] of a found record: one consistent read.
    fn summary(
        &self,
        node: i32,
        record: *const beostat_node_record,
        shape: RecordShape,
        threshold: f32,
        uid: uid_t,
        gids: &[gid_t],
    ) -> Result<NodeSummary> {
        let (state, arrived, rules, cpu_count, loadavg, meminfo, net_rate, cpus) = self
            .read_located(node, record, shape, |r, shape| {
                (
                    unsafe_load!(r, state),
                    unsafe_load!(r, monotonic_ns),
                    access_rules(r),
                    unsafe_load!(r, cpu_count),
                    unsafe_load!(r, loadavg),
                    unsafe_load!(r, meminfo),
                    unsafe_load!(r, net_rate),
                    busy_and_idle(r, shape, threshold),
                )
            })?;
        let (busy_sum, sampled, idle) = cpus;
        let state = self.judge(state, arrived);
        Ok(NodeSummary {
            node,
            state,
            cpu_count,
            load1: loadavg.load[0],
            meminfo,
            net_rate,
            cpu_busy: (sampled > 0).then(|| busy_sum / sampled as f32),
            idle_cpus: if state == NodeState::Up && admits(rules, uid, gids) {
                idle
            } else {
                0
            },
        })
    }
}

/// A record's access rules: (rules set, owner, group, mode). Called inside
/// a seqlock read with a pointer to a whole record.
fn access_rules(r: *const beostat_node_record) -> (bool, uid_t, gid_t, u32) {
    (
        unsafe_load!(r, flags) & BEOSTAT_RECORD_ACCESS_RULES != 0,
        unsafe_load!(r, access_uid),
        unsafe_load!(r, access_gid),
        unsafe_load!(r, access_mode),
    )
}

/// Do the rules admit `uid` (with groups `gids`)? Like a file's execute
/// bits: the owner class decides for the owner, the group class for
/// members, the other class for everyone else; no rules, or root: yes.
fn admits(rules: (bool, uid_t, gid_t, u32), uid: uid_t, gids: &[gid_t]) -> bool {
    let (set, owner, group, mode) = rules;
    if !set || uid == 0 {
        return true;
    }
    if uid == owner {
        mode & 0o100 != 0
    } else if gids.contains(&group) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// CPUs of the record at `r` (of `shape`) used less than `threshold`
/// between its two samples; 0 without a stat sample. Called inside a
/// seqlock read.
fn count_idle(r: *const beostat_node_record, shape: RecordShape, threshold: f32) -> i32 {
    busy_and_idle(r, shape, threshold).2
}

/// Over a record's CPUs with two samples: (sum of their busy fractions,
/// how many, how many are busy less than `threshold`). No CPU counts
/// before the node's first stat sample. Called inside a seqlock read with
/// a pointer to a whole record of `shape`.
fn busy_and_idle(
    r: *const beostat_node_record,
    shape: RecordShape,
    threshold: f32,
) -> (f32, usize, i32) {
    let has_stat = unsafe_load!(r, flags) & BEOSTAT_RECORD_HAS_STAT != 0;
    let count = (unsafe_load!(r, cpu_count).max(0) as usize).min(shape.cpus as usize);
    let base = r as *const u8;
    let (mut sum, mut idle) = (0.0f32, 0i32);
    let sampled = if has_stat { count } else { 0 };
    for c in 0..sampled {
        // SAFETY: c < shape.cpus: inside this record.
        let (current, previous) = unsafe {
            (
                seqlock::load(base.add(shape.cpu_offset(c, false)) as *const beostat_cpu_times),
                seqlock::load(base.add(shape.cpu_offset(c, true)) as *const beostat_cpu_times),
            )
        };
        let busy = cpu_usage(&legacy_stat_cpu(&current), &legacy_stat_cpu(&previous));
        sum += busy;
        if busy < threshold {
            idle += 1;
        }
    }
    (sum, sampled, idle)
}

fn open_read(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::NoFiles(path.to_owned())
            } else {
                Error::io(format!("open {}", path.display()), e)
            }
        })?;
    let metadata = file
        .metadata()
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
    if !metadata.is_file() {
        return Err(Error::BadMagic(path.to_owned()));
    }
    Ok(file)
}

fn metadata_of(file: &File, path: &Path) -> Result<(u64, u64)> {
    file.metadata()
        .map(|m| identity(&m))
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))
}

fn check_version(path: &Path, magic: u64, expected: u64, version: u32) -> Result<()> {
    if magic != expected {
        return Err(Error::BadMagic(path.to_owned()));
    }
    if version > BEOSTAT_SHM_LAYOUT_VERSION {
        return Err(Error::NewerLayout {
            path: path.to_owned(),
            found: version,
            supported: BEOSTAT_SHM_LAYOUT_VERSION,
        });
    }
    if version < BEOSTAT_SHM_LAYOUT_VERSION {
        return Err(Error::BadMagic(path.to_owned()));
    }
    Ok(())
}

/// Sets the last-multicast time in the control file of `dir` (the legacy
/// `beostat_set_last_multicast`); needs write permission on the file.
pub fn set_last_multicast(dir: &Path, when: time_t) -> Result<()> {
    let path = dir.join(CONTROL_FILE_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::NoFiles(path.clone())
            } else {
                Error::io(format!("open {} for writing", path.display()), e)
            }
        })?;
    if !file.metadata().is_ok_and(|m| m.is_file())
        || file_len(&file, &path)? < BEOSTAT_SHM_HEADER_BYTES as u64
    {
        return Err(Error::BadMagic(path));
    }
    let mapping = Mapping::read_write(&file, BEOSTAT_SHM_HEADER_BYTES, &path)?;
    let c = mapping.ptr() as *mut beostat_shm_control;
    // SAFETY: the mapping covers the header; the field is accessed atomically.
    unsafe {
        check_version(
            &path,
            seqlock::load(&raw const (*c).magic),
            BEOSTAT_SHM_CONTROL_MAGIC,
            seqlock::load(&raw const (*c).layout_version),
        )?;
        atomic_u64(&raw mut (*c).last_multicast as *mut u64).store(when as u64, Ordering::Release);
    }
    if mapping.poisoned() {
        return Err(Error::Inconsistent(path));
    }
    Ok(())
}
