//! recvstats: receive status from the cluster's nodes and publish it in the
//! shared-memory files libbeostat reads. See `recvstats --help` and
//! docs/RECVSTATS.md.

use beostat::collect::Source;
use beostat::daemon::{self, LogTarget, Pidfile, Readiness, Signals};
use beostat::protocol::{DEFAULT_GROUP_V4, DEFAULT_GROUP_V6};
use beostat::recv::batch::DEFAULT_BATCH_DELAY;
use beostat::recv::{run, Options};
use beostat::shm::layout::{DEFAULT_NODE_CAPACITY, DEFAULT_SHM_DIR};
use clap::{ArgAction, Parser};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const PROGRAM: &str = "recvstats";

/// Receive status from the cluster's nodes (multicast or unicast UDP) and
/// publish it in shared memory for libbeostat.
#[derive(Parser, Debug)]
#[command(
    name = "recvstats",
    version,
    disable_version_flag = true,
    args_override_self = true,
    after_help = "Started at boot by the beowulf init script as `recvstats -i $IF`.\n\
                  Files: SHM-DIR/beostat and SHM-DIR/beostat.nodes (mode 0644)."
)]
struct Args {
    /// Debug mode: do not fork, log to stderr with debug detail.
    #[arg(short = 'd', long = "debug")]
    debug: bool,
    /// Stay in the foreground (do not fork); log to stderr.
    #[arg(short = 'f', long = "foreground")]
    foreground: bool,
    /// Network interface to receive multicast on (should always be given).
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    interface: Option<String>,
    /// UDP port [default: the config file's `server beostats`, else 3040].
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    port: Option<u16>,
    /// Initial number of node records; grows when higher nodes report.
    #[arg(short = 'N', long = "nodes", value_name = "N", default_value_t = DEFAULT_NODE_CAPACITY)]
    nodes: u32,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
    /// Directory of the shared-memory files.
    #[arg(long = "shm-dir", value_name = "DIR", default_value = DEFAULT_SHM_DIR)]
    shm_dir: PathBuf,
    /// IPv4 multicast group.
    #[arg(long = "group", value_name = "ADDR", default_value_t = DEFAULT_GROUP_V4)]
    group: Ipv4Addr,
    /// IPv6 multicast group (joined on the -i interface).
    #[arg(long = "group6", value_name = "ADDR", default_value_t = DEFAULT_GROUP_V6)]
    group6: Ipv6Addr,
    /// Seconds between update requests multicast to the nodes.
    #[arg(long = "update-interval", value_name = "SECS", default_value_t = 60.0, value_parser = positive_seconds)]
    update_interval: f64,
    /// Seconds without a report after which a node is marked down.
    #[arg(long = "expiry", value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    expiry: u32,
    /// Seconds between samples of the master's own /proc (node -1).
    #[arg(long = "master-interval", value_name = "SECS", default_value_t = 5.0, value_parser = positive_seconds)]
    master_interval: f64,
    /// Milliseconds datagrams may gather before they are taken off the
    /// socket while traffic flows: fewer wakeups, at most this much latency
    /// added (0: wake for each datagram).
    #[arg(long = "batch-delay", value_name = "MS", default_value_t = DEFAULT_BATCH_DELAY.as_secs_f64() * 1000.0, value_parser = batch_delay)]
    batch_delay: f64,
    /// Refuse node numbers at or above this (bounds memory use).
    #[arg(long = "max-nodes", value_name = "N", default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    max_nodes: u32,
    /// ClusterWare configuration (iprange and `server beostats` lines).
    #[arg(
        long = "config",
        value_name = "FILE",
        default_value = "/etc/beowulf/config"
    )]
    config: PathBuf,
    /// Write the daemon's pid here [default when forking: /run/recvstats.pid].
    #[arg(long = "pidfile", value_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// Read the master's own status from DIR instead of /proc.
    #[arg(long = "proc-root", value_name = "DIR", default_value = "/proc")]
    proc_root: PathBuf,
    /// Report statfs of this path as the master's root filesystem.
    #[arg(long = "statfs-path", value_name = "PATH", default_value = "/")]
    statfs_path: PathBuf,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

fn batch_delay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ms) if ms.is_finite() && (0.0..=100.0).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "{text:?} is not a number of milliseconds between 0 and 100"
        )),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let foreground = args.debug || args.foreground;
    daemon::init_logging(PROGRAM, LogTarget::Stderr, args.debug);
    let options = Options {
        shm_dir: args.shm_dir,
        node_capacity: args.nodes,
        max_nodes: args.max_nodes,
        node_expiry: Duration::from_secs(u64::from(args.expiry)),
        port: args.port,
        interface: args.interface,
        group_v4: args.group,
        group_v6: args.group6,
        update_interval: Duration::from_secs_f64(args.update_interval),
        master_interval: Duration::from_secs_f64(args.master_interval),
        config: args.config,
        batch_delay: Duration::from_secs_f64(args.batch_delay / 1000.0),
        source: Source {
            proc_root: args.proc_root,
            statfs_path: args.statfs_path,
        },
    };
    let mut readiness = if foreground {
        Readiness::none()
    } else {
        match daemon::detach(PROGRAM) {
            Ok(readiness) => readiness,
            Err(e) => {
                eprintln!("{PROGRAM}: cannot fork: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let _pidfile = match (&args.pidfile, foreground) {
        (Some(path), _) => match Pidfile::create(path) {
            Ok(p) => Some(p),
            Err(e) => {
                let message = format!("pidfile {}: {e}", path.display());
                readiness.failed(&message);
                log::error!("{message}");
                return ExitCode::FAILURE;
            }
        },
        (None, false) => Pidfile::create(std::path::Path::new("/run/recvstats.pid"))
            .inspect_err(|e| log::warn!("no pidfile at /run/recvstats.pid: {e}"))
            .ok(),
        (None, true) => None,
    };
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            readiness.failed(&format!("signal handlers: {e}"));
            log::error!("signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&options, &signals, &mut readiness) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
