//! beostatus: a monitor of the cluster's nodes (CPU per CPU, memory, swap,
//! disk, network), as a refreshing terminal view or as one-shot text. See
//! `beostatus --help` and docs/COMMANDS.md.

use beostat::cmd::table::{self, NodeRow};
use beostat::cmd::{self, credentials, tui, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::{ArgAction, Parser};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const PROGRAM: &str = "beostatus";

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
struct Args {
    /// Seconds between refreshes.
    #[arg(short = 'i', long = "interval", value_name = "SECS", default_value_t = 2.0,
          value_parser = positive_seconds)]
    interval: f64,
    /// One coloured cell per node instead of the Classic table.
    #[arg(short = 'c', long = "compact")]
    compact: bool,
    /// Print the view once as plain text (no terminal control codes) and exit.
    #[arg(short = '1', long = "once")]
    once: bool,
    /// One column per CPU up to this many CPUs; more show count, mean and max.
    #[arg(long = "cpu-columns", value_name = "N", default_value_t = 8)]
    cpu_columns: usize,
    /// Directory of the shared-memory files [default: $BEOSTAT_SHM_DIR, else /var/shm].
    #[arg(long = "shm-dir", value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        _ => Err("expected seconds, more than 0 and at most 86400".into()),
    }
}

fn run(args: Args) -> beostat::Result<()> {
    let reader = Reader::new(args.shm_dir.unwrap_or_else(default_dir));
    let (uid, gids) = credentials();
    let rows = |snapshot: &Snapshot| -> Vec<NodeRow> {
        table::rows(snapshot, |node| {
            reader.is_available(node, uid, &gids).unwrap_or(false)
        })
    };
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
    };
    tui::run(&reader, options, rows)
}

fn main() -> ExitCode {
    cmd::exit(PROGRAM, run(Args::parse()))
}
