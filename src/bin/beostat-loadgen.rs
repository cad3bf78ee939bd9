//! beostat-loadgen: simulate a cluster's nodes over loopback, and measure
//! recvstats against the machine's bare receive loop. See
//! docs/PERFORMANCE.md and `beostat-loadgen --help`.

use beostat::loadgen::bench::{self, CostOptions, IngestOptions, LatencyOptions, Setup};
use beostat::loadgen::payload::{Pool, PoolOptions, Shape};
use beostat::loadgen::replay::{self, ReplayOptions};
use beostat::loadgen::sender::Sender;
use beostat::loadgen::sink::{self, Counts};
use beostat::loadgen::{Error, Result};
use beostat::recv::batch::DEFAULT_BATCH_DELAY;
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Simulated beostat nodes and recvstats benchmarks (loopback only).
#[derive(Parser, Debug)]
#[command(name = "beostat-loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send simulated node reports to a recvstats at a chosen total rate.
    Send(SendArgs),
    /// The bare receive loop: recvstats' socket setup and batched receive,
    /// counting datagrams and doing nothing else.
    Sink(SinkArgs),
    /// Highest lossless rate of recvstats and of the bare loop.
    Ingest(IngestArgs),
    /// CPU time per node update at normal rates.
    Cost(CostArgs),
    /// Latency from send to visible in shared memory.
    Latency(LatencyArgs),
    /// Shared memory and resident memory by cluster size.
    Memory(MemoryArgs),
    /// Replay the receive path without timing (for callgrind instruction
    /// counts: scripts/bench-callgrind.sh).
    Replay(ReplayArgs),
}

/// One shape for every simulated node (both or neither).
#[derive(Args, Debug, Clone, Copy)]
struct ShapeArgs {
    /// Every node has this many CPUs (with --interfaces) [default: a mix of
    /// 1 to 256 CPUs].
    #[arg(long, requires = "interfaces")]
    cpus: Option<u32>,
    /// Every node has this many network interfaces, lo included (with
    /// --cpus).
    #[arg(long, requires = "cpus")]
    interfaces: Option<u32>,
}

impl ShapeArgs {
    fn shape(self) -> Result<Option<Shape>> {
        match (self.cpus, self.interfaces) {
            (Some(cpus), Some(interfaces)) => Shape::new(cpus, interfaces).map(Some),
            _ => Ok(None),
        }
    }
}

#[derive(Args, Debug)]
struct ReplayArgs {
    #[command(flatten)]
    shape: ShapeArgs,
    /// Simulated nodes.
    #[arg(long, default_value_t = 1000)]
    nodes: u32,
    /// Simulated datagrams per second (decides datagrams per wakeup).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Simulated seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// Scratch directory for the shm files (a tmpfs).
    #[arg(long, default_value = "/dev/shm")]
    work_dir: PathBuf,
}

