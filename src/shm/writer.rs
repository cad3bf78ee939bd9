//! The one writer of the shm files (recvstats uses it; tests use it to make
//! files with known values).
//!
//! Owns creating, resuming, growing and replacing the files, and every store
//! into them. Exactly one `ShmWriter` may exist per shm directory across the
//! whole machine: it holds an exclusive `flock` on the control file, and a
//! second writer is refused with the holder's pid. It must never truncate a
//! file that readers may have mapped: a grown node file is built under a
//! temporary name and renamed into place, then the new generation is
//! published in the control header, and readers remap. Which directory and
//! files it accepts, and how it opens them, is [`super::dir`].

use super::dir::{Create, ShmDir};
use super::layout::*;
use super::mapping::{file_len, Mapping};
use super::seqlock::{self, Plain};
use crate::error::{Error, Result};
use crate::types::{
    beostat_loadavg, beostat_meminfo, beostat_net_dev, beostat_stat_cpu, node_time, MAX_NET_DEV,
};
use libc::{gid_t, time_t, uid_t};
use std::fs::{self, File};
use std::mem::size_of;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How to open the files.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// The shm directory (must exist).
    pub dir: PathBuf,
    /// Initial node capacity (the `-N` option); grows on demand.
    pub node_capacity: u32,
    /// Initial CPUs per node; grows on demand.
    pub cpu_capacity: u32,
    /// Seconds without a report after which a node is down.
    pub node_expiry_secs: u32,
    /// Node numbers at or above this are refused (bounds memory use).
    pub max_node_capacity: u32,
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
            cpu_capacity: DEFAULT_CPU_CAPACITY,
            node_expiry_secs: DEFAULT_NODE_EXPIRY_SECS,
            max_node_capacity: MAX_NODE_CAPACITY,
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
    /// When the report arrived, nanoseconds since the Epoch (0: now).
    pub time_ns: u64,
    /// Host name.
    pub name: Option<&'a [u8]>,
    /// /proc/loadavg.
    pub loadavg: Option<beostat_loadavg>,
    /// /proc/meminfo, in bytes.
    pub meminfo: Option<beostat_meminfo>,
    /// /proc/net/dev; entries past [`MAX_NET_DEV`] are ignored.
    pub net_dev: Option<&'a [beostat_net_dev]>,
    /// Per-CPU counters of /proc/stat, indexed by CPU number.
    pub stat_cpu: Option<&'a [beostat_stat_cpu]>,
    /// Number of CPUs (from cpuinfo); defaults to `stat_cpu.len()`.
    pub cpu_count: Option<u32>,
    /// Clock of CPU 0.
    pub mhz: Option<f32>,
    /// statfs of the root filesystem.
    pub statfs: Option<libc::statfs>,
}

/// Per-node state the writer keeps in memory to compute rates.
#[derive(Debug, Clone, Copy, Default)]
struct NetBase {
    time_ns: u64,
    total_bytes: u64,
}

/// The writer. See the module documentation.
#[derive(Debug)]
pub struct ShmWriter {
    dir: ShmDir,
    /// Holds the flock that makes us the only writer.
    control_file: File,
    control: Mapping,
    nodes: Mapping,
    geometry: Geometry,
    generation: u64,
    max_node_capacity: u32,
    net_bases: Vec<NetBase>,
    /// Per record: the `time` (seconds) of the last report of a node this
    /// writer published as up, or [`NOT_UP`]. [`ShmWriter::expire`] scans
    /// this contiguous array instead of one record (a page apart) per
    /// node, and reads a record only when its node is due to go down.
    up_times: Vec<time_t>,
}

/// [`ShmWriter::up_times`] of a record that is empty or down.
const NOT_UP: time_t = time_t::MIN;

