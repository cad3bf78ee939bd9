//! recvstats' per-datagram pipeline allocates nothing in steady state:
//! `Ingest::datagram` on dynamic reports of nodes already seen, counted by
//! a global allocator that counts.

use beostat::loadgen::payload::{Pool, PoolOptions};
use beostat::recv::ingest::{Ingest, Outcome};
use beostat::recv::nodemap::NodeMap;
use beostat::shm::{ShmWriter, WriterOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_ingest_allocates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = WriterOptions::new(dir.path());
    options.node_capacity = 48;
    let writer = ShmWriter::open(&options).unwrap();
    let mut ingest = Ingest::new(writer, NodeMap::default());
    // 48 nodes: every CPU count from 1 to 256 and 2 to 6 interfaces.
    let pool = Pool::build(&PoolOptions {
        nodes: 48,
        first_node: 0,
        variants: 3,
        max_bytes: usize::MAX,
    })
    .unwrap();
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let arena = pool.arena();
    for index in 0..pool.full_datagrams() {
        ingest.datagram(&arena[pool.full(index)], source, 1);
    }
    // One round to let the reused buffers grow to the largest node.
    for node in 0..48 {
        ingest.datagram(&arena[pool.dynamic(0, node)], source, 2);
    }

    COUNTING.store(true, Ordering::Relaxed);
    let mut accepted = 0;
    for round in 1..=30u64 {
        for node in 0..48 {
            let outcome = ingest.datagram(&arena[pool.dynamic(round, node)], source, 2 + round);
            accepted += u32::from(matches!(outcome, Outcome::Accepted { .. }));
        }
    }
    COUNTING.store(false, Ordering::Relaxed);

    assert_eq!(accepted, 30 * 48);
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "allocations in 1,440 steady-state datagrams"
    );
}
