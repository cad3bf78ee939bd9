//! sendstats: the node daemon that sends this node's status to recvstats.
//!
//! Everything but the exit status lives in `beostat::send`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap prints its own errors (exit status 2) and --help/--version (0).
    let args = beostat::send::Args::parse();
    match beostat::send::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sendstats: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