#[derive(Args, Debug)]
struct SendArgs {
    /// Destination address (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Destination port.
    #[arg(short, long, default_value_t = 3040)]
    port: u16,
    /// Simulated nodes.
    #[arg(short, long, default_value_t = 1000)]
    nodes: u32,
    /// Number of the first node.
    #[arg(long, default_value_t = 0)]
    first_node: i32,
    /// Total datagrams per second.
    #[arg(short, long, default_value_t = 1000.0)]
    rate: f64,
    /// Seconds to send dynamic reports for.
    #[arg(short, long, default_value_t = 10.0)]
    seconds: f64,
    /// Distinct reports kept per node (values change between them).
    #[arg(long, default_value_t = 4)]
    variants: u32,
    /// Do not start with every node's full report (static data).
    #[arg(long)]
    no_full: bool,
    #[command(flatten)]
    shape: ShapeArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct SinkArgs {
    /// Port to receive on.
    #[arg(short, long)]
    port: u16,
    /// File the counts are published in (datagrams, bytes: two u64).
    #[arg(long)]
    count_file: PathBuf,
    /// Milliseconds to let datagrams gather before a drain (recvstats').
    #[arg(long, default_value_t = DEFAULT_BATCH_DELAY.as_secs_f64() * 1000.0)]
    batch_delay: f64,
    /// The plain loop instead: one blocking recvmmsg per wakeup, no pacing.
    #[arg(long)]
    plain: bool,
}

#[derive(Args, Debug)]
struct Common {
    /// recvstats binary [default: next to this one].
    #[arg(long)]
    recvstats: Option<PathBuf>,
    /// Scratch directory for shm files and logs (a tmpfs).
    #[arg(long, default_value = "/dev/shm")]
    work_dir: PathBuf,
    /// recvstats' and the bare loop's --batch-delay in ms [default: theirs].
    #[arg(long)]
    batch_delay: Option<f64>,
    /// Extra argument for recvstats (repeatable).
    #[arg(long = "recvstats-arg", allow_hyphen_values = true)]
    recvstats_args: Vec<String>,
    /// Nice value for recvstats, the bare loop and this sender, and for
    /// their scheduling autogroup where the kernel has them (negative needs
    /// root; keeps other work on a shared machine from deciding).
    #[arg(long, allow_hyphen_values = true)]
    nice: Option<i32>,
    /// Pin this sender to the first CPU, recvstats and the bare loop to the
    /// last.
    #[arg(long)]
    pin: bool,
    #[command(flatten)]
    shape: ShapeArgs,
}

#[derive(Args, Debug)]
struct IngestArgs {
    #[command(flatten)]
    common: Common,
    /// Simulated nodes.
    #[arg(long, default_value_t = 10_000)]
    nodes: u32,
    /// Seconds per trial.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// First rate (datagrams/s).
    #[arg(long, default_value_t = 50_000.0)]
    start: f64,
    /// Factor between rates.
    #[arg(long, default_value_t = 1.2)]
    step: f64,
    /// Highest rate tried.
    #[arg(long, default_value_t = 2_000_000.0)]
    max: f64,
    /// Sweeps (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeats: u32,
}

#[derive(Args, Debug)]
struct CostArgs {
    #[command(flatten)]
    common: Common,
    /// Simulated nodes.
    #[arg(long, default_value_t = 10_000)]
    nodes: u32,
    /// Rates (datagrams/s), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    rates: Vec<f64>,
    /// Seconds per run.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Runs per rate and target.
    #[arg(long, default_value_t = 5)]
    repeats: u32,
}

#[derive(Args, Debug)]
struct LatencyArgs {
    #[command(flatten)]
    common: Common,
    /// Simulated nodes.
    #[arg(long, default_value_t = 10_000)]
    nodes: u32,
    /// Total rate (datagrams/s).
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Every STRIDE-th node is watched.
    #[arg(long, default_value_t = 20)]
    stride: u32,
    /// Microseconds between the reader's polls.
    #[arg(long, default_value_t = 50)]
    poll_us: u64,
}

#[derive(Args, Debug)]
struct MemoryArgs {
    #[command(flatten)]
    common: Common,
    /// Cluster sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,50000")]
    nodes: Vec<u32>,
}

fn setup(common: &Common) -> Result<Setup> {
    let loadgen = std::env::current_exe().map_err(|e| Error(format!("own path: {e}")))?;
    let recvstats = match &common.recvstats {
        Some(path) => path.clone(),
        None => loadgen.with_file_name("recvstats"),
    };
    if let Some(nice) = common.nice {
        bench::renice(0, nice)?;
        // Else the nice value orders us only within our session's group.
        if bench::renice_autogroup(nice)? {
            eprintln!("# nice {nice} on this process and on its own scheduling autogroup");
        } else {
            eprintln!("# nice {nice} on this process only (no autogroup of its own: started from an interactive shell, or autogroups off)");
        }
    }
    if common.pin {
        bench::pin(0, 0)?;
    }
    Ok(Setup {
        nice: common.nice,
        pin: common.pin,
        recvstats,
        loadgen,
        work_dir: common.work_dir.clone(),
        batch_delay_ms: common.batch_delay,
        recvstats_args: common.recvstats_args.clone(),
        shape: common.shape.shape()?,
    })
}

fn send(args: &SendArgs) -> Result<()> {
    if !args.host.is_loopback() {
        return Err(Error(format!(
            "{} is not a loopback address: the load generator only sends to this machine",
            args.host
        )));
    }
    let started = Instant::now();
    let pool = Pool::build_shaped(
        &PoolOptions {
            nodes: args.nodes,
            first_node: args.first_node,
            variants: args.variants,
            max_bytes: 1 << 30,
        },
        args.shape.shape()?,
    )?;
    eprintln!(
        "pool: {} nodes, {} variants, {:.1} MB, {} bytes per dynamic datagram on average, built in {:.1} s",
        pool.nodes(),
        pool.variants(),
        pool.bytes() as f64 / 1e6,
        pool.dynamic_average(),
        started.elapsed().as_secs_f64()
    );
    let mut sender = Sender::new(pool, SocketAddr::new(args.host, args.port))?;
    let full = if args.no_full {
        None
    } else {
        Some(sender.send_full_reports(args.rate.min(20_000.0)))
    };
    let sent = sender.send_dynamic(
        args.rate,
        Some(Duration::from_secs_f64(args.seconds)),
        None,
        None,
    );
    let full_datagrams = full.map_or(0, |f| f.datagrams);
    if args.json {
        println!(
            "{{\"nodes\":{},\"full_datagrams\":{full_datagrams},\"datagrams\":{},\"bytes\":{},\"errors\":{},\"seconds\":{:.3},\"rate\":{:.1}}}",
            args.nodes,
            sent.datagrams,
            sent.bytes,
            sent.errors + full.map_or(0, |f| f.errors),
            sent.elapsed.as_secs_f64(),
            sent.rate()
        );
    } else {
        println!(
            "sent {full_datagrams} full-report datagrams, then {} dynamic datagrams ({:.1} MB) in {:.2} s: {:.0} datagrams/s (asked {:.0}); {} refused",
            sent.datagrams,
            sent.bytes as f64 / 1e6,
            sent.elapsed.as_secs_f64(),
            sent.rate(),
            args.rate,
            sent.errors + full.map_or(0, |f| f.errors)
        );
    }
    Ok(())
}

fn sink(args: &SinkArgs) -> Result<()> {
    let counts = Counts::open(&args.count_file)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error(format!("signal handler: {e}")))?;
    }
    if args.plain {
        return sink::run_plain(args.port, &counts, &stop);
    }
    sink::run(
        args.port,
        &counts,
        Duration::from_secs_f64(args.batch_delay / 1000.0),
        &stop,
    )
}

