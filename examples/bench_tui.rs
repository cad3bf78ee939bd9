//! Times beostatus's work per refresh on a large cluster, in-process:
//! taking a read into the screen (`Screen::update`: rows, interface rates)
//! and drawing one frame of each view into ratatui's `TestBackend` (so no
//! terminal I/O is counted).
//!
//!     cargo run --release --example bench_fixture -- DIR
//!     cargo run --release --example bench_tui -- DIR [ITERATIONS]
//!
//! Prints medians of ITERATIONS (default 20) after one warm-up, for a
//! 200x60 terminal.

use beostat::cmd::tui::app::SortKey;
use beostat::cmd::tui::filter::Filter;
use beostat::cmd::tui::{draw, Options, Screen};
use beostat::cmd::Snapshot;
use beostat::shm::Reader;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Turns the screen into the view to draw.
type SetUp = fn(&mut Screen);

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// Median milliseconds of `iterations` runs of `work`, after one warm-up.
fn time(iterations: usize, mut work: impl FnMut()) -> f64 {
    work();
    let times = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    median(times)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(iterations)) = (
        args.first(),
        args.get(1)
            .map_or(Some(20), |n| n.parse::<usize>().ok().filter(|&n| n > 0)),
    ) else {
        eprintln!("usage: bench_tui DIR [ITERATIONS]");
        return ExitCode::from(2);
    };
    let reader = Reader::new(dir);
    let snapshot = match Snapshot::read(&reader) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench_tui: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut screen = Screen::new(&Options {
        interval: Duration::from_secs(2),
        compact: false,
        cpu_columns: 8,
        colour: true,
    });
    let update = time(iterations, || screen.update(&snapshot, |_| true));
    println!(
        "nodes {}\tScreen::update {update:.1} ms",
        snapshot.nodes.len()
    );

    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let views: [(&str, SetUp); 5] = [
        ("classic, node order", |_| {}),
        ("classic, sorted by CPU", |s| s.sort_by(SortKey::Cpu)),
        ("classic, filter 5000-5999 up", |s| {
            s.set_filter(Filter::parse("5000-5999 up"))
        }),
        ("compact grid", |s| s.compact = true),
        ("detail of one node", |s| s.detail = Some(5000)),
    ];
    for (name, set_up) in views {
        let mut view = screen.clone();
        set_up(&mut view);
        let frame = time(iterations, || {
            terminal.draw(|f| draw(f, &view)).unwrap();
        });
        println!("{name}\tdraw {frame:.1} ms");
    }
    ExitCode::SUCCESS
}
