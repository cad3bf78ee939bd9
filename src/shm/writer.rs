//! The one writer of the shm files (recvstats uses it; tests use it to make
//! files with known values).
//!
//! Owns creating, resuming, growing and replacing the files, and every store
//! into them. Exactly one `ShmWriter` may exist per shm directory across the
//! whole machine: it holds an exclusive `flock` on the control file, and a
//! second writer is refused with the holder's pid.
//!
//! **Memory follows what reports.** The node file holds a hash index (node
//! number to record offset) and one record per node that reported, sized for
//! that node's own CPUs and interfaces (docs/SHM-LAYOUT.md). A new node
//! appends one record; a node whose CPU or interface count outgrows its
//! record gets a new, larger one (at least twice the room) and the old one
//! is left as garbage, so a node moves at most a few times. Node numbers
//! cost nothing: node 60000 alone costs one record.
//!
//! **Growth in place, never truncation.** The file grows at its end with
//! `fallocate`, so every byte the writer will store into is backed before
//! it is used (a full tmpfs gives `ENOSPC` here, never `SIGBUS` later), and
//! every step is ordered so that a `SIGKILL` at any instant leaves a file a
//! restarted writer adopts whole: the record is written, then `used_bytes`
//! covers it, then the index entry names it. Readers never see the file
//! shrink; a reader that meets an offset past its mapping maps again.
//!
//! **Limits.** Distinct nodes (`max_nodes`), CPUs per node (`max_cpus`)
//! and the file's size (`max_shm_bytes`) are bounded; what passes a limit,
//! or needs room the filesystem refuses, is refused with its own counter
//! ([`Error::Refused`]) and nodes already held carry on.
//!
//! Which directory and files it accepts, and how it opens them, is
//! [`super::dir`].

use super::dir::{Create, ShmDir};
use super::layout::*;
use super::mapping::{file_len, Mapping};
use super::seqlock::{self, Plain};
use crate::error::{Error, Result};
use crate::types::{
    beostat_loadavg, beostat_meminfo, beostat_net_dev, beostat_stat_cpu, node_time, MAX_NET_DEV,
};
use libc::{gid_t, time_t, uid_t};
use std::collections::HashMap;
use std::fs::{self, File};
use std::mem::size_of;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Size a new node file starts with, and the smallest step it grows by.
const GROWTH_STEP: usize = 64 << 10;
/// After growing the file failed, new nodes are refused without trying
/// again for this long (a flood of new node numbers on a full tmpfs costs
/// one `fallocate` a second, not one per datagram).
const GROWTH_RETRY: Duration = Duration::from_secs(1);

/// How to open the files.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// The shm directory (must exist).
    pub dir: PathBuf,
    /// Nodes the index starts with room for (the `-N` option); grows on demand.
    pub node_capacity: u32,
    /// Seconds without a report after which a node is down.
    pub node_expiry_secs: u32,
    /// Most distinct nodes (records) held; more are refused.
    pub max_nodes: u32,
    /// Most CPUs recorded per node; a report's CPUs past it are not recorded.
    pub max_cpus: u32,
    /// Largest the node file may grow (bytes).
    pub max_shm_bytes: u64,
    /// Give the files to this user and group (`recvstats --user`: the
    /// writer opens them as root, then drops to that user).
    pub owner: Option<(uid_t, gid_t)>,
    /// Accept a shm directory its group or others can write to, or that a
    /// stranger owns (see [`super::dir`]).
    pub allow_insecure_dir: bool,
}

impl WriterOptions {
    /// Defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WriterOptions {
            dir: dir.into(),
            node_capacity: DEFAULT_NODE_CAPACITY,
            node_expiry_secs: DEFAULT_NODE_EXPIRY_SECS,
            max_nodes: DEFAULT_MAX_NODES,
            max_cpus: DEFAULT_MAX_CPUS,
            max_shm_bytes: DEFAULT_MAX_SHM_BYTES,
            owner: None,
            allow_insecure_dir: false,
        }
    }
}

/// BProc-style access rules of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Owner.
    pub uid: uid_t,
    /// Group.
    pub gid: gid_t,
    /// 0100: the owner may use the node; 0010: the group; 0001: everyone.
    pub mode: u32,
}

/// What one status report says about a node. `None` fields keep the value
/// the record already has (a section that was absent or did not parse).
#[derive(Debug, Clone, Default)]
pub struct NodeUpdate<'a> {
    /// When the report arrived, nanoseconds since the Epoch (0: now). For
    /// display only: up and down follow the monotonic clock.
    pub time_ns: u64,
    /// When the report arrived on the `CLOCK_MONOTONIC` clock, ns (`None`:
    /// now); what up and down are judged by. Tests set it to make old reports.
    pub monotonic_ns: Option<u64>,
    /// Host name.
    pub name: Option<&'a [u8]>,
    /// /proc/loadavg.
    pub loadavg: Option<beostat_loadavg>,
    /// /proc/meminfo, in bytes.
    pub meminfo: Option<beostat_meminfo>,
    /// MemAvailable, in bytes.
    pub mem_available: Option<u64>,
    /// /proc/net/dev; entries past [`MAX_NET_DEV`] are not recorded.
    pub net_dev: Option<&'a [beostat_net_dev]>,
    /// Per-CPU times of /proc/stat in every mode, indexed by CPU number.
    pub cpu_times: Option<&'a [beostat_cpu_times]>,
    /// Per-CPU counters in the legacy four fields, when only those are
    /// known (used when `cpu_times` is `None`; iowait, irq, softirq and
    /// steal are then recorded as 0).
    pub stat_cpu: Option<&'a [beostat_stat_cpu]>,
    /// Number of CPUs (from cpuinfo); defaults to the number of CPU times.
    pub cpu_count: Option<u32>,
    /// Clock of CPU 0.
    pub mhz: Option<f32>,
    /// statfs of the root filesystem.
    pub statfs: Option<libc::statfs>,
}

impl NodeUpdate<'_> {
    /// CPUs the report has times for (0 without a stat sample).
    fn stat_len(&self) -> usize {
        match (self.cpu_times, self.stat_cpu) {
            (Some(times), _) => times.len(),
            (None, Some(legacy)) => legacy.len(),
            (None, None) => 0,
        }
    }
}

/// Per-node state the writer keeps in memory.
#[derive(Debug, Clone, Copy)]
struct Slot {
    node: i32,
    offset: usize,
    shape: RecordShape,
    /// `CLOCK_MONOTONIC` ns of the last report while the node is up; [`NOT_UP`] else.
    up_since: u64,
    /// For the network rate: when the last net/dev arrived and its byte total.
    net_time_ns: u64,
    net_total: u64,
    /// Has static data (cpuinfo) arrived from this node?
    has_static: bool,
}

/// [`Slot::up_since`] of a node that is down or never reported.
const NOT_UP: u64 = u64::MAX;

/// The node file as the writer holds it.
#[derive(Debug)]
struct NodesFile {
    file: File,
    map: Mapping,
    generation: u64,
    /// Bytes mapped and allocated (`beostat_shm_nodes.file_bytes`).
    file_bytes: usize,
    /// End of the last allocation (`beostat_shm_nodes.used_bytes`).
    used: usize,
    index_offset: usize,
    index_bits: u32,
    record_count: u32,
}

