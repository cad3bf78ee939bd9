//! beostatus: a monitor of the cluster's nodes (CPU per CPU, memory, swap,
//! disk, network), as a refreshing terminal view or as one-shot text. See
//! `beostatus --help` and docs/COMMANDS.md.

use beostat::cmd::cli::BeostatusArgs as Args;
use beostat::cmd::table::{self, NodeRow};
use beostat::cmd::{self, credentials, tui, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

const PROGRAM: &str = "beostatus";

fn run(args: Args) -> beostat::Result<()> {
    let reader = Reader::new(args.shm_dir.unwrap_or_else(default_dir));
    let (uid, gids) = credentials();
    let available = |node| reader.is_available(node, uid, &gids).unwrap_or(false);
    let rows = |snapshot: &Snapshot| -> Vec<NodeRow> { table::rows(snapshot, available) };
    if args.once {
        let snapshot = Snapshot::read(&reader)?;
        let mut out = String::new();
        if args.compact {
            table::render_compact(&mut out, &rows(&snapshot));
        } else {
            table::render_classic(&mut out, &rows(&snapshot), args.cpu_columns);
        }
        return cmd::print(&out);
    }
    let options = tui::Options {
        interval: Duration::from_secs_f64(args.interval),
        compact: args.compact,
        cpu_columns: args.cpu_columns,
        colour: tui::colour_wanted(),
    };
    tui::run(&reader, options, available)
}

fn main() -> ExitCode {
    cmd::exit(PROGRAM, run(Args::parse()))
}
