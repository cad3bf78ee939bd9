//! `beostatus`'s model, and its one-shot text modes (`--once`).
//!
//! A [`NodeRow`] is what the Classic view shows of one node: Node, Up,
//! State, CPU use per CPU, memory, swap, disk and network. The terminal
//! monitor ([`super::tui`]) draws the same rows, so the two never disagree.
//! The text here carries no terminal control codes: it is for scripts and
//! dumb terminals.

use super::format::{age, align, bytes, node_label, percent};
use super::{memory_fraction, swap_fraction, Disk, Snapshot};
use crate::shm::NodeState;
use std::fmt::Write;

/// What one row of the Classic view shows.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    /// Node number (-1: master).
    pub node: i32,
    /// Up and usable by the caller (the access rules admit them).
    pub available: bool,
    /// Up or down as the reader judges it now.
    pub state: NodeState,
    /// Seconds since the last report.
    pub age_secs: u64,
    /// Busy fraction of each CPU between the last two samples.
    pub cpus: Vec<f32>,
    /// Fraction of memory held by programs (not buffers or cache).
    pub memory: Option<f32>,
    /// Fraction of swap used.
    pub swap: Option<f32>,
    /// Fraction of the root filesystem used.
    pub disk: Option<f32>,
    /// Bytes per second over all interfaces.
    pub net_rate: u64,
}

impl NodeRow {
    /// Mean CPU use (0 before any sample).
    pub fn cpu_mean(&self) -> f32 {
        if self.cpus.is_empty() {
            0.0
        } else {
            self.cpus.iter().sum::<f32>() / self.cpus.len() as f32
        }
    }

    /// Busiest CPU.
    pub fn cpu_max(&self) -> f32 {
        self.cpus.iter().copied().fold(0.0, f32::max)
    }

    /// The compact view's colour class.
    pub fn level(&self) -> Level {
        if self.state == NodeState::Down {
            return Level::Down;
        }
        match self.cpu_mean() {
            x if x < 0.25 => Level::Idle,
            x if x < 0.50 => Level::Light,
            x if x < 0.75 => Level::Heavy,
            _ => Level::Busy,
        }
    }

    /// The State column: `up`, or `down` with the age of the data.
    pub fn state_text(&self) -> String {
        match self.state {
            NodeState::Up => "up".to_string(),
            NodeState::Down => format!("down {}", age(self.age_secs)),
        }
    }
}

/// How busy a node is, for the compact views (mean CPU use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Under 25%.
    Idle,
    /// 25% to 50%.
    Light,
    /// 50% to 75%.
    Heavy,
    /// 75% and over.
    Busy,
    /// Not reporting.
    Down,
    /// Never reported (a hole in the node numbers).
    Missing,
}

impl Level {
    /// The character the text compact view uses.
    pub fn glyph(self) -> char {
        match self {
            Level::Idle => '.',
            Level::Light => 'o',
            Level::Heavy => 'O',
            Level::Busy => '#',
            Level::Down => 'x',
            Level::Missing => '-',
        }
    }
}

/// The compact views' legend.
pub const LEGEND: &str =
    "mean CPU use: . under 25%  o under 50%  O under 75%  # 75% or more  x down  - never reported";

/// The rows of `snapshot`; `available` says whether the caller may use a node.
pub fn rows(snapshot: &Snapshot, available: impl Fn(i32) -> bool) -> Vec<NodeRow> {
    snapshot
        .nodes
        .iter()
        .map(|n| NodeRow {
            node: n.node,
            available: n.state == NodeState::Up && available(n.node),
            state: n.state,
            age_secs: snapshot.age_secs(n),
            cpus: (0..n.stat_cpu.len())
                .filter_map(|c| n.cpu_percent(c))
                .collect(),
            memory: memory_fraction(&n.meminfo),
            swap: swap_fraction(&n.meminfo),
            disk: Disk::of(&n.statfs).map(|d| d.used_fraction()),
            net_rate: n.net_rate,
        })
        .collect()
}

/// How CPU use is shown: one column per CPU while nodes have at most
/// `per_cpu_limit` CPUs, else the count, mean and busiest CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuColumns {
    /// `CPU0` .. `CPUn-1`.
    PerCpu(usize),
    /// `CPUs`, `CPU avg`, `CPU max`.
    Summary,
}

impl CpuColumns {
    /// The columns for `rows` with at most `per_cpu_limit` per-CPU columns.
    pub fn choose(rows: &[NodeRow], per_cpu_limit: usize) -> CpuColumns {
        let widest = rows.iter().map(|r| r.cpus.len()).max().unwrap_or(0);
        CpuColumns::for_widest(widest, per_cpu_limit)
    }

    /// The columns when the node with the most CPUs has `widest`.
    pub fn for_widest(widest: usize, per_cpu_limit: usize) -> CpuColumns {
        if widest <= per_cpu_limit {
            CpuColumns::PerCpu(widest.max(1))
        } else {
            CpuColumns::Summary
        }
    }

    /// Column headings.
    pub fn headings(self) -> Vec<String> {
        match self {
            CpuColumns::PerCpu(n) => (0..n).map(|c| format!("CPU{c}")).collect(),
            CpuColumns::Summary => vec!["CPUs".into(), "CPU avg".into(), "CPU max".into()],
        }
    }

