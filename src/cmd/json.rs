//! `beostat --json`: the one JSON schema scripts may rely on.
//!
//! The schema is documented in docs/COMMANDS.md and named by the top-level
//! `"schema"` field. Within one schema name, fields are only ever added,
//! never renamed, retyped or removed; a change that breaks a reader gets a
//! new name. The structs below are the schema: field order here is the
//! order in the output. Sections the user did not ask for are absent.

use super::text::Sections;
use super::{memory_total, Disk, Snapshot, USER_HZ};
use crate::shm::{NodeData, NodeState};
use serde::Serialize;

/// The value of the `"schema"` field.
pub const SCHEMA: &str = "beostat/1";

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Document {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// When the files were read, seconds since the Epoch.
    pub taken_at: i64,
    /// A node silent longer than this is down.
    pub node_expiry_seconds: u32,
    /// The nodes shown, master (-1) first, in increasing order.
    pub nodes: Vec<Node>,
}

/// One node.
#[derive(Debug, Serialize)]
pub struct Node {
    /// Node number; -1 is the master.
    pub node: i32,
    /// Host name the node reported (may be empty).
    pub name: String,
    /// `"up"` or `"down"`.
    pub state: &'static str,
    /// When its last report arrived, seconds since the Epoch.
    pub last_report: i64,
    /// Seconds between the last report and `taken_at`.
    pub age_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuinfo: Option<CpuInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meminfo: Option<MemInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loadavg: Option<LoadAvg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<Net>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat>,
    /// `null` when asked for but the node reported no filesystem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<Option<DiskUsage>>,
}

/// From /proc/cpuinfo.
#[derive(Debug, Serialize)]
pub struct CpuInfo {
    pub cpus: i32,
    /// Clock of CPU 0; 0 when the architecture does not report it.
    pub mhz: f32,
}

/// From /proc/meminfo, bytes.
#[derive(Debug, Serialize)]
pub struct MemInfo {
    pub memory: Memory,
    pub swap: Swap,
}

/// Physical memory, bytes. `used_bytes` includes buffers and cache.
#[derive(Debug, Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub shared_bytes: u64,
    pub buffers_bytes: u64,
    pub cached_bytes: u64,
}

/// Swap, bytes.
#[derive(Debug, Serialize)]
pub struct Swap {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
}

/// From /proc/loadavg.
#[derive(Debug, Serialize)]
pub struct LoadAvg {
    pub load1: f32,
    pub load5: f32,
    pub load15: f32,
    /// Runnable scheduling entities.
    pub running: i32,
    /// Scheduling entities that exist.
    pub processes: i32,
    pub last_pid: i32,
}

/// From /proc/net/dev.
#[derive(Debug, Serialize)]
pub struct Net {
    /// Bytes per second over all interfaces between the last two reports.
    pub rate_bytes_per_second: u64,
    pub interfaces: Vec<Interface>,
}

/// One interface, in the node's /proc/net/dev order.
#[derive(Debug, Serialize)]
pub struct Interface {
    pub name: String,
    pub receive: Receive,
    pub transmit: Transmit,
}

/// Receive counters since the interface came up.
#[derive(Debug, Serialize)]
pub struct Receive {
    pub bytes: u64,
    pub packets: u64,
    pub errs: u64,
    pub drop: u64,
    pub fifo: u64,
    pub frame: u64,
    pub compressed: u64,
    pub multicast: u64,
}

/// Transmit counters since the interface came up.
#[derive(Debug, Serialize)]
pub struct Transmit {
    pub bytes: u64,
    pub packets: u64,
    pub errs: u64,
    pub drop: u64,
    pub fifo: u64,
    pub colls: u64,
    pub carrier: u64,
    pub compressed: u64,
}

/// From /proc/stat.
#[derive(Debug, Serialize)]
pub struct Stat {
    /// Ticks per second of the counters.
    pub user_hz: u32,
    /// Empty until the node has sent a sample.
    pub cpus: Vec<Cpu>,
}

/// One CPU's time counters (ticks since boot).
#[derive(Debug, Serialize)]
pub struct Cpu {
    pub cpu: usize,
    pub user: i64,
    pub nice: i64,
    pub system: i64,
    pub idle: i64,
    /// Busy (user + nice + system) share of the time between the last two
    /// samples, 0 to 100, one decimal.
    pub busy_percent: f32,
}

