//! Throughput of each /proc parser on the samples in tests/data/proc, in
//! bytes of /proc text per second (criterion prints MiB/s).
//!
//! `cargo bench --bench parsers`. The raw samples are what the master's own
//! status (node -1) looks like; the `condensed` inputs are what a node's
//! report carries after sendstats condensed it (docs/PROTOCOL.md), the text
//! recvstats parses for every datagram.

use beostat::proc::{cpuinfo, loadavg, meminfo, netdev, stat, NetDevs, Stat};
use beostat::protocol::{condense_cpuinfo, condense_meminfo, condense_net_dev, condense_stat};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;

fn sample(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/proc")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn condensed(text: &str, condense: fn(&str, &mut String)) -> String {
    let mut out = String::new();
    condense(text, &mut out);
    out
}

fn parsers(c: &mut Criterion) {
    let mut group = c.benchmark_group("stat");
    for name in [
        "x86_64-8cpu/stat",
        "stat-256cpu-long-intr",
        "stat-offline-cpu-gap",
        "stat-linux-2.6.9-7fields",
    ] {
        let text = sample(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("parse {name}"), |b| {
            b.iter(|| stat::parse(black_box(&text)).unwrap())
        });
        let mut out = Stat::default();
        group.bench_function(format!("parse_into {name}"), |b| {
            b.iter(|| stat::parse_into(black_box(&text), &mut out).unwrap())
        });
        let small = condensed(&text, condense_stat);
        group.throughput(Throughput::Bytes(small.len() as u64));
        group.bench_function(format!("parse_into condensed {name}"), |b| {
            b.iter(|| stat::parse_into(black_box(&small), &mut out).unwrap())
        });
        group.bench_function(format!("parse_bytes_into condensed {name}"), |b| {
            b.iter(|| stat::parse_bytes_into(black_box(small.as_bytes()), &mut out).unwrap())
        });
        // The byte-at-a-time path alone, which every line went through
        // before the fast path.
        group.bench_function(format!("parse_into_general condensed {name}"), |b| {
            b.iter(|| stat::parse_into_general(black_box(&small), &mut out).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("net_dev");
    for name in [
        "x86_64-8cpu/net/dev",
        "netdev-40-interfaces",
        "netdev-colon-names-glued",
        "netdev-long-names",
    ] {
        let text = sample(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("parse {name}"), |b| {
            b.iter(|| netdev::parse(black_box(&text)).unwrap())
        });
        let mut out = NetDevs::default();
        group.bench_function(format!("parse_into {name}"), |b| {
            b.iter(|| netdev::parse_into(black_box(&text), &mut out).unwrap())
        });
        let small = condensed(&text, condense_net_dev);
        group.throughput(Throughput::Bytes(small.len() as u64));
        group.bench_function(format!("parse_into condensed {name}"), |b| {
            b.iter(|| netdev::parse_into(black_box(&small), &mut out).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("meminfo");
    for name in [
        "x86_64-8cpu/meminfo",
        "meminfo-linux-2.4",
        "meminfo-linux-2.2",
    ] {
        let text = sample(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("parse {name}"), |b| {
            b.iter(|| meminfo::parse(black_box(&text)).unwrap())
        });
        let small = condensed(&text, condense_meminfo);
        group.throughput(Throughput::Bytes(small.len() as u64));
        group.bench_function(format!("parse condensed {name}"), |b| {
            b.iter(|| meminfo::parse(black_box(&small)).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("loadavg");
    for name in ["x86_64-8cpu/loadavg", "loadavg-busy-pid-max"] {
        let text = sample(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("parse {name}"), |b| {
            b.iter(|| loadavg::parse(black_box(&text)).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("cpuinfo");
    for name in [
        "x86_64-8cpu/cpuinfo",
        "cpuinfo-variants/aarch64",
        "cpuinfo-variants/ppc64",
        "cpuinfo-variants/s390x",
    ] {
        let text = sample(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("parse {name}"), |b| {
            b.iter(|| cpuinfo::parse(black_box(&text)).unwrap())
        });
        let small = condensed(&text, condense_cpuinfo);
        group.throughput(Throughput::Bytes(small.len() as u64));
        group.bench_function(format!("parse condensed {name}"), |b| {
            b.iter(|| cpuinfo::parse(black_box(&small)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
