//! The measurements of docs/PERFORMANCE.md: each starts recvstats (and the
//! bare receive loop) on loopback with a private shm directory, drives them
//! with a [`Sender`], reads what they did from /proc and the shm files, and
//! prints a Markdown table.
//!
//! Machines here are small and shared, so every measurement is repeated
//! and the median reported, and recvstats and the bare loop are measured in
//! the same run, alternately, so that both see the same machine.

use super::measure::{cpu_ns, cpu_stat_ns, file_usage, free_port, memory, udp_bound, udp_drops};
use super::payload::{Pool, PoolOptions, Shape};
use super::sender::{Sender, Watch};
use super::sink::Counts;
use super::{Error, Result};
use crate::shm::{Counter, Reader};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the programs and scratch files are.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The recvstats binary.
    pub recvstats: PathBuf,
    /// This binary (for the `sink` subcommand).
    pub loadgen: PathBuf,
    /// Scratch directory (shm files, logs); a tmpfs like /dev/shm.
    pub work_dir: PathBuf,
    /// recvstats' and the sink's `--batch-delay` in ms; `None`: their default
    /// (and do not pass the option, for recvstats builds without it).
    pub batch_delay_ms: Option<f64>,
    /// Extra arguments for recvstats.
    pub recvstats_args: Vec<String>,
    /// Nice value for recvstats, the bare loop and the sender (negative
    /// needs root): on a shared machine, keeps other work from deciding
    /// the result. `None`: leave the priorities alone.
    pub nice: Option<i32>,
    /// Pin the sender to the first CPU and recvstats and the bare loop to
    /// the last, so the receiver under test has one core to itself (as
    /// far as this machine's other work allows) and does not migrate.
    pub pin: bool,
    /// Every simulated node of this shape (`--cpus`, `--interfaces`);
    /// `None`: the mix of 1 to 256 CPUs.
    pub shape: Option<Shape>,
}