/// The writer. See the module documentation.
#[derive(Debug)]
pub struct ShmWriter {
    dir: ShmDir,
    /// Holds the flock that makes us the only writer.
    control_file: File,
    control: Mapping,
    nodes: NodesFile,
    max_nodes: u32,
    max_cpus: u32,
    max_shm_bytes: u64,
    slots: Vec<Slot>,
    by_node: HashMap<i32, usize>,
    /// When growing the file last failed, and why (see [`GROWTH_RETRY`]).
    growth_failed: Option<(Instant, Counter)>,
    /// Legacy stat samples widened to all modes (reused).
    widened: Vec<beostat_cpu_times>,
    /// When a limit was last logged, per counter (see [`LIMIT_LOG_INTERVAL`]).
    limit_logged: HashMap<Counter, Instant>,
}

/// A limit reached is logged at most this often per kind (always counted).
const LIMIT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Nanoseconds since the Epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `CLOCK_MONOTONIC` in nanoseconds: what node expiry is judged by, in the
/// writer and in every reader (the clock is shared by the whole machine).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The legacy four fields of one CPU's times ([`beostat_cpu_times::legacy`]).
pub fn legacy_stat_cpu(times: &beostat_cpu_times) -> beostat_stat_cpu {
    times.legacy()
}

/// All modes of one CPU when only the legacy four fields are known.
pub fn widen_stat_cpu(legacy: &beostat_stat_cpu) -> beostat_cpu_times {
    beostat_cpu_times {
        user: legacy.user as u64,
        nice: legacy.nice as u64,
        system: legacy.system as u64,
        idle: legacy.idle as u64,
        ..Default::default()
    }
}

impl ShmWriter {
    /// Opens the files in `options.dir`, creating them or resuming the ones a
    /// previous writer left (their data stays visible at once), removes what
    /// a dead writer left half-made, and takes the lock.
    pub fn open(options: &WriterOptions) -> Result<Self> {
        let dir = ShmDir::open(&options.dir, options.owner, options.allow_insecure_dir)?;
        let control_path = dir.path().join(CONTROL_FILE_NAME);
        let mut control_file = dir.open_file(CONTROL_FILE_NAME, Create::IfMissing)?;
        lock_exclusive(&control_file, dir.path(), &control_path)?;
        remove_leftovers(dir.path());

        let resumed = read_control(&control_file, &control_path);
        if resumed.is_none() {
            control_file = replace_control(&dir, &control_path)?;
        }
        let control = Mapping::read_write(&control_file, BEOSTAT_SHM_HEADER_BYTES, &control_path)?;
        let previous_generation = resumed.unwrap_or_else(now_ns);

        let index_bits = index_bits_for(options.node_capacity);
        let (nodes, slots, created) = match adopt_nodes(&dir) {
            Some((nodes, slots)) => (nodes, slots, false),
            None => {
                let generation = next_generation(previous_generation);
                (
                    create_nodes_file(&dir, generation, index_bits)?,
                    Vec::new(),
                    true,
                )
            }
        };
        let by_node = slots.iter().enumerate().map(|(i, s)| (s.node, i)).collect();
        let mut writer = ShmWriter {
            dir,
            control_file,
            control,
            nodes,
            max_nodes: options.max_nodes.max(1),
            max_cpus: options.max_cpus.clamp(1, MAX_CPU_CAPACITY),
            max_shm_bytes: options.max_shm_bytes.min(MAX_SHM_BYTES),
            slots,
            by_node,
            growth_failed: None,
            widened: Vec::new(),
            limit_logged: HashMap::new(),
        };
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let node_count = writer
            .slots
            .iter()
            .map(|s| s.node.saturating_add(1).max(0) as u32)
            .max()
            .unwrap_or(0);
        let c = writer.control_ptr();
        // SAFETY: c points at our mapped control header.
        unsafe {
            seqlock::store(&raw mut (*c).writer_pid, std::process::id() as i32);
            seqlock::store(&raw mut (*c).writer_start_time, start as time_t);
            seqlock::store(&raw mut (*c).node_expiry_secs, options.node_expiry_secs);
            seqlock::store(&raw mut (*c).cpu_capacity, writer.max_cpus);
            seqlock::store(
                &raw mut (*c).record_fixed_size,
                size_of::<beostat_node_record>() as u32,
            );
            seqlock::store(&raw mut (*c).record_size, 0);
            atomic_u32(&raw mut (*c).node_count).store(node_count, Ordering::Relaxed);
            atomic_u32(&raw mut (*c).flags).fetch_and(!BEOSTAT_SHM_RETIRED, Ordering::Release);
        }
        writer.publish_nodes_file();
        if created {
            writer.add_counter(Counter::FileGrowths, 1);
        }
        Ok(writer)
    }

    /// The shm directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the writer, as the user it now runs as, can still replace the
    /// files (create and rename files in the directory); see
    /// [`ShmDir::check_writable`].
    pub fn check_dir_writable(&self) -> Result<()> {
        self.dir.check_writable()
    }

    /// Generation of the node file in place.
    pub fn generation(&self) -> u64 {
        self.nodes.generation
    }

