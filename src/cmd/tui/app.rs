//! The monitor's state: the nodes of the last read (with what the detail
//! view needs), and what the user chose (view, cursor, sort, filter,
//! help, detail). Pure data and its rules; nothing here draws or reads
//! the terminal, so every rule is tested without one.
//!
//! Interface rates are the one thing a single read cannot give (the files
//! keep each interface's counters of the last report only): [`Screen::update`]
//! keeps each node's previous counters and divides by the time between the
//! two reports it saw, until then a rate is unknown.

use super::filter::Filter;
use super::Options;
use crate::cmd::table::{self, NodeRow};
use crate::cmd::{Disk, Snapshot};
use crate::shm::{NodeData, NodeState};
use crate::types::{beostat_loadavg, beostat_meminfo};
use std::time::Duration;

/// Text that came from the network (host and interface names), made
/// printable. Every such name the monitor draws goes through here, so
/// this is the one place to escape it for the terminal.
pub fn untrusted_text(bytes: &[u8]) -> String {
    // Control characters (ESC, newlines...) are shown escaped, as `ls`
    // does, so a host name off the network cannot drive the terminal.
    crate::cmd::escape::for_terminal(bytes).into_owned()
}

/// One network interface of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    /// Name (from [`untrusted_text`]).
    pub name: String,
    /// Bytes received since the interface came up.
    pub received: u64,
    /// Bytes sent since the interface came up.
    pub transmitted: u64,
    /// Bytes per second received and sent between the last two reports
    /// beostatus saw; `None` until it saw two (or after a counter reset).
    pub rates: Option<(u64, u64)>,
}

/// Everything the monitor shows of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    /// The table's row (shared with `--once`).
    pub row: NodeRow,
    /// Host name (from [`untrusted_text`]; may be empty).
    pub name: String,
    /// When the last report arrived, nanoseconds since the Epoch.
    pub time_ns: u64,
    /// CPUs the node has.
    pub cpu_count: i32,
    /// Clock of CPU 0 in MHz (0 if unknown).
    pub mhz: f32,
    /// /proc/loadavg.
    pub loadavg: beostat_loadavg,
    /// /proc/meminfo in bytes.
    pub meminfo: beostat_meminfo,
    /// The root filesystem, if the node sent it.
    pub disk: Option<Disk>,
    /// Interfaces, in /proc/net/dev order.
    pub interfaces: Vec<Interface>,
}

impl NodeInfo {
    /// `data` as shown; `previous` is the same node at the last read (for
    /// interface rates).
    pub fn new(data: &NodeData, row: NodeRow, previous: Option<&NodeInfo>) -> NodeInfo {
        let interfaces = data
            .net_dev
            .iter()
            .map(|dev| {
                let name = untrusted_text(dev.name_bytes());
                let (received, transmitted) = (dev.recv.bytes, dev.trans.bytes);
                let before = previous.and_then(|p| p.interfaces.iter().find(|i| i.name == name));
                let rates = match (previous, before) {
                    (Some(p), Some(b)) if data.time_ns > p.time_ns => {
                        let seconds = (data.time_ns - p.time_ns) as f64 / 1e9;
                        let rate = |now: u64, then: u64| {
                            now.checked_sub(then).map(|d| (d as f64 / seconds) as u64)
                        };
                        rate(received, b.received).zip(rate(transmitted, b.transmitted))
                    }
                    // The same report again: keep what it was measured as.
                    (Some(p), Some(b)) if data.time_ns == p.time_ns => b.rates,
                    _ => None,
                };
                Interface {
                    name,
                    received,
                    transmitted,
                    rates,
                }
            })
            .collect();
        NodeInfo {
            row,
            name: untrusted_text(&data.name),
            time_ns: data.time_ns,
            cpu_count: data.cpu_count,
            mhz: data.mhz,
            loadavg: data.loadavg,
            meminfo: data.meminfo,
            disk: Disk::of(&data.statfs),
            interfaces,
        }
    }

    /// True when the node reports.
    pub fn is_up(&self) -> bool {
        self.row.state == NodeState::Up
    }
}

/// What the table is sorted by (the `s` key cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Node number.
    Node,
    /// Mean CPU use.
    Cpu,
    /// One-minute load average.
    Load,
    /// Memory held by programs.
    Memory,
    /// Bytes per second over all interfaces.
    Network,
}

impl SortKey {
    /// Every key, in the order `s` visits them.
    pub const ALL: [SortKey; 5] = [
        SortKey::Node,
        SortKey::Cpu,
        SortKey::Load,
        SortKey::Memory,
        SortKey::Network,
    ];

