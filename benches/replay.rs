//! What replay protection costs recvstats per signed datagram: the MAC and
//! window check (`auth::Verifier::check`) of a typical signed report, and
//! the window bookkeeping alone, with the windows in memory and in the
//! memory-mapped state file (`recv::replay_store`, issue 14).
//!
//! `cargo bench --bench replay`. Numbers: docs/PERFORMANCE.md.

use beostat::auth::{Key, ReplayState, Verifier, Window};
use beostat::collect::{Source, Status};
use beostat::protocol::{decode, encode_report, Encoder, Header, FLAG_AUTH, MAX_DATAGRAM};
use beostat::recv::replay_store::ReplayStore;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

const NODES: usize = 1000;

/// The windows of `NODES` nodes, each advanced by one datagram per call.
fn advance(state: &mut dyn ReplayState, round: u64) {
    for node in 0..NODES {
        let mut window = state.window(node);
        let fresh = window.accept(1_000 + round, 1_000 + round);
        state.set_window(node, black_box(window));
        black_box(fresh);
    }
}

fn replay(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay window (1000 nodes a round)");
    let mut memory: Vec<Window> = Vec::new();
    let mut round = 0;
    group.bench_function("in memory", |b| {
        b.iter(|| {
            round += 1;
            advance(&mut memory, round)
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let mut file = ReplayStore::open(dir.path(), None, true, 65536).unwrap();
    let mut round = 0;
    group.bench_function("in the state file", |b| {
        b.iter(|| {
            round += 1;
            advance(&mut file, round)
        })
    });
    group.finish();

    // A typical signed dynamic report (the 8-CPU sample: one datagram).
    let key = Key::new(b"a-cluster-secret-of-enough-bytes").unwrap();
    let source = Source {
        proc_root: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/proc/x86_64-8cpu"),
        statfs_path: "/".into(),
    };
    let mut status = Status::default();
    source.read(false, &mut status);
    let report = status.report(Some(b"node0123.hpc.example.edu"), false);
    let now = beostat::shm::now_ns();
    let mut header = Header::status(7, now, now);
    header.flags |= FLAG_AUTH;
    let mut encoder = Encoder::new();
    encoder.set_limit(MAX_DATAGRAM);
    let mut datagram = Vec::new();
    encode_report(&mut encoder, &header, &report, Some(&key), |d| {
        datagram = d.to_vec()
    })
    .unwrap();
    let decoded = decode(&datagram).unwrap();
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let state_dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group(format!("check a {}-byte signed report", datagram.len()));
    for (name, state) in [
        (
            "windows in memory",
            Box::new(Vec::<Window>::new()) as Box<dyn ReplayState>,
        ),
        (
            "windows in the state file",
            Box::new(ReplayStore::open(state_dir.path(), None, true, 65536).unwrap()),
        ),
    ] {
        let mut verifier = Verifier::with_state(key.clone(), 300, state);
        // The first check accepts, every later one refuses the replay after
        // the MAC and the window: the same work.
        group.bench_function(name, |b| {
            b.iter(|| black_box(verifier.check(7, black_box(&decoded), from, now)))
        });
    }
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