    /// Distinct nodes (records) held, the master included.
    pub fn node_records(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of the node file (allocated, so backed by memory on a tmpfs).
    pub fn file_bytes(&self) -> usize {
        self.nodes.file_bytes
    }

    /// Has static data (cpuinfo) arrived from `node` since this writer
    /// started or the record was made?
    pub fn has_static(&self, node: i32) -> bool {
        self.by_node
            .get(&node)
            .is_some_and(|&i| self.slots[i].has_static)
    }

    /// Remembers that static data (cpuinfo) arrived from `node`.
    pub fn mark_static(&mut self, node: i32) {
        if let Some(&i) = self.by_node.get(&node) {
            self.slots[i].has_static = true;
        }
    }

    /// Asks the CPU to start loading the parts of `node`'s record that
    /// [`ShmWriter::update`] will touch for a report of about `cpus` CPUs
    /// and `devices` interfaces. At 10,000 nodes the record was last touched
    /// a second ago and is out of every cache; called before the report is
    /// parsed, the misses overlap the parsing. A hint only: it reads and
    /// writes nothing, and a node without a record is ignored.
    pub fn prefetch(&self, node: i32, cpus: usize, devices: usize) {
        let Some(&i) = self.by_node.get(&node) else {
            return;
        };
        let slot = self.slots[i];
        let base = self.nodes.map.ptr().wrapping_add(slot.offset) as *const u8;
        let cpus = cpus.min(slot.shape.cpus as usize);
        let devices = devices.min(slot.shape.devices as usize);
        let fixed = slot.shape.net_dev_offset() + devices * size_of::<beostat_net_dev>();
        let cpu_bytes = cpus * size_of::<beostat_cpu_times>();
        let ranges = [
            (0, fixed),
            (slot.shape.cpu_offset(0, false), cpu_bytes),
            (slot.shape.cpu_offset(0, true), cpu_bytes),
        ];
        for (start, len) in ranges {
            for line in (start..start + len).step_by(64) {
                prefetch_line(base.wrapping_add(line));
            }
        }
    }

    /// Publishes one report from `node` (-1 is the master). Makes the
    /// node's record, or a larger one, when needed; refuses with
    /// [`Error::Refused`] what a limit or the filesystem does not allow.
    pub fn update(&mut self, node: i32, update: &NodeUpdate<'_>) -> Result<()> {
        self.recover_if_poisoned()?;
        if node < -1 {
            return Err(Error::UnknownNode(node));
        }
        let stat_len = update.stat_len();
        let wanted_cpus = stat_len.max(update.cpu_count.unwrap_or(0) as usize);
        if wanted_cpus > self.max_cpus as usize {
            self.add_counter(Counter::CpusTruncated, 1);
            let max = self.max_cpus;
            self.log_limit(Counter::CpusTruncated, || {
                format!(
                    "node {node} reported {wanted_cpus} CPUs; only the first {max} are recorded (--max-cpus)"
                )
            });
        }
        let cpus = wanted_cpus.min(self.max_cpus as usize) as u32;
        let devices_reported = update.net_dev.map_or(0, <[_]>::len);
        if devices_reported > MAX_NET_DEV {
            self.add_counter(Counter::NetDevsTruncated, 1);
            self.log_limit(Counter::NetDevsTruncated, || {
                format!(
                    "node {node} reported {devices_reported} interfaces; only the first {MAX_NET_DEV} are recorded"
                )
            });
        }
        let devices = devices_reported.min(MAX_NET_DEV) as u32;
        let index = self.slot_for(node, RecordShape { cpus, devices })?;

        let time_ns = if update.time_ns == 0 {
            now_ns()
        } else {
            update.time_ns
        };
        let monotonic = update.monotonic_ns.unwrap_or_else(monotonic_ns);
        let slot = self.slots[index];
        let shape = slot.shape;
        let record = self.record_ptr(slot.offset);

        let net = update.net_dev.map(|devices| {
            let devices = &devices[..devices.len().min(shape.devices as usize)];
            let total: u64 = devices
                .iter()
                .map(|d| d.recv.bytes.wrapping_add(d.trans.bytes))
                .fold(0, u64::wrapping_add);
            let rate =
                if slot.net_time_ns == 0 || time_ns <= slot.net_time_ns || total < slot.net_total {
                    0
                } else {
                    let seconds = (time_ns - slot.net_time_ns) as f64 / 1e9;
                    ((total - slot.net_total) as f64 / seconds) as u64
                };
            (devices, rate, total)
        });
        if let Some((_, _, total)) = net {
            let slot = &mut self.slots[index];
            slot.net_time_ns = time_ns;
            slot.net_total = total;
        }
        self.slots[index].up_since = monotonic;

        let times: Option<&[beostat_cpu_times]> = match (update.cpu_times, update.stat_cpu) {
            (Some(times), _) => Some(times),
            (None, Some(legacy)) => {
                self.widened.clear();
                self.widened.extend(legacy.iter().map(widen_stat_cpu));
                Some(&self.widened)
            }
            (None, None) => None,
        };

        // SAFETY: `record` points at a whole record of `shape` inside our
        // mapping (the slot's offset and shape were checked when it was
        // made or adopted); we are the only writer.
        unsafe {
            let seq = &raw mut (*record).seq;
            let even = seqlock::begin_write(seq);
            seqlock::store(
                &raw mut (*record).time,
                node_time {
                    time: (time_ns / 1_000_000_000) as time_t,
                },
            );
            seqlock::store(&raw mut (*record).time_ns, time_ns);
            seqlock::store(&raw mut (*record).monotonic_ns, monotonic);
            let mut flags = seqlock::load(&raw const (*record).flags);
            if let Some(name) = update.name {
                let mut field = [0 as libc::c_char; BEOSTAT_NODE_NAME_LEN];
                for (dst, &src) in field
                    .iter_mut()
                    .zip(name.iter().take(BEOSTAT_NODE_NAME_LEN - 1))
                {
                    *dst = src as libc::c_char;
                }
                seqlock::store(&raw mut (*record).name, field);
            }
            if let Some(loadavg) = update.loadavg {
                seqlock::store(&raw mut (*record).loadavg, loadavg);
            }
            if let Some(meminfo) = update.meminfo {
                seqlock::store(&raw mut (*record).meminfo, meminfo);
            }
            if let Some(available) = update.mem_available {
                seqlock::store(&raw mut (*record).mem_available, available);
                flags |= BEOSTAT_RECORD_HAS_MEM_AVAILABLE;
            }
            if let Some((devices, rate, _)) = net {
                // Only the used entries are written, and the ones the last
                // report used beyond them zeroed: the table stays as if
                // written whole (unused entries zero).
                let old_count = seqlock::load(&raw const (*record).net_dev_count)
                    .clamp(0, shape.devices as i32) as usize;
                let table = (record as *mut u8).add(shape.net_dev_offset()) as *mut beostat_net_dev;
                for (i, device) in devices.iter().enumerate() {
                    seqlock::store(table.add(i), *device);
                }
                for i in devices.len()..old_count {
                    seqlock::store(table.add(i), beostat_net_dev::default());
                }
                seqlock::store(&raw mut (*record).net_dev_count, devices.len() as i32);
                seqlock::store(&raw mut (*record).net_rate, rate as libc::c_ulong);
            }
            if let Some(times) = times {
                let times = &times[..times.len().min(shape.cpus as usize)];
                let old_count = seqlock::load(&raw const (*record).cpu_count).max(0) as usize;
                let span = old_count.max(times.len()).min(shape.cpus as usize);
                let base = record as *mut u8;
                for cpu in 0..span {
                    let current = base.add(shape.cpu_offset(cpu, false)) as *mut beostat_cpu_times;
                    let previous = base.add(shape.cpu_offset(cpu, true)) as *mut beostat_cpu_times;
                    seqlock::store(previous, seqlock::load(current));
                    seqlock::store(current, times.get(cpu).copied().unwrap_or_default());
                }
                flags |= BEOSTAT_RECORD_HAS_STAT;
                if update.cpu_count.is_none() {
                    seqlock::store(&raw mut (*record).cpu_count, times.len() as i32);
                }
            }
            if let Some(count) = update.cpu_count {
                seqlock::store(&raw mut (*record).cpu_count, count.min(shape.cpus) as i32);
            }
            if let Some(mhz) = update.mhz {
                seqlock::store(&raw mut (*record).mhz, mhz);
            }
            if let Some(statfs) = update.statfs {
                seqlock::store(&raw mut (*record).statfs, statfs);
            }
            seqlock::store(&raw mut (*record).flags, flags);
            // Last: a writer killed before this store leaves a node's first
            // report unpublished (state still empty) rather than half made.
            seqlock::store(&raw mut (*record).state, BEOSTAT_NODE_STATE_UP);
            seqlock::end_write(seq, even);
        }
        if self.nodes.map.poisoned() {
            // The file was truncated under us while we wrote: what we wrote
            // landed in a scratch page. Rebuild the file and write again.
            self.recover_if_poisoned()?;
            return self.update(node, update);
        }
        if node >= 0 {
            self.store_control(|c| {
                // SAFETY: c points at our mapped control header.
                unsafe {
                    atomic_u32(&raw mut (*c).node_count)
                        .fetch_max(node as u32 + 1, Ordering::Release)
                };
            });
        }
        Ok(())
    }

    /// Logs `message()` as a warning unless `counter`'s limit was logged in
    /// the last [`LIMIT_LOG_INTERVAL`].
    fn log_limit(&mut self, counter: Counter, message: impl FnOnce() -> String) {
        let now = Instant::now();
        if self
            .limit_logged
            .get(&counter)
            .is_some_and(|at| now.duration_since(*at) < LIMIT_LOG_INTERVAL)
        {
            return;
        }
        self.limit_logged.insert(counter, now);
        log::warn!(
            "{} (counted as {}; not logged again for {} s)",
            message(),
            counter.name(),
            LIMIT_LOG_INTERVAL.as_secs()
        );
    }

    /// Sets or clears the access rules of `node`.
    pub fn set_access(&mut self, node: i32, access: Option<Access>) -> Result<()> {
        self.recover_if_poisoned()?;
        if node < -1 {
            return Err(Error::UnknownNode(node));
        }
        let index = self.slot_for(
            node,
            RecordShape {
                cpus: 0,
                devices: 0,
            },
        )?;
        let record = self.record_ptr(self.slots[index].offset);
        // SAFETY: as in `update`.
        unsafe {
            let seq = &raw mut (*record).seq;
            let even = seqlock::begin_write(seq);
            let flags = seqlock::load(&raw const (*record).flags);
            match access {
                Some(a) => {
                    seqlock::store(&raw mut (*record).access_uid, a.uid);
                    seqlock::store(&raw mut (*record).access_gid, a.gid);
                    seqlock::store(&raw mut (*record).access_mode, a.mode);
                    seqlock::store(
                        &raw mut (*record).flags,
                        flags | BEOSTAT_RECORD_ACCESS_RULES,
                    );
                }
                None => seqlock::store(
                    &raw mut (*record).flags,
                    flags & !BEOSTAT_RECORD_ACCESS_RULES,
                ),
            }
            seqlock::end_write(seq, even);
        }
        Ok(())
    }

    /// Marks every up node whose last report is older than the expiry time
    /// (on the monotonic clock) as down; its data stays. Returns the nodes
    /// newly marked down.
    pub fn expire(&mut self) -> Vec<i32> {
        self.expire_at(monotonic_ns())
    }

    /// [`ShmWriter::expire`] as if the monotonic clock read `now` (ns).
    pub fn expire_at(&mut self, now: u64) -> Vec<i32> {
        let expiry = u64::from(self.node_expiry_secs()) * 1_000_000_000;
        let mut expired = Vec::new();
        for index in 0..self.slots.len() {
            let up_since = self.slots[index].up_since;
            if up_since == NOT_UP || now.saturating_sub(up_since) <= expiry {
                continue;
            }
            self.slots[index].up_since = NOT_UP;
            let record = self.record_ptr(self.slots[index].offset);
            // SAFETY: as in `update`; the writer may read its own fields
            // without the sequence check because no one else writes them.
            unsafe {
                if seqlock::load(&raw const (*record).state) != BEOSTAT_NODE_STATE_UP {
                    continue;
                }
                let seq = &raw mut (*record).seq;
                let even = seqlock::begin_write(seq);
                seqlock::store(&raw mut (*record).state, BEOSTAT_NODE_STATE_DOWN);
                seqlock::end_write(seq, even);
            }
            expired.push(self.slots[index].node);
        }
        expired
    }

    /// Seconds without a report after which a node is down.
    pub fn node_expiry_secs(&self) -> u32 {
        let c = self.control_ptr();
        // SAFETY: c points at our mapped control header.
        unsafe { seqlock::load(&raw const (*c).node_expiry_secs) }
    }

    /// Records when an update request was last multicast.
    pub fn set_last_multicast(&self, when: time_t) {
        self.store_control(|c| {
            // SAFETY: c points at our mapped control header; readers load it atomically.
            unsafe {
                atomic_u64(&raw mut (*c).last_multicast as *mut u64)
                    .store(when as u64, Ordering::Release)
            };
        });
    }

    /// Adds `n` to a daemon counter.
    pub fn add_counter(&self, counter: Counter, n: u64) {
        self.store_control(|c| {
            // SAFETY: c points at our mapped control header; the index is in range.
            unsafe {
                atomic_u64(&raw mut (*c).counters[counter as usize]).fetch_add(n, Ordering::Relaxed)
            };
        });
    }

    /// Current value of a daemon counter.
    pub fn counter(&self, counter: Counter) -> u64 {
        let c = self.control_ptr();
        // SAFETY: c points at our mapped control header.
        unsafe { atomic_u64(&raw mut (*c).counters[counter as usize]).load(Ordering::Relaxed) }
    }

    /// Checks that the directory still holds the files this writer writes:
    /// files deleted or replaced by someone else are made again (with every
    /// record and counter) and published under a new generation. A missing
    /// or replaced directory is an error the daemon exits with (systemd
    /// restarts it).
    pub fn check_files(&mut self) -> Result<bool> {
        let dir = self.dir.path().to_owned();
        match fs::metadata(&dir) {
            Ok(m)
                if m.is_dir()
                    && m.ino() == self.dir.identity().1
                    && m.dev() == self.dir.identity().0 => {}
            Ok(_) => {
                return Err(Error::io(
                    format!("{}: the shm directory was replaced", dir.display()),
                    std::io::Error::from_raw_os_error(libc::ENOENT),
                ))
            }
            Err(e) => {
                return Err(Error::io(
                    format!("{}: the shm directory is gone", dir.display()),
                    e,
                ))
            }
        }
        let same = |name: &str, file: &File| -> bool {
            let (Ok(on_disk), Ok(ours)) = (fs::symlink_metadata(dir.join(name)), file.metadata())
            else {
                return false;
            };
            on_disk.ino() == ours.ino() && on_disk.dev() == ours.dev()
        };
        let control_ok = same(CONTROL_FILE_NAME, &self.control_file);
        let nodes_ok = same(NODES_FILE_NAME, &self.nodes.file);
        if control_ok && nodes_ok {
            return Ok(false);
        }
        if !control_ok {
            // A control file that another live writer has locked: that
            // writer owns the directory now; stop rather than fight it.
            if let Ok(theirs) = self.dir.open_file(CONTROL_FILE_NAME, Create::No) {
                let path = dir.join(CONTROL_FILE_NAME);
                if let Err(e @ Error::WriterRunning { .. }) = lock_exclusive(&theirs, &dir, &path) {
                    return Err(e);
                }
            }
        }
        if !control_ok {
            self.recreate_control()?;
        }
        self.recreate_nodes(true)?;
        Ok(true)
    }

    /// Makes a fresh control file with this one's counters and header.
    fn recreate_control(&mut self) -> Result<()> {
        let path = self.dir.path().join(CONTROL_FILE_NAME);
        let file = replace_control(&self.dir, &path)?;
        let mapping = Mapping::read_write(&file, BEOSTAT_SHM_HEADER_BYTES, &path)?;
        // SAFETY: both mappings are at least a header long; the new file is
        // ours alone until readers find it, and we are the only writer.
        unsafe {
            let old = seqlock::load(self.control.ptr() as *const beostat_shm_control);
            let mut copy = old;
            copy.flags = 0;
            std::ptr::write(mapping.ptr() as *mut beostat_shm_control, copy);
        }
        self.control = mapping;
        self.control_file = file;
        Ok(())
    }

    /// Replaces the node file by a new one (a copy of this one when `copy`,
    /// else empty) under a new generation.
    fn recreate_nodes(&mut self, copy: bool) -> Result<()> {
        let generation = next_generation(self.nodes.generation);
        let bits = self.nodes.index_bits;
        let fresh = if copy && !self.nodes.map.poisoned() {
            copy_nodes_file(&self.dir, &self.nodes, generation)?
        } else {
            create_nodes_file(&self.dir, generation, bits)?
        };
        self.nodes = fresh;
        if !copy {
            self.slots.clear();
            self.by_node.clear();
        }
        self.publish_nodes_file();
        self.add_counter(Counter::FileGrowths, 1);
        Ok(())
    }

    /// The slot of `node`, made (or moved to a larger record) so that it
    /// has room for `shape`.
    fn slot_for(&mut self, node: i32, shape: RecordShape) -> Result<usize> {
        if let Some(&index) = self.by_node.get(&node) {
            let have = self.slots[index].shape;
            if shape.cpus <= have.cpus && shape.devices <= have.devices {
                return Ok(index);
            }
            let grown = RecordShape {
                cpus: grow(have.cpus, shape.cpus, self.max_cpus),
                devices: grow(have.devices, shape.devices, MAX_NET_DEV as u32),
            };
            self.move_record(index, grown)?;
            return Ok(index);
        }
        if self.slots.len() >= self.max_nodes as usize {
            return Err(Error::Refused(Counter::DroppedNodeLimit));
        }
        if (self.slots.len() + 1) * 2 > 1 << self.nodes.index_bits {
            self.grow_index()?;
        }
        let offset = self.allocate(shape.size())?;
        self.init_record(offset, node, shape);
        self.insert_entry(node, offset);
        self.nodes.record_count += 1;
        self.slots.push(Slot {
            node,
            offset,
            shape,
            up_since: NOT_UP,
            net_time_ns: 0,
            net_total: 0,
            has_static: false,
        });
        self.by_node.insert(node, self.slots.len() - 1);
        self.publish_counts();
        Ok(self.slots.len() - 1)
    }

    /// Copies the record of slot `index` into a new one of `shape` and
    /// points the index at it. The old record stays (marked moved): a
    /// reader that found it a moment ago still reads consistent data.
    fn move_record(&mut self, index: usize, shape: RecordShape) -> Result<()> {
        let old = self.slots[index];
        let offset = self.allocate(shape.size())?;
        self.init_record(offset, old.node, shape);
        let from = self.record_ptr(old.offset) as *const u8;
        let to = self.record_ptr(offset) as *mut u8;
        // SAFETY: both records lie inside our mapping (allocated with their
        // shapes); the new one is not yet in the index, so no reader sees it.
        unsafe {
            let fixed: beostat_node_record = seqlock::load(from as *const beostat_node_record);
            let target = to as *mut beostat_node_record;
            let keep_seq = seqlock::load(&raw const (*target).seq);
            let mut copy = fixed;
            copy.seq = keep_seq;
            copy.cpu_capacity = shape.cpus;
            copy.net_dev_capacity = shape.devices;
            copy.record_size = shape.size() as u32;
            copy.flags &= !BEOSTAT_RECORD_MOVED;
            seqlock::store(target, copy);
            let devices = (fixed.net_dev_count.max(0) as usize).min(old.shape.devices as usize);
            for i in 0..devices {
                let entry = seqlock::load(
                    (from.add(old.shape.net_dev_offset()) as *const beostat_net_dev).add(i),
                );
                seqlock::store(
                    (to.add(shape.net_dev_offset()) as *mut beostat_net_dev).add(i),
                    entry,
                );
            }
            for previous in [false, true] {
                for cpu in 0..old.shape.cpus as usize {
                    let times =
                        seqlock::load(from.add(old.shape.cpu_offset(cpu, previous))
                            as *const beostat_cpu_times);
                    seqlock::store(
                        to.add(shape.cpu_offset(cpu, previous)) as *mut beostat_cpu_times,
                        times,
                    );
                }
            }
        }
        self.insert_entry(old.node, offset);
        let old_record = self.record_ptr(old.offset);
        // SAFETY: as in `update`.
        unsafe {
            let seq = &raw mut (*old_record).seq;
            let even = seqlock::begin_write(seq);
            let flags = seqlock::load(&raw const (*old_record).flags);
            seqlock::store(&raw mut (*old_record).flags, flags | BEOSTAT_RECORD_MOVED);
            seqlock::end_write(seq, even);
        }
        self.nodes.record_count += 1;
        self.publish_counts();
        let slot = &mut self.slots[index];
        slot.offset = offset;
        slot.shape = shape;
        Ok(())
    }

    /// Writes an empty record header of `shape` for `node` at `offset`
    /// (fresh allocated space: zero).
    fn init_record(&mut self, offset: usize, node: i32, shape: RecordShape) {
        let record = self.record_ptr(offset);
        // SAFETY: the allocation at `offset` is `shape.size()` bytes of our
        // mapping, not yet named by the index.
        unsafe {
            seqlock::store(&raw mut (*record).node, node);
            seqlock::store(&raw mut (*record).cpu_capacity, shape.cpus);
            seqlock::store(&raw mut (*record).net_dev_capacity, shape.devices);
            seqlock::store(&raw mut (*record).record_size, shape.size() as u32);
        }
    }

    /// Points the index entry of `node` at `offset` (adding it if new).
    fn insert_entry(&mut self, node: i32, offset: usize) {
        let bits = self.nodes.index_bits;
        let table = self.index_ptr();
        let mask = (1usize << bits) - 1;
        let mut slot = index_home(node, bits);
        let entry = index_entry(node, offset as u64);
        loop {
            // SAFETY: slot <= mask: inside the index, which lies in our mapping.
            let word = unsafe { atomic_u64(table.add(slot)) };
            let current = word.load(Ordering::Relaxed);
            match entry_parts(current) {
                Some((n, _)) if n != node => slot = (slot + 1) & mask,
                // Release: the record's bytes before the entry that names it.
                _ => {
                    word.store(entry, Ordering::Release);
                    return;
                }
            }
        }
    }

    /// Doubles the index: a new table at the end of the file filled with
    /// every node, then published with one atomic store.
    fn grow_index(&mut self) -> Result<()> {
        let bits = self.nodes.index_bits + 1;
        let offset = self.allocate(8 << bits)?;
        self.nodes.index_offset = offset;
        self.nodes.index_bits = bits;
        let entries: Vec<(i32, usize)> = self.slots.iter().map(|s| (s.node, s.offset)).collect();
        for (node, record) in entries {
            self.insert_entry(node, record);
        }
        self.publish_counts();
        Ok(())
    }

    /// Reserves `len` bytes (a multiple of 64) at the end of the used part,
    /// growing the file first when needed.
    fn allocate(&mut self, len: usize) -> Result<usize> {
        let offset = self.nodes.used;
        let end = offset + len;
        if end as u64 > self.max_shm_bytes.max(GROWTH_STEP as u64) {
            return Err(Error::Refused(Counter::DroppedShmLimit));
        }
        if end > self.nodes.file_bytes {
            self.grow_file(end)?;
        }
        self.nodes.used = end;
        // Published before anything in the new space is named by the index,
        // so a writer killed at any point leaves no entry past `used_bytes`
        // (space allocated and never named is merely lost, one record at most).
        let h = self.nodes.map.ptr() as *mut beostat_shm_nodes;
        // SAFETY: the mapping covers the header; the word is accessed atomically.
        unsafe { atomic_u64(&raw mut (*h).used_bytes).store(end as u64, Ordering::Release) };
        Ok(offset)
    }

    /// Grows the file to at least `needed` bytes (by an eighth, at least
    /// [`GROWTH_STEP`]), backing the new bytes before anything is stored.
    fn grow_file(&mut self, needed: usize) -> Result<()> {
        if let Some((at, reason)) = self.growth_failed {
            if at.elapsed() < GROWTH_RETRY {
                return Err(Error::Refused(reason));
            }
        }
        let have = self.nodes.file_bytes;
        let target = needed
            .max(have + have / 8)
            .max(have + GROWTH_STEP)
            .div_ceil(GROWTH_STEP)
            * GROWTH_STEP;
        let target = target.min(self.max_shm_bytes.max(needed as u64) as usize);
        if let Err(e) = allocate_file(&self.nodes.file, have, target) {
            let reason = Counter::DroppedNoSpace;
            self.growth_failed = Some((Instant::now(), reason));
            log::warn!(
                "cannot grow {} to {target} bytes: {e}; new nodes and larger records are refused (counted as {}) until it can",
                self.dir.path().join(NODES_FILE_NAME).display(),
                reason.name()
            );
            return Err(Error::Refused(reason));
        }
        if self.growth_failed.take().is_some() {
            log::info!(
                "{}: room again; new nodes are accepted",
                self.dir.path().join(NODES_FILE_NAME).display()
            );
        }
        let path = self.dir.path().join(NODES_FILE_NAME);
        self.nodes.map = Mapping::read_write(&self.nodes.file, target, &path)?;
        self.nodes.file_bytes = target;
        self.publish_counts();
        self.add_counter(Counter::FileGrowths, 1);
        Ok(())
    }

    /// Stores the node file header's growing fields and the control's
    /// record count, each after what it describes.
    fn publish_counts(&mut self) {
        let h = self.nodes.map.ptr() as *mut beostat_shm_nodes;
        let n = &self.nodes;
        // SAFETY: the mapping covers the header; these words are accessed atomically.
        unsafe {
            atomic_u64(&raw mut (*h).file_bytes).store(n.file_bytes as u64, Ordering::Release);
            atomic_u64(&raw mut (*h).used_bytes).store(n.used as u64, Ordering::Release);
            atomic_u32(&raw mut (*h).record_count).store(n.record_count, Ordering::Release);
            // Release: the index's entries before the descriptor naming it.
            atomic_u64(&raw mut (*h).index).store(
                index_descriptor(n.index_offset as u64, n.index_bits),
                Ordering::Release,
            );
        }
        let records = self.slots.len() as u32;
        self.store_control(|c| {
            // SAFETY: c points at our mapped control header.
            unsafe { atomic_u32(&raw mut (*c).node_capacity).store(records, Ordering::Release) };
        });
    }

    /// Rebuilds whichever file was truncated under us (see `guard`).
    fn recover_if_poisoned(&mut self) -> Result<()> {
        let control_lost = self.control.poisoned();
        if control_lost {
            let path = self.dir.path().join(CONTROL_FILE_NAME);
            let file = replace_control(&self.dir, &path)?;
            self.control = Mapping::read_write(&file, BEOSTAT_SHM_HEADER_BYTES, &path)?;
            self.control_file = file;
        }
        if self.nodes.map.poisoned() || control_lost {
            let copy = !self.nodes.map.poisoned();
            self.recreate_nodes(copy)?;
        }
        Ok(())
    }

    /// Publishes the node file in place: capacities, then the generation
    /// (Release), so a reader that sees the new generation finds the file.
    fn publish_nodes_file(&mut self) {
        self.publish_counts();
        let generation = self.nodes.generation;
        self.store_control(|c| {
            // SAFETY: c points at our mapped control header.
            unsafe { atomic_u64(&raw mut (*c).generation).store(generation, Ordering::Release) };
        });
    }

    fn control_ptr(&self) -> *mut beostat_shm_control {
        self.control.ptr() as *mut beostat_shm_control
    }

    fn store_control(&self, f: impl FnOnce(*mut beostat_shm_control)) {
        f(self.control_ptr())
    }

    fn index_ptr(&self) -> *mut u64 {
        self.nodes
            .map
            .ptr()
            .wrapping_add(self.nodes.index_offset)
            .cast()
    }

    fn record_ptr(&self, offset: usize) -> *mut beostat_node_record {
        self.nodes
            .map
            .at::<beostat_node_record>(offset)
            .expect("record offsets come from our own allocations")
    }
}

/// Room for `need` given `have`: unchanged when it fits, else at least
/// twice as much (so a node moves a few times at most), at most `max`.
fn grow(have: u32, need: u32, max: u32) -> u32 {
    if need <= have {
        have
    } else {
        need.max(have.saturating_mul(2)).min(max.max(need))
    }
}

/// Index size (log2 of slots) for `nodes` nodes at most half full.
fn index_bits_for(nodes: u32) -> u32 {
    let slots = (u64::from(nodes) * 2).next_power_of_two();
    (slots.trailing_zeros()).clamp(BEOSTAT_SHM_MIN_INDEX_BITS, 26)
}

/// Hints that the cache line at `p` will be written soon. Never faults,
/// whatever `p` is; a no-op where there is no such instruction.
#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it does not access memory in the
    // language's sense and never faults, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// An `AtomicU32` view of a 4-byte-aligned word in a mapping.
///
/// # Safety
/// `p` must be aligned, inside a live mapping, and accessed only atomically.
pub(crate) unsafe fn atomic_u32<'a>(p: *mut u32) -> &'a AtomicU32 {
    // SAFETY: see the function contract.
    unsafe { AtomicU32::from_ptr(p) }
}

/// An `AtomicU64` view of an 8-byte-aligned word in a mapping.
///
/// # Safety
/// As [`atomic_u32`].
pub(crate) unsafe fn atomic_u64<'a>(p: *mut u64) -> &'a AtomicU64 {
    // SAFETY: see the function contract.
    unsafe { AtomicU64::from_ptr(p) }
}

fn lock_exclusive(file: &File, dir: &Path, path: &Path) -> Result<()> {
    // SAFETY: flock on a valid descriptor has no memory-safety preconditions.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Err(Error::WriterRunning {
            dir: dir.to_owned(),
            pid: read_writer_pid(path),
        });
    }
    Err(Error::io(format!("lock {}", path.display()), error))
}

