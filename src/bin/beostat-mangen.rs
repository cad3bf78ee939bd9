//! beostat-mangen: writes the man pages of the beostat commands into a
//! directory, rendered from the same clap definitions that print `--help`,
//! so a page cannot drift from its command.
//!
//! ```sh
//! beostat-mangen OUTDIR        # OUTDIR/recvstats.8, OUTDIR/sendstats.8, ...
//! ```
//!
//! `make man` runs it (the RPM build too); it is a build tool, not installed.
//! A page is clap_mangen's NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then the
//! command's `after_help` (as NOTES), then the hand-written sections the
//! command's `cli` module keeps next to its definition (`MAN_SECTIONS`).
//! libbeostat(3) is not a command: it is written by hand in `man/`.

use beostat::{cmd, recv, send};
use clap_mangen::Man;
use roff::{bold, roman, Roff};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One man page: a command's clap definition, the section it goes in, and
/// its extra (heading, text) sections.
struct Page {
    section: &'static str,
    command: fn() -> clap::Command,
    extra: &'static [(&'static str, &'static str)],
    /// An interactive command's keys (a KEYS section), as its help lists them.
    keys: &'static [(&'static str, &'static str)],
}

/// Every page this tool writes. A command gets a page by moving its clap
/// `Parser` into the library (as `src/recv/cli.rs` does) with a
/// `pub fn command() -> clap::Command`, and adding one line here.
const PAGES: &[Page] = &[
    Page {
        section: "8",
        command: recv::cli::command,
        extra: recv::cli::MAN_SECTIONS,
        keys: &[],
    },
    Page {
        section: "8",
        command: send::cli::command,
        extra: send::cli::MAN_SECTIONS,
        keys: &[],
    },
    Page {
        section: "1",
        command: cmd::cli::BeostatArgs::command,
        extra: &[("FILES", "SHM-DIR/beostat and SHM-DIR/beostat.nodes, written by recvstats(8). The JSON schema is described in docs/COMMANDS.md.")],
        keys: &[],
    },
    Page {
        section: "1",
        command: cmd::cli::BeostatusArgs::command,
        extra: &[("FILES", "SHM-DIR/beostat and SHM-DIR/beostat.nodes, written by recvstats(8).")],
        keys: cmd::tui::keys::KEYS,
    },
    Page {
        section: "8",
        command: cmd::cli::ExporterArgs::command,
        extra: &[("FILES", "SHM-DIR/beostat and SHM-DIR/beostat.nodes, written by recvstats(8). Metric names are described in docs/COMMANDS.md.")],
        keys: &[],
    },
];

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [out_dir] = args.as_slice() else {
        eprintln!("usage: beostat-mangen OUTDIR");
        return ExitCode::from(2);
    };
    match write_pages(out_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beostat-mangen: {}: {e}", out_dir.display());
            ExitCode::FAILURE
        }
    }
}

fn write_pages(out_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    for page in PAGES {
        let command = (page.command)();
        let path = out_dir.join(format!("{}.{}", command.get_name(), page.section));
        std::fs::write(&path, render(page, command)?)?;
        println!("{}", path.display());
    }
    Ok(())
}

fn render(page: &Page, command: clap::Command) -> std::io::Result<Vec<u8>> {
    let version = command.get_version().unwrap_or_default().to_owned();
    let after_help = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(|text| text.to_string());
    let manual = match page.section {
        "1" => "User Commands",
        "8" => "System Administration",
        _ => "Beostat",
    };
    let man = Man::new(command)
        .section(page.section)
        .date(build_date())
        .source(format!("beostat {version}"))
        .manual(manual);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut roff = Roff::new();
    if let Some(text) = after_help {
        help_text_section(&mut roff, "NOTES", &text);
    }
    if !page.keys.is_empty() {
        keys_section(&mut roff, page.keys);
    }
    for (heading, text) in page.extra {
        extra_section(&mut roff, heading, text);
    }
    roff.to_writer(&mut out)?;
    Ok(out)
}

/// The page date: `$SOURCE_DATE_EPOCH` (reproducible builds; `make` sets
/// it from the last commit) or now, as YYYY-MM-DD.
fn build_date() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let (year, month, day) = civil_date(seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01),
/// by Howard Hinnant's `civil_from_days`.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `after_help` text as a section: blocks separated by blank lines become
/// paragraphs (filled, since the help text is wrapped for a terminal), and
/// a block whose first line is an unindented `Heading:` becomes a
/// subsection.
fn help_text_section(roff: &mut Roff, heading: &str, text: &str) {
    roff.control("SH", [heading]);
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut lines: Vec<&str> = block.lines().collect();
        let first = lines[0];
        if lines.len() > 1 && !first.starts_with(' ') && first.ends_with(':') {
            roff.control("SS", [first.trim_end_matches(':')]);
            lines.remove(0);
        } else {
            roff.control("PP", [] as [&str; 0]);
        }
        for line in lines {
            roff.text([roman(line.trim())]);
        }
    }
}

/// A hand-written section: paragraphs separated by blank lines, and each
/// line break kept (so lists of files stay one per line).
fn extra_section(roff: &mut Roff, heading: &str, text: &str) {
    roff.control("SH", [heading]);
    for paragraph in text.split("\n\n") {
        roff.control("PP", [] as [&str; 0]);
        for (n, line) in paragraph.lines().enumerate() {
            if n > 0 {
                roff.control("br", [] as [&str; 0]);
            }
            roff.text([roman(line.trim())]);
        }
    }
}

/// A KEYS section: one tagged paragraph per row of the command's key
/// table, arrows spelled out (man pages are read on any terminal).
fn keys_section(roff: &mut Roff, keys: &[(&str, &str)]) {
    roff.control("SH", ["KEYS"]);
    for (names, what) in keys {
        let names = names
            .replace('↑', "Up")
            .replace('↓', "Down")
            .replace('←', "Left")
            .replace('→', "Right");
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold(names.as_str())]);
        roff.text([roman(*what)]);
    }
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(19_782), (2024, 2, 29));
        assert_eq!(civil_date(20_454), (2026, 1, 1));
    }
}
