//! beostat: what the master and every node last reported from cpuinfo,
//! meminfo, loadavg, net/dev and stat, as text or JSON. See `beostat --help`
//! and docs/COMMANDS.md.

use beostat::cmd::format::Units;
use beostat::cmd::select::Selection;
use beostat::cmd::text::Sections;
use beostat::cmd::{self, json, text, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::{ArgAction, Parser};
use std::path::PathBuf;
use std::process::ExitCode;

const PROGRAM: &str = "beostat";

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
                  The JSON schema is described in docs/COMMANDS.md."
)]
struct Args {
    /// CPU count and clock (/proc/cpuinfo).
    #[arg(short = 'c', long = "cpuinfo")]
    cpuinfo: bool,
    /// Memory and swap (/proc/meminfo).
    #[arg(short = 'm', long = "meminfo")]
    meminfo: bool,
    /// Load averages (/proc/loadavg).
    #[arg(short = 'l', long = "loadavg")]
    loadavg: bool,
    /// Network interfaces (/proc/net/dev).
    #[arg(long = "net", visible_alias = "netdev")]
    net: bool,
    /// Per-CPU time counters and use (/proc/stat).
    #[arg(short = 's', long = "stat")]
    stat: bool,
    /// Root filesystem size and use (statfs).
    #[arg(short = 'd', long = "disk")]
    disk: bool,
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
    nodes: Vec<Selection>,
    /// Print JSON (one documented schema, "beostat/1") instead of text.
    #[arg(long = "json")]
    json: bool,
    /// Print byte quantities as exact numbers instead of KiB/MiB/GiB.
    #[arg(short = 'b', long = "bytes")]
    bytes: bool,
    /// Directory of the shared-memory files [default: $BEOSTAT_SHM_DIR, else /var/shm].
    #[arg(long = "shm-dir", value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
}

fn run(args: Args) -> beostat::Result<()> {
    let reader = Reader::new(args.shm_dir.unwrap_or_else(default_dir));
    let sections = Sections {
        cpuinfo: args.cpuinfo,
        meminfo: args.meminfo,
        loadavg: args.loadavg,
        net: args.net,
        stat: args.stat,
        disk: args.disk,
    }
    .or_all();
    let mut selection = Selection::default();
    for s in args.nodes {
        selection.extend(s);
    }
    let (snapshot, missing) = if selection.is_empty() {
        (Snapshot::read(&reader)?, Vec::new())
    } else {
        Snapshot::read_selected(&reader, &selection)?
    };
    let output = if args.json {
        json::render(&snapshot, sections)
    } else {
        let mut out = String::new();
        let units = if args.bytes {
            Units::Bytes
        } else {
            Units::Human
        };
        text::render(&mut out, &snapshot, sections, units);
        out
    };
    cmd::print(&output)?;
    // Nodes named on the command line that never reported: one line each,
    // after what could be shown; the last becomes the exit status.
    let mut last = None;
    for error in missing {
        if let Some(previous) = last.replace(error) {
            cmd::log(PROGRAM, previous);
        }
    }
    last.map_or(Ok(()), Err)
}

fn main() -> ExitCode {
    cmd::exit(PROGRAM, run(Args::parse()))
}
