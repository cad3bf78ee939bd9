//! Sending the pool at a chosen total rate, many datagrams per system call.
//!
//! The sender walks the nodes in order, round after round (node 0's report
//! of round r, node 1's, ...), as a cluster whose nodes report at the same
//! interval but at spread-out moments would. Pacing is by schedule: at time
//! t after the start, `rate * t` datagrams are due; the sender sends what is
//! due (at most one `sendmmsg` batch at a time), and sleeps until the next
//! one is due when nothing is. At high rates a batch goes out per wakeup, at
//! low rates single datagrams at even spacing. Each datagram's header is
//! stamped just before the call with a sequence number and the send time.

use super::payload::{stamp, Pool};
use super::{Error, Result};
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Largest number of datagrams per `sendmmsg`.
pub const SEND_BATCH: usize = 32;

/// What a run sent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sent {
    /// Datagrams the kernel accepted.
    pub datagrams: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Datagrams the kernel refused (`sendmmsg` errors).
    pub errors: u64,
    /// From the first send to the end of the run.
    pub elapsed: Duration,
}

impl Sent {
    /// Datagrams per second achieved.
    pub fn rate(&self) -> f64 {
        self.datagrams as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Nodes whose send times a latency probe watches: every `stride`-th node.
/// The sender stores the send time of a watched node's datagram in its
/// slot when the slot is free (0); the probe frees it once it has seen the
/// datagram's data published.
#[derive(Debug)]
pub struct Watch {
    /// Every `stride`-th node index is watched.
    pub stride: u32,
    /// Send time (ns since the Epoch) per watched node; 0: not in flight.
    pub pending: Vec<AtomicU64>,
}

impl Watch {
    /// Watches every `stride`-th of `nodes` nodes.
    pub fn new(nodes: u32, stride: u32) -> Self {
        let stride = stride.max(1);
        Watch {
            stride,
            pending: (0..nodes.div_ceil(stride))
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }
}

/// The sending side of a run: the pool, a connected socket, and where in
/// the rounds it is.
#[derive(Debug)]
pub struct Sender {
    pool: Pool,
    socket: UdpSocket,
    sequence: u64,
    round: u64,
    next_node: u32,
}

/// Nanoseconds since the Epoch.
fn now_ns() -> u64 {
    crate::shm::now_ns()
}

impl Sender {
    /// A sender of `pool` to `target` (a loopback address) from a socket
    /// with a large send buffer.
    pub fn new(pool: Pool, target: SocketAddr) -> Result<Self> {
        let bind: SocketAddr = if target.is_ipv4() {
            "127.0.0.1:0".parse().expect("literal address")
        } else {
            "[::1]:0".parse().expect("literal address")
        };
        let socket = UdpSocket::bind(bind).map_err(|e| Error(format!("bind a UDP socket: {e}")))?;
        socket2::SockRef::from(&socket)
            .set_send_buffer_size(8 << 20)
            .map_err(|e| Error(format!("SO_SNDBUF: {e}")))?;
        socket
            .connect(target)
            .map_err(|e| Error(format!("connect to {target}: {e}")))?;
        // Pacing sleeps are short; the default 50 µs timer slack would make
        // low rates bursty.
        // SAFETY: PR_SET_TIMERSLACK takes an integer and changes only this
        // thread's timer slack.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
        Ok(Sender {
            pool,
            socket,
            sequence: 1,
            round: 0,
            next_node: 0,
        })
    }

    /// Sends to `target` from now on (same address family).
    pub fn connect(&mut self, target: SocketAddr) -> Result<()> {
        self.socket
            .connect(target)
            .map_err(|e| Error(format!("connect to {target}: {e}")))
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Sends every node's full report once (static data included), at
    /// `rate` datagrams per second.
    pub fn send_full_reports(&mut self, rate: f64) -> Sent {
        let total = self.pool.full_datagrams() as u64;
        let mut index = 0;
        self.paced(rate, None, Some(total), None, |pool| {
            let range = pool.full(index % pool.full_datagrams());
            index += 1;
            (range, None)
        })
    }

    /// Sends dynamic reports at `rate` datagrams per second for `duration`
    /// (or until `count` are sent), continuing the rounds where the last
    /// call stopped; stamps watched nodes' send times into `watch`.
    pub fn send_dynamic(
        &mut self,
        rate: f64,
        duration: Option<Duration>,
        count: Option<u64>,
        watch: Option<&Watch>,
    ) -> Sent {
        let nodes = self.pool.nodes();
        let mut round = self.round;
        let mut node = self.next_node;
        let sent = self.paced(rate, duration, count, watch, |pool| {
            let range = pool.dynamic(round, node);
            let index = node;
            node += 1;
            if node == nodes {
                node = 0;
                round += 1;
            }
            (range, Some(index))
        });
        // Datagrams refused by the kernel still advanced the cursor; that
        // only skips some nodes' reports once.
        self.round = round;
        self.next_node = node;
        sent
    }

    /// The pacing loop. `next(pool)` gives the byte range of the next
    /// datagram to send and its node index (for watching). A datagram the
    /// kernel refuses is counted in `errors` and not sent again.
    fn paced(
        &mut self,
        rate: f64,
        duration: Option<Duration>,
        count: Option<u64>,
        watch: Option<&Watch>,
        mut next: impl FnMut(&Pool) -> (Range<usize>, Option<u32>),
    ) -> Sent {
        let rate = rate.max(1.0);
        let fd = self.socket.as_raw_fd();
        let mut sent = Sent::default();
        let mut iovecs: Vec<libc::iovec> = Vec::with_capacity(SEND_BATCH);
        let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(SEND_BATCH);
        let mut ranges: Vec<(Range<usize>, Option<u32>)> = Vec::with_capacity(SEND_BATCH);
        // Datagrams taken from `next` that the kernel did not take yet
        // (sendmmsg may accept only the first few of a batch).
        let mut carried: Vec<(Range<usize>, Option<u32>)> = Vec::new();
        let start = Instant::now();
        loop {
            let elapsed = start.elapsed();
            let attempted = sent.datagrams + sent.errors;
            if duration.is_some_and(|d| elapsed >= d) || count.is_some_and(|c| attempted >= c) {
                break;
            }
            let due_total = (elapsed.as_secs_f64() * rate) as u64 + 1;
            let due_total = count.map_or(due_total, |c| due_total.min(c));
            let due = due_total.saturating_sub(attempted);
            if due == 0 {
                let next_at = Duration::from_secs_f64(attempted as f64 / rate);
                let wait = next_at.saturating_sub(elapsed);
                let wait = duration.map_or(wait, |d| wait.min(d.saturating_sub(elapsed)));
                std::thread::sleep(wait.max(Duration::from_micros(1)));
                continue;
            }
            let batch = (due as usize).min(SEND_BATCH);
            ranges.clear();
            ranges.extend(carried.drain(..batch.min(carried.len())));
            while ranges.len() < batch {
                ranges.push(next(&self.pool));
            }
            let time_ns = now_ns();
            let arena = self.pool.arena_mut();
            for (range, _) in &ranges {
                self.sequence += 1;
                stamp(&mut arena[range.clone()], self.sequence, time_ns);
            }
            let base = arena.as_mut_ptr();
            iovecs.clear();
            headers.clear();
            for (range, _) in &ranges {
                iovecs.push(libc::iovec {
                    iov_base: base.wrapping_add(range.start).cast(),
                    iov_len: range.len(),
                });
            }
            for iovec in &mut iovecs {
                // SAFETY: mmsghdr is plain old data; all zeroes is valid.
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_iov = iovec;
                header.msg_hdr.msg_iovlen = 1;
                headers.push(header);
            }
            // SAFETY: the headers point at iovecs that point into the pool's
            // arena, all alive and unmoved for the call; the socket is
            // connected, so no address is needed.
            let result = unsafe {
                libc::sendmmsg(fd, headers.as_mut_ptr(), headers.len() as libc::c_uint, 0)
            };
            let accepted = if result < 0 {
                sent.errors += 1;
                // The first datagram is refused (e.g. ECONNREFUSED from an
                // earlier ICMP, or ENOBUFS): drop it and go on.
                1
            } else {
                let accepted = result as usize;
                for (range, node) in ranges.iter().take(accepted) {
                    sent.bytes += range.len() as u64;
                    if let (Some(watch), Some(node)) = (watch, node) {
                        if node % watch.stride == 0 {
                            let slot = &watch.pending[(node / watch.stride) as usize];
                            let _ = slot.compare_exchange(
                                0,
                                time_ns,
                                Ordering::Release,
                                Ordering::Relaxed,
                            );
                        }
                    }
                }
                sent.datagrams += accepted as u64;
                accepted
            };
            carried.extend(ranges.drain(accepted.min(ranges.len())..));
        }
        sent.elapsed = start.elapsed();
        sent
    }
}
