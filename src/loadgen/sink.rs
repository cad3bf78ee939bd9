//! The bare receive loop: the physical limit recvstats is measured against.
//!
//! It opens its sockets with recvstats' own code ([`crate::recv::net::open`]:
//! same receive-buffer request, same options) and does nothing with the
//! datagrams but count them. Two loops:
//!
//! - [`run`] waits and drains with recvstats' own [`Pacing`] and
//!   [`BatchReceiver`]: the difference between its cost and recvstats' is
//!   what recvstats spends on the data;
//! - [`run_plain`] (`--plain`) is the simplest receiver there is, one
//!   blocking `recvmmsg` per wakeup on the IPv4 socket, no pacing: the
//!   "bare recvmmsg loop" that recvstats, gmond and collectd are compared
//!   with (docs/PERFORMANCE.md), which recvstats should beat at low rates
//!   by waking less often.
//!
//! The counts are published in a small file (`--count-file`) that the
//! benchmark maps, as recvstats publishes its counters in the control file.

use super::{Error, Result};
use crate::recv::batch::{drain, BatchReceiver, Drained, Pacing};
use crate::recv::net::{self, NetOptions};
use memmap2::MmapRaw;
use std::fs::OpenOptions;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Byte length of the count file: datagrams (u64), bytes (u64).
const COUNT_FILE_LEN: u64 = 16;

/// Counts published by a running sink.
#[derive(Debug)]
pub struct Counts {
    map: MmapRaw,
}

impl Counts {
    /// Creates (or maps) the count file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error(format!("{}: {e}", path.display())))?;
        file.set_len(COUNT_FILE_LEN)
            .map_err(|e| Error(format!("{}: {e}", path.display())))?;
        let map =
            MmapRaw::map_raw(&file).map_err(|e| Error(format!("mmap {}: {e}", path.display())))?;
        Ok(Counts { map })
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        // SAFETY: the mapping is at least 16 bytes, page-aligned, and the
        // words are only accessed atomically (by us and by the sink).
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().cast::<u64>().add(index)) }
    }

    /// Datagrams received so far.
    pub fn datagrams(&self) -> u64 {
        self.word(0).load(Ordering::Relaxed)
    }

    /// Bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.word(1).load(Ordering::Relaxed)
    }

    fn add(&self, datagrams: u64, bytes: u64) {
        self.word(0).fetch_add(datagrams, Ordering::Relaxed);
        self.word(1).fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Receives on `port` until `stop` is set, counting into `counts`.
/// `batch_delay` is recvstats' `--batch-delay`.
pub fn run(port: u16, counts: &Counts, batch_delay: Duration, stop: &AtomicBool) -> Result<()> {
    let sockets = net::open(&NetOptions {
        port,
        interface: Some("lo".into()),
        group_v4: crate::protocol::DEFAULT_GROUP_V4,
        group_v6: crate::protocol::DEFAULT_GROUP_V6,
    })?;
    let mut fds = vec![sockets.v4.as_raw_fd()];
    fds.extend(sockets.v6.as_ref().map(AsRawFd::as_raw_fd));
    let mut pacing = Pacing::new(batch_delay);
    let mut receiver = BatchReceiver::new();
    let mut last = Drained::default();
    while !stop.load(Ordering::Relaxed) {
        let ready = pacing.wait(&fds, last, Duration::from_millis(100));
        last = Drained::default();
        for (index, &fd) in fds.iter().enumerate() {
            if !ready.contains(index) {
                continue;
            }
            let mut bytes = 0u64;
            let (drained, error) = drain(&mut receiver, fd, 16, |datagram, _| {
                bytes += datagram.len() as u64;
            });
            if let Some(e) = error {
                log::warn!("receive: {e}");
            }
            counts.add(drained.datagrams as u64, bytes);
            last.datagrams += drained.datagrams;
            last.saturated |= drained.saturated;
        }
    }
    Ok(())
}

/// The plain loop: blocking `recvmmsg` (`MSG_WAITFORONE`) on the IPv4
/// socket, one system call per wakeup, until `stop` is set (checked at
/// least every 100 ms: the socket's receive timeout).
pub fn run_plain(port: u16, counts: &Counts, stop: &AtomicBool) -> Result<()> {
    let sockets = net::open(&NetOptions {
        port,
        interface: Some("lo".into()),
        group_v4: crate::protocol::DEFAULT_GROUP_V4,
        group_v6: crate::protocol::DEFAULT_GROUP_V6,
    })?;
    // recvstats' sockets are non-blocking (it waits in `poll`); this loop
    // blocks in the receive itself, at most 100 ms.
    sockets
        .v4
        .set_nonblocking(false)
        .map_err(|e| Error(format!("blocking socket: {e}")))?;
    sockets
        .v4
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| Error(format!("SO_RCVTIMEO: {e}")))?;
    let fd = sockets.v4.as_raw_fd();
    let mut receiver = BatchReceiver::new();
    while !stop.load(Ordering::Relaxed) {
        let count = match receiver.receive_blocking(fd) {
            Ok(count) => count,
            Err(e) => {
                log::warn!("receive: {e}");
                continue;
            }
        };
        let bytes: usize = (0..count)
            .filter_map(|index| receiver.datagram(index))
            .map(|(datagram, _)| datagram.len())
            .sum();
        counts.add(count as u64, bytes as u64);
    }
    Ok(())
}