/// Backs bytes `from..to` of `file` with storage (extending it), so that
/// stores through a mapping never meet an unbacked page (`SIGBUS` on a full
/// tmpfs). Falls back to `ftruncate` where `fallocate` is not supported.
fn allocate_file(file: &File, from: usize, to: usize) -> std::io::Result<()> {
    if to <= from {
        return Ok(());
    }
    // SAFETY: fallocate on a valid descriptor has no memory-safety preconditions.
    let result = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            0,
            from as libc::off_t,
            (to - from) as libc::off_t,
        )
    };
    if result == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EOPNOTSUPP) {
        return file.set_len(to as u64);
    }
    Err(error)
}

/// Removes the temporary files of a writer that died while making them
/// (`.beostat.<pid>.tmp`, `.beostat.nodes.<pid>.tmp`). Called holding the
/// lock, so no live writer owns them.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = [CONTROL_FILE_NAME, NODES_FILE_NAME].iter().any(|base| {
            name.strip_prefix(&format!(".{base}."))
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            match fs::remove_file(entry.path()) {
                Ok(()) => log::info!(
                    "removed {}, left by a writer that died",
                    entry.path().display()
                ),
                Err(e) => log::warn!("cannot remove {}: {e}", entry.path().display()),
            }
        }
    }
}

