//! A deterministic replay of recvstats' receive path, for instruction
//! counts (`beostat-loadgen replay`, run under `valgrind --tool=callgrind`
//! by scripts/bench-callgrind.sh, which compares the count per datagram
//! with the committed baseline).
//!
//! Live traffic makes the work per datagram depend on timing: how many
//! datagrams a wakeup finds. Here a wakeup finds exactly the number
//! recvstats' [`gather_window`] gathers at the simulated rate (5 at
//! 1,000/s, 10 at 10,000/s with the default `--batch-delay`): they are
//! queued on a loopback socket before the wakeup, then drained with
//! recvstats' own [`BatchReceiver`] and [`drain`] and ingested with
//! [`Ingest::datagram`], as `Daemon::drain` does. Once per simulated second
//! the expiry scan runs, as recvstats' timer does. Only [`replay_wakeup`]
//! and [`replay_second`] are counted (callgrind's `--toggle-collect`): the
//! kernel's side of the receive, the sends, the pool and the warm-up are
//! not. Neither is the wait itself (a `poll` or a sleep: a system call,
//! invisible to callgrind) nor the master's sampling of its own /proc every
//! 5 s (its instruction count depends on the machine it runs on).

use super::payload::{Pool, PoolOptions, Shape};
use super::{Error, Result};
use crate::recv::batch::{drain, gather_window, BatchReceiver, BATCH, DEFAULT_BATCH_DELAY};
use crate::recv::ingest::{Ingest, Outcome};
use crate::recv::nodemap::NodeMap;
use crate::shm::{now_ns, ShmWriter, WriterOptions};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::Path;

/// What to replay.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// Simulated nodes, reporting in turn.
    pub nodes: u32,
    /// Simulated datagrams per second.
    pub rate: f64,
    /// Simulated seconds.
    pub seconds: u32,
    /// Every node of this shape (`None`: the mix).
    pub shape: Option<Shape>,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Datagrams ingested in the counted part.
    pub datagrams: u64,
    /// Wakeups (drains) in the counted part.
    pub wakeups: u64,
    /// Datagrams per wakeup.
    pub per_wakeup: usize,
}

/// Replays `options` with the shm files in `dir` (a fresh directory).
pub fn run(options: &ReplayOptions, dir: &Path) -> Result<Replayed> {
    let nodes = options.nodes.max(1);
    let mut writer_options = WriterOptions::new(dir);
    writer_options.node_capacity = nodes;
    writer_options.max_nodes = writer_options.max_nodes.max(nodes);
    let writer = ShmWriter::open(&writer_options)?;
    let mut ingest = Ingest::new(writer, NodeMap::default());
    let pool = Pool::build_shaped(&PoolOptions::new(nodes), options.shape)?;
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let arena = pool.arena();
    // Every node's static data, then one dynamic round (the records exist,
    // the reused buffers have grown): what recvstats has after a minute.
    for index in 0..pool.full_datagrams() {
        ingest.datagram(&arena[pool.full(index)], source, now_ns());
    }
    for node in 0..nodes {
        ingest.datagram(&arena[pool.dynamic(0, node)], source, now_ns());
    }

    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| Error(format!("bind: {e}")))?;
    socket2::SockRef::from(&socket)
        .set_recv_buffer_size(8 << 20)
        .map_err(|e| Error(format!("SO_RCVBUF: {e}")))?;
    let to = socket
        .local_addr()
        .map_err(|e| Error(format!("local address: {e}")))?;
    let sender = UdpSocket::bind("127.0.0.1:0").map_err(|e| Error(format!("bind: {e}")))?;
    let window = gather_window(DEFAULT_BATCH_DELAY, options.rate);
    let per_wakeup = ((options.rate * window.as_secs_f64()).round() as usize).clamp(1, BATCH);
    let per_second = options.rate.round().max(1.0) as u64;
    let total = per_second * u64::from(options.seconds);

    let mut receiver = BatchReceiver::new();
    let mut replayed = Replayed {
        datagrams: 0,
        wakeups: 0,
        per_wakeup,
    };
    let (mut round, mut node) = (1u64, 0u32);
    let mut accepted = 0u64;
    let mut since_second = 0u64;
    while replayed.datagrams < total {
        let batch = (per_wakeup as u64).min(total - replayed.datagrams);
        for _ in 0..batch {
            sender
                .send_to(&arena[pool.dynamic(round, node)], to)
                .map_err(|e| Error(format!("send: {e}")))?;
            node += 1;
            if node == nodes {
                node = 0;
                round += 1;
            }
        }
        let got = replay_wakeup(
            &mut receiver,
            socket.as_raw_fd(),
            &mut ingest,
            &mut accepted,
        );
        if got as u64 != batch {
            return Err(Error(format!(
                "a wakeup found {got} datagrams, {batch} were sent"
            )));
        }
        replayed.datagrams += batch;
        replayed.wakeups += 1;
        since_second += batch;
        if since_second >= per_second {
            since_second -= per_second;
            replay_second(&mut ingest);
        }
    }
    if accepted != replayed.datagrams {
        return Err(Error(format!(
            "{} of {} datagrams were not accepted",
            replayed.datagrams - accepted,
            replayed.datagrams
        )));
    }
    Ok(replayed)
}

/// One wakeup's work after the wait: what `Daemon::drain` does. Counted.
#[inline(never)]
pub fn replay_wakeup(
    receiver: &mut BatchReceiver,
    socket: RawFd,
    ingest: &mut Ingest,
    accepted: &mut u64,
) -> usize {
    let (drained, error) = drain(receiver, socket, 16, |bytes, source| {
        let from = source.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |s| s.ip());
        if let Outcome::Accepted { .. } = ingest.datagram(bytes, from, now_ns()) {
            *accepted += 1;
        }
    });
    if let Some(e) = error {
        log::warn!("receive: {e}");
    }
    drained.datagrams
}

/// Once a second: the expiry scan and the partial texts' timeout, as
/// recvstats' timer runs them. Counted.
#[inline(never)]
pub fn replay_second(ingest: &mut Ingest) {
    let expired = ingest.writer().expire();
    std::hint::black_box(expired);
    ingest.expire_partial_texts();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_ingests_every_datagram_in_wakeups_of_the_gathered_size() {
        let dir = tempfile::tempdir().unwrap();
        let replayed = run(
            &ReplayOptions {
                nodes: 40,
                rate: 1000.0,
                seconds: 1,
                shape: Some(Shape::new(8, 4).unwrap()),
            },
            dir.path(),
        )
        .unwrap();
        // 1,000/s: a 5 ms window gathers 5.
        assert_eq!(replayed.per_wakeup, 5);
        assert_eq!(replayed.datagrams, 1000);
        assert_eq!(replayed.wakeups, 200);
        let reader = crate::shm::Reader::new(dir.path());
        let counters = reader.counters().unwrap();
        // Warm-up (full reports and a round) plus the replay.
        assert!(counters[crate::shm::Counter::DatagramsReceived as usize] >= 1000 + 2 * 40);
    }
}