    /// The key after this one.
    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|&k| k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }

    /// How the title names it.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Node => "node",
            SortKey::Cpu => "CPU",
            SortKey::Load => "load",
            SortKey::Memory => "memory",
            SortKey::Network => "network",
        }
    }

    /// Nodes in increasing order; busiest first for the others.
    pub fn descending_by_default(self) -> bool {
        self != SortKey::Node
    }

    /// The number a node is sorted by (node number for [`SortKey::Node`]);
    /// nodes without the value sort below every node with one.
    fn value(self, node: &NodeInfo) -> f64 {
        match self {
            SortKey::Node => f64::from(node.row.node),
            SortKey::Cpu => f64::from(node.row.cpu_mean()),
            SortKey::Load => f64::from(node.loadavg.load[0]),
            SortKey::Memory => node.row.memory.map_or(-1.0, f64::from),
            SortKey::Network => node.row.net_rate as f64,
        }
    }
}

/// Everything one frame shows, and what the user chose.
#[derive(Debug, Clone)]
pub struct Screen {
    /// The nodes of the last read, in node order.
    pub nodes: Vec<NodeInfo>,
    /// Compact grid (true) or Classic table.
    pub compact: bool,
    /// First table row (Classic) or grid line (compact) shown.
    pub offset: usize,
    /// The node under the cursor (kept by number across reads and sorts).
    pub cursor: Option<i32>,
    /// What the table is sorted by.
    pub sort: SortKey,
    /// Largest first.
    pub descending: bool,
    /// Which nodes are shown.
    pub filter: Filter,
    /// The filter being typed (the `/` key), until Enter or Esc.
    pub prompt: Option<String>,
    /// The key help is open.
    pub help: bool,
    /// The node whose detail is open.
    pub detail: Option<i32>,
    /// First line of the detail view shown.
    pub detail_offset: usize,
    /// See [`Options::cpu_columns`].
    pub cpu_columns: usize,
    /// See [`Options::interval`].
    pub interval: Duration,
    /// Colours on (off when `NO_COLOR` is set): without them, every state
    /// is told by a distinct character.
    pub colour: bool,
    /// The last read's error, if it failed (the nodes are then older).
    pub error: Option<String>,
}

impl Screen {
    /// An empty screen as `options` start it.
    pub fn new(options: &Options) -> Screen {
        Screen {
            nodes: Vec::new(),
            compact: options.compact,
            offset: 0,
            cursor: None,
            sort: SortKey::Node,
            descending: false,
            filter: Filter::default(),
            prompt: None,
            help: false,
            detail: None,
            detail_offset: 0,
            cpu_columns: options.cpu_columns,
            interval: options.interval,
            colour: options.colour,
            error: None,
        }
    }

    /// Takes a new read; `available` says whether the caller may use a node.
    pub fn update(&mut self, snapshot: &Snapshot, available: impl Fn(i32) -> bool) {
        let rows = table::rows(snapshot, available);
        let nodes = snapshot
            .nodes
            .iter()
            .zip(rows)
            .map(|(data, row)| {
                let previous = self.node(data.node);
                NodeInfo::new(data, row, previous)
            })
            .collect();
        self.nodes = nodes;
        self.error = None;
        if self.cursor.is_none() {
            self.cursor = self.visible().first().map(|n| n.row.node);
        }
    }

    /// The node numbered `node`, if it reported.
    pub fn node(&self, node: i32) -> Option<&NodeInfo> {
        // Reads list nodes in increasing order (the master, -1, first); the
        // grid asks for every number, so this must not be a linear scan.
        self.nodes
            .binary_search_by_key(&node, |n| n.row.node)
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The nodes the filter lets through: sorted in the table, in node
    /// order in the grid (where a cell's place is its number).
    pub fn visible(&self) -> Vec<&NodeInfo> {
        let mut nodes: Vec<&NodeInfo> = self
            .nodes
            .iter()
            .filter(|n| self.filter.matches(n))
            .collect();
        if self.compact {
            return nodes;
        }
        if self.sort != SortKey::Node {
            // Each value once (a mean over many CPUs is not free), then sort.
            let mut keyed: Vec<(f64, &NodeInfo)> =
                nodes.into_iter().map(|n| (self.sort.value(n), n)).collect();
            // A down node's numbers are old: they go last either way.
            keyed.sort_by(|(va, a), (vb, b)| {
                let by_value = if self.descending {
                    vb.total_cmp(va)
                } else {
                    va.total_cmp(vb)
                };
                b.is_up()
                    .cmp(&a.is_up())
                    .then(by_value)
                    .then(a.row.node.cmp(&b.row.node))
            });
            nodes = keyed.into_iter().map(|(_, n)| n).collect();
        } else if self.descending {
            nodes.reverse();
        }
        nodes
    }

    /// Where the cursor is in `visible` (the first node if its node is
    /// filtered out or gone).
    pub fn cursor_position(&self, visible: &[&NodeInfo]) -> usize {
        self.cursor
            .and_then(|c| visible.iter().position(|n| n.row.node == c))
            .unwrap_or(0)
    }

    /// Moves the cursor `by` places in the visible order (clamped).
    pub fn move_cursor(&mut self, by: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let here = self.cursor_position(&visible) as isize;
        let there = (here + by).clamp(0, visible.len() as isize - 1) as usize;
        self.cursor = Some(visible[there].row.node);
    }

    /// Moves the cursor to the visible node nearest to node number
    /// `target` in the direction of travel (the grid's up and down).
    pub fn move_cursor_to_number(&mut self, target: i64, downward: bool) {
        let visible = self.visible();
        let pick = if downward {
            visible
                .iter()
                .find(|n| i64::from(n.row.node) >= target)
                .or(visible.last())
        } else {
            visible
                .iter()
                .rev()
                .find(|n| i64::from(n.row.node) <= target)
                .or(visible.first())
        };
        if let Some(node) = pick {
            self.cursor = Some(node.row.node);
        }
    }

    /// Sets the sort key; the same key again reverses the order.
    pub fn sort_by(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = key.descending_by_default();
        }
        self.offset = 0;
    }

