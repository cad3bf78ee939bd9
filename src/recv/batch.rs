//! Receiving many datagrams per system call, and waking up rarely.
//!
//! [`BatchReceiver`] owns a pool of receive slots and takes up to [`BATCH`]
//! datagrams off a socket with one `recvmmsg`. [`Pacing`] decides how the
//! loop waits between batches. A wakeup is what a datagram costs at the
//! rates clusters send (an idle vCPU woken for one datagram costs 11 to 45
//! µs on the VM measured, with the host's load; parsing it, 2 to 6), so
//! whenever a short sleep gathers at least
//! [`DATAGRAMS_PER_SLEEP`] datagrams the loop sleeps before each drain and
//! one wakeup serves all of them:
//!
//! - the sleep is `--batch-delay` (1 ms) at high rates, and is stretched
//!   at low rates to gather about [`TARGET_PER_WAKEUP`] datagrams, never
//!   past [`MAX_STRETCH`] times the delay nor past [`MAX_GATHER`] (5 ms;
//!   a longer `--batch-delay` is not stretched). That is the bound: a
//!   datagram, an update request or the answer to one, waits in the socket
//!   at most 5 ms (1 ms from 8,000/s up) plus the timer's slack before it
//!   is taken;
//! - below that (under 600 datagrams a second with the defaults), a timer
//!   wakeup would serve fewer datagrams than it costs, so the loop blocks
//!   in `poll` and drains each datagram as it comes.
//!
//! One blocking system call per wakeup either way (`poll`, or the sleep),
//! then one non-blocking `recvmmsg` per socket. After a `poll`, only the
//! sockets it reported are drained ([`Ready`]). recvstats and the
//! benchmark's bare receive loop (`beostat-loadgen sink`) share all of
//! this, so the bare loop measures exactly what recvstats pays for the
//! network, without the parsing and publishing; the sink's `--plain` loop
//! is the other reference, one blocking `recvmmsg` per wakeup
//! ([`BatchReceiver::receive_blocking`]) and no pacing at all.
//!
//! Nothing here looks at the bytes received: that is `ingest`. It allocates
//! only in [`BatchReceiver::new`].

use crate::protocol::RECV_BUFFER_LEN;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::io::RawFd;
use std::time::{Duration, Instant};

/// Datagrams taken off the socket per `recvmmsg` call.
pub const BATCH: usize = 64;

/// Bytes of one slot: [`RECV_BUFFER_LEN`] (one more than the largest legal
/// datagram, so a datagram that fills it is known to have been cut), rounded
/// up to a cache line, plus one cache line so that the slots do not all
/// start at the same offset in a page (they would compete for the same L1
/// cache sets).
const SLOT_STRIDE: usize = RECV_BUFFER_LEN.div_ceil(64) * 64 + 64;

/// Default delay before draining a socket that has traffic (`--batch-delay`).
pub const DEFAULT_BATCH_DELAY: Duration = Duration::from_millis(1);

/// A pool of [`BATCH`] full-size slots and the `recvmmsg` headers that point
/// into it.
///
/// Every slot is a whole [`RECV_BUFFER_LEN`] bytes, so no legal datagram is
/// ever cut, whatever its size (a 256-CPU node's report is about 18 KB, a
/// full report up to 64 KB). The pool is 4.2 MB of address space, but the
/// kernel only touches the pages a datagram lands on: the resident part is
/// what the largest datagrams that went through each slot needed (64 KB per
/// slot at worst, 4.2 MB in all).
pub struct BatchReceiver {
    buffer: Vec<u8>,
    headers: Vec<libc::mmsghdr>,
    /// Pointed at by `headers` (never read from Rust otherwise).
    iovecs: Vec<libc::iovec>,
    addresses: Vec<libc::sockaddr_storage>,
    received: usize,
}

impl std::fmt::Debug for BatchReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchReceiver")
            .field("slots", &self.iovecs.len())
            .field("received", &self.received)
            .finish()
    }
}

