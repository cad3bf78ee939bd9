//! Times the two halves of an exporter scrape in-process, without HTTP:
//! reading every node from the shm files (`Snapshot::read`) and formatting
//! the Prometheus text into a reused `String` (`metrics::render`).
//!
//!     cargo run --release --example bench_scrape -- DIR [ITERATIONS]
//!
//! DIR holds files written by `examples/bench_fixture.rs` (see
//! scripts/bench-exporter.sh, which runs both). Prints medians of
//! ITERATIONS (default 20) after one warm-up, per-CPU and summed.

use beostat::cmd::metrics::{render, Options};
use beostat::cmd::Snapshot;
use beostat::shm::Reader;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(iterations)) = (
        args.first(),
        args.get(1)
            .map_or(Some(20), |n| n.parse::<usize>().ok().filter(|&n| n > 0)),
    ) else {
        eprintln!("usage: bench_scrape DIR [ITERATIONS]");
        return ExitCode::from(2);
    };
    let reader = Reader::new(dir);
    let mut body = String::new();
    for per_cpu in [true, false] {
        let options = Options {
            per_cpu,
            ..Options::default()
        };
        let (mut reads, mut formats) = (Vec::new(), Vec::new());
        for i in 0..=iterations {
            let started = Instant::now();
            let snapshot = match Snapshot::read(&reader) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("bench_scrape: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let read = started.elapsed();
            body.clear();
            render(&mut body, &snapshot, options, Some(true), started);
            let format = started.elapsed() - read;
            if i > 0 {
                reads.push(read);
                formats.push(format);
            }
        }
        println!(
            "{}\tnodes {}\tread {:.1} ms\tformat {:.1} ms\tbody {:.1} MB\tsamples {}",
            if per_cpu { "per-cpu" } else { "no-per-cpu" },
            reader.nodes().map_or(0, |n| n.len()),
            median(reads),
            median(formats),
            body.len() as f64 / 1e6,
            body.lines().filter(|l| !l.starts_with('#')).count(),
        );
    }
    ExitCode::SUCCESS
}
