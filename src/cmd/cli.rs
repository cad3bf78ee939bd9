//! The commands' command lines (clap definitions), shared by their
//! binaries and by beostat-mangen, so the man pages are rendered from the
//! same definitions as `--help` and never drift from it.

use super::select::Selection;
use clap::{ArgAction, CommandFactory, Parser};
use std::path::PathBuf;

/// Show the status the cluster's nodes last reported (from the shared-memory
/// files recvstats writes). With no source option, every source is shown;
/// with no --node, every node that has reported, the master (-1) first.
#[derive(Parser, Debug)]
#[command(
    name = "beostat",
    version,
    disable_version_flag = true,
    after_help = "Nodes that stopped reporting are shown as down, with the age of \
                  their last report and that report's data.\n\
                  The JSON schema: /usr/share/doc/beostat/COMMANDS.md."
)]
pub struct BeostatArgs {
    /// CPU count and clock (/proc/cpuinfo).
    #[arg(short = 'c', long = "cpuinfo")]
    pub cpuinfo: bool,
    /// Memory and swap (/proc/meminfo).
    #[arg(short = 'm', long = "meminfo")]
    pub meminfo: bool,
    /// Load averages (/proc/loadavg).
    #[arg(short = 'l', long = "loadavg")]
    pub loadavg: bool,
    /// Network interfaces (/proc/net/dev).
    #[arg(long = "net", alias = "netdev")]
    pub net: bool,
    /// Per-CPU time counters and use (/proc/stat).
    #[arg(short = 's', long = "stat")]
    pub stat: bool,
    /// Root filesystem size and use (statfs).
    #[arg(short = 'd', long = "disk")]
    pub disk: bool,
    /// Nodes to show: N, FIRST-LAST, `master` (or -1), comma lists; repeatable.
    #[arg(
        short = 'n',
        long = "node",
        short_alias = 'N',
        value_name = "NODES",
        allow_hyphen_values = true,
        value_parser = Selection::parse,
        action = ArgAction::Append
    )]
    pub nodes: Vec<Selection>,
    /// Print JSON (one documented schema, "beostat/1") instead of text.
    #[arg(long = "json")]
    pub json: bool,
    /// Print byte quantities as exact numbers instead of KiB/MiB/GiB.
    #[arg(short = 'b', long = "bytes")]
    pub bytes: bool,
    /// Directory of the shared-memory files [default: $BEOSTAT_SHM_DIR, else /var/shm].
    #[arg(long = "shm-dir", value_name = "DIR")]
    pub shm_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
}

impl BeostatArgs {
    /// The clap command (for man pages).
    pub fn command() -> clap::Command {
        <Self as CommandFactory>::command()
    }
}

/// Monitor the cluster: one row per node (Node, Up, State, CPU use per CPU,
/// memory, swap, disk, network), refreshed every interval; or a compact grid
/// with one coloured cell per node for large clusters.
#[derive(Parser, Debug)]
#[command(
    name = "beostatus",
    version,
    disable_version_flag = true,
    after_help = "Keys: ? or h lists every key. Enter: the node's detail (a bar per CPU, \
                  memory, disk, interface rates). /: filter (node lists like 0-15,32, up, \
                  down, part of a host name). s: sort by node, CPU, load, memory, network; \
                  S: reverse. c: classic/compact. r: refresh. q: quit. Mouse: the wheel \
                  moves, a click selects, a second click opens the detail.\n\
                  Up: the node is up and you may use it. Memory: held by programs \
                  (buffers and cache excluded).\n\
                  Nodes that stopped reporting keep their last data, greyed out, \
                  with State `down AGE`. Columns that do not fit the terminal are left \
                  out whole. With NO_COLOR set, states are told by characters."
)]
pub struct BeostatusArgs {
    /// Seconds between refreshes.
    #[arg(short = 'i', long = "interval", value_name = "SECS", default_value_t = 2.0,
          value_parser = positive_seconds)]
    pub interval: f64,
    /// One coloured cell per node instead of the Classic table.
    #[arg(short = 'c', long = "compact")]
    pub compact: bool,
    /// Print the view once as plain text (no terminal control codes) and exit.
    #[arg(short = '1', long = "once")]
    pub once: bool,
    /// One column per CPU up to this many CPUs; more show count, mean and max.
    #[arg(long = "cpu-columns", value_name = "N", default_value_t = 8)]
    pub cpu_columns: usize,
    /// Directory of the shared-memory files [default: $BEOSTAT_SHM_DIR, else /var/shm].
    #[arg(long = "shm-dir", value_name = "DIR")]
    pub shm_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
}

impl BeostatusArgs {
    /// The clap command (for man pages).
    pub fn command() -> clap::Command {
        <Self as CommandFactory>::command()
    }
}

/// Seconds, more than 0 and at most a day.
pub fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        _ => Err("expected seconds, more than 0 and at most 86400".into()),
    }
}

/// Serve node status and recvstats' counters at http://ADDRESS/metrics in
/// the Prometheus text format (or OpenMetrics, gzipped, when the scraper
/// asks), read from the shared-memory files on each scrape.
#[derive(Parser, Debug)]
#[command(
    name = "beostat-exporter",
    version,
    disable_version_flag = true,
    after_help = "Prints `beostat-exporter: listening on http://HOST:PORT/metrics` on \
                  stderr once it serves (port 0 picks a free port). \
                  `/` links the pages; `/web` is a live view of the cluster for a \
                  browser; `/-/healthy` and `/-/ready` are for probes.\n\
                  Listens on loopback unless told otherwise: `--listen :9304` serves \
                  every address.\n\
                  Metric names and their node_exporter counterparts: \
                  /usr/share/doc/beostat/COMMANDS.md."
)]
pub struct ExporterArgs {
    /// Address to listen on: HOST:PORT, [V6]:PORT, or :PORT for every address.
    #[arg(
        short = 'l',
        long = "listen",
        alias = "web.listen-address",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:9304"
    )]
    pub listen: String,
    /// One beostat_node_cpu_seconds_total series per CPU (a `cpu` label)
    /// instead of each node's sum over its CPUs.
    #[arg(long = "per-cpu")]
    pub per_cpu: bool,
    /// Sum CPU seconds over each node's CPUs (the default; kept for old
    /// command lines).
    #[arg(long = "no-per-cpu", hide = true, conflicts_with = "per_cpu")]
    pub no_per_cpu: bool,
    /// Connections open at once; more are closed as they arrive.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Scrapes read and formatted at once; more wait their turn.
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_requests: u32,
    /// Seconds a connection may wait for a request's head (an idle
    /// connection, new or kept alive, is closed after this long).
    #[arg(long = "web.read-timeout", value_name = "SECS", default_value_t = 10.0,
          value_parser = positive_seconds)]
    pub read_timeout: f64,
    /// TLS and basic auth, in the file format of Prometheus's exporter-toolkit
    /// (tls_server_config, basic_auth_users with bcrypt hashes).
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Seconds a reply may wait on a client that does not read.
    #[arg(long = "web.write-timeout", value_name = "SECS", default_value_t = 60.0,
          value_parser = positive_seconds)]
    pub write_timeout: f64,
    /// Directory of the shared-memory files [default: $BEOSTAT_SHM_DIR, else /var/shm].
    #[arg(long = "shm-dir", value_name = "DIR")]
    pub shm_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
}

impl ExporterArgs {
    /// The clap command (for man pages).
    pub fn command() -> clap::Command {
        <Self as CommandFactory>::command()
    }
}