/// Restricts process `pid` (0: this process) to CPU `cpu`.
pub fn pin(pid: u32, cpu: usize) -> Result<()> {
    // SAFETY: cpu_set_t is plain old data; CPU_ZERO/CPU_SET write inside it;
    // sched_setaffinity reads it for its size.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(
            pid as libc::pid_t,
            size_of::<libc::cpu_set_t>(),
            &raw const set,
        )
    };
    if result != 0 {
        return Err(Error(format!(
            "cannot pin pid {pid} to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// The CPU receivers are pinned to: the last one online. (Not from
/// `available_parallelism`, which counts only the CPUs this process may use:
/// once the sender is pinned, that is one.)
pub fn receiver_cpu() -> usize {
    // SAFETY: sysconf has no preconditions.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).unwrap_or(1).max(1) - 1
}

/// Applies `setup`'s nice value and pinning to a receiver process.
fn place_receiver(setup: &Setup, pid: u32) -> Result<()> {
    if let Some(nice) = setup.nice {
        renice(pid, nice)?;
    }
    if setup.pin {
        pin(pid, receiver_cpu())?;
    }
    Ok(())
}

/// Sets the nice value of process `pid` (0: this process).
pub fn renice(pid: u32, nice: i32) -> Result<()> {
    // SAFETY: setpriority has no memory-safety preconditions.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, nice) };
    if result != 0 {
        return Err(Error(format!(
            "cannot set nice {nice} on pid {pid}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Sets the nice value of this process's scheduling autogroup
/// (`/proc/self/autogroup`), which recvstats and the bare loop, started
/// from it, share. With autogroup scheduling (`kernel.sched_autogroup_enabled`
/// = 1, the default on most distributions) a process's own nice value only
/// orders it within its session's group, and every group gets an equal
/// share of a CPU: another session's build on the receivers' CPU then
/// takes half or more of it, whatever `--nice` says. So this process first
/// starts a session of its own (`setsid`: a new autogroup, holding only it
/// and the processes it starts), then renices that group; the caller's
/// shell and its other work keep theirs. Returns whether it did (false
/// where autogroups are off or absent, or when this process leads its
/// process group, as a command typed in an interactive shell does: then
/// `setsid` is refused and nothing changes).
pub fn renice_autogroup(nice: i32) -> Result<bool> {
    let enabled = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
        .is_ok_and(|v| v.trim() == "1");
    if !enabled {
        return Ok(false);
    }
    // SAFETY: setsid has no memory-safety preconditions.
    if unsafe { libc::setsid() } < 0 {
        return Ok(false);
    }
    std::fs::write("/proc/self/autogroup", nice.to_string())
        .map_err(|e| Error(format!("cannot set nice {nice} on this autogroup: {e}")))?;
    Ok(true)
}

/// A receiver under test: recvstats or the bare loop.
trait Target {
    fn name(&self) -> &'static str;
    fn pid(&self) -> u32;
    fn port(&self) -> u16;
    /// Datagrams it has taken off its sockets.
    fn received(&self) -> u64;
}

/// A child process killed (SIGTERM, then waited for) when dropped.
struct Process {
    child: Child,
}

impl Process {
    /// SIGTERM, then waits; does nothing once the child has been reaped (its
    /// pid may then belong to another process).
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill with the pid of our own child, not yet reaped.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        }
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// recvstats, started in the foreground on a free port.
pub struct Recvstats {
    process: Process,
    port: u16,
    shm_dir: PathBuf,
    reader: Reader,
}

impl Recvstats {
    /// Starts recvstats with room for `nodes` nodes and waits until it
    /// listens.
    pub fn start(setup: &Setup, nodes: u32, tag: &str) -> Result<Self> {
        let port = free_port().map_err(|e| Error(format!("free port: {e}")))?;
        let shm_dir = setup
            .work_dir
            .join(format!("recvstats-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&shm_dir);
        // Mode 0755 whatever the umask: recvstats refuses a directory its
        // group or others can write to.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&shm_dir)
            .and_then(|()| {
                std::fs::set_permissions(&shm_dir, std::fs::Permissions::from_mode(0o755))
            })
            .map_err(|e| Error(format!("{}: {e}", shm_dir.display())))?;
        let log = std::fs::File::create(shm_dir.with_extension("log"))
            .map_err(|e| Error(format!("log file: {e}")))?;
        let mut command = Command::new(&setup.recvstats);
        command
            .args(["-f", "--config", "/dev/null", "-i", "lo", "-p"])
            .arg(port.to_string())
            .arg("--shm-dir")
            .arg(&shm_dir)
            .args(["-N", &nodes.to_string()])
            .args(["--max-nodes", &nodes.max(65_536).to_string()])
            .args(&setup.recvstats_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(ms) = setup.batch_delay_ms {
            command.args(["--batch-delay", &ms.to_string()]);
        }
        let child = command
            .spawn()
            .map_err(|e| Error(format!("start {}: {e}", setup.recvstats.display())))?;
        let process = Process { child };
        place_receiver(setup, process.child.id())?;
        wait_bound(port)?;
        let reader = Reader::new(&shm_dir);
        Ok(Recvstats {
            process,
            port,
            shm_dir,
            reader,
        })
    }

    /// The shm directory.
    pub fn shm_dir(&self) -> &Path {
        &self.shm_dir
    }
}

impl Drop for Recvstats {
    fn drop(&mut self) {
        self.process.stop();
        let _ = std::fs::remove_dir_all(&self.shm_dir);
        let _ = std::fs::remove_file(self.shm_dir.with_extension("log"));
    }
}

impl Target for Recvstats {
    fn name(&self) -> &'static str {
        "recvstats"
    }
    fn pid(&self) -> u32 {
        self.process.child.id()
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn received(&self) -> u64 {
        self.reader
            .counters()
            .map_or(0, |c| c[Counter::DatagramsReceived as usize])
    }
}

/// The bare receive loop (`beostat-loadgen sink`), started as its own process.
pub struct Sink {
    process: Process,
    port: u16,
    counts: Counts,
    count_file: PathBuf,
    plain: bool,
}

impl Sink {
    /// Starts the sink on a free port and waits until it listens: with
    /// recvstats' pacing, or `plain` (one blocking `recvmmsg` per wakeup).
    pub fn start(setup: &Setup, plain: bool) -> Result<Self> {
        let port = free_port().map_err(|e| Error(format!("free port: {e}")))?;
        let count_file = setup
            .work_dir
            .join(format!("sink-{port}-{}.count", std::process::id()));
        let _ = std::fs::remove_file(&count_file);
        let counts = Counts::open(&count_file)?;
        let mut command = Command::new(&setup.loadgen);
        command
            .args(["sink", "--port", &port.to_string(), "--count-file"])
            .arg(&count_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(ms) = setup.batch_delay_ms {
            command.args(["--batch-delay", &ms.to_string()]);
        }
        if plain {
            command.arg("--plain");
        }
        let child = command
            .spawn()
            .map_err(|e| Error(format!("start the sink: {e}")))?;
        let process = Process { child };
        place_receiver(setup, process.child.id())?;
        wait_bound(port)?;
        Ok(Sink {
            process,
            port,
            counts,
            count_file,
            plain,
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.count_file);
    }
}

impl Target for Sink {
    fn name(&self) -> &'static str {
        if self.plain {
            "bare recvmmsg loop"
        } else {
            "bare loop"
        }
    }
    fn pid(&self) -> u32 {
        self.process.child.id()
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn received(&self) -> u64 {
        self.counts.datagrams()
    }
}

fn wait_bound(port: u16) -> Result<()> {
    for _ in 0..500 {
        if udp_bound(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(Error(format!(
        "nothing listens on UDP port {port} after 5 s"
    )))
}

/// Waits until `target` has received `expected` more datagrams than
/// `before`, or its count stops moving for 300 ms (some were lost).
fn settle(target: &dyn Target, before: u64, expected: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = target.received();
    let mut last_change = Instant::now();
    while Instant::now() < deadline {
        if last - before >= expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        let now = target.received();
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    target.received() - before
}

/// One timed run of dynamic reports against one target.
#[derive(Debug, Clone, Copy)]
pub struct Trial {
    /// Rate asked for.
    pub target_rate: f64,
    /// Rate the sender achieved.
    pub sent_rate: f64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams the target took off its socket.
    pub received: u64,
    /// Kernel drops on the target's socket (receive buffer full).
    pub kernel_drops: u64,
    /// CPU time of the target, ns (scheduler's count, `schedstat`).
    pub cpu_ns: u64,
    /// CPU time of the target from `/proc/PID/stat` (`utime + stime`), ns.
    pub cpu_stat_ns: u64,
    /// Wall time of the run, ns.
    pub wall_ns: u64,
    /// Context switches of the target (voluntary: each is a sleep).
    pub switches: u64,
}

impl Trial {
    /// Lost datagrams.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }
    /// CPU microseconds per datagram received.
    pub fn cpu_us_per_datagram(&self) -> f64 {
        self.cpu_ns as f64 / 1000.0 / self.received.max(1) as f64
    }
    /// The same from `/proc/PID/stat`.
    pub fn stat_us_per_datagram(&self) -> f64 {
        self.cpu_stat_ns as f64 / 1000.0 / self.received.max(1) as f64
    }
    /// Share of one core used.
    pub fn cpu_share(&self) -> f64 {
        self.cpu_ns as f64 / self.wall_ns.max(1) as f64
    }
    /// Datagrams per wakeup (voluntary context switch).
    pub fn per_wakeup(&self) -> f64 {
        self.received as f64 / self.switches.max(1) as f64
    }
}

/// Voluntary context switches of a process (all threads).
fn voluntary_switches(pid: u32) -> u64 {
    let tasks = Path::new("/proc").join(pid.to_string()).join("task");
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(tasks) {
        for entry in entries.flatten() {
            if let Ok(status) = std::fs::read_to_string(entry.path().join("status")) {
                total += status
                    .lines()
                    .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

fn trial(
    sender: &mut Sender,
    target: &dyn Target,
    rate: f64,
    duration: Duration,
    watch: Option<&Watch>,
) -> Trial {
    let before = target.received();
    let drops = udp_drops(target.port());
    let cpu = cpu_ns(target.pid()).unwrap_or(0);
    let cpu_stat = cpu_stat_ns(target.pid()).unwrap_or(0);
    let switches = voluntary_switches(target.pid());
    let start = Instant::now();
    let sent = sender.send_dynamic(rate, Some(duration), None, watch);
    let received = settle(target, before, sent.datagrams);
    let wall_ns = start.elapsed().as_nanos() as u64;
    Trial {
        target_rate: rate,
        sent_rate: sent.rate(),
        sent: sent.datagrams,
        received,
        kernel_drops: udp_drops(target.port()).saturating_sub(drops),
        cpu_ns: cpu_ns(target.pid()).unwrap_or(0).saturating_sub(cpu),
        cpu_stat_ns: cpu_stat_ns(target.pid())
            .unwrap_or(0)
            .saturating_sub(cpu_stat),
        wall_ns: wall_ns.min(sent.elapsed.as_nanos() as u64 + 1),
        switches: voluntary_switches(target.pid()).saturating_sub(switches),
    }
}

/// Sends every node's full report, then waits until all arrived (full
/// reports carry cpuinfo, which costs more to parse: they go slower, and
/// again, slower still, if some were lost).
fn warm_up(sender: &mut Sender, target: &dyn Target) -> Result<()> {
    let mut lost = 0;
    for rate in [5_000.0, 1_000.0] {
        let before = target.received();
        let sent = sender.send_full_reports(rate);
        let got = settle(target, before, sent.datagrams);
        if got >= sent.datagrams {
            return Ok(());
        }
        lost = sent.datagrams - got;
    }
    Err(Error(format!(
        "{}: warm-up lost {lost} full reports even at 1,000/s",
        target.name()
    )))
}

/// recvstats and the bare loop started side by side, and a sender (the
/// usual 4 variants per node) that has warmed both up with every node's
/// full report; it is left connected to the bare loop.
fn start_both(setup: &Setup, nodes: u32, tag: &str) -> Result<(Recvstats, Sink, Sender)> {
    let recvstats = Recvstats::start(setup, nodes, tag)?;
    let sink = Sink::start(setup, false)?;
    let mut sender = build_sender(setup, nodes, 4, loopback(recvstats.port()))?;
    for target in [&recvstats as &dyn Target, &sink] {
        sender.connect(loopback(target.port()))?;
        warm_up(&mut sender, target)?;
    }
    Ok((recvstats, sink, sender))
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn build_sender(setup: &Setup, nodes: u32, variants: u32, target: SocketAddr) -> Result<Sender> {
    let started = Instant::now();
    let pool = Pool::build_shaped(
        &PoolOptions {
            variants,
            ..PoolOptions::new(nodes)
        },
        setup.shape,
    )?;
    eprintln!(
        "# pool: {} nodes ({}), {} variants, {:.1} MB, dynamic datagrams {} bytes on average; built in {:.1} s",
        pool.nodes(),
        setup.shape.map_or_else(
            || "mixed shapes, 1 to 256 CPUs".to_owned(),
            |s| format!("{} CPUs, {} interfaces each", s.cpus, s.interfaces)
        ),
        pool.variants(),
        pool.bytes() as f64 / 1e6,
        pool.dynamic_average(),
        started.elapsed().as_secs_f64()
    );
    Sender::new(pool, target)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Options of [`ingest`].
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Simulated nodes.
    pub nodes: u32,
    /// Seconds per trial.
    pub seconds: f64,
    /// First rate tried.
    pub start_rate: f64,
    /// Factor between rates.
    pub step: f64,
    /// Highest rate tried.
    pub max_rate: f64,
    /// Sweeps.
    pub repeats: u32,
}

/// Highest lossless rate of recvstats and of the bare loop, swept
/// alternately in the same run.
pub fn ingest(setup: &Setup, options: &IngestOptions) -> Result<String> {
    let (recvstats, sink, mut sender) = start_both(setup, options.nodes, "ingest")?;
    let targets: [&dyn Target; 2] = [&recvstats, &sink];
    let duration = Duration::from_secs_f64(options.seconds);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| sweep | target | rate asked | rate sent | received | lost | kernel drops | CPU µs/datagram | CPU share | datagrams/wakeup |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut best: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut best_cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut sender_bound = Vec::new();
    for sweep in 1..=options.repeats {
        let mut highest = [0.0f64; 2];
        let mut highest_cpu = [f64::NAN; 2];
        let mut failures = [0u32; 2];
        let mut rate = options.start_rate;
        while rate <= options.max_rate * 1.0001 && failures.iter().any(|&f| f < 2) {
            let mut all_short = true;
            for (i, target) in targets.iter().enumerate() {
                if failures[i] >= 2 {
                    continue;
                }
                sender.connect(loopback(target.port()))?;
                let t = trial(&mut sender, *target, rate, duration, None);
                let short = t.sent_rate < 0.95 * rate;
                all_short &= short;
                let _ = writeln!(
                    out,
                    "| {sweep} | {} | {:.0} | {:.0} | {} | {} | {} | {:.2} | {:.0}% | {:.1} |",
                    target.name(),
                    rate,
                    t.sent_rate,
                    t.received,
                    t.lost(),
                    t.kernel_drops,
                    t.cpu_us_per_datagram(),
                    100.0 * t.cpu_share(),
                    t.per_wakeup()
                );
                eprintln!("{}", out.lines().last().unwrap_or(""));
                if t.lost() == 0 && !short {
                    highest[i] = t.sent_rate;
                    highest_cpu[i] = t.cpu_us_per_datagram();
                    failures[i] = 0;
                } else if t.lost() > 0 {
                    failures[i] += 1;
                }
            }
            if all_short {
                sender_bound.push(rate);
                break;
            }
            rate *= options.step;
        }
        for i in 0..2 {
            best[i].push(highest[i]);
            best_cpu[i].push(highest_cpu[i]);
        }
    }
    let recv_rate = median(&mut best[0]);
    let sink_rate = median(&mut best[1]);
    let _ = writeln!(
        out,
        "\n| target | highest lossless rate (median of {}) | CPU µs/datagram there |\n| --- | ---: | ---: |",
        options.repeats
    );
    let _ = writeln!(
        out,
        "| recvstats | {recv_rate:.0}/s | {:.2} |",
        median(&mut best_cpu[0])
    );
    let _ = writeln!(
        out,
        "| bare loop | {sink_rate:.0}/s | {:.2} |",
        median(&mut best_cpu[1])
    );
    let _ = writeln!(
        out,
        "\nrecvstats / bare loop: {:.0}%",
        100.0 * recv_rate / sink_rate
    );
    if !sender_bound.is_empty() {
        let _ = writeln!(
            out,
            "the sender could not reach {:?}/s: the sweep stopped there",
            sender_bound
        );
    }
    Ok(out)
}

/// Options of [`cost`].
#[derive(Debug, Clone)]
pub struct CostOptions {
    /// Simulated nodes.
    pub nodes: u32,
    /// Rates to measure.
    pub rates: Vec<f64>,
    /// Seconds per run.
    pub seconds: f64,
    /// Runs per rate and target.
    pub repeats: u32,
}

/// CPU time per node update at fixed (normal) rates: recvstats, the plain
/// bare loop (one blocking `recvmmsg` per wakeup) and the bare loop with
/// recvstats' pacing, alternately in the same run; CPU from the scheduler
/// (`schedstat`) and from `/proc/PID/stat`.
pub fn cost(setup: &Setup, options: &CostOptions) -> Result<String> {
    let (recvstats, sink, mut sender) = start_both(setup, options.nodes, "cost")?;
    let plain = Sink::start(setup, true)?;
    sender.connect(loopback(plain.port()))?;
    warm_up(&mut sender, &plain)?;
    let targets: [&dyn Target; 3] = [&recvstats, &plain, &sink];
    let duration = Duration::from_secs_f64(options.seconds);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} nodes, {} s per run\n\n| rate | target | runs | CPU µs per update (median, schedstat) | min | max | /proc/PID/stat µs (median) | datagrams/wakeup | lost |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        options.nodes, options.seconds
    );
    for &rate in &options.rates {
        let mut results: [Vec<Trial>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..options.repeats {
            for (i, target) in targets.iter().enumerate() {
                sender.connect(loopback(target.port()))?;
                results[i].push(trial(&mut sender, *target, rate, duration, None));
            }
        }
        let mut medians = [0.0; 3];
        for (i, target) in targets.iter().enumerate() {
            let mut us: Vec<f64> = results[i].iter().map(Trial::cpu_us_per_datagram).collect();
            let mut stat: Vec<f64> = results[i].iter().map(Trial::stat_us_per_datagram).collect();
            let mut wake: Vec<f64> = results[i].iter().map(Trial::per_wakeup).collect();
            let lost: u64 = results[i].iter().map(Trial::lost).sum();
            let min = us.iter().copied().fold(f64::INFINITY, f64::min);
            let max = us.iter().copied().fold(0.0, f64::max);
            medians[i] = median(&mut us);
            let _ = writeln!(
                out,
                "| {rate:.0}/s | {} | {} | **{:.2}** | {min:.2} | {max:.2} | {:.2} | {:.1} | {lost} |",
                target.name(),
                options.repeats,
                medians[i],
                median(&mut stat),
                median(&mut wake)
            );
            eprintln!("{}", out.lines().last().unwrap_or(""));
        }
        let _ = writeln!(
            out,
            "| {rate:.0}/s | recvstats / bare recvmmsg loop | | **{:.2}×** | | | | | |",
            medians[0] / medians[1]
        );
    }
    Ok(out)
}

/// Options of [`latency`].
#[derive(Debug, Clone)]
pub struct LatencyOptions {
    /// Simulated nodes.
    pub nodes: u32,
    /// Total rate.
    pub rate: f64,
    /// Seconds.
    pub seconds: f64,
    /// Every `stride`-th node is watched.
    pub stride: u32,
    /// Microseconds between the reader's polls.
    pub poll_us: u64,
}

/// Latency from send to visible in shared memory.
pub fn latency(setup: &Setup, options: &LatencyOptions) -> Result<String> {
    let recvstats = Recvstats::start(setup, options.nodes, "latency")?;
    let mut sender = build_sender(setup, options.nodes, 4, loopback(recvstats.port()))?;
    warm_up(&mut sender, &recvstats)?;
    // One round first, so every watched node has a record whose time is
    // older than what the measured run sends.
    sender.send_dynamic(options.rate, None, Some(u64::from(options.nodes)), None);
    std::thread::sleep(Duration::from_millis(200));

    let watch = Arc::new(Watch::new(options.nodes, options.stride));
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let watch = Arc::clone(&watch);
        let stop = Arc::clone(&stop);
        let shm_dir = recvstats.shm_dir().to_owned();
        let poll = Duration::from_micros(options.poll_us);
        std::thread::spawn(move || probe(&watch, &stop, &shm_dir, poll))
    };
    let sent = sender.send_dynamic(
        options.rate,
        Some(Duration::from_secs_f64(options.seconds)),
        None,
        Some(&watch),
    );
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let (mut visible, mut arrival, missed) = probe.join().expect("probe thread");
    let mut out = String::new();
    let percentile = |values: &mut Vec<u64>, p: f64| -> f64 {
        values.sort_unstable();
        if values.is_empty() {
            return f64::NAN;
        }
        let index = ((values.len() as f64 - 1.0) * p).round() as usize;
        values[index] as f64 / 1000.0
    };
    let _ = writeln!(
        out,
        "{} datagrams at {:.0}/s, {} nodes; {} samples (every {}th node), reader polls every {} µs; {} sends not seen\n",
        sent.datagrams,
        sent.rate(),
        options.nodes,
        visible.len(),
        options.stride,
        options.poll_us,
        missed
    );
    let _ = writeln!(
        out,
        "| from send to | p50 µs | p90 µs | p99 µs | max µs |\n| --- | ---: | ---: | ---: | ---: |"
    );
    for (name, values) in [
        ("recvstats' arrival stamp (record time_ns)", &mut arrival),
        ("visible to a reader", &mut visible),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.0} | **{:.0}** | {:.0} |",
            percentile(values, 0.5),
            percentile(values, 0.9),
            percentile(values, 0.99),
            percentile(values, 1.0)
        );
    }
    Ok(out)
}

/// Polls the watched nodes' records; returns the latencies to visibility,
/// to recvstats' arrival stamp, and how many sends were never seen.
fn probe(
    watch: &Watch,
    stop: &AtomicBool,
    shm_dir: &Path,
    poll: Duration,
) -> (Vec<u64>, Vec<u64>, u64) {
    // SAFETY: PR_SET_TIMERSLACK changes only this thread's timer slack.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
    let reader = Reader::new(shm_dir);
    let mut visible = Vec::new();
    let mut arrival = Vec::new();
    let mut missed = 0;
    while !stop.load(Ordering::Relaxed) {
        for (slot, pending) in watch.pending.iter().enumerate() {
            let sent = pending.load(Ordering::Acquire);
            if sent == 0 {
                continue;
            }
            let node = (slot as u32 * watch.stride) as i32;
            let Ok(stamped) = reader.time_ns(node) else {
                continue;
            };
            let now = crate::shm::now_ns();
            if stamped >= sent {
                visible.push(now - sent);
                arrival.push(stamped - sent);
                pending.store(0, Ordering::Release);
            } else if now - sent > 1_000_000_000 {
                missed += 1;
                pending.store(0, Ordering::Release);
            }
        }
        std::thread::sleep(poll);
    }
    (visible, arrival, missed)
}

/// Shared-memory and resident memory with `nodes` nodes reporting.
pub fn memory_use(setup: &Setup, node_counts: &[u32]) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| nodes | records | max CPUs | node file size | allocated | allocated per node | recvstats VmRSS | RssAnon | RssShmem | RssFile | RAM per node (allocated + RssAnon) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for &nodes in node_counts {
        let recvstats = Recvstats::start(setup, nodes, "memory")?;
        let mut sender = build_sender(setup, nodes, 1, loopback(recvstats.port()))?;
        warm_up(&mut sender, &recvstats)?;
        let before = recvstats.received();
        // Two dynamic rounds: every record then holds a current and a
        // previous stat sample, as in steady state.
        let sent = sender.send_dynamic(20_000.0, None, Some(2 * u64::from(nodes)), None);
        let got = settle(&recvstats, before, sent.datagrams);
        if got < sent.datagrams {
            return Err(Error(format!(
                "memory run lost {} datagrams",
                sent.datagrams - got
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
        let control = recvstats.reader.control()?;
        let (allocated, size) = file_usage(
            &recvstats
                .shm_dir()
                .join(crate::shm::layout::NODES_FILE_NAME),
        )
        .ok_or_else(|| Error("cannot stat the node file".into()))?;
        let m = memory(recvstats.pid()).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {nodes} | {} | {} | {:.1} MB | {:.1} MB | {:.0} B | {:.1} MB | {:.1} MB | {:.1} MB | {:.1} MB | {:.0} B |",
            control.records,
            control.max_cpus,
            size as f64 / 1e6,
            allocated as f64 / 1e6,
            allocated as f64 / f64::from(nodes),
            m.rss_kib as f64 / 1024.0 * 1.048576,
            m.anon_kib as f64 / 1024.0 * 1.048576,
            m.shmem_kib as f64 / 1024.0 * 1.048576,
            m.file_kib as f64 / 1024.0 * 1.048576,
            (allocated as f64 + m.anon_kib as f64 * 1024.0) / f64::from(nodes),
        );
        eprintln!("{}", out.lines().last().unwrap_or(""));
    }
    Ok(out)
}
