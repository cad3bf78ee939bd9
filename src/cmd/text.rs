//! `beostat`'s text output: one block per node, one part per /proc source.
//!
//! Pure rendering of a [`Snapshot`]; it never reads the files. A node that
//! is down is shown as down with the age of its last report, followed by
//! that last data.

use super::format::{age, align, percent, Units};
use super::{memory_total, Disk, Snapshot};
use crate::shm::{NodeData, NodeState};
use std::fmt::Write;

/// Which parts of a node's status to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    /// CPU count and clock (/proc/cpuinfo).
    pub cpuinfo: bool,
    /// Memory and swap (/proc/meminfo).
    pub meminfo: bool,
    /// Load averages and processes (/proc/loadavg).
    pub loadavg: bool,
    /// Interfaces and their counters (/proc/net/dev).
    pub net: bool,
    /// Per-CPU time counters (/proc/stat).
    pub stat: bool,
    /// The root filesystem (statfs).
    pub disk: bool,
}

impl Sections {
    /// Everything.
    pub const ALL: Sections = Sections {
        cpuinfo: true,
        meminfo: true,
        loadavg: true,
        net: true,
        stat: true,
        disk: true,
    };

    /// These sections, or all of them when none was chosen.
    pub fn or_all(self) -> Sections {
        if self == Sections::NONE {
            Sections::ALL
        } else {
            self
        }
    }

    /// Nothing (the start of a selection).
    pub const NONE: Sections = Sections {
        cpuinfo: false,
        meminfo: false,
        loadavg: false,
        net: false,
        stat: false,
        disk: false,
    };
}

/// Column where a part's text starts, after its name.
const INDENT: &str = "           ";

/// Appends every node of `snapshot` to `out`, blocks separated by a blank line.
pub fn render(out: &mut String, snapshot: &Snapshot, sections: Sections, units: Units) {
    for (i, node) in snapshot.nodes.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_node(out, snapshot, node, sections, units);
    }
}

/// The heading line: who, up or down, and how old the data is.
fn heading(out: &mut String, snapshot: &Snapshot, node: &NodeData) {
    let master = node.node == super::MASTER;
    let who = if master {
        "master".to_string()
    } else {
        format!("node {}", node.node)
    };
    // Chosen by the node: escaped so it cannot drive the terminal.
    let name = super::escape::for_terminal(&node.name);
    let age = age(snapshot.age_secs(node));
    let _ = write!(out, "{who}");
    // The host name, unless it would only repeat "master".
    if !(name.is_empty() || master && name == "master") {
        let _ = write!(out, " ({name})");
    }
    let _ = match node.state {
        NodeState::Up => writeln!(out, ": up, last report {age} ago"),
        NodeState::Down => writeln!(out, ": down (last report {age} ago)"),
    };
}

fn part(out: &mut String, name: &str, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "  {name:<9}{line}");
        } else {
            let _ = writeln!(out, "{INDENT}{line}");
        }
    }
}

fn render_node(
    out: &mut String,
    snapshot: &Snapshot,
    node: &NodeData,
    sections: Sections,
    units: Units,
) {
    heading(out, snapshot, node);
    if sections.cpuinfo {
        let cpus = node.cpu_count;
        let plural = if cpus == 1 { "" } else { "s" };
        let clock = if node.mhz > 0.0 {
            format!("{:.0} MHz", node.mhz)
        } else {
            "clock unknown".to_string()
        };
        part(out, "cpuinfo", &[format!("{cpus} CPU{plural}, {clock}")]);
    }
    if sections.meminfo {
        let m = &node.meminfo;
        let b = |n: u64| units.bytes(n);
        part(
            out,
            "meminfo",
            &[
                format!(
                    "memory {} total, {} used ({} buffers, {} cached), {} free, {} shared",
                    b(memory_total(m)),
                    b(m.mem.used),
                    b(m.buffers),
                    b(m.cached),
                    b(m.mem.free),
                    b(m.shared)
                ),
                format!(
                    "swap {} total, {} used, {} free",
                    b(m.swap.used.saturating_add(m.swap.free)),
                    b(m.swap.used),
                    b(m.swap.free)
                ),
            ],
        );
    }
    if sections.loadavg {
        let l = &node.loadavg;
        part(
            out,
            "loadavg",
            &[format!(
                "{:.2} {:.2} {:.2}, {}/{} processes running, last pid {}",
                l.load[0], l.load[1], l.load[2], l.num_active_procs, l.total_procs, l.last_pid
            )],
        );
    }
    if sections.net {
        part(out, "net", &net_lines(node, units));
    }
    if sections.stat {
        part(out, "stat", &stat_lines(node));
    }
    if sections.disk {
        let line = match Disk::of(&node.statfs) {
            Some(d) => format!(
                "/ {} total, {} free, {} available, {} used; {} of {} inodes free",
                units.bytes(d.size),
                units.bytes(d.free),
                units.bytes(d.avail),
                percent(d.used_fraction()),
                d.files_free,
                d.files
            ),
            None => "no filesystem reported".to_string(),
        };
        part(out, "disk", &[line]);
    }
}

fn net_lines(node: &NodeData, units: Units) -> Vec<String> {
    let count = node.net_dev.len();
    let plural = if count == 1 { "" } else { "s" };
    let mut lines = vec![format!(
        "{} over {count} interface{plural}",
        units.rate(node.net_rate)
    )];
    if count == 0 {
        return lines;
    }
    let mut rows = vec![[
        "interface",
        "received",
        "packets",
        "errs",
        "drop",
        "transmitted",
        "packets",
        "errs",
        "drop",
    ]
    .map(String::from)
    .to_vec()];
    for dev in &node.net_dev {
        rows.push(vec![
            super::escape::for_terminal(dev.name_bytes()).into_owned(),
            units.bytes(dev.recv.bytes),
            dev.recv.packets.to_string(),
            dev.recv.errs.to_string(),
            dev.recv.drop.to_string(),
            units.bytes(dev.trans.bytes),
            dev.trans.packets.to_string(),
            dev.trans.errs.to_string(),
            dev.trans.drop.to_string(),
        ]);
    }
    lines.extend(align(&rows, 1));
    lines
}

fn stat_lines(node: &NodeData) -> Vec<String> {
    if node.stat_cpu.is_empty() {
        return vec!["no sample yet".to_string()];
    }
    let mut rows = vec![["cpu", "user", "nice", "system", "idle", "busy"]
        .map(String::from)
        .to_vec()];
    for (c, cpu) in node.stat_cpu.iter().enumerate() {
        rows.push(vec![
            format!("cpu{c}"),
            cpu.user.to_string(),
            cpu.nice.to_string(),
            cpu.system.to_string(),
            cpu.idle.to_string(),
            node.cpu_percent(c).map_or("-".to_string(), percent),
        ]);
    }
    let mut lines = vec!["ticks (1/100 s) since boot; busy: since the previous report".to_string()];
    lines.extend(align(&rows, 1));
    lines
}