impl Default for BatchReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchReceiver {
    /// Allocates the slots (zeroed pages, mapped lazily by the kernel).
    pub fn new() -> Self {
        let mut buffer = vec![0u8; BATCH * SLOT_STRIDE];
        // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
        let mut addresses: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; BATCH];
        let base = buffer.as_mut_ptr();
        let mut iovecs: Vec<libc::iovec> = (0..BATCH)
            .map(|slot| libc::iovec {
                iov_base: base.wrapping_add(slot * SLOT_STRIDE).cast(),
                iov_len: RECV_BUFFER_LEN,
            })
            .collect();
        let headers = (0..BATCH)
            .map(|slot| {
                // SAFETY: mmsghdr is plain old data; all zeroes is valid.
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_name = (&raw mut addresses[slot]).cast();
                header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
                header.msg_hdr.msg_iov = &raw mut iovecs[slot];
                header.msg_hdr.msg_iovlen = 1;
                header
            })
            .collect();
        // The headers point into `buffer`, `iovecs` and `addresses`, whose
        // heap blocks never move: they are never resized after this.
        BatchReceiver {
            buffer,
            headers,
            iovecs,
            addresses,
            received: 0,
        }
    }

    /// Takes up to [`BATCH`] queued datagrams off `socket` without blocking.
    /// Returns how many (0 when none is queued). They stay readable through
    /// [`BatchReceiver::datagram`] until the next call.
    pub fn receive(&mut self, socket: RawFd) -> io::Result<usize> {
        self.receive_with(socket, libc::MSG_DONTWAIT)
    }

    /// Blocks until a datagram is queued on `socket` (or its `SO_RCVTIMEO`
    /// passes, or a signal comes: then 0), then takes it and whatever else
    /// is queued, up to [`BATCH`] (`MSG_WAITFORONE`): one system call per
    /// wakeup, the simplest receive loop there is.
    pub fn receive_blocking(&mut self, socket: RawFd) -> io::Result<usize> {
        self.receive_with(socket, libc::MSG_WAITFORONE)
    }

    fn receive_with(&mut self, socket: RawFd, flags: libc::c_int) -> io::Result<usize> {
        // Only the headers of the last batch were written by the kernel (a
        // failed receive writes nothing back): reset those, not all 64, so
        // a wakeup for one datagram touches one header's cache line, not 64.
        for header in &mut self.headers[..self.received] {
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        self.received = 0;
        // SAFETY: every header points at a slot of RECV_BUFFER_LEN bytes
        // inside `buffer` (through its iovec) and at a sockaddr_storage, all
        // owned by `self` and alive for the call; the kernel writes at most
        // that much into each.
        let count = unsafe {
            libc::recvmmsg(
                socket,
                self.headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if count < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(error),
            };
        }
        self.received = count as usize;
        Ok(self.received)
    }

    /// Datagram `index` of the last batch: its bytes and who sent it. A
    /// length of [`RECV_BUFFER_LEN`] means the kernel cut it (it was longer
    /// than any legal datagram).
    pub fn datagram(&self, index: usize) -> Option<(&[u8], Option<SocketAddr>)> {
        if index >= self.received {
            return None;
        }
        let header = &self.headers[index];
        let len = (header.msg_len as usize).min(RECV_BUFFER_LEN);
        let start = index * SLOT_STRIDE;
        let source = socket_addr(&self.addresses[index], header.msg_hdr.msg_namelen);
        Some((&self.buffer[start..start + len], source))
    }
}

/// A sender's address as the kernel wrote it, without allocating.
fn socket_addr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match i32::from(storage.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says it is a sockaddr_in, and the kernel
            // wrote at least that many bytes into the (larger) storage.
            let v4 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(v4.sin_port)))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let v6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// What the last drain found, for [`Pacing::wait`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Datagrams received.
    pub datagrams: usize,
    /// Whether some socket still had a full batch queued when the drain
    /// stopped (the loop is behind: do not sleep).
    pub saturated: bool,
}

