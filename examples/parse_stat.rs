//! Parses the load generator's condensed /proc/stat texts (one of each CPU
//! count, 1 to 256: the mix of the network benchmarks) in a loop, through
//! the fast path or the general one, for instruction counts:
//!
//!     cargo build --release --example parse_stat
//!     valgrind --tool=callgrind target/release/examples/parse_stat fast 200
//!     valgrind --tool=callgrind target/release/examples/parse_stat general 200
//!
//! Arguments: `fast` (`stat::parse_bytes_into`, what recvstats runs),
//! `str` (`stat::parse_into`) or `general` (`stat::parse_into_general`, the
//! byte-at-a-time reference), then the rounds (each parses the 12 texts).
//! Prints the bytes and numbers parsed per round.

use beostat::collect::Status;
use beostat::loadgen::payload::{texts, NodeShape, CPU_COUNTS};
use beostat::proc::{stat, Stat};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "fast".into());
    let rounds: u32 = args.next().map_or(100, |r| r.parse().expect("rounds"));
    let mut raw = String::new();
    let inputs: Vec<String> = (0..CPU_COUNTS.len() as i32)
        .map(|node| {
            let mut out = Status::default();
            texts(&NodeShape::of(node), 3, false, &mut raw, &mut out);
            out.stat
        })
        .collect();
    let bytes: usize = inputs.iter().map(String::len).sum();
    let numbers: usize = inputs
        .iter()
        .map(|t| t.split_ascii_whitespace().count())
        .sum();
    let mut out = Stat::default();
    let mut cpus = 0;
    for _ in 0..rounds {
        for text in &inputs {
            let text = black_box(text.as_str());
            match path.as_str() {
                "fast" => stat::parse_bytes_into(text.as_bytes(), &mut out),
                "str" => stat::parse_into(text, &mut out),
                "general" => stat::parse_into_general(text, &mut out),
                other => panic!("unknown path {other}: fast, str or general"),
            }
            .expect("parses");
            cpus += out.cpu_count;
        }
    }
    println!(
        "{path}: {rounds} rounds of {} texts, {bytes} bytes and {numbers} fields (labels included) per round, {cpus} CPUs",
        inputs.len()
    );
}
