//! The web view's JSON: what `/api/cluster` and `/api/node` answer. Pure
//! functions of what the reader gives (node summaries for the cluster, a
//! [`Snapshot`] for one node), so tests check every value without a server.
//!
//! This is the page's private format, not a schema for scripts (that is
//! `beostat --json`, [`crate::cmd::json`]): it may change with the page it
//! is shipped with. The cluster document is laid out for 10,000 nodes:
//! one character of state and one integer of the chosen metric per node
//! number, indexed by position, so an update is a few bytes a node.

use crate::cmd::json;
use crate::cmd::text::Sections;
use crate::cmd::{memory_fraction, Snapshot};
use crate::shm::reader::ControlInfo;
use crate::shm::{beostat_cpu_times, NodeData, NodeState, NodeSummary};
use serde::Serialize;

/// What the cells of the cluster view are coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean CPU use over the node's CPUs, percent (0 to 100).
    Cpu,
    /// 1-minute load average per CPU, in hundredths (100: one runnable
    /// task per CPU).
    Load,
    /// Memory held by programs (not buffers or cache), percent.
    Memory,
    /// Bytes per second over all interfaces.
    Network,
}

impl Metric {
    /// The metric a query names (`cpu`, `load`, `mem`, `net`).
    pub fn parse(name: &str) -> Option<Metric> {
        match name {
            "cpu" => Some(Metric::Cpu),
            "load" => Some(Metric::Load),
            "mem" => Some(Metric::Memory),
            "net" => Some(Metric::Network),
            _ => None,
        }
    }

    /// Its name in queries and documents.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Load => "load",
            Metric::Memory => "mem",
            Metric::Network => "net",
        }
    }

    /// The node's value, or -1 when it has none (no sample yet).
    pub fn value(self, n: &NodeSummary) -> i64 {
        match self {
            Metric::Cpu => n.cpu_busy.map_or(-1, |busy| (busy * 100.0).round() as i64),
            Metric::Load => {
                if n.cpu_count <= 0 {
                    return -1;
                }
                (n.load1 / n.cpu_count as f32 * 100.0).round() as i64
            }
            Metric::Memory => {
                memory_fraction(&n.meminfo).map_or(-1, |f| (f * 100.0).round() as i64)
            }
            Metric::Network => n.net_rate.min(i64::MAX as u64) as i64,
        }
    }
}

/// The cluster document.
#[derive(Debug, Serialize)]
pub struct Cluster {
    /// When the files were read, milliseconds since the Epoch.
    pub taken_ms: u64,
    /// Pid of the recvstats that writes the files.
    pub writer_pid: i32,
    /// Whether that process exists.
    pub writer_running: bool,
    /// A node silent longer than this is down.
    pub expiry_s: u32,
    /// Node numbers 0..node_count-1 are shown (one more than the highest
    /// that reported).
    pub node_count: u32,
    /// Compute nodes up.
    pub up: u32,
    /// Compute nodes that reported, now down.
    pub down: u32,
    /// Node numbers below `node_count` that never reported.
    pub never: u32,
    /// CPUs of the compute nodes that are up.
    pub cpus_up: u64,
    /// `beostat_count_idle_cpus(idle_threshold)` as the exporter's user.
    pub idle_cpus: i64,
    /// The threshold (a fraction) idle CPUs are counted below.
    pub idle_threshold: f32,
    /// The metric of `values`.
    pub metric: &'static str,
    /// Per node number: `U` up, `D` down, `-` never reported.
    pub states: String,
    /// Per node number: the metric's value, -1 for none.
    pub values: Vec<i64>,
    /// The master (node -1), when it has reported.
    pub master: Option<Master>,
}

/// The master's cell.
#[derive(Debug, Serialize)]
pub struct Master {
    /// `U` or `D`.
    pub state: char,
    /// The metric's value, -1 for none.
    pub value: i64,
}

fn state_char(state: NodeState) -> char {
    match state {
        NodeState::Up => 'U',
        NodeState::Down => 'D',
    }
}