/// The pid recorded in a control file, for error messages.
fn read_writer_pid(path: &Path) -> Option<i32> {
    let bytes = fs::read(path).ok()?;
    let offset = std::mem::offset_of!(beostat_shm_control, writer_pid);
    let pid = i32::from_ne_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?);
    (pid > 0).then_some(pid)
}

/// If `file` holds a control header of our layout, its generation.
fn read_control(file: &File, path: &Path) -> Option<u64> {
    if file_len(file, path).ok()? < BEOSTAT_SHM_HEADER_BYTES as u64 {
        return None;
    }
    let mapping = Mapping::read_only(file, BEOSTAT_SHM_HEADER_BYTES, path).ok()?;
    let c = mapping.ptr() as *const beostat_shm_control;
    // SAFETY: the mapping covers the header (length checked above); we hold
    // the writer lock so nobody else writes it.
    let (magic, version, generation) = unsafe {
        (
            seqlock::load(&raw const (*c).magic),
            seqlock::load(&raw const (*c).layout_version),
            seqlock::load(&raw const (*c).generation),
        )
    };
    (magic == BEOSTAT_SHM_CONTROL_MAGIC
        && version == BEOSTAT_SHM_LAYOUT_VERSION
        && !mapping.poisoned())
    .then_some(generation)
}