/// Sleeping pays off when each sleep gathers at least this many datagrams:
/// a timer wakeup costs this VM 16 to 21 µs, an idle CPU woken by a
/// datagram 11 to 13 µs (docs/PERFORMANCE.md, "Cost at the normal
/// operating point"), so a sleep that gathers two saves nothing.
pub const DATAGRAMS_PER_SLEEP: f64 = 3.0;
/// At low rates the sleep is stretched to gather about this many datagrams.
pub const TARGET_PER_WAKEUP: f64 = 8.0;
/// ... but never past this many times `--batch-delay` (5 ms with the
/// default 1 ms) ...
pub const MAX_STRETCH: u32 = 5;
/// ... nor past this (unless `--batch-delay` itself is longer): the
/// latency bound at low rates.
pub const MAX_GATHER: Duration = Duration::from_millis(5);
/// The arrival rate is estimated over windows of this length.
const RATE_WINDOW: Duration = Duration::from_millis(100);

/// The sleep before each drain at `rate` datagrams a second, with
/// `--batch-delay` `delay`: `delay` at high rates, up to [`MAX_STRETCH`]
/// times it (at most [`MAX_GATHER`], or `delay` if longer) at low rates;
/// zero (block in `poll`, drain at once) when it would gather fewer than
/// [`DATAGRAMS_PER_SLEEP`], or `delay` is zero.
pub fn gather_window(delay: Duration, rate: f64) -> Duration {
    if delay.is_zero() || rate.is_nan() || rate <= 0.0 {
        return Duration::ZERO;
    }
    let longest = (delay * MAX_STRETCH).min(MAX_GATHER.max(delay));
    let wanted = (TARGET_PER_WAKEUP / rate).min(3600.0);
    let window = Duration::from_secs_f64(wanted).clamp(delay, longest);
    if rate * window.as_secs_f64() >= DATAGRAMS_PER_SLEEP {
        window
    } else {
        Duration::ZERO
    }
}

/// How the receive loop waits: see the module documentation.
///
/// The sleep before each drain ([`gather_window`]) is chosen from the
/// arrival rate of the last 100 ms; zero means immediate mode (block in
/// `poll`, drain as soon as a datagram is there).
#[derive(Debug, Clone)]
pub struct Pacing {
    /// `--batch-delay`: the sleep at high rates (0: never batch).
    delay: Duration,
    window_start: Instant,
    window_datagrams: u64,
    /// The current sleep before each drain (zero: immediate).
    gather: Duration,
}

impl Pacing {
    /// A policy with this `delay` (`--batch-delay`); starts immediate.
    pub fn new(delay: Duration) -> Self {
        Pacing {
            delay,
            window_start: Instant::now(),
            window_datagrams: 0,
            gather: Duration::ZERO,
        }
    }

    /// Whether the loop currently sleeps before drains.
    pub fn is_batching(&self) -> bool {
        !self.gather.is_zero()
    }

    /// How long the loop currently sleeps before each drain (zero:
    /// immediate mode).
    pub fn gather(&self) -> Duration {
        self.gather
    }

    /// Counts the last drain and, once per window, picks the sleep.
    fn observe(&mut self, last: Drained) {
        self.observe_at(last, Instant::now());
    }

    /// [`Pacing::observe`] at time `now`.
    fn observe_at(&mut self, last: Drained, now: Instant) {
        self.window_datagrams += last.datagrams as u64;
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= RATE_WINDOW {
            let rate = self.window_datagrams as f64 / elapsed.as_secs_f64();
            self.gather = gather_window(self.delay, rate);
            self.window_start = now;
            self.window_datagrams = 0;
        }
    }

