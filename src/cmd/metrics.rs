//! The exporter: node status and recvstats' counters in the Prometheus text
//! format (version 0.0.4), served over HTTP at `/metrics`.
//!
//! [`render`] writes one scrape into a `String` the caller reuses, family by
//! family (each family's samples are contiguous, after its HELP and TYPE),
//! from one [`Snapshot`], so a scrape is one pass over the files and no
//! allocation per sample. Names follow Prometheus conventions: base units
//! (seconds, bytes), `_total` on counters, a `node` label (`"-1"` is the
//! master, as in the C API). docs/COMMANDS.md lists every family. The HTTP
//! side ([`serve`]) is one synchronous loop: scrapes are rare and one at a
//! time is what keeps their cost predictable.

use super::{memory_total, Disk, Snapshot, USER_HZ};
use crate::error::{Error, Result};
use crate::shm::{Counter, NodeData, NodeState, Reader};
use crate::types::{beostat_net_dev, beostat_stat_cpu};
use std::fmt::Write;
use std::time::Instant;

/// A family over nodes: suffix, help, value.
type NodeFamily = (&'static str, &'static str, fn(&NodeData) -> u64);
/// A family over interfaces: suffix, help, value.
type DeviceFamily = (&'static str, &'static str, fn(&beostat_net_dev) -> u64);
/// A family over root filesystems: suffix, help, value.
type DiskFamily = (&'static str, &'static str, fn(&Disk) -> u64);
/// A CPU mode: its label value and its counter.
type CpuMode = (&'static str, fn(&beostat_stat_cpu) -> i64);

/// The Content-Type of a scrape.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a scrape contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `beostat_node_cpu_seconds_total` per CPU (`cpu` label), or summed
    /// over each node's CPUs (no `cpu` label; 16 times fewer samples on
    /// 16-CPU nodes).
    pub per_cpu: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { per_cpu: true }
    }
}

/// Appends `# HELP` and `# TYPE` for a family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
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

/// One gauge or counter per node: `NAME{node="N"} VALUE` for every node
/// `sample` gives a value for.
fn per_node<V: SampleValue>(
    out: &mut String,
    snapshot: &Snapshot,
    name: &str,
    kind: &str,
    help: &str,
    sample: impl Fn(&NodeData) -> Option<V>,
) {
    family(out, name, kind, help);
    for node in &snapshot.nodes {
        if let Some(v) = sample(node) {
            open_sample(out, name, node.node);
            out.push_str("} ");
            v.push(out);
            out.push('\n');
        }
    }
}

/// A counter of every interface of every node: `NAME{node,device}`.
fn per_device(
    out: &mut String,
    snapshot: &Snapshot,
    name: &str,
    help: &str,
    sample: impl Fn(&beostat_net_dev) -> u64,
) {
    family(out, name, "counter", help);
    for node in &snapshot.nodes {
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

/// Appends one scrape of `snapshot` to `out`. `writer_running` is whether
/// recvstats' pid is alive (`None`: unknown, the family is left out);
/// `started` is when the scrape began (for its own duration).
pub fn render(
    out: &mut String,
    snapshot: &Snapshot,
    options: Options,
    writer_running: Option<bool>,
    started: Instant,
) {
    let s = snapshot;
    per_node(
        out,
        s,
        "beostat_node_up",
        "gauge",
        "1 if the node reported within the expiry time (recvstats --expiry), else 0.",
        |n| Some(i32::from(n.state == NodeState::Up)),
    );
    per_node(
        out,
        s,
        "beostat_node_last_seen_timestamp_seconds",
        "gauge",
        "When the node's last report arrived, seconds since the Epoch.",
        |n| Some(Nanos(n.time_ns)),
    );
    family(
        out,
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
            &format!("beostat_node_load{minutes}"),
            "gauge",
            &format!("{minutes}-minute load average (/proc/loadavg)."),
            |n| Some(n.loadavg.load[i]),
        );
    }
    per_node(
        out,
        s,
        "beostat_node_procs_running",
        "gauge",
        "Runnable scheduling entities (/proc/loadavg).",
        |n| Some(n.loadavg.num_active_procs),
    );
    per_node(
        out,
        s,
        "beostat_node_processes",
        "gauge",
        "Scheduling entities that exist (/proc/loadavg).",
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
            &format!("beostat_node_{suffix}"),
            "gauge",
            help,
            |n| Some(get(n)),
        );
    }
    per_node(
        out,
        s,
        "beostat_node_cpus",
        "gauge",
        "Number of CPUs.",
        |n| Some(n.cpu_count),
    );
    per_node(
        out,
        s,
        "beostat_node_cpu_mhz",
        "gauge",
        "Clock of CPU 0 in MHz (absent when the architecture does not report it).",
        |n| (n.mhz > 0.0).then_some(n.mhz),
    );
    cpu_seconds(out, s, options);
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
            &format!("beostat_node_network_{suffix}"),
            &format!("{help} (/proc/net/dev)"),
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
            &format!("beostat_node_filesystem_{suffix}"),
            "gauge",
            help,
            |n| Disk::of(&n.statfs).map(|d| get(&d)),
        );
    }

    family(
        out,
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

    daemon_counters(out, s);
    family(
        out,
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
            "beostat_recvstats_running",
            "gauge",
            "1 if the recvstats process named in the files exists, else 0.",
        );
        let _ = writeln!(out, "beostat_recvstats_running {}", u8::from(running));
    }
    family(
        out,
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
    const MODES: [CpuMode; 4] = [
        ("user", |c| c.user),
        ("nice", |c| c.nice),
        ("system", |c| c.system),
        ("idle", |c| c.idle),
    ];
    let name = "beostat_node_cpu_seconds_total";
    family(
        out,
        name,
        "counter",
        "Seconds the CPUs spent in each mode since boot (/proc/stat ticks / USER_HZ 100).",
    );
    // The label tail of each (CPU, mode), made once per scrape.
    let widest = s.nodes.iter().map(|n| n.stat_cpu.len()).max().unwrap_or(0);
    let tails: Vec<[String; 4]> = (0..widest)
        .map(|cpu| MODES.map(|(mode, _)| format!(",cpu=\"{cpu}\",mode=\"{mode}\"}} ")))
        .collect();
    for node in &s.nodes {
        if options.per_cpu {
            for (counters, tails) in node.stat_cpu.iter().zip(&tails) {
                for ((_, get), tail) in MODES.iter().zip(tails) {
                    open_sample(out, name, node.node);
                    out.push_str(tail);
                    Ticks(get(counters)).push(out);
                    out.push('\n');
                }
            }
        } else if !node.stat_cpu.is_empty() {
            for (mode, get) in MODES {
                let ticks: i64 = node.stat_cpu.iter().map(get).sum();
                open_sample(out, name, node.node);
                let _ = write!(out, ",mode=\"{mode}\"}} ");
                Ticks(ticks).push(out);
                out.push('\n');
            }
        }
    }
}

