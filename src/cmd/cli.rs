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
    after_help = "Keys: q quit, c classic/compact, arrows/PgUp/PgDn/Home/End scroll, r refresh.\n\
                  Up: the node is up and you may use it. Memory: held by programs \
                  (buffers and cache excluded).\n\
                  Nodes that stopped reporting keep their last data, greyed out, \
                  with State `down AGE`."
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
/// the Prometheus text format, read from the shared-memory files on each
/// scrape.
#[derive(Parser, Debug)]
#[command(
    name = "beostat-exporter",
    version,
    disable_version_flag = true,
    after_help = "Prints `beostat-exporter: listening on http://HOST:PORT/metrics` on \
                  stderr once it serves (port 0 picks a free port).\n\
                  Metric names: /usr/share/doc/beostat/COMMANDS.md."
)]
pub struct ExporterArgs {
    /// Address to listen on, HOST:PORT.
    #[arg(
        short = 'l',
        long = "listen",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:9304"
    )]
    pub listen: String,
    /// Sum CPU seconds over each node's CPUs instead of one series per CPU.
    #[arg(long = "no-per-cpu")]
    pub no_per_cpu: bool,
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