fn replay(args: &ReplayArgs) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let shape = args.shape.shape()?;
    let dir = args
        .work_dir
        .join(format!("beostat-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(&dir)
        .map_err(|e| Error(format!("{}: {e}", dir.display())))?;
    let result = replay::run(
        &ReplayOptions {
            nodes: args.nodes,
            rate: args.rate,
            seconds: args.seconds,
            shape,
        },
        &dir,
    );
    let _ = std::fs::remove_dir_all(&dir);
    let replayed = result?;
    println!(
        "datagrams {} wakeups {} per_wakeup {}",
        replayed.datagrams, replayed.wakeups, replayed.per_wakeup
    );
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Send(args) => send(&args),
        Command::Sink(args) => sink(&args),
        Command::Ingest(args) => {
            let table = bench::ingest(
                &setup(&args.common)?,
                &IngestOptions {
                    nodes: args.nodes,
                    seconds: args.seconds,
                    start_rate: args.start,
                    step: args.step,
                    max_rate: args.max,
                    repeats: args.repeats,
                },
            )?;
            print!("{table}");
            Ok(())
        }
        Command::Cost(args) => {
            let table = bench::cost(
                &setup(&args.common)?,
                &CostOptions {
                    nodes: args.nodes,
                    rates: args.rates,
                    seconds: args.seconds,
                    repeats: args.repeats,
                },
            )?;
            print!("{table}");
            Ok(())
        }
        Command::Latency(args) => {
            let table = bench::latency(
                &setup(&args.common)?,
                &LatencyOptions {
                    nodes: args.nodes,
                    rate: args.rate,
                    seconds: args.seconds,
                    stride: args.stride,
                    poll_us: args.poll_us,
                },
            )?;
            print!("{table}");
            Ok(())
        }
        Command::Replay(args) => replay(&args),
        Command::Memory(args) => {
            let table = bench::memory_use(&setup(&args.common)?, &args.nodes)?;
            print!("{table}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    beostat::daemon::init_logging("beostat-loadgen", beostat::daemon::LogTarget::Stderr, false);
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beostat-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
