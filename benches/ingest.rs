//! Cost of one datagram in recvstats' pipeline, without the network:
//! decode, parse every section, publish into the shm files
//! (`Ingest::datagram`), on the load generator's realistic reports.
//!
//! `cargo bench --bench ingest`. Inputs: one node of each CPU count the
//! load generator simulates, and the mix of all of them (57 CPUs and
//! 4.1 KB per datagram on average, as in the network benchmarks).

use beostat::loadgen::payload::{Pool, PoolOptions, CPU_COUNTS};
use beostat::protocol::decode;
use beostat::recv::ingest::Ingest;
use beostat::recv::nodemap::NodeMap;
use beostat::shm::{ShmWriter, WriterOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

const NODES: u32 = 1200;

fn ingest(c: &mut Criterion) {
    let dir = tempfile::Builder::new()
        .prefix("beostat-bench-ingest")
        .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .unwrap();
    let mut options = WriterOptions::new(dir.path());
    options.node_capacity = NODES;
    let writer = ShmWriter::open(&options).unwrap();
    let mut ingest = Ingest::new(writer, NodeMap::default());
    let pool = Pool::build(&PoolOptions {
        nodes: NODES,
        first_node: 0,
        variants: 4,
        max_bytes: usize::MAX,
    })
    .unwrap();
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let arena = pool.arena();
    for index in 0..pool.full_datagrams() {
        ingest.datagram(&arena[pool.full(index)], source, 1);
    }
    let mut time = 2u64;

    let mut group = c.benchmark_group("ingest");
    for (shape, cpus) in CPU_COUNTS.iter().enumerate() {
        if ![1, 16, 64, 256].contains(cpus) {
            continue;
        }
        let node = shape as u32;
        let bytes = pool.dynamic(0, node).len();
        group.throughput(Throughput::Bytes(bytes as u64));
        let mut round = 0u64;
        group.bench_function(format!("datagram {cpus} CPUs ({bytes} B)"), |b| {
            b.iter(|| {
                round += 1;
                time += 1_000_000_000;
                let range = pool.dynamic(round, node);
                black_box(ingest.datagram(&arena[range], source, time))
            })
        });
        group.bench_function(format!("decode only {cpus} CPUs"), |b| {
            b.iter(|| black_box(decode(&arena[pool.dynamic(round, node)]).is_ok()))
        });
    }
    let average = pool.dynamic_average();
    group.throughput(Throughput::Elements(1));
    let mut next = 0u64;
    group.bench_function(
        format!("datagram, mix of {NODES} nodes ({average} B average)"),
        |b| {
            b.iter(|| {
                next += 1;
                time += 1_000;
                let range = pool.dynamic(next / u64::from(NODES), (next % u64::from(NODES)) as u32);
                black_box(ingest.datagram(&arena[range], source, time))
            })
        },
    );
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
