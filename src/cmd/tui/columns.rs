//! The Classic table's columns, and which of them a width can hold.
//!
//! A column is as wide as its widest text (over every node, so widths do
//! not jump while scrolling), and a column that does not fit is dropped
//! whole, least useful first: a number is never cut. The column the table
//! is sorted by is never dropped.

use super::app::{NodeInfo, SortKey};
use crate::cmd::format::{bytes, node_label, percent};
use crate::cmd::table::CpuColumns;
use ratatui::text::Span;

/// One column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Node number.
    Node,
    /// Host name.
    Host,
    /// ✓ when up and usable by the caller.
    Up,
    /// `up` or `down AGE`.
    State,
    /// One CPU's use.
    Cpu(usize),
    /// How many CPUs.
    CpuCount,
    /// Mean CPU use.
    CpuAvg,
    /// Busiest CPU.
    CpuMax,
    /// One-minute load average.
    Load,
    /// Memory held by programs.
    Memory,
    /// Swap used.
    Swap,
    /// Root filesystem used.
    Disk,
    /// Bytes per second over all interfaces.
    Network,
}

impl Column {
    /// The heading.
    pub fn heading(self) -> String {
        match self {
            Column::Node => "Node".into(),
            Column::Host => "Host".into(),
            Column::Up => "Up".into(),
            Column::State => "State".into(),
            Column::Cpu(c) => format!("CPU{c}"),
            Column::CpuCount => "CPUs".into(),
            Column::CpuAvg => "CPU avg".into(),
            Column::CpuMax => "CPU max".into(),
            Column::Load => "Load".into(),
            Column::Memory => "Memory".into(),
            Column::Swap => "Swap".into(),
            Column::Disk => "Disk".into(),
            Column::Network => "Network".into(),
        }
    }

    /// The cell's text for `node` (the Up column's glyph comes from the
    /// palette; its text here is only for widths).
    pub fn text(self, node: &NodeInfo) -> String {
        let row = &node.row;
        let fraction = |f: Option<f32>| f.map_or("-".to_string(), percent);
        let cpus = |f: fn(&crate::cmd::table::NodeRow) -> f32| {
            if row.cpus.is_empty() {
                "-".to_string()
            } else {
                percent(f(row))
            }
        };
        match self {
            Column::Node => node_label(row.node),
            Column::Host => node.name.clone(),
            Column::Up => "✓".into(),
            Column::State => row.state_text(),
            Column::Cpu(c) => row.cpus.get(c).map_or(String::new(), |&f| percent(f)),
            Column::CpuCount => row.cpus.len().to_string(),
            Column::CpuAvg => cpus(|r| r.cpu_mean()),
            Column::CpuMax => cpus(|r| r.cpu_max()),
            Column::Load => format!("{:.2}", node.loadavg.load[0]),
            Column::Memory => fraction(row.memory),
            Column::Swap => fraction(row.swap),
            Column::Disk => fraction(row.disk),
            Column::Network => format!("{}/s", bytes(row.net_rate)),
        }
    }

    /// The busy fraction the cell shows, for its colour.
    pub fn busy(self, node: &NodeInfo) -> Option<f32> {
        let row = &node.row;
        match self {
            Column::Cpu(c) => row.cpus.get(c).copied(),
            Column::CpuAvg if !row.cpus.is_empty() => Some(row.cpu_mean()),
            Column::CpuMax if !row.cpus.is_empty() => Some(row.cpu_max()),
            _ => None,
        }
    }

    /// Text columns are left-aligned, numbers right-aligned.
    pub fn left_aligned(self) -> bool {
        matches!(
            self,
            Column::Node | Column::Host | Column::Up | Column::State
        )
    }

    /// The column that shows `key`.
    fn of_sort(key: SortKey) -> Column {
        match key {
            SortKey::Node => Column::Node,
            SortKey::Cpu => Column::CpuAvg,
            SortKey::Load => Column::Load,
            SortKey::Memory => Column::Memory,
            SortKey::Network => Column::Network,
        }
    }
}