    /// Applies a filter, keeping the cursor on a node it shows.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.offset = 0;
        let visible = self.visible();
        let kept = self
            .cursor
            .is_some_and(|c| visible.iter().any(|n| n.row.node == c));
        if !kept {
            self.cursor = visible.first().map(|n| n.row.node);
        }
    }

    /// Counts for the title: nodes read, up, down.
    pub fn counts(&self) -> (usize, usize, usize) {
        let up = self.nodes.iter().filter(|n| n.is_up()).count();
        (self.nodes.len(), up, self.nodes.len() - up)
    }
}

/// Nodes and screens for the monitor's unit tests.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// An up or down node with these CPU uses and one-minute load, named
    /// `nNODE`, half its memory held by programs.
    pub fn info(node: i32, state: NodeState, cpus: &[f32], load: f32) -> NodeInfo {
        NodeInfo {
            row: NodeRow {
                node,
                available: state == NodeState::Up,
                state,
                age_secs: 5,
                cpus: cpus.to_vec(),
                memory: Some(0.5),
                swap: None,
                disk: None,
                net_rate: 0,
            },
            name: format!("n{node}"),
            time_ns: 0,
            cpu_count: cpus.len() as i32,
            mhz: 0.0,
            loadavg: beostat_loadavg {
                load: [load, 0.0, 0.0],
                ..Default::default()
            },
            meminfo: beostat_meminfo::default(),
            disk: None,
            interfaces: Vec::new(),
        }
    }

    /// A Classic screen of `nodes` (colour on, 2 s, 8 CPU columns).
    pub fn screen(nodes: Vec<NodeInfo>) -> Screen {
        let mut s = Screen::new(&Options {
            interval: Duration::from_secs(2),
            compact: false,
            cpu_columns: 8,
            colour: true,
        });
        s.nodes = nodes;
        s.cursor = s.nodes.first().map(|n| n.row.node);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{info, screen};
    use super::*;

    fn order(s: &Screen) -> Vec<i32> {
        s.visible().iter().map(|n| n.row.node).collect()
    }

    #[test]
    fn sorting_puts_the_busiest_first_and_down_nodes_last() {
        let mut s = screen(vec![
            info(0, NodeState::Up, &[0.2], 3.0),
            info(1, NodeState::Down, &[1.0], 9.0),
            info(2, NodeState::Up, &[0.9], 1.0),
            info(3, NodeState::Up, &[0.5], 2.0),
        ]);
        assert_eq!(order(&s), [0, 1, 2, 3]);
        s.sort_by(SortKey::Cpu);
        assert_eq!(order(&s), [2, 3, 0, 1]);
        s.sort_by(SortKey::Cpu);
        assert_eq!(order(&s), [0, 3, 2, 1], "the same key reverses");
        s.sort_by(SortKey::Load);
        assert_eq!(order(&s), [0, 3, 2, 1]);
        assert_eq!(SortKey::Network.next(), SortKey::Node);
    }

    #[test]
    fn the_cursor_stays_on_its_node_and_moves_within_the_filter() {
        let mut s = screen(
            (0..10)
                .map(|n| info(n, NodeState::Up, &[0.1], 0.0))
                .collect(),
        );
        s.cursor = Some(4);
        s.set_filter(Filter::parse("2-6"));
        assert_eq!(s.cursor, Some(4));
        s.move_cursor(10);
        assert_eq!(s.cursor, Some(6));
        s.set_filter(Filter::parse("8-9"));
        assert_eq!(
            s.cursor,
            Some(8),
            "a filtered-out cursor moves to the first shown"
        );
        s.set_filter(Filter::default());
        s.move_cursor_to_number(8 - 5, false);
        assert_eq!(s.cursor, Some(3));
        s.move_cursor_to_number(3 + 50, true);
        assert_eq!(s.cursor, Some(9), "past the end: the last node");
    }
}
