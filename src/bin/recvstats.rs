//! recvstats: receive status from the cluster's nodes and publish it in the
//! shared-memory files libbeostat reads. See `recvstats --help` and
//! docs/RECVSTATS.md. The command line is `beostat::recv::cli`.

use beostat::daemon::{self, LogTarget, Pidfile, Readiness, Signals};
use beostat::recv::{cli::Args, run};
use clap::Parser;
use std::process::ExitCode;

const PROGRAM: &str = "recvstats";

fn main() -> ExitCode {
    let args = Args::parse();
    let foreground = args.foreground();
    daemon::init_logging(PROGRAM, LogTarget::Stderr, args.debug);
    let options = args.options();
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
        Ok(()) => {
            readiness.stopping();
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