    /// Waits before the next drain, never past `deadline_in` (the loop's
    /// next timer).
    ///
    /// - When the loop is behind (a full batch was still queued): no wait.
    /// - Immediate mode: `poll` until a socket is readable, `deadline_in`
    ///   passes, or a signal arrives (returns at once if data is queued).
    /// - Batching, after a drain that found datagrams: sleep the gathering
    ///   window (the latency budget); no `poll` while traffic keeps coming.
    /// - Batching, after an empty drain: `poll`, then sleep the window, so
    ///   the first datagram after a pause is not handled alone.
    ///
    /// Returns which sockets to drain: after a `poll` alone, those it
    /// reported (none when it timed out), so that a wakeup for one datagram
    /// on one socket costs one `recvmmsg`, not one per socket; after a
    /// sleep or no wait, all of them.
    pub fn wait(&mut self, sockets: &[RawFd], last: Drained, deadline_in: Duration) -> Ready {
        self.observe(last);
        if last.saturated {
            return Ready::ALL;
        }
        if self.gather.is_zero() {
            return wait_readable(sockets, deadline_in);
        }
        if last.datagrams == 0 && wait_readable(sockets, deadline_in) == Ready::NONE {
            return Ready::NONE;
        }
        let sleep = self.gather.min(deadline_in);
        if !sleep.is_zero() {
            std::thread::sleep(sleep);
        }
        Ready::ALL
    }
}

/// Which of the sockets given to [`Pacing::wait`] may have datagrams
/// queued (by their index in that slice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready(u8);

impl Ready {
    /// Every socket (after a sleep: `poll` was not asked).
    pub const ALL: Ready = Ready(u8::MAX);
    /// None (the wait timed out or was interrupted).
    pub const NONE: Ready = Ready(0);

    /// Whether socket `index` should be drained.
    pub fn contains(self, index: usize) -> bool {
        index < 8 && self.0 & (1 << index) != 0
    }
}

/// Sleeps until a socket is readable, `timeout` (at most 1 s) passes, or a
/// signal arrives; returns the sockets `poll` reported (readable, or with
/// an error for `recvmmsg` to report).
fn wait_readable(sockets: &[RawFd], timeout: Duration) -> Ready {
    let mut fds = [libc::pollfd {
        fd: -1,
        events: libc::POLLIN,
        revents: 0,
    }; 2];
    let count = sockets.len().min(fds.len());
    for (slot, &fd) in fds.iter_mut().zip(sockets) {
        slot.fd = fd;
    }
    // Round up so that a timer due in 0.4 ms is not polled for 0 ms (a busy
    // loop until it is due).
    let millis = timeout.as_micros().div_ceil(1000).clamp(0, 1000) as libc::c_int;
    // SAFETY: fds is a valid array of pollfd of at least `count` entries.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), count as libc::nfds_t, millis) };
    if ready <= 0 {
        return Ready::NONE;
    }
    let mut mask = 0;
    for (index, slot) in fds[..count].iter().enumerate() {
        if slot.revents != 0 {
            mask |= 1 << index;
        }
    }
    Ready(mask)
}

