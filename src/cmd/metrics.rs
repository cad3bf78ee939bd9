//! The exporter's exposition: node status and recvstats' counters in the
//! Prometheus text format (version 0.0.4) or OpenMetrics 1.0.0, as the
//! scrape negotiated ([`Format`]).
//!
//! [`render`] writes one scrape into a `String`, family by family (each
//! family's samples are contiguous, after its HELP and TYPE), from one
//! [`Snapshot`], so a scrape is one pass over the files and no allocation
//! per sample. Names follow Prometheus conventions and node_exporter's
//! meanings where one exists: base units (seconds, bytes), `_total` on
//! counters, a `node` label (`"-1"` is the master, as in the C API).
//! docs/COMMANDS.md lists every family with its node_exporter counterpart.
//!
//! A node that is down exports only `beostat_node_up` (0),
//! `beostat_node_last_seen_timestamp_seconds` and `beostat_node_info`:
//! its last values would otherwise draw flat lines and keep alerts quiet.
//!
//! The two formats differ only in what a text-format parser would not
//! read: OpenMetrics names a counter's family without `_total` (its samples
//! keep it) and ends with `# EOF` ([`finish`]). The HTTP side lives in
//! [`super::exporter`].

use super::http::negotiate::Format;
use super::{memory_total, Disk, Snapshot, USER_HZ};
use crate::shm::{beostat_cpu_times, Counter, NodeData, NodeState};
use crate::types::beostat_net_dev;
use std::fmt::Write;
use std::time::Instant;

/// A family over nodes: suffix, help, value.
type NodeFamily = (&'static str, &'static str, fn(&NodeData) -> u64);
/// A family over interfaces: suffix, help, value.
type DeviceFamily = (&'static str, &'static str, fn(&beostat_net_dev) -> u64);
/// A family over root filesystems: suffix, help, value.
type DiskFamily = (&'static str, &'static str, fn(&Disk) -> u64);
/// A CPU mode: its label value (node_exporter's) and its ticks.
type CpuMode = (&'static str, fn(&beostat_cpu_times) -> u64);

/// The CPU modes exported, in order: /proc/stat's eight columns under
/// node_exporter's mode names (guest and guest_nice are already inside
/// user and nice, as in node_exporter's own `node_cpu_seconds_total`).
/// Nodes whose sendstats folded the columns (before issue 11) report 0 in
/// iowait, irq, softirq and steal, their time being in system and idle.
const CPU_MODES: [CpuMode; 8] = [
    ("user", |c| c.user),
    ("nice", |c| c.nice),
    ("system", |c| c.system),
    ("idle", |c| c.idle),
    ("iowait", |c| c.iowait),
    ("irq", |c| c.irq),
    ("softirq", |c| c.softirq),
    ("steal", |c| c.steal),
];

/// The Content-Type of a text-format scrape.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a scrape contains, and how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `beostat_node_cpu_seconds_total` per CPU (`cpu` label), or summed
    /// over each node's CPUs (no `cpu` label; 16 times fewer samples on
    /// 16-CPU nodes). Off by default: see docs/COMMANDS.md.
    pub per_cpu: bool,
    /// The exposition format.
    pub format: Format,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            per_cpu: false,
            format: Format::Text,
        }
    }
}

/// The version label of `beostat_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Appends `# HELP` and `# TYPE` for a family. In OpenMetrics a counter's
/// family is named without its samples' `_total`.
fn family(out: &mut String, options: Options, name: &str, kind: &str, help: &str) {
    let name = match (options.format, kind) {
        (Format::OpenMetrics(_), "counter") => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = write!(out, "# HELP {name} ");
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if options.format.is_open_metrics() => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    let _ = write!(out, "\n# TYPE {name} {kind}\n");
}

/// Ends a scrape: OpenMetrics' `# EOF`, nothing in the text format.
pub fn finish(out: &mut String, options: Options) {
    if options.format.is_open_metrics() {
        out.push_str("# EOF\n");
    }
}

/// A sample value, appended without `std::fmt` for the common integer
/// cases: a 10,000-node scrape formats over a million of them, and the
/// formatting machinery was most of its cost.
trait SampleValue: Copy {
    fn push(self, out: &mut String);
}

/// Appends the decimal digits of `v`.
fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[start..]).expect("ASCII digits"));
}

fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `units / 10^scale` exactly (trailing zeros of the fraction left
/// out): clock ticks as seconds, nanoseconds as seconds.
fn push_fixed(out: &mut String, units: i64, scale: u32) {
    let divisor = 10u64.pow(scale);
    if units < 0 {
        out.push('-');
    }
    let magnitude = units.unsigned_abs();
    push_u64(out, magnitude / divisor);
    let mut fraction = magnitude % divisor;
    if fraction == 0 {
        return;
    }
    let mut width = scale;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        width -= 1;
    }
    out.push('.');
    let mut digits = [b'0'; 20];
    let mut i = width as usize;
    while fraction > 0 {
        i -= 1;
        digits[i] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    out.push_str(std::str::from_utf8(&digits[..width as usize]).expect("ASCII digits"));
}

impl SampleValue for u64 {
    fn push(self, out: &mut String) {
        push_u64(out, self);
    }
}

impl SampleValue for i64 {
    fn push(self, out: &mut String) {
        push_i64(out, self);
    }
}

impl SampleValue for i32 {
    fn push(self, out: &mut String) {
        push_i64(out, self.into());
    }
}

impl SampleValue for f32 {
    fn push(self, out: &mut String) {
        // Shortest text that reads back as this f32 ("0.1", not "0.100000001").
        if self.is_finite() {
            let _ = write!(out, "{self}");
        } else {
            f64::from(self).push(out);
        }
    }
}

impl SampleValue for f64 {
    fn push(self, out: &mut String) {
        // Prometheus spells infinities `+Inf` and `-Inf`.
        if self.is_finite() {
            let _ = write!(out, "{self}");
        } else if self.is_nan() {
            out.push_str("NaN");
        } else if self > 0.0 {
            out.push_str("+Inf");
        } else {
            out.push_str("-Inf");
        }
    }
}

/// Ticks of USER_HZ (100 per second), appended as exact seconds.
#[derive(Clone, Copy)]
struct Ticks(i64);

impl SampleValue for Ticks {
    fn push(self, out: &mut String) {
        const _: () = assert!(USER_HZ == 100.0, "push_fixed(.., 2) divides by 100");
        push_fixed(out, self.0, 2);
    }
}

/// Nanoseconds, appended as exact seconds.
#[derive(Clone, Copy)]
struct Nanos(u64);

impl SampleValue for Nanos {
    fn push(self, out: &mut String) {
        push_fixed(out, self.0 as i64, 9);
    }
}

/// Appends a label value, escaped as the text format requires.
fn label_value(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends a label value given as bytes (names from the nodes), escaped;
/// bytes that are not UTF-8 become U+FFFD.
fn label_bytes(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => label_value(out, text),
        Err(_) => label_value(out, &String::from_utf8_lossy(bytes)),
    }
}

/// Appends `NAME{node="N"` (the caller closes the braces).
fn open_sample(out: &mut String, name: &str, node: i32) {
    out.push_str(name);
    out.push_str("{node=\"");
    push_i64(out, node.into());
    out.push('"');
}

/// Whether a node's values are exported (see the module doc).
fn exports_values(node: &NodeData) -> bool {
    node.state == NodeState::Up
}

/// One gauge or counter per node that is up: `NAME{node="N"} VALUE` for
/// every such node `sample` gives a value for.
fn per_node<V: SampleValue>(
    out: &mut String,
    snapshot: &Snapshot,
    options: Options,
    (name, kind, help): (&str, &str, &str),
    sample: impl Fn(&NodeData) -> Option<V>,
) {
    per_node_of(out, snapshot, options, (name, kind, help), |n| {
        exports_values(n).then(|| sample(n)).flatten()
    });
}

/// Like [`per_node`], for every node, up or down.
fn per_node_of<V: SampleValue>(
    out: &mut String,
    snapshot: &Snapshot,
    options: Options,
    (name, kind, help): (&str, &str, &str),
    sample: impl Fn(&NodeData) -> Option<V>,
) {
    family(out, options, name, kind, help);
    for node in &snapshot.nodes {
        if let Some(v) = sample(node) {
            open_sample(out, name, node.node);
            out.push_str("} ");
            v.push(out);
            out.push('\n');
        }
    }
}

/// A counter of every interface of every node that is up:
/// `NAME{node,device}`.
fn per_device(
    out: &mut String,
    snapshot: &Snapshot,
    options: Options,
    (name, help): (&str, &str),
    sample: impl Fn(&beostat_net_dev) -> u64,
) {
    family(out, options, name, "counter", help);
    for node in snapshot.nodes.iter().filter(|n| exports_values(n)) {
        for dev in &node.net_dev {
            open_sample(out, name, node.node);
            out.push_str(",device=\"");
            label_bytes(out, dev.name_bytes());
            out.push_str("\"} ");
            push_u64(out, sample(dev));
            out.push('\n');
        }
    }
}

/// Help text of a recvstats counter. Exhaustive on purpose: a new counter
/// does not compile until it is described here.
fn counter_help(counter: Counter) -> &'static str {
    match counter {
        Counter::DatagramsReceived => "Datagrams recvstats read from its socket.",
        Counter::DatagramsAccepted => "Datagrams whose status recvstats published.",
        Counter::DroppedTruncated => "shorter than a header or longer than the largest legal one",
        Counter::DroppedBadMagic => "wrong magic number",
        Counter::DroppedBadVersion => "protocol version recvstats does not speak",
        Counter::DroppedMalformed => "structure broken (lengths overrun, bad counts)",
        Counter::DroppedBadNode => "node number unknown, negative or over the cap",
        Counter::DroppedAuth => "missing or wrong authentication",
        Counter::DroppedReplay => "replayed sequence number or stale time",
        Counter::DroppedBadType => "message type not expected by the receiver",
        Counter::DroppedSpoofed => "node number claimed from another node's address",
        Counter::DroppedNoSpace => "a new node or larger record needed room the shm filesystem refused",
        Counter::DroppedNodeLimit => "a new node past recvstats' --max-nodes",
        Counter::DroppedShmLimit => "a new node or larger record past recvstats' --max-shm-bytes",
        Counter::ReassemblyAbandoned => "Split texts recvstats abandoned unfinished (too many parts or bytes pending, or too old).",
        Counter::CpusTruncated => "Reports that named more CPUs than recvstats' --max-cpus records.",
        Counter::NetDevsTruncated => "Reports that listed more interfaces than the 32 recorded.",
        Counter::ParseErrors => "Sections of accepted datagrams whose /proc text did not parse.",
        Counter::UpdateRequestsSent => "Update requests recvstats multicast to the nodes.",
        Counter::FileGrowths => "Times recvstats grew or recreated the node file.",
    }
}

