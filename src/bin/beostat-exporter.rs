//! beostat-exporter: serves the cluster's status and recvstats' counters
//! at /metrics for Prometheus. See `beostat-exporter --help` and
//! docs/COMMANDS.md for the options and the metric names.

use beostat::cmd::cli::ExporterArgs as Args;
use beostat::cmd::exporter::Exporter;
use beostat::cmd::http::web_config::WebConfig;
use beostat::cmd::http::{self, Limits, ServerStats};
use beostat::cmd::web::Web;
use beostat::cmd::{self, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const PROGRAM: &str = "beostat-exporter";

fn log(message: std::fmt::Arguments<'_>) {
    cmd::log(PROGRAM, message);
}

fn run(args: Args) -> beostat::Result<()> {
    let web = match &args.web_config_file {
        Some(path) => WebConfig::load(path)?,
        None => WebConfig {
            tls: None,
            auth: None,
        },
    };
    let shm_dir = args.shm_dir.unwrap_or_else(default_dir);
    let reader = Reader::new(shm_dir.clone());
    // Refuse to start on files that cannot be read, with their error.
    Snapshot::read(&reader)?;
    let limits = Limits {
        max_connections: args.max_connections as usize,
        header_read_timeout: Duration::from_secs_f64(args.read_timeout),
        write_timeout: Duration::from_secs_f64(args.write_timeout),
        ..Limits::default()
    };
    let open_files = http::raise_open_file_limit();
    if open_files < limits.max_connections as u64 + 64 {
        log(format_args!(
            "warning: {open_files} open files allowed (ulimit -n): fewer connections \
             than --web.max-connections {} will fit",
            limits.max_connections
        ));
    }
    let listener = http::bind(&args.listen)?;
    let address = listener
        .local_addr()
        .map_err(|e| beostat::Error::io("read the listening address", e))?;
    let scheme = if web.tls.is_some() { "https" } else { "http" };
    log(format_args!("listening on {scheme}://{address}/metrics"));
    let stats = Arc::new(ServerStats::default());
    let exporter = Exporter::new(
        PROGRAM,
        reader,
        args.per_cpu,
        args.max_requests as usize,
        stats.clone(),
    );
    let mut site = exporter.site();
    site.pages
        .extend(Web::new(Reader::new(shm_dir), args.max_requests as usize).pages());
    http::serve(
        listener,
        site,
        web,
        limits,
        stats,
        // Scrapes and as many web view reads, plus room for basic auth's
        // bcrypt checks beside them.
        2 * args.max_requests as usize + 2,
        log,
    )
}

fn main() -> ExitCode {
    cmd::exit(PROGRAM, run(Args::parse()))
}
