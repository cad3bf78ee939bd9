//! The load generator and the recvstats benchmarks still build and run
//! (scripts/bench-ingest.sh makes the numbers; this only checks, on a tiny
//! cluster for a fraction of a second, that every measurement works end to
//! end against the real recvstats and bare loop).

use std::process::Command;

fn loadgen(args: &[&str]) -> String {
    let work = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_beostat-loadgen"))
        .args(args)
        .args(["--recvstats", env!("CARGO_BIN_EXE_recvstats"), "--work-dir"])
        .arg(work.path())
        .output()
        .expect("run beostat-loadgen");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "beostat-loadgen {args:?}: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn ingest_sweep_finds_a_lossless_rate_for_both_receivers() {
    let out = loadgen(&[
        "ingest",
        "--nodes",
        "24",
        "--seconds",
        "0.3",
        "--start",
        "500",
        "--step",
        "2",
        "--max",
        "1000",
        "--repeats",
        "1",
    ]);
    let rate = |name: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("| {name} | ")) && l.contains("/s |"))
            .unwrap_or_else(|| panic!("no summary for {name}:\n{out}"));
        line.split('|')
            .nth(2)
            .unwrap()
            .trim()
            .trim_end_matches("/s")
            .parse()
            .unwrap()
    };
    assert!(rate("recvstats") >= 400.0, "{out}");
    assert!(rate("bare loop") >= 400.0, "{out}");
}

#[test]
fn cost_latency_and_memory_run() {
    let cost = loadgen(&[
        "cost",
        "--nodes",
        "24",
        "--rates",
        "300",
        "--seconds",
        "0.3",
        "--repeats",
        "1",
    ]);
    assert!(cost.contains("| 300/s | recvstats | 1 |"), "{cost}");
    let latency = loadgen(&[
        "latency",
        "--nodes",
        "24",
        "--rate",
        "240",
        "--seconds",
        "0.5",
        "--stride",
        "1",
    ]);
    assert!(latency.contains("visible to a reader"), "{latency}");
    let memory = loadgen(&["memory", "--nodes", "24"]);
    assert!(
        memory.lines().any(|l| l.starts_with("| 24 | 25 |")),
        "{memory}"
    );
}