/// Whether process `pid` exists (signal 0 checks without sending). A
/// process we may not signal (EPERM) exists all the same.
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks the pid.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Appends one scrape of `snapshot` to `out` (without [`finish`]'s end,
/// so the caller may append its own families). `writer_running` is
/// whether recvstats' pid is alive (`None`: unknown, the family is left
/// out); `started` is when the scrape began (for its own duration).
pub fn render(
    out: &mut String,
    snapshot: &Snapshot,
    options: Options,
    writer_running: Option<bool>,
    started: Instant,
) {
    let s = snapshot;
    let o = options;
    per_node_of(
        out,
        s,
        o,
        (
            "beostat_node_up",
            "gauge",
            "1 if the node reported within the expiry time (recvstats --expiry), else 0.",
        ),
        |n| Some(i32::from(n.state == NodeState::Up)),
    );
    per_node_of(
        out,
        s,
        o,
        (
            "beostat_node_last_seen_timestamp_seconds",
            "gauge",
            "When the node's last report arrived, seconds since the Epoch.",
        ),
        |n| Some(Nanos(n.time_ns)),
    );
    family(
        out,
        o,
        "beostat_node_info",
        "gauge",
        "Always 1; the name label is the host name the node reported.",
    );
    for node in &s.nodes {
        open_sample(out, "beostat_node_info", node.node);
        out.push_str(",name=\"");
        label_bytes(out, &node.name);
        out.push_str("\"} 1\n");
    }
    for (i, minutes) in ["1", "5", "15"].iter().enumerate() {
        per_node(
            out,
            s,
            o,
            (
                &format!("beostat_node_load{minutes}"),
                "gauge",
                &format!("{minutes}-minute load average (/proc/loadavg)."),
            ),
            |n| Some(n.loadavg.load[i]),
        );
    }
    per_node(
        out,
        s,
        o,
        (
            "beostat_node_procs_running",
            "gauge",
            "Runnable scheduling entities (/proc/loadavg).",
        ),
        |n| Some(n.loadavg.num_active_procs),
    );
    per_node(
        out,
        s,
        o,
        (
            "beostat_node_processes",
            "gauge",
            "Scheduling entities that exist (/proc/loadavg).",
        ),
        |n| Some(n.loadavg.total_procs),
    );
    let memory: [NodeFamily; 7] = [
        ("memory_total_bytes", "Physical memory.", |n| {
            memory_total(&n.meminfo)
        }),
        ("memory_free_bytes", "Unused physical memory.", |n| {
            n.meminfo.mem.free
        }),
        ("memory_shared_bytes", "Shared memory (Shmem).", |n| {
            n.meminfo.shared
        }),
        ("memory_buffers_bytes", "Block device buffers.", |n| {
            n.meminfo.buffers
        }),
        ("memory_cached_bytes", "Page cache.", |n| n.meminfo.cached),
        ("swap_total_bytes", "Swap space.", |n| {
            n.meminfo.swap.used.saturating_add(n.meminfo.swap.free)
        }),
        ("swap_free_bytes", "Unused swap space.", |n| {
            n.meminfo.swap.free
        }),
    ];
    for (suffix, help, get) in memory {
        per_node(
            out,
            s,
            o,
            (&format!("beostat_node_{suffix}"), "gauge", help),
            |n| Some(get(n)),
        );
    }
    per_node(
        out,
        s,
        o,
        (
            "beostat_node_memory_available_bytes",
            "gauge",
            "Memory available for new work without swapping (MemAvailable; absent where the kernel or sendstats does not report it).",
        ),
        |n| n.mem_available,
    );
    per_node(
        out,
        s,
        o,
        ("beostat_node_cpus", "gauge", "Number of CPUs."),
        |n| Some(n.cpu_count),
    );
    per_node(
        out,
        s,
        o,
        (
            "beostat_node_cpu_mhz",
            "gauge",
            "Clock of CPU 0 in MHz (absent when the architecture does not report it).",
        ),
        |n| (n.mhz > 0.0).then_some(n.mhz),
    );
    cpu_seconds(out, s, o);
    let net: [DeviceFamily; 8] = [
        ("receive_bytes_total", "Bytes received.", |d| d.recv.bytes),
        ("receive_packets_total", "Packets received.", |d| {
            d.recv.packets
        }),
        ("receive_errors_total", "Receive errors.", |d| d.recv.errs),
        ("receive_drop_total", "Received packets dropped.", |d| {
            d.recv.drop
        }),
        ("transmit_bytes_total", "Bytes transmitted.", |d| {
            d.trans.bytes
        }),
        ("transmit_packets_total", "Packets transmitted.", |d| {
            d.trans.packets
        }),
        ("transmit_errors_total", "Transmit errors.", |d| {
            d.trans.errs
        }),
        ("transmit_drop_total", "Transmitted packets dropped.", |d| {
            d.trans.drop
        }),
    ];
    for (suffix, help, get) in net {
        per_device(
            out,
            s,
            o,
            (
                &format!("beostat_node_network_{suffix}"),
                &format!("{help} (/proc/net/dev)"),
            ),
            get,
        );
    }
    let disk: [DiskFamily; 5] = [
        ("size_bytes", "Size of the root filesystem.", |d| d.size),
        ("free_bytes", "Free bytes of the root filesystem.", |d| {
            d.free
        }),
        (
            "avail_bytes",
            "Bytes of the root filesystem free for unprivileged users.",
            |d| d.avail,
        ),
        ("files", "Inodes of the root filesystem.", |d| d.files),
        ("files_free", "Free inodes of the root filesystem.", |d| {
            d.files_free
        }),
    ];
    for (suffix, help, get) in disk {
        per_node(
            out,
            s,
            o,
            (&format!("beostat_node_filesystem_{suffix}"), "gauge", help),
            |n| Disk::of(&n.statfs).map(|d| get(&d)),
        );
    }

    family(
        out,
        o,
        "beostat_nodes",
        "gauge",
        "Nodes that have reported, by state (the master included).",
    );
    let up = s.nodes.iter().filter(|n| n.state == NodeState::Up).count();
    let _ = writeln!(out, "beostat_nodes{{state=\"up\"}} {up}");
    let _ = writeln!(
        out,
        "beostat_nodes{{state=\"down\"}} {}",
        s.nodes.len() - up
    );
    let shm: [(&str, &str, u32); 2] = [
        (
            "beostat_shm_node_records",
            "Node records in the node file: nodes that have reported, the master included.",
            s.control.records,
        ),
        (
            "beostat_shm_max_cpus",
            "Most CPUs recorded per node (recvstats --max-cpus).",
            s.control.max_cpus,
        ),
    ];
    for (name, help, value) in shm {
        family(out, o, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }

    daemon_counters(out, s, o);
    family(
        out,
        o,
        "beostat_recvstats_start_time_seconds",
        "gauge",
        "When the recvstats that writes the files started, seconds since the Epoch.",
    );
    let _ = writeln!(
        out,
        "beostat_recvstats_start_time_seconds {}",
        s.control.writer_start_time
    );
    if let Some(running) = writer_running {
        family(
            out,
            o,
            "beostat_recvstats_running",
            "gauge",
            "1 if the recvstats process named in the files exists, else 0.",
        );
        let _ = writeln!(out, "beostat_recvstats_running {}", u8::from(running));
    }
    family(
        out,
        o,
        "beostat_exporter_build_info",
        "gauge",
        "Always 1; the version label is the exporter's version.",
    );
    let _ = writeln!(
        out,
        "beostat_exporter_build_info{{version=\"{VERSION}\"}} 1"
    );
    family(
        out,
        o,
        "beostat_exporter_scrape_duration_seconds",
        "gauge",
        "Time this scrape took to read the files and format the samples before this one.",
    );
    let _ = writeln!(
        out,
        "beostat_exporter_scrape_duration_seconds {}",
        started.elapsed().as_secs_f64()
    );
}

fn cpu_seconds(out: &mut String, s: &Snapshot, options: Options) {
    let name = "beostat_node_cpu_seconds_total";
    family(
        out,
        options,
        name,
        "counter",
        "Seconds the CPUs spent in each mode since boot (/proc/stat ticks / USER_HZ 100).",
    );
    let up = || s.nodes.iter().filter(|n| exports_values(n));
    if options.per_cpu {
        // The label tail of each (CPU, mode), made once per scrape.
        let widest = up().map(|n| n.cpu_times.len()).max().unwrap_or(0);
        let tails: Vec<[String; CPU_MODES.len()]> = (0..widest)
            .map(|cpu| CPU_MODES.map(|(mode, _)| format!(",cpu=\"{cpu}\",mode=\"{mode}\"}} ")))
            .collect();
        for node in up() {
            for (counters, tails) in node.cpu_times.iter().zip(&tails) {
                for ((_, get), tail) in CPU_MODES.iter().zip(tails) {
                    open_sample(out, name, node.node);
                    out.push_str(tail);
                    Ticks(get(counters) as i64).push(out);
                    out.push('\n');
                }
            }
        }
    } else {
        let tails = CPU_MODES.map(|(mode, _)| format!(",mode=\"{mode}\"}} "));
        for node in up().filter(|n| !n.cpu_times.is_empty()) {
            for ((_, get), tail) in CPU_MODES.iter().zip(&tails) {
                let ticks = node.cpu_times.iter().map(get).fold(0u64, u64::wrapping_add) as i64;
                open_sample(out, name, node.node);
                out.push_str(tail);
                Ticks(ticks).push(out);
                out.push('\n');
            }
        }
    }
}

fn daemon_counters(out: &mut String, s: &Snapshot, options: Options) {
    let dropped: Vec<Counter> = Counter::ALL
        .into_iter()
        .filter(|c| c.name().starts_with("dropped_"))
        .collect();
    for counter in Counter::ALL
        .into_iter()
        .filter(|c| !c.name().starts_with("dropped_"))
    {
        let name = format!("beostat_recvstats_{}_total", counter.name());
        family(out, options, &name, "counter", counter_help(counter));
        let _ = writeln!(out, "{name} {}", s.counters[counter as usize]);
    }
    let name = "beostat_recvstats_datagrams_dropped_total";
    let mut help = String::from("Datagrams recvstats dropped, by reason:");
    for (i, counter) in dropped.iter().enumerate() {
        let reason = &counter.name()["dropped_".len()..];
        let separator = if i == 0 { " " } else { "; " };
        let _ = write!(help, "{separator}{reason}: {}", counter_help(*counter));
    }
    help.push('.');
    family(out, options, name, "counter", &help);
    for counter in dropped {
        let reason = &counter.name()["dropped_".len()..];
        let _ = writeln!(
            out,
            "{name}{{reason=\"{reason}\"}} {}",
            s.counters[counter as usize]
        );
    }
}

/// The exporter's own HTTP counters, for [`exporter_families`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExporterCounters {
    /// Scrapes answered, by [format][Format::label] and gzip or not.
    pub scrapes: [[u64; 2]; 2],
    /// Connections accepted.
    pub connections_accepted: u64,
    /// Connections closed on arrival (the connection bound).
    pub connections_refused: u64,
    /// Connections that ended in an error (timeouts, oversized requests).
    pub connection_errors: u64,
    /// Connections open now.
    pub connections_open: u64,
}

/// Appends the exporter's own HTTP families.
pub fn exporter_families(out: &mut String, options: Options, counters: &ExporterCounters) {
    let name = "beostat_exporter_scrapes_total";
    family(
        out,
        options,
        name,
        "counter",
        "Scrapes answered, by format (text, openmetrics) and encoding (identity, gzip).",
    );
    for (f, format) in ["text", "openmetrics"].iter().enumerate() {
        for (e, encoding) in ["identity", "gzip"].iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}{{format=\"{format}\",encoding=\"{encoding}\"}} {}",
                counters.scrapes[f][e]
            );
        }
    }
    let families: [(&str, &str, &str, u64); 4] = [
        (
            "beostat_exporter_connections_accepted_total",
            "counter",
            "HTTP connections accepted.",
            counters.connections_accepted,
        ),
        (
            "beostat_exporter_connections_refused_total",
            "counter",
            "HTTP connections closed on arrival: --web.max-connections were open.",
            counters.connections_refused,
        ),
        (
            "beostat_exporter_connection_errors_total",
            "counter",
            "HTTP connections that ended in an error (a timeout, an oversized request, a reset).",
            counters.connection_errors,
        ),
        (
            "beostat_exporter_connections_open",
            "gauge",
            "HTTP connections open now.",
            counters.connections_open,
        ),
    ];
    for (name, kind, help, value) in families {
        family(out, options, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: impl SampleValue) -> String {
        let mut out = String::new();
        value.push(&mut out);
        out
    }

    #[test]
    fn integers_and_fixed_point_values_are_exact() {
        assert_eq!(text(0u64), "0");
        assert_eq!(text(u64::MAX), "18446744073709551615");
        assert_eq!(text(i64::MIN), "-9223372036854775808");
        assert_eq!(text(-7i32), "-7");
        assert_eq!(text(Ticks(1015)), "10.15");
        assert_eq!(text(Ticks(10)), "0.1");
        assert_eq!(text(Ticks(1100)), "11");
        assert_eq!(text(Ticks(-5)), "-0.05");
        assert_eq!(text(Nanos(1_700_000_000_500_000_000)), "1700000000.5");
        assert_eq!(
            text(Nanos(1_700_000_000_000_000_001)),
            "1700000000.000000001"
        );
        assert_eq!(text(Nanos(0)), "0");
    }

    #[test]
    fn floats_are_shortest_and_infinities_are_spelled_as_prometheus_does() {
        assert_eq!(text(0.1f32), "0.1");
        assert_eq!(text(1.5f64), "1.5");
        assert_eq!(text(f64::INFINITY), "+Inf");
        assert_eq!(text(f32::NEG_INFINITY), "-Inf");
        assert_eq!(text(f64::NAN), "NaN");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        label_bytes(&mut out, b"a\\b\"c\nd");
        assert_eq!(out, r#"a\\b\"c\nd"#);
        out.clear();
        label_bytes(&mut out, b"eth\xff");
        assert_eq!(out, "eth\u{fffd}");
    }
}