/// Writes a fresh control file under a temporary name, locks it and renames
/// it over `path`. The old file (if a reader has it mapped) is marked retired.
fn replace_control(dir: &ShmDir, path: &Path) -> Result<File> {
    let name = format!(".{CONTROL_FILE_NAME}.{}.tmp", std::process::id());
    let temporary = dir.path().join(&name);
    let _ = fs::remove_file(&temporary);
    let file = dir.open_file(&name, Create::New)?;
    lock_exclusive(&file, dir.path(), &temporary)?;
    allocate_file(&file, 0, BEOSTAT_SHM_HEADER_BYTES).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        Error::io(format!("size {}", temporary.display()), e)
    })?;
    let mapping = Mapping::read_write(&file, BEOSTAT_SHM_HEADER_BYTES, &temporary)?;
    let header = beostat_shm_control {
        magic: BEOSTAT_SHM_CONTROL_MAGIC,
        layout_version: BEOSTAT_SHM_LAYOUT_VERSION,
        header_size: size_of::<beostat_shm_control>() as u32,
        generation: 0,
        writer_pid: std::process::id() as i32,
        flags: 0,
        writer_start_time: 0,
        last_multicast: 0,
        node_capacity: 0,
        cpu_capacity: 0,
        node_count: 0,
        node_expiry_secs: DEFAULT_NODE_EXPIRY_SECS,
        record_fixed_size: size_of::<beostat_node_record>() as u32,
        record_size: 0,
        counters: [0; BEOSTAT_SHM_COUNTER_SLOTS],
    };
    // SAFETY: the mapping is BEOSTAT_SHM_HEADER_BYTES long and nobody else knows the name yet.
    unsafe { std::ptr::write(mapping.ptr() as *mut beostat_shm_control, header) };
    if let Ok(old) = dir.open_file(CONTROL_FILE_NAME, Create::No) {
        if read_control(&old, path).is_some() {
            if let Ok(old_map) = Mapping::read_write(&old, BEOSTAT_SHM_HEADER_BYTES, path) {
                let c = old_map.ptr() as *mut beostat_shm_control;
                // SAFETY: the old header is mapped and of our layout.
                unsafe {
                    atomic_u32(&raw mut (*c).flags).fetch_or(BEOSTAT_SHM_RETIRED, Ordering::Release)
                };
            }
        }
    }
    fs::rename(&temporary, path).map_err(|e| {
        Error::io(
            format!("rename {} to {}", temporary.display(), path.display()),
            e,
        )
    })?;
    Ok(file)
}

