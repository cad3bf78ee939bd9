//! beostat-exporter: serves the cluster's status and recvstats' counters
//! at /metrics in the Prometheus text format. See `beostat-exporter --help`
//! and docs/COMMANDS.md for the metric names.

use beostat::cmd::metrics::{self, Options};
use beostat::cmd::{self, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::{ArgAction, Parser};
use std::path::PathBuf;
use std::process::ExitCode;

const PROGRAM: &str = "beostat-exporter";

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
                  Metric names: docs/COMMANDS.md."
)]
struct Args {
    /// Address to listen on, HOST:PORT.
    #[arg(
        short = 'l',
        long = "listen",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:9304"
    )]
    listen: String,
    /// Sum CPU seconds over each node's CPUs instead of one series per CPU.
    #[arg(long = "no-per-cpu")]
    no_per_cpu: bool,
    /// Directory of the shared-memory files [default: $BEOSTAT_SHM_DIR, else /var/shm].
    #[arg(long = "shm-dir", value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
}

fn run(args: Args) -> beostat::Result<()> {
    let reader = Reader::new(args.shm_dir.unwrap_or_else(default_dir));
    // Refuse to start on files that cannot be read, with their error.
    Snapshot::read(&reader)?;
    let server = metrics::bind(&args.listen)?;
    cmd::log(
        PROGRAM,
        format_args!("listening on {}", metrics::metrics_url(&server)),
    );
    let options = Options {
        per_cpu: !args.no_per_cpu,
    };
    metrics::serve(PROGRAM, &server, &reader, options);
    Ok(())
}

fn main() -> ExitCode {
    cmd::exit(PROGRAM, run(Args::parse()))
}