/// The root filesystem, from statfs.
#[derive(Debug, Serialize)]
pub struct DiskUsage {
    pub path: &'static str,
    pub size_bytes: u64,
    pub free_bytes: u64,
    /// Free for unprivileged users.
    pub avail_bytes: u64,
    pub files: u64,
    pub files_free: u64,
}

/// The document for `snapshot`, with the sections chosen.
pub fn document(snapshot: &Snapshot, sections: Sections) -> Document {
    Document {
        schema: SCHEMA,
        taken_at: snapshot.taken_secs(),
        node_expiry_seconds: snapshot.control.node_expiry_secs,
        nodes: snapshot
            .nodes
            .iter()
            .map(|n| node(snapshot, n, sections))
            .collect(),
    }
}

/// The document as pretty-printed JSON, ending with a newline.
pub fn render(snapshot: &Snapshot, sections: Sections) -> String {
    let mut text = serde_json::to_string_pretty(&document(snapshot, sections))
        .expect("the schema serializes (no maps with non-string keys)");
    text.push('\n');
    text
}

/// One node of the document (the web view embeds it).
pub fn node(snapshot: &Snapshot, n: &NodeData, sections: Sections) -> Node {
    let m = &n.meminfo;
    Node {
        node: n.node,
        name: String::from_utf8_lossy(&n.name).into_owned(),
        state: match n.state {
            NodeState::Up => "up",
            NodeState::Down => "down",
        },
        last_report: n.time.time,
        age_seconds: snapshot.age_secs(n),
        cpuinfo: sections.cpuinfo.then_some(CpuInfo {
            cpus: n.cpu_count,
            mhz: n.mhz,
        }),
        meminfo: sections.meminfo.then(|| MemInfo {
            memory: Memory {
                total_bytes: memory_total(m),
                used_bytes: m.mem.used,
                free_bytes: m.mem.free,
                shared_bytes: m.shared,
                buffers_bytes: m.buffers,
                cached_bytes: m.cached,
            },
            swap: Swap {
                total_bytes: m.swap.used.saturating_add(m.swap.free),
                used_bytes: m.swap.used,
                free_bytes: m.swap.free,
            },
        }),
        loadavg: sections.loadavg.then(|| LoadAvg {
            load1: n.loadavg.load[0],
            load5: n.loadavg.load[1],
            load15: n.loadavg.load[2],
            running: n.loadavg.num_active_procs,
            processes: n.loadavg.total_procs,
            last_pid: n.loadavg.last_pid,
        }),
        net: sections.net.then(|| Net {
            rate_bytes_per_second: n.net_rate,
            interfaces: n
                .net_dev
                .iter()
                .map(|d| Interface {
                    name: String::from_utf8_lossy(d.name_bytes()).into_owned(),
                    receive: Receive {
                        bytes: d.recv.bytes,
                        packets: d.recv.packets,
                        errs: d.recv.errs,
                        drop: d.recv.drop,
                        fifo: d.recv.fifo,
                        frame: d.frame,
                        compressed: d.recv.compressed,
                        multicast: d.multicast,
                    },
                    transmit: Transmit {
                        bytes: d.trans.bytes,
                        packets: d.trans.packets,
                        errs: d.trans.errs,
                        drop: d.trans.drop,
                        fifo: d.trans.fifo,
                        colls: d.colls,
                        carrier: d.carrier,
                        compressed: d.trans.compressed,
                    },
                })
                .collect(),
        }),
        stat: sections.stat.then(|| Stat {
            user_hz: USER_HZ as u32,
            cpus: n
                .stat_cpu
                .iter()
                .enumerate()
                .map(|(c, s)| Cpu {
                    cpu: c,
                    user: s.user,
                    nice: s.nice,
                    system: s.system,
                    idle: s.idle,
                    busy_percent: n
                        .cpu_percent(c)
                        .map_or(0.0, |f| (f * 1000.0).round() / 10.0),
                })
                .collect(),
        }),
        disk: sections.disk.then(|| {
            Disk::of(&n.statfs).map(|d| DiskUsage {
                path: "/",
                size_bytes: d.size,
                free_bytes: d.free,
                avail_bytes: d.avail,
                files: d.files,
                files_free: d.files_free,
            })
        }),
    }
}