fn daemon_counters(out: &mut String, s: &Snapshot) {
    let dropped: Vec<Counter> = Counter::ALL
        .into_iter()
        .filter(|c| c.name().starts_with("dropped_"))
        .collect();
    for counter in Counter::ALL
        .into_iter()
        .filter(|c| !c.name().starts_with("dropped_"))
    {
        let name = format!("beostat_recvstats_{}_total", counter.name());
        family(out, &name, "counter", counter_help(counter));
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
    family(out, name, "counter", &help);
    for counter in dropped {
        let reason = &counter.name()["dropped_".len()..];
        let _ = writeln!(
            out,
            "{name}{{reason=\"{reason}\"}} {}",
            s.counters[counter as usize]
        );
    }
}

/// Binds the HTTP server at `address` (`HOST:PORT`; port 0 picks one).
pub fn bind(address: &str) -> Result<tiny_http::Server> {
    tiny_http::Server::http(address).map_err(|e| {
        Error::io(
            format!("listen on {address}"),
            std::io::Error::other(e.to_string()),
        )
    })
}

/// The address the server listens on, as `http://HOST:PORT/metrics`.
pub fn metrics_url(server: &tiny_http::Server) -> String {
    match server.server_addr() {
        tiny_http::ListenAddr::IP(address) => format!("http://{address}/metrics"),
        other => format!("{other}/metrics"),
    }
}

/// Serves scrapes until the server is dropped (the process is killed).
/// Errors of single requests (a client that hung up, files that vanished)
/// are logged on stderr as `program: ...` and answered, never fatal.
pub fn serve(program: &str, server: &tiny_http::Server, reader: &Reader, options: Options) {
    let content_type =
        tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE).expect("a valid header");
    let text_type = tiny_http::Header::from_bytes("Content-Type", "text/plain; charset=utf-8")
        .expect("a valid header");
    let mut body = String::new();
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let method = request.method().clone();
        let readable = matches!(method, tiny_http::Method::Get | tiny_http::Method::Head);
        let (status, header) = if !readable {
            body.clear();
            body.push_str("only GET and HEAD\n");
            (405, text_type.clone())
        } else if path == "/metrics" {
            body.clear();
            let started = Instant::now();
            match Snapshot::read(reader) {
                Ok(snapshot) => {
                    let running = process_alive(snapshot.control.writer_pid);
                    render(&mut body, &snapshot, options, Some(running), started);
                    (200, content_type.clone())
                }
                Err(e) => {
                    super::log(program, format_args!("scrape failed: {e}"));
                    body.push_str(&e.to_string());
                    body.push('\n');
                    (503, text_type.clone())
                }
            }
        } else if path == "/" {
            body.clear();
            body.push_str(
                "beostat-exporter: cluster status in the Prometheus text format at /metrics\n",
            );
            (200, text_type.clone())
        } else {
            body.clear();
            body.push_str("not found; the metrics are at /metrics\n");
            (404, text_type.clone())
        };
        // Answer from the reused buffer: no copy of a large body.
        let response = tiny_http::Response::new(
            tiny_http::StatusCode(status),
            vec![header],
            body.as_bytes(),
            Some(body.len()),
            None,
        );
        if let Err(e) = request.respond(response) {
            super::log(program, format_args!("answering a request: {e}"));
        }
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