/// Host names wider than this are cut (with `…`) in the table; the detail
/// view shows them whole. A name is not a number.
pub const HOST_WIDTH: usize = 16;

/// Display width of `text`.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// The columns (with their widths) that fit in `width` cells for `nodes`,
/// one space between columns: the first of the layouts below, richest
/// first, that fits (with the sort column added if it lacks it); at the
/// least the Node column.
pub fn layout(
    nodes: &[&NodeInfo],
    per_cpu_limit: usize,
    sort: SortKey,
    width: u16,
) -> Vec<(Column, usize)> {
    use Column::*;
    let widest = nodes.iter().map(|n| n.row.cpus.len()).max().unwrap_or(0);
    let mut cpus = match CpuColumns::for_widest(widest, per_cpu_limit) {
        CpuColumns::PerCpu(n) => (0..n).map(Cpu).collect(),
        CpuColumns::Summary => vec![CpuCount, CpuAvg, CpuMax],
    };
    if sort == SortKey::Cpu && !cpus.contains(&CpuAvg) {
        cpus.insert(0, CpuAvg);
    }
    let layout = |head: &[Column], cpu: &[Column], tail: &[Column]| [head, cpu, tail].concat();
    let candidates = [
        layout(
            &[Node, Host, Up, State],
            &cpus,
            &[Load, Memory, Swap, Disk, Network],
        ),
        layout(
            &[Node, Up, State],
            &cpus,
            &[Load, Memory, Swap, Disk, Network],
        ),
        layout(&[Node, Up, State], &cpus, &[Load, Memory, Disk, Network]),
        // Per-CPU columns matter more than load and disk...
        layout(&[Node, Up, State], &cpus, &[Memory, Network]),
        // ...but not more than seeing the node's state at all.
        layout(
            &[Node, Up, State],
            &[CpuAvg, CpuMax],
            &[Load, Memory, Disk, Network],
        ),
        layout(
            &[Node, Up, State],
            &[CpuAvg, CpuMax],
            &[Load, Memory, Network],
        ),
        layout(&[Node, Up, State], &[CpuAvg], &[Load, Memory, Network]),
        layout(&[Node, State], &[CpuAvg], &[Memory, Network]),
        layout(&[Node, State], &[CpuAvg], &[Memory]),
        layout(&[Node, State], &[CpuAvg], &[]),
        layout(&[Node, State], &[], &[]),
        layout(&[Node], &[], &[]),
    ];
    let kept = Column::of_sort(sort);
    let mut widths: Vec<(Column, usize)> = Vec::new();
    let mut width_of = |column: Column| match widths.iter().find(|(c, _)| *c == column) {
        Some(&(_, w)) => w,
        None => {
            let w = column_width(column, nodes);
            widths.push((column, w));
            w
        }
    };
    let mut last = Vec::new();
    for mut columns in candidates {
        if !columns.contains(&kept) {
            columns.push(kept);
        }
        let sized: Vec<(Column, usize)> = columns.iter().map(|&c| (c, width_of(c))).collect();
        let total = sized.iter().map(|(_, w)| w + 1).sum::<usize>() - 1;
        if total <= width as usize {
            return sized;
        }
        last = sized;
    }
    last.truncate(1);
    last
}

fn column_width(column: Column, nodes: &[&NodeInfo]) -> usize {
    // A percentage is at most "100%": no need to format one per node (at
    // 10,000 nodes that was most of a frame's time).
    let percentage = matches!(
        column,
        Column::Cpu(_)
            | Column::CpuAvg
            | Column::CpuMax
            | Column::Memory
            | Column::Swap
            | Column::Disk
    );
    let widest = if percentage {
        width("100%")
    } else if column == Column::Up {
        width("✓")
    } else {
        nodes
            .iter()
            .map(|n| width(&column.text(n)))
            .max()
            .unwrap_or(0)
    };
    let widest = if column == Column::Host {
        widest.min(HOST_WIDTH)
    } else {
        widest
    };
    widest.max(width(&column.heading()))
}