/// Nanoseconds since the Epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl ShmWriter {
    /// Opens the files in `options.dir`, creating them or resuming the ones a
    /// previous writer left (their data stays visible), and takes the lock.
    pub fn open(options: &WriterOptions) -> Result<Self> {
        let dir = ShmDir::open(&options.dir, options.owner, options.allow_insecure_dir)?;
        let control_path = dir.path().join(CONTROL_FILE_NAME);
        let mut control_file = dir.open_file(CONTROL_FILE_NAME, Create::IfMissing)?;
        lock_exclusive(&control_file, dir.path(), &control_path)?;

        let resumed = read_control(&control_file, &control_path);
        if resumed.is_none() {
            control_file = replace_control(&dir, &control_path)?;
        }
        let control = Mapping::read_write(&control_file, BEOSTAT_SHM_HEADER_BYTES, &control_path)?;
        let previous_generation = resumed.map_or(now_ns(), |r| r.0);

        let requested = Geometry {
            node_capacity: options
                .node_capacity
                .clamp(1, options.max_node_capacity.max(1)),
            cpu_capacity: options.cpu_capacity.clamp(1, MAX_CPU_CAPACITY),
        };
        let existing = resumed.and_then(|(generation, _)| open_nodes(&dir, generation));

        let (nodes, geometry, generation, created) = match existing {
            Some((mapping, geometry))
                if geometry.node_capacity >= requested.node_capacity
                    && geometry.cpu_capacity >= requested.cpu_capacity =>
            {
                (mapping, geometry, previous_generation, false)
            }
            Some((mapping, geometry)) => {
                let target = Geometry {
                    node_capacity: geometry.node_capacity.max(requested.node_capacity),
                    cpu_capacity: geometry.cpu_capacity.max(requested.cpu_capacity),
                };
                let generation = next_generation(previous_generation);
                let built = build_nodes_file(&dir, target, generation, Some((&mapping, geometry)))?;
                (built, target, generation, true)
            }
            None => {
                let generation = next_generation(previous_generation);
                (
                    build_nodes_file(&dir, requested, generation, None)?,
                    requested,
                    generation,
                    true,
                )
            }
        };
        let mut writer = ShmWriter {
            dir,
            control_file,
            control,
            nodes,
            geometry,
            generation,
            max_node_capacity: options.max_node_capacity.max(1),
            net_bases: vec![NetBase::default(); geometry.record_count()],
            up_times: Vec::new(),
        };
        writer.load_up_times();
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let c = writer.control_ptr();
        // SAFETY: c points at our mapped control header.
        unsafe {
            seqlock::store(&raw mut (*c).writer_pid, std::process::id() as i32);
            seqlock::store(&raw mut (*c).writer_start_time, start as time_t);
            seqlock::store(&raw mut (*c).node_expiry_secs, options.node_expiry_secs);
            atomic_u32(&raw mut (*c).flags).fetch_and(!BEOSTAT_SHM_RETIRED, Ordering::Release);
        }
        writer.publish_geometry();
        if created {
            writer.add_counter(Counter::FileGrowths, 1);
        }
        Ok(writer)
    }

    /// The shm directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the writer, as the user it now runs as, can still grow the
    /// node file (create and rename files in the directory); see
    /// [`ShmDir::check_writable`].
    pub fn check_dir_writable(&self) -> Result<()> {
        self.dir.check_writable()
    }

    /// Current capacities.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Generation of the node file in place.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Asks the CPU to start loading the parts of `node`'s record that
    /// [`ShmWriter::update`] will touch for a report of about `cpus` CPUs
    /// and `devices` interfaces: the fixed fields, those net/dev entries and
    /// both stat arrays. At 10,000 nodes the record was last touched a
    /// second ago and is out of every cache; called before the report is
    /// parsed, the misses overlap the parsing instead of stalling the
    /// update. A hint only: it reads and writes nothing, and a node outside
    /// the current geometry is ignored.
    pub fn prefetch(&self, node: i32, cpus: usize, devices: usize) {
        let Some(offset) = self.geometry.record_offset(node) else {
            return;
        };
        let Some(record) = self.nodes.at::<beostat_node_record>(offset) else {
            return;
        };
        let base = record as *const u8;
        let geometry = self.geometry;
        let cpus = cpus.min(geometry.cpu_capacity as usize);
        let fixed = std::mem::offset_of!(beostat_node_record, net_dev)
            + devices.min(MAX_NET_DEV) * size_of::<beostat_net_dev>();
        let stat_bytes = cpus * size_of::<beostat_stat_cpu>();
        let ranges = [
            (0, fixed),
            (geometry.stat_cpu_offset(0, false), stat_bytes),
            (geometry.stat_cpu_offset(0, true), stat_bytes),
        ];
        for (start, len) in ranges {
            for line in (start..start + len).step_by(64) {
                prefetch_line(base.wrapping_add(line));
            }
        }
    }

    /// Publishes one report from `node` (-1 is the master). Grows the files
    /// when the node number or CPU count does not fit.
    pub fn update(&mut self, node: i32, update: &NodeUpdate<'_>) -> Result<()> {
        self.recover_if_poisoned()?;
        let cpus = update
            .stat_cpu
            .map_or(0, |s| s.len())
            .max(update.cpu_count.unwrap_or(0) as usize)
            .min(MAX_CPU_CAPACITY as usize) as u32;
        self.ensure_capacity(node, cpus)?;
        let offset = self
            .geometry
            .record_offset(node)
            .ok_or(Error::UnknownNode(node))?;
        let index = (node + 1) as usize;
        let time_ns = if update.time_ns == 0 {
            now_ns()
        } else {
            update.time_ns
        };
        let geometry = self.geometry;
        let record = self.record_ptr(offset);

        let net = update.net_dev.map(|devices| {
            let devices = &devices[..devices.len().min(MAX_NET_DEV)];
            let total: u64 = devices
                .iter()
                .map(|d| d.recv.bytes.wrapping_add(d.trans.bytes))
                .fold(0, u64::wrapping_add);
            let base = self.net_bases[index];
            let rate = if base.time_ns == 0 || time_ns <= base.time_ns || total < base.total_bytes {
                0
            } else {
                let seconds = (time_ns - base.time_ns) as f64 / 1e9;
                ((total - base.total_bytes) as f64 / seconds) as u64
            };
            self.net_bases[index] = NetBase {
                time_ns,
                total_bytes: total,
            };
            (devices, rate)
        });

        // SAFETY: `record` points at a whole record inside our mapping (the
        // offset came from the current geometry); we are the only writer.
        unsafe {
            let seq = &raw mut (*record).seq;
            let even = seqlock::begin_write(seq);
            seqlock::store(&raw mut (*record).node, node);
            seqlock::store(&raw mut (*record).state, BEOSTAT_NODE_STATE_UP);
            seqlock::store(
                &raw mut (*record).time,
                node_time {
                    time: (time_ns / 1_000_000_000) as time_t,
                },
            );
            self.up_times[index] = (time_ns / 1_000_000_000) as time_t;
            seqlock::store(&raw mut (*record).time_ns, time_ns);
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
            if let Some((devices, rate)) = net {
                // Only the used entries are written, and the ones the last
                // report used beyond them zeroed: the table stays as if
                // written whole (unused entries zero, for programs that map
                // the file) at a fraction of the 4.6 KB of stores.
                let old_count = seqlock::load(&raw const (*record).net_dev_count)
                    .clamp(0, MAX_NET_DEV as i32) as usize;
                let table = (&raw mut (*record).net_dev).cast::<beostat_net_dev>();
                for (i, device) in devices.iter().enumerate() {
                    seqlock::store(table.add(i), *device);
                }
                for i in devices.len()..old_count {
                    seqlock::store(table.add(i), beostat_net_dev::default());
                }
                seqlock::store(&raw mut (*record).net_dev_count, devices.len() as i32);
                seqlock::store(&raw mut (*record).net_rate, rate as libc::c_ulong);
            }
            if let Some(stat) = update.stat_cpu {
                let stat = &stat[..stat.len().min(geometry.cpu_capacity as usize)];
                let old_count = seqlock::load(&raw const (*record).cpu_count).max(0) as usize;
                let span = old_count
                    .max(stat.len())
                    .min(geometry.cpu_capacity as usize);
                let base = record as *mut u8;
                for cpu in 0..span {
                    let current =
                        base.add(geometry.stat_cpu_offset(cpu, false)) as *mut beostat_stat_cpu;
                    let previous =
                        base.add(geometry.stat_cpu_offset(cpu, true)) as *mut beostat_stat_cpu;
                    seqlock::store(previous, seqlock::load(current));
                    seqlock::store(current, stat.get(cpu).copied().unwrap_or_default());
                }
                let flags = seqlock::load(&raw const (*record).flags);
                seqlock::store(&raw mut (*record).flags, flags | BEOSTAT_RECORD_HAS_STAT);
                if update.cpu_count.is_none() {
                    seqlock::store(&raw mut (*record).cpu_count, stat.len() as i32);
                }
            }
            if let Some(count) = update.cpu_count {
                seqlock::store(
                    &raw mut (*record).cpu_count,
                    count.min(geometry.cpu_capacity) as i32,
                );
            }
            if let Some(mhz) = update.mhz {
                seqlock::store(&raw mut (*record).mhz, mhz);
            }
            if let Some(statfs) = update.statfs {
                seqlock::store(&raw mut (*record).statfs, statfs);
            }
            seqlock::end_write(seq, even);
        }
        if self.nodes.poisoned() {
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

    /// Sets or clears the access rules of `node`.
    pub fn set_access(&mut self, node: i32, access: Option<Access>) -> Result<()> {
        self.recover_if_poisoned()?;
        self.ensure_capacity(node, 0)?;
        let offset = self
            .geometry
            .record_offset(node)
            .ok_or(Error::UnknownNode(node))?;
        let record = self.record_ptr(offset);
        // SAFETY: as in `update`.
        unsafe {
            let seq = &raw mut (*record).seq;
            let even = seqlock::begin_write(seq);
            seqlock::store(&raw mut (*record).node, node);
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
    /// as down (its data stays). Returns the nodes newly marked down.
    pub fn expire(&mut self, now_secs: time_t) -> Vec<i32> {
        let expiry = self.node_expiry_secs() as time_t;
        let mut expired = Vec::new();
        for index in 0..self.up_times.len() {
            let up_time = self.up_times[index];
            if up_time == NOT_UP || now_secs.saturating_sub(up_time) <= expiry {
                continue;
            }
            self.up_times[index] = NOT_UP;
            let node = index as i32 - 1;
            let Some(offset) = self.geometry.record_offset(node) else {
                continue;
            };
            let record = self.record_ptr(offset);
            // SAFETY: as in `update`; the writer may read its own fields
            // without the sequence check because no one else writes them.
            // The record, not the array, decides.
            unsafe {
                if seqlock::load(&raw const (*record).state) != BEOSTAT_NODE_STATE_UP {
                    continue;
                }
                let time = seqlock::load(&raw const (*record).time).time;
                if now_secs.saturating_sub(time) <= expiry {
                    self.up_times[index] = time;
                    continue;
                }
                let seq = &raw mut (*record).seq;
                let even = seqlock::begin_write(seq);
                seqlock::store(&raw mut (*record).state, BEOSTAT_NODE_STATE_DOWN);
                seqlock::end_write(seq, even);
            }
            expired.push(node);
        }
        expired
    }

    /// Fills [`ShmWriter::up_times`] from the records (at open, and when a
    /// node file is replaced), so nodes a previous writer published as up
    /// still expire.
    fn load_up_times(&mut self) {
        let count = self.geometry.record_count();
        self.up_times.clear();
        self.up_times.resize(count, NOT_UP);
        for index in 0..count {
            let Some(offset) = self.geometry.record_offset(index as i32 - 1) else {
                continue;
            };
            let record = self.record_ptr(offset);
            // SAFETY: as in `expire`.
            unsafe {
                if seqlock::load(&raw const (*record).state) == BEOSTAT_NODE_STATE_UP {
                    self.up_times[index] = seqlock::load(&raw const (*record).time).time;
                }
            }
        }
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

    /// Makes room for `node` and `cpus` CPUs, growing the node file if needed.
    pub fn ensure_capacity(&mut self, node: i32, cpus: u32) -> Result<()> {
        if node < -1 || node >= self.max_node_capacity as i32 {
            return Err(Error::UnknownNode(node));
        }
        let needed_nodes = (node + 1).max(0) as u32;
        let g = self.geometry;
        if needed_nodes <= g.node_capacity && cpus <= g.cpu_capacity {
            return Ok(());
        }
        let grow = |have: u32, need: u32, max: u32| {
            if need <= have {
                have
            } else {
                need.max(have.saturating_mul(2)).min(max)
            }
        };
        let target = Geometry {
            node_capacity: grow(g.node_capacity, needed_nodes, self.max_node_capacity),
            cpu_capacity: grow(g.cpu_capacity, cpus, MAX_CPU_CAPACITY),
        };
        let generation = next_generation(self.generation);
        let built = build_nodes_file(&self.dir, target, generation, Some((&self.nodes, g)))?;
        self.install_nodes(built, target, generation);
        Ok(())
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
        if self.control.poisoned() || self.nodes.poisoned() || control_lost {
            let generation = next_generation(self.generation);
            let built = build_nodes_file(&self.dir, self.geometry, generation, None)?;
            self.install_nodes(built, self.geometry, generation);
        }
        Ok(())
    }

    /// Switches to a freshly built node file and publishes it.
    fn install_nodes(&mut self, nodes: Mapping, geometry: Geometry, generation: u64) {
        self.nodes = nodes;
        self.geometry = geometry;
        self.generation = generation;
        self.net_bases
            .resize(geometry.record_count(), NetBase::default());
        self.load_up_times();
        self.publish_geometry();
        self.add_counter(Counter::FileGrowths, 1);
    }

    /// Stores capacities and then the generation, so a reader that sees the
    /// new generation also sees the capacities that go with it.
    fn publish_geometry(&mut self) {
        let g = self.geometry;
        let generation = self.generation;
        self.store_control(|c| {
            // SAFETY: c points at our mapped control header.
            unsafe {
                atomic_u32(&raw mut (*c).node_capacity).store(g.node_capacity, Ordering::Relaxed);
                atomic_u32(&raw mut (*c).cpu_capacity).store(g.cpu_capacity, Ordering::Relaxed);
                atomic_u32(&raw mut (*c).record_size)
                    .store(g.record_size() as u32, Ordering::Relaxed);
                // Release: orders the capacity stores before the generation.
                atomic_u64(&raw mut (*c).generation).store(generation, Ordering::Release);
            }
        });
    }

    fn control_ptr(&self) -> *mut beostat_shm_control {
        self.control.ptr() as *mut beostat_shm_control
    }

    fn store_control(&self, f: impl FnOnce(*mut beostat_shm_control)) {
        f(self.control_ptr())
    }

    fn record_ptr(&self, offset: usize) -> *mut beostat_node_record {
        self.nodes
            .at::<beostat_node_record>(offset)
            .expect("record offset comes from the mapping's own geometry")
    }
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

/// The pid recorded in a control file, for error messages.
fn read_writer_pid(path: &Path) -> Option<i32> {
    let bytes = fs::read(path).ok()?;
    let offset = std::mem::offset_of!(beostat_shm_control, writer_pid);
    let pid = i32::from_ne_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?);
    (pid > 0).then_some(pid)
}

/// If `file` holds a control header of our layout, its generation and geometry.
fn read_control(file: &File, path: &Path) -> Option<(u64, Geometry)> {
    if file_len(file, path).ok()? < BEOSTAT_SHM_HEADER_BYTES as u64 {
        return None;
    }
    let mapping = Mapping::read_only(file, BEOSTAT_SHM_HEADER_BYTES, path).ok()?;
    let c = mapping.ptr() as *const beostat_shm_control;
    // SAFETY: the mapping covers the header (length checked above); we hold
    // the writer lock so nobody else writes it.
    let (magic, version, generation, nodes, cpus) = unsafe {
        (
            seqlock::load(&raw const (*c).magic),
            seqlock::load(&raw const (*c).layout_version),
            seqlock::load(&raw const (*c).generation),
            seqlock::load(&raw const (*c).node_capacity),
            seqlock::load(&raw const (*c).cpu_capacity),
        )
    };
    (magic == BEOSTAT_SHM_CONTROL_MAGIC
        && version == BEOSTAT_SHM_LAYOUT_VERSION
        && !mapping.poisoned())
    .then_some((
        generation,
        Geometry {
            node_capacity: nodes,
            cpu_capacity: cpus,
        },
    ))
}

/// Writes a fresh control file under a temporary name, locks it and renames
/// it over `path`. The old file (if a reader has it mapped) is marked retired.
fn replace_control(dir: &ShmDir, path: &Path) -> Result<File> {
    let name = format!(".{CONTROL_FILE_NAME}.{}.tmp", std::process::id());
    let temporary = dir.path().join(&name);
    let _ = fs::remove_file(&temporary);
    let file = dir.open_file(&name, Create::New)?;
    lock_exclusive(&file, dir.path(), &temporary)?;
    file.set_len(BEOSTAT_SHM_HEADER_BYTES as u64)
        .map_err(|e| Error::io(format!("size {}", temporary.display()), e))?;
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

/// Builds a node file of `geometry` under a temporary name (copying the
/// records of `old`) and renames it into place. The caller publishes it.
fn build_nodes_file(
    dir: &ShmDir,
    geometry: Geometry,
    generation: u64,
    old: Option<(&Mapping, Geometry)>,
) -> Result<Mapping> {
    let path = dir.path().join(NODES_FILE_NAME);
    let name = format!(".{NODES_FILE_NAME}.{}.tmp", std::process::id());
    let temporary = dir.path().join(&name);
    let _ = fs::remove_file(&temporary);
    let file = dir.open_file(&name, Create::New)?;
    file.set_len(geometry.file_len() as u64)
        .map_err(|e| Error::io(format!("grow {}", temporary.display()), e))?;
    let mapping = Mapping::read_write(&file, geometry.file_len(), &temporary)?;
    let header = beostat_shm_nodes {
        magic: BEOSTAT_SHM_NODES_MAGIC,
        layout_version: BEOSTAT_SHM_LAYOUT_VERSION,
        header_size: size_of::<beostat_shm_nodes>() as u32,
        generation,
        node_capacity: geometry.node_capacity,
        cpu_capacity: geometry.cpu_capacity,
        record_fixed_size: size_of::<beostat_node_record>() as u32,
        record_size: geometry.record_size() as u32,
        records_offset: BEOSTAT_SHM_HEADER_BYTES as u64,
    };
    // SAFETY: the new mapping is at least BEOSTAT_SHM_HEADER_BYTES long and only we
    // know its name until the rename below.
    unsafe { std::ptr::write(mapping.ptr() as *mut beostat_shm_nodes, header) };
    if let Some((old_mapping, old_geometry)) = old {
        copy_records(old_mapping, old_geometry, &mapping, geometry);
    }
    if mapping.poisoned() {
        let _ = fs::remove_file(&temporary);
        return Err(Error::Inconsistent(temporary));
    }
    fs::rename(&temporary, &path).map_err(|e| {
        Error::io(
            format!("rename {} to {}", temporary.display(), path.display()),
            e,
        )
    })?;
    Ok(mapping)
}

/// Maps an existing node file if it is of our layout and of `generation`.
fn open_nodes(dir: &ShmDir, generation: u64) -> Option<(Mapping, Geometry)> {
    let path = &dir.path().join(NODES_FILE_NAME);
    let file = match dir.open_file(NODES_FILE_NAME, Create::No) {
        Ok(file) => file,
        Err(e @ crate::Error::Insecure { .. }) => {
            log::warn!("{e}; replacing it with a new node file");
            return None;
        }
        Err(_) => return None,
    };
    let len = file_len(&file, path).ok()? as usize;
    if len < BEOSTAT_SHM_HEADER_BYTES {
        return None;
    }
    let mapping = Mapping::read_write(&file, len, path).ok()?;
    let h = mapping.ptr() as *const beostat_shm_nodes;
    // SAFETY: the mapping covers the header; we hold the writer lock.
    let header: beostat_shm_nodes = unsafe { std::ptr::read(h) };
    let geometry = Geometry {
        node_capacity: header.node_capacity,
        cpu_capacity: header.cpu_capacity,
    };
    let valid = header.magic == BEOSTAT_SHM_NODES_MAGIC
        && header.layout_version == BEOSTAT_SHM_LAYOUT_VERSION
        && header.generation == generation
        && header.record_size as usize == geometry.record_size()
        && header.record_fixed_size as usize == size_of::<beostat_node_record>()
        && header.cpu_capacity <= MAX_CPU_CAPACITY
        && len >= geometry.file_len();
    valid.then_some((mapping, geometry))
}

/// Copies every non-empty record of `old` into `new` (which has at least as
/// many nodes and CPUs), leaving sequence counters even.
fn copy_records(old: &Mapping, old_g: Geometry, new: &Mapping, new_g: Geometry) {
    let records = old_g.record_count().min(new_g.record_count());
    let cpus = old_g.cpu_capacity.min(new_g.cpu_capacity) as usize;
    let cpu_bytes = cpus * size_of::<beostat_stat_cpu>();
    for index in 0..records {
        let node = index as i32 - 1;
        let (Some(from), Some(to)) = (old_g.record_offset(node), new_g.record_offset(node)) else {
            continue;
        };
        let source = old.ptr().wrapping_add(from);
        let target = new.ptr().wrapping_add(to);
        // SAFETY: both offsets come from the files' geometries and lie inside
        // their mappings; the old file is not written concurrently (we are
        // the only writer) and the new one is not yet visible to anyone.
        unsafe {
            let state = seqlock::load(&raw const (*(source as *const beostat_node_record)).state);
            if state == BEOSTAT_NODE_STATE_EMPTY {
                continue;
            }
            std::ptr::copy_nonoverlapping(source, target, size_of::<beostat_node_record>());
            for previous in [false, true] {
                std::ptr::copy_nonoverlapping(
                    source.add(old_g.stat_cpu_offset(0, previous)),
                    target.add(new_g.stat_cpu_offset(0, previous)),
                    cpu_bytes,
                );
            }
            let seq = target as *mut u64;
            *seq = (*seq + 1) & !1;
        }
    }
}

// The writer stores whole structs; make sure they qualify.
const _: fn() = || {
    fn plain<T: Plain>() {}
    plain::<beostat_loadavg>();
    plain::<beostat_meminfo>();
    plain::<beostat_net_dev>();
    plain::<libc::statfs>();
};