/// The cluster document of the nodes the reader summarised
/// ([`crate::shm::Reader::summaries`], with idle CPUs counted below
/// `idle_threshold`), read at `taken_ns` under `control`.
pub fn cluster(
    taken_ns: u64,
    control: &ControlInfo,
    nodes: &[NodeSummary],
    metric: Metric,
    idle_threshold: f32,
    writer_running: bool,
) -> Cluster {
    let count = control.node_count as usize;
    let mut states = vec![b'-'; count];
    let mut values = vec![-1i64; count];
    let (mut up, mut down, mut cpus_up, mut idle_cpus) = (0u32, 0u32, 0u64, 0i64);
    let mut master = None;
    for n in nodes {
        if n.node < 0 {
            master = Some(Master {
                state: state_char(n.state),
                value: metric.value(n),
            });
            continue;
        }
        // What beostat_count_idle_cpus adds up: every compute node's.
        idle_cpus += i64::from(n.idle_cpus);
        let Some(slot) = states.get_mut(n.node as usize) else {
            continue;
        };
        *slot = state_char(n.state) as u8;
        values[n.node as usize] = metric.value(n);
        if n.state == NodeState::Up {
            up += 1;
            cpus_up += n.cpu_count.max(0) as u64;
        } else {
            down += 1;
        }
    }
    Cluster {
        taken_ms: taken_ns / 1_000_000,
        writer_pid: control.writer_pid,
        writer_running,
        expiry_s: control.node_expiry_secs,
        node_count: count as u32,
        up,
        down,
        never: count as u32 - up - down,
        cpus_up,
        idle_cpus,
        idle_threshold,
        metric: metric.name(),
        states: String::from_utf8(states).expect("ASCII state letters"),
        values,
        master,
    }
}

/// One node's document: `beostat --json`'s node (every section) plus what
/// that schema lacks: CPU time in every mode, MemAvailable, the report's
/// time to the nanosecond (the page derives interface rates from two).
#[derive(Debug, Serialize)]
pub struct Node {
    /// When the files were read, milliseconds since the Epoch.
    pub taken_ms: u64,
    /// Whether the recvstats named in the files exists.
    pub writer_running: bool,
    /// When the last report arrived, nanoseconds since the Epoch.
    pub time_ns: u64,
    /// MemAvailable in bytes, when the node reports it.
    pub mem_available_bytes: Option<u64>,
    /// Per CPU: busy share (what `beostat_get_cpu_percent` returns, a
    /// fraction) and the ticks spent in each of [`MODES`] between the
    /// node's last two samples.
    pub cpus: Vec<CpuModes>,
    /// The node as `beostat --json` shows it.
    pub beostat: json::Node,
}

/// The CPU modes, in the order of [`CpuModes::ticks`].
pub const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

/// One CPU between two samples.
#[derive(Debug, Serialize)]
pub struct CpuModes {
    /// Busy fraction, as the C API computes it.
    pub busy: f32,
    /// Ticks in each mode of [`MODES`] (counters that went back count 0).
    pub ticks: [u64; 8],
}

/// The document of `n`, read in `snapshot`.
pub fn node(snapshot: &Snapshot, n: &NodeData, writer_running: bool) -> Node {
    let cpus = n
        .cpu_times
        .iter()
        .zip(&n.cpu_times_previous)
        .enumerate()
        .map(|(c, (now, then))| {
            let fields = |t: &beostat_cpu_times| {
                [
                    t.user, t.nice, t.system, t.idle, t.iowait, t.irq, t.softirq, t.steal,
                ]
            };
            let (now, then) = (fields(now), fields(then));
            let mut ticks = [0u64; 8];
            for (i, tick) in ticks.iter_mut().enumerate() {
                *tick = now[i].saturating_sub(then[i]);
            }
            let busy = n.cpu_percent(c).unwrap_or(0.0);
            CpuModes { busy, ticks }
        })
        .collect();
    Node {
        taken_ms: snapshot.taken_ns / 1_000_000,
        writer_running,
        time_ns: n.time_ns,
        mem_available_bytes: n.mem_available,
        cpus,
        beostat: json::node(snapshot, n, Sections::ALL),
    }
}