    /// One row's cells (blank for CPUs the node does not have), each with
    /// the fraction it shows (for colouring).
    pub fn cells(self, row: &NodeRow) -> Vec<(String, Option<f32>)> {
        match self {
            CpuColumns::PerCpu(n) => (0..n)
                .map(|c| match row.cpus.get(c) {
                    Some(&f) => (percent(f), Some(f)),
                    None => (String::new(), None),
                })
                .collect(),
            CpuColumns::Summary => {
                if row.cpus.is_empty() {
                    return vec![("0".into(), None), ("-".into(), None), ("-".into(), None)];
                }
                let (mean, max) = (row.cpu_mean(), row.cpu_max());
                vec![
                    (row.cpus.len().to_string(), None),
                    (percent(mean), Some(mean)),
                    (percent(max), Some(max)),
                ]
            }
        }
    }
}

/// The headings of the Classic table.
pub fn headings(cpu: CpuColumns) -> Vec<String> {
    let mut h = vec!["Node".to_string(), "Up".into(), "State".into()];
    h.extend(cpu.headings());
    h.extend(["Memory", "Swap", "Disk", "Network"].map(String::from));
    h
}

/// One row of the Classic table as text cells (`Up` is `yes` or `no`).
pub fn cells(row: &NodeRow, cpu: CpuColumns) -> Vec<String> {
    let mut c = vec![
        node_label(row.node),
        if row.available { "yes" } else { "no" }.to_string(),
        row.state_text(),
    ];
    c.extend(cpu.cells(row).into_iter().map(|(text, _)| text));
    let fraction = |f: Option<f32>| f.map_or("-".to_string(), percent);
    c.push(fraction(row.memory));
    c.push(fraction(row.swap));
    c.push(fraction(row.disk));
    c.push(format!("{}/s", bytes(row.net_rate)));
    c
}

/// The Classic table as plain text, one line per node.
pub fn render_classic(out: &mut String, rows: &[NodeRow], per_cpu_limit: usize) {
    let cpu = CpuColumns::choose(rows, per_cpu_limit);
    let mut lines = vec![headings(cpu)];
    lines.extend(rows.iter().map(|r| cells(r, cpu)));
    for line in align(&lines, 3) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// Cells per line of the text compact view (five groups of ten).
pub const COMPACT_PER_LINE: usize = 50;

/// The compact grid: the master's level (if it reported), then one level
/// per node number from 0 to the highest that reported; holes are
/// [`Level::Missing`].
pub fn grid(rows: &[NodeRow]) -> (Option<Level>, Vec<Level>) {
    let master = rows.iter().find(|r| r.node < 0).map(NodeRow::level);
    let highest = rows.iter().map(|r| r.node).max().unwrap_or(-1);
    let mut cells = vec![Level::Missing; (highest + 1).max(0) as usize];
    for row in rows.iter().filter(|r| r.node >= 0) {
        cells[row.node as usize] = row.level();
    }
    (master, cells)
}

/// The compact view as plain text: one character per node, fifty per line
/// in groups of ten, each line headed by its first node number.
pub fn render_compact(out: &mut String, rows: &[NodeRow]) {
    let (master, cells) = grid(rows);
    let up = rows.iter().filter(|r| r.state == NodeState::Up).count();
    let _ = writeln!(
        out,
        "{} nodes: {up} up, {} down",
        rows.len(),
        rows.len() - up
    );
    let _ = writeln!(out, "{LEGEND}");
    if let Some(level) = master {
        let _ = writeln!(out, "master {}", level.glyph());
    }
    for (line, chunk) in cells.chunks(COMPACT_PER_LINE).enumerate() {
        let _ = write!(out, "{:>6}", line * COMPACT_PER_LINE);
        for (i, level) in chunk.iter().enumerate() {
            if i % 10 == 0 {
                out.push(' ');
            }
            out.push(level.glyph());
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(node: i32, state: NodeState, cpus: &[f32]) -> NodeRow {
        NodeRow {
            node,
            available: state == NodeState::Up,
            state,
            age_secs: 75,
            cpus: cpus.to_vec(),
            memory: Some(0.5),
            swap: None,
            disk: Some(0.25),
            net_rate: 2048,
        }
    }

    #[test]
    fn classic_text_has_one_column_per_cpu_and_marks_down_nodes() {
        let rows = [
            row(-1, NodeState::Up, &[0.1]),
            row(0, NodeState::Up, &[1.0, 0.5]),
            row(1, NodeState::Down, &[0.0, 0.0]),
        ];
        let mut out = String::new();
        render_classic(&mut out, &rows, 8);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "Node    Up   State       CPU0  CPU1  Memory  Swap  Disk    Network"
        );
        assert_eq!(
            lines[2],
            "0       yes  up          100%   50%     50%     -   25%  2.0 KiB/s"
        );
        assert!(lines[3].starts_with("1       no   down 1m15s    0%    0%"));
    }

    #[test]
    fn many_cpus_collapse_into_a_summary() {
        let rows = [row(0, NodeState::Up, &[0.2; 12])];
        let mut out = String::new();
        render_classic(&mut out, &rows, 8);
        assert!(
            out.starts_with("Node  Up   State  CPUs  CPU avg  CPU max"),
            "{out}"
        );
        assert!(out
            .lines()
            .nth(1)
            .unwrap()
            .contains("  12      20%      20%"));
    }

    #[test]
    fn compact_text_places_each_node_by_number() {
        let rows = [
            row(-1, NodeState::Up, &[0.0]),
            row(0, NodeState::Up, &[0.3]),
            row(2, NodeState::Up, &[0.9]),
            row(11, NodeState::Down, &[]),
            row(55, NodeState::Up, &[0.6]),
        ];
        let mut out = String::new();
        render_compact(&mut out, &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "5 nodes: 4 up, 1 down");
        assert_eq!(lines[2], "master .");
        assert_eq!(
            lines[3],
            "     0 o-#------- -x-------- ---------- ---------- ----------"
        );
        assert_eq!(lines[4], "    50 -----O");
    }
}
