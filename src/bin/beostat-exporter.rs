//! beostat-exporter: serves the cluster's status and recvstats' counters
//! at /metrics in the Prometheus text format. See `beostat-exporter --help`
//! and docs/COMMANDS.md for the metric names.

use beostat::cmd::cli::ExporterArgs as Args;
use beostat::cmd::metrics::{self, Options};
use beostat::cmd::{self, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::Parser;
use std::process::ExitCode;

const PROGRAM: &str = "beostat-exporter";

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
