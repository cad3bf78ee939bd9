//! beostat: what the master and every node last reported from cpuinfo,
//! meminfo, loadavg, net/dev and stat, as text or JSON. See `beostat --help`
//! and docs/COMMANDS.md.

use beostat::cmd::cli::BeostatArgs as Args;
use beostat::cmd::format::Units;
use beostat::cmd::select::Selection;
use beostat::cmd::text::Sections;
use beostat::cmd::{self, json, text, Snapshot};
use beostat::shm::{default_dir, Reader};
use clap::Parser;
use std::process::ExitCode;

const PROGRAM: &str = "beostat";

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