/// A generation different from `previous` (never 0, which means "none").
fn next_generation(previous: u64) -> u64 {
    previous.wrapping_add(1).max(1)
}

/// Makes an empty node file (header and an index of `2^bits` slots) under a
/// temporary name and renames it into place. The caller publishes it.
fn create_nodes_file(dir: &ShmDir, generation: u64, bits: u32) -> Result<NodesFile> {
    let index_offset = BEOSTAT_SHM_HEADER_BYTES;
    let used = index_offset + (8 << bits);
    let file_bytes = used.max(GROWTH_STEP).div_ceil(GROWTH_STEP) * GROWTH_STEP;
    build_nodes_file(dir, generation, file_bytes, |mapping| {
        // SAFETY: fresh zeroed file of `file_bytes` >= used bytes.
        unsafe {
            std::ptr::write(
                mapping.ptr() as *mut beostat_shm_nodes,
                nodes_header(generation),
            )
        };
        Ok((index_offset, bits, used, 0))
    })
}

/// Makes a copy of `nodes` (all its bytes) under `generation` and renames it
/// into place (the files were deleted or replaced under the writer).
fn copy_nodes_file(dir: &ShmDir, nodes: &NodesFile, generation: u64) -> Result<NodesFile> {
    build_nodes_file(dir, generation, nodes.file_bytes, |mapping| {
        // SAFETY: both mappings are `file_bytes` long; the source is ours
        // (only we write it) and the target is not yet named.
        unsafe {
            let words = nodes.used / 8;
            let from = nodes.map.ptr() as *const u64;
            let to = mapping.ptr() as *mut u64;
            for i in 0..words {
                std::ptr::write(
                    to.add(i),
                    atomic_u64(from.add(i) as *mut u64).load(Ordering::Relaxed),
                );
            }
            let h = mapping.ptr() as *mut beostat_shm_nodes;
            (*h).generation = generation;
        }
        Ok((
            nodes.index_offset,
            nodes.index_bits,
            nodes.used,
            nodes.record_count,
        ))
    })
}