/// Drains `socket` into `receiver`, calling `each` for every datagram;
/// stops after `max_batches` full batches (so one busy socket cannot starve
/// the loop's timers). Returns what it found; receive errors other than
/// "nothing queued" are returned once the batches before them are handled.
pub fn drain(
    receiver: &mut BatchReceiver,
    socket: RawFd,
    max_batches: usize,
    mut each: impl FnMut(&[u8], Option<SocketAddr>),
) -> (Drained, Option<io::Error>) {
    let mut drained = Drained::default();
    for _ in 0..max_batches {
        let count = match receiver.receive(socket) {
            Ok(count) => count,
            Err(e) => return (drained, Some(e)),
        };
        for index in 0..count {
            if let Some((bytes, source)) = receiver.datagram(index) {
                each(bytes, source);
            }
        }
        drained.datagrams += count;
        // A short batch means the queue was empty when the kernel looked:
        // skip the extra call that would only say EAGAIN.
        if count < BATCH {
            drained.saturated = false;
            return (drained, None);
        }
        drained.saturated = true;
    }
    (drained, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::unix::io::AsRawFd;

    #[test]
    fn a_batch_takes_every_queued_datagram_with_its_source_whole() {
        let receiver_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver_socket.local_addr().unwrap();
        let big = vec![7u8; 60_000];
        sender.send_to(b"one", to).unwrap();
        sender.send_to(&big, to).unwrap();
        sender.send_to(b"three", to).unwrap();
        let mut receiver = BatchReceiver::new();
        let mut seen = Vec::new();
        for _ in 0..100 {
            let (drained, error) = drain(&mut receiver, receiver_socket.as_raw_fd(), 4, |b, s| {
                seen.push((b.len(), b.iter().all(|&x| x == b[0]), s))
            });
            assert!(error.is_none());
            assert!(!drained.saturated);
            if seen.len() == 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let from = Some(sender.local_addr().unwrap());
        assert_eq!(
            seen,
            [(3, false, from), (60_000, true, from), (5, false, from)]
        );
    }

    #[test]
    fn the_window_stretches_at_low_rates_within_its_bound() {
        let ms = Duration::from_millis(1);
        // 10,000/s: the delay gathers 10.
        assert_eq!(gather_window(ms, 10_000.0), ms);
        assert_eq!(gather_window(ms, 200_000.0), ms);
        // 2,000/s: stretched to gather 8.
        assert_eq!(gather_window(ms, 2_000.0), Duration::from_millis(4));
        // 1,000/s: 8 would need 8 ms; the bound is 5.
        assert_eq!(gather_window(ms, 1_000.0), ms * MAX_STRETCH);
        // 600/s: 5 ms gathers 3, just enough; 500/s: 2.5, immediate.
        assert_eq!(gather_window(ms, 600.0), ms * MAX_STRETCH);
        assert_eq!(gather_window(ms, 500.0), Duration::ZERO);
        assert_eq!(gather_window(ms, 0.0), Duration::ZERO);
        // --batch-delay 0: never.
        assert_eq!(gather_window(Duration::ZERO, 1e6), Duration::ZERO);
        // A short delay stretches 5 times; a long one is not stretched
        // past 5 ms, and one past 5 ms not at all.
        let tenth = Duration::from_micros(100);
        assert_eq!(gather_window(tenth, 10_000.0), tenth * MAX_STRETCH);
        assert_eq!(gather_window(ms * 2, 1_000.0), MAX_GATHER);
        assert_eq!(gather_window(ms * 20, 1_000.0), ms * 20);
        for rate in [1.0, 10.0, 700.0, 3_000.0, 9_000.0, 1e5, 1e7] {
            let window = gather_window(ms, rate);
            assert!(window <= ms * MAX_STRETCH, "{rate}: {window:?}");
            assert!(window.is_zero() || window >= ms, "{rate}: {window:?}");
        }
    }

    #[test]
    fn pacing_follows_the_rate_of_the_last_window() {
        let mut pacing = Pacing::new(Duration::from_millis(1));
        assert!(!pacing.is_batching());
        let window = |pacing: &mut Pacing, datagrams: usize| {
            let end = pacing.window_start + RATE_WINDOW;
            pacing.observe_at(
                Drained {
                    datagrams,
                    saturated: false,
                },
                end - Duration::from_millis(1),
            );
            pacing.observe_at(Drained::default(), end);
            pacing.gather()
        };
        // 500/s: 2.5 per 5 ms, immediate.
        assert_eq!(window(&mut pacing, 50), Duration::ZERO);
        // 1,000/s: the stretched window, at its bound.
        assert_eq!(window(&mut pacing, 100), Duration::from_millis(5));
        // 50,000/s: the delay itself.
        assert_eq!(window(&mut pacing, 5_000), Duration::from_millis(1));
        // Traffic stops: immediate again.
        assert_eq!(window(&mut pacing, 0), Duration::ZERO);
        let mut never = Pacing::new(Duration::ZERO);
        assert_eq!(window(&mut never, 1_000_000), Duration::ZERO);
        assert!(!never.is_batching());
    }

    #[test]
    fn a_blocking_receive_waits_for_the_first_and_takes_what_is_queued() {
        let receiver_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver_socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut receiver = BatchReceiver::new();
        // Nothing queued: the receive timeout ends the wait with nothing.
        assert_eq!(
            receiver
                .receive_blocking(receiver_socket.as_raw_fd())
                .unwrap(),
            0
        );
        for i in 0..5u8 {
            sender
                .send_to(&[i], receiver_socket.local_addr().unwrap())
                .unwrap();
        }
        let mut got = Vec::new();
        while got.len() < 5 {
            let count = receiver
                .receive_blocking(receiver_socket.as_raw_fd())
                .unwrap();
            assert!(count > 0);
            got.extend((0..count).map(|i| receiver.datagram(i).unwrap().0[0]));
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn every_slot_gets_its_whole_source_whatever_the_last_batch_received() {
        // A batch from IPv4 (16-byte addresses) then one from IPv6 (28):
        // the address lengths the kernel wrote back must not shorten the
        // next call's room. Skipped where the host has no IPv6 loopback.
        let Ok(v6) = UdpSocket::bind("[::1]:0") else {
            return;
        };
        let Ok(sender6) = UdpSocket::bind("[::1]:0") else {
            return;
        };
        let v4 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender4 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut receiver = BatchReceiver::new();
        for round in 0..3 {
            for (socket, sender, count) in [(&v4, &sender4, 5 + round), (&v6, &sender6, 9)] {
                for i in 0..count {
                    sender
                        .send_to(&[i as u8], socket.local_addr().unwrap())
                        .unwrap();
                }
                let mut sources = Vec::new();
                for _ in 0..100 {
                    drain(&mut receiver, socket.as_raw_fd(), 4, |_, s| sources.push(s));
                    if sources.len() == count {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                assert_eq!(sources, vec![Some(sender.local_addr().unwrap()); count]);
            }
        }
    }

    #[test]
    fn wait_reports_only_the_sockets_that_have_datagrams() {
        let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
        let busy = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let fds = [quiet.as_raw_fd(), busy.as_raw_fd()];
        let mut pacing = Pacing::new(Duration::from_millis(1));
        // Nothing queued: the wait times out and names no socket.
        let ready = pacing.wait(&fds, Drained::default(), Duration::from_millis(1));
        assert_eq!(ready, Ready::NONE);
        sender.send_to(b"x", busy.local_addr().unwrap()).unwrap();
        let ready = pacing.wait(&fds, Drained::default(), Duration::from_secs(1));
        assert!(ready.contains(1) && !ready.contains(0), "{ready:?}");
        // Behind (a full batch was left): no wait, drain everything.
        let behind = Drained {
            datagrams: BATCH,
            saturated: true,
        };
        assert_eq!(pacing.wait(&fds, behind, Duration::ZERO), Ready::ALL);
        assert!((0..2).all(|index| Ready::ALL.contains(index)));
    }

    #[test]
    fn more_than_a_batch_is_drained_in_several_calls_and_says_so() {
        let receiver_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver_socket.local_addr().unwrap();
        for i in 0..(BATCH * 2 + 5) {
            sender.send_to(&i.to_be_bytes(), to).unwrap();
        }
        let mut receiver = BatchReceiver::new();
        let (drained, _) = drain(&mut receiver, receiver_socket.as_raw_fd(), 1, |_, _| {});
        assert_eq!(
            drained,
            Drained {
                datagrams: BATCH,
                saturated: true
            }
        );
        let (drained, _) = drain(&mut receiver, receiver_socket.as_raw_fd(), 8, |_, _| {});
        assert_eq!(drained.datagrams, BATCH + 5);
        assert!(!drained.saturated);
    }
}
