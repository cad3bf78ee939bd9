//! Keeps the call benchmark working: c-tests/bench_calls.c must compile with
//! -Werror against the header and run clean on a small fixture written by
//! examples/bench_fixture.rs. Nothing is timed here; scripts/bench-calls.sh
//! runs the real benchmark (docs/PERFORMANCE.md).

#[allow(dead_code)]
#[path = "../examples/bench_fixture.rs"]
mod bench_fixture;
mod common;

#[test]
fn the_call_benchmark_runs_every_call_without_an_error() {
    let program = common::compile("bench_calls");
    let dir = tempfile::tempdir().unwrap();
    bench_fixture::run(dir.path().to_owned(), 40, 4).unwrap();
    let output = common::run(&program, dir.path(), &["-n", "1000", "-r", "1"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench_calls: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for row in [
        "steady\tbeostat_get_loadavg\t",
        "steady\tbeostat_get_meminfo\t",
        "steady\tbeostat_get_cpu_percent\t",
        "sweep\tbeostat_get_net_dev\t40\t",
        "sweep\tbeostat_get_cpu_percent\t160\t",
        "sweep\tall_calls_per_node\t40\t",
        "cluster\tbeostat_count_idle_cpus\t",
        "cluster\tbeostat_get_avail_nodes_by_id+free\t",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
}