/// Makes a node file of `file_bytes` under a temporary name, lets `fill`
/// write it, and renames it over the node file.
fn build_nodes_file(
    dir: &ShmDir,
    generation: u64,
    file_bytes: usize,
    fill: impl FnOnce(&Mapping) -> Result<(usize, u32, usize, u32)>,
) -> Result<NodesFile> {
    let path = dir.path().join(NODES_FILE_NAME);
    let name = format!(".{NODES_FILE_NAME}.{}.tmp", std::process::id());
    let temporary = dir.path().join(&name);
    let _ = fs::remove_file(&temporary);
    let file = dir.open_file(&name, Create::New)?;
    let cleanup = |e: Error| {
        let _ = fs::remove_file(&temporary);
        e
    };
    allocate_file(&file, 0, file_bytes)
        .map_err(|e| cleanup(Error::io(format!("allocate {}", temporary.display()), e)))?;
    let map = Mapping::read_write(&file, file_bytes, &temporary).map_err(cleanup)?;
    let (index_offset, index_bits, used, record_count) = fill(&map).map_err(cleanup)?;
    let h = map.ptr() as *mut beostat_shm_nodes;
    // SAFETY: the mapping covers the header; nobody else knows the file yet.
    unsafe {
        (*h).index = index_descriptor(index_offset as u64, index_bits);
        (*h).used_bytes = used as u64;
        (*h).file_bytes = file_bytes as u64;
        (*h).record_count = record_count;
    }
    if map.poisoned() {
        return Err(cleanup(Error::Inconsistent(temporary.clone())));
    }
    fs::rename(&temporary, &path).map_err(|e| {
        cleanup(Error::io(
            format!("rename {} to {}", temporary.display(), path.display()),
            e,
        ))
    })?;
    Ok(NodesFile {
        file,
        map,
        generation,
        file_bytes,
        used,
        index_offset,
        index_bits,
        record_count,
    })
}

fn nodes_header(generation: u64) -> beostat_shm_nodes {
    beostat_shm_nodes {
        magic: BEOSTAT_SHM_NODES_MAGIC,
        layout_version: BEOSTAT_SHM_LAYOUT_VERSION,
        header_size: size_of::<beostat_shm_nodes>() as u32,
        generation,
        index: 0,
        used_bytes: 0,
        file_bytes: 0,
        record_count: 0,
        reserved: 0,
    }
}

/// Maps the node file a previous writer left, if it is of our layout and
/// whole, with the slots of its nodes. Whatever generation it has is kept
/// (a writer killed between making a file and publishing its generation
/// left a good file). Records a killed writer left odd are made even.
fn adopt_nodes(dir: &ShmDir) -> Option<(NodesFile, Vec<Slot>)> {
    let path = dir.path().join(NODES_FILE_NAME);
    let file = match dir.open_file(NODES_FILE_NAME, Create::No) {
        Ok(file) => file,
        Err(e @ crate::Error::Insecure { .. }) => {
            log::warn!("{e}; replacing it with a new node file");
            return None;
        }
        Err(_) => return None,
    };
    let len = file_len(&file, &path).ok()? as usize;
    if len < BEOSTAT_SHM_HEADER_BYTES {
        return None;
    }
    let map = Mapping::read_write(&file, len, &path).ok()?;
    // SAFETY: the mapping covers the header; we hold the writer lock.
    let header: beostat_shm_nodes = unsafe { seqlock::load(map.ptr() as *const beostat_shm_nodes) };
    let used = header.used_bytes as usize;
    let (index_offset, index_bits) = index_parts(header.index);
    let index_offset = index_offset as usize;
    let valid_header = header.magic == BEOSTAT_SHM_NODES_MAGIC
        && header.layout_version == BEOSTAT_SHM_LAYOUT_VERSION
        && header.generation != 0
        && used <= len
        && used >= BEOSTAT_SHM_HEADER_BYTES
        && (BEOSTAT_SHM_MIN_INDEX_BITS..=26).contains(&index_bits)
        && index_offset >= BEOSTAT_SHM_HEADER_BYTES
        && index_offset + (8 << index_bits) <= used;
    if !valid_header {
        log::warn!(
            "{}: not a node file of this layout; starting a new one",
            path.display()
        );
        return None;
    }
    let mut slots = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..1usize << index_bits {
        // SAFETY: inside the index, checked above.
        let entry = unsafe { atomic_u64((map.ptr().add(index_offset) as *mut u64).add(i)) }
            .load(Ordering::Acquire);
        let Some((node, offset)) = entry_parts(entry) else {
            continue;
        };
        let offset = offset as usize;
        if offset < BEOSTAT_SHM_HEADER_BYTES || offset + size_of::<beostat_node_record>() > used {
            log::warn!(
                "{}: index entry {i} points outside the file; starting a new one",
                path.display()
            );
            return None;
        }
        let record = map.ptr().wrapping_add(offset) as *mut beostat_node_record;
        // SAFETY: the fixed part lies inside the used bytes (checked above).
        let (owner, cpus, devices, size, state, time, seq) = unsafe {
            (
                seqlock::load(&raw const (*record).node),
                seqlock::load(&raw const (*record).cpu_capacity),
                seqlock::load(&raw const (*record).net_dev_capacity),
                seqlock::load(&raw const (*record).record_size),
                seqlock::load(&raw const (*record).state),
                seqlock::load(&raw const (*record).monotonic_ns),
                seqlock::load(&raw const (*record).seq),
            )
        };
        let shape = RecordShape { cpus, devices };
        let sane = owner == node
            && cpus <= MAX_CPU_CAPACITY
            && devices as usize <= MAX_NET_DEV
            && size as usize == shape.size()
            && offset + shape.size() <= used
            && seen.insert(node);
        if !sane {
            log::warn!(
                "{}: record of node {node} is damaged; starting a new file",
                path.display()
            );
            return None;
        }
        if seq % 2 == 1 {
            // A writer was killed in the middle of this record. If it was
            // the node's first report, the state (stored last) is still
            // empty and the node stays unreported; otherwise every field
            // holds the previous or the interrupted report's value, each
            // whole: let readers have it rather than EAGAIN forever.
            // SAFETY: we hold the writer lock; the word is inside the record.
            unsafe { atomic_u64(&raw mut (*record).seq).store(seq + 1, Ordering::Release) };
        }
        let now = monotonic_ns();
        slots.push(Slot {
            node,
            offset,
            shape,
            up_since: if state == BEOSTAT_NODE_STATE_UP {
                time.min(now)
            } else {
                NOT_UP
            },
            net_time_ns: 0,
            net_total: 0,
            has_static: false,
        });
    }
    slots.sort_by_key(|s| s.offset);
    // A foreign or killed writer may have left bytes that were only
    // truncated into existence: back them now rather than meet SIGBUS.
    if let Err(e) = allocate_file(&file, 0, len) {
        log::warn!(
            "{}: cannot back the file's {len} bytes: {e}",
            path.display()
        );
    }
    let file_bytes = len;
    Some((
        NodesFile {
            file,
            map,
            generation: header.generation,
            file_bytes,
            used,
            index_offset,
            index_bits,
            record_count: header.record_count,
        },
        slots,
    ))
}

// The writer stores whole structs; make sure they qualify.
const _: fn() = || {
    fn plain<T: Plain>() {}
    plain::<beostat_loadavg>();
    plain::<beostat_meminfo>();
    plain::<beostat_net_dev>();
    plain::<beostat_cpu_times>();
    plain::<libc::statfs>();
};
