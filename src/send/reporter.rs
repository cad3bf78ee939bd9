//! The report loop: when to send, what to send, and what recvstats asked.
//!
//! This module owns the running daemon's state: the [`Schedule`] (pure
//! timing decisions on a monotonic clock, testable without sockets), the
//! [`Reporter`] (reads the status into reused buffers, encodes it with one
//! reused [`Encoder`] and sends each datagram to every destination), the
//! classification of incoming datagrams ([`classify`]) and the single-
//! threaded `poll(2)` loop ([`serve`]). It must never panic on received
//! bytes and never stop on a failed send: a failing destination is logged
//! when it starts and stops failing, and the next report tries again.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::net::{self, Sockets};
use super::requests::RequestGuard;
use super::{Config, Error, MAX_RATE, MIN_FULL_SPACING, MIN_RATE};
use crate::auth::{Key, DEFAULT_TIME_WINDOW_SECS};
use crate::collect::{Source, Status};
use crate::daemon::Signals;
use crate::protocol::{
    decode, encode_report, DecodeError, Encoder, Header, MacSigner, MessageType, FLAG_AUTH,
    MAX_HOSTNAME_LEN, NODE_FROM_ADDRESS, NODE_MASTER, RECV_BUFFER_LEN,
};

/// At most this many datagrams are read per wake-up, so a flood cannot
/// delay the reports.
const MAX_RECEIVED_PER_WAKE: usize = 64;
/// A class of ignored datagrams is logged at most once in this time.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing: wait until [`Schedule::deadline`].
    Nothing,
    /// A dynamic report.
    Report,
    /// A full report (with cpuinfo).
    Full,
}

/// When reports are due. Pure: every method takes the current time.
#[derive(Debug, Clone)]
pub struct Schedule {
    rate: Duration,
    full_interval: Duration,
    next_report: Instant,
    next_full: Instant,
    full_requested: bool,
    last_report: Option<Instant>,
    last_full: Option<Instant>,
}

impl Schedule {
    /// A schedule starting at `now` with a full report due at once.
    pub fn new(now: Instant, rate: Duration, full_interval: Duration) -> Self {
        Schedule {
            rate,
            full_interval,
            next_report: now,
            next_full: now + full_interval,
            full_requested: true,
            last_report: None,
            last_full: None,
        }
    }

    /// The current report interval.
    pub fn rate(&self) -> Duration {
        self.rate
    }

    /// What should be sent at `now`.
    pub fn due(&self, now: Instant) -> Due {
        if (self.full_requested && now >= self.earliest_full()) || now >= self.next_full {
            Due::Full
        } else if now >= self.next_report {
            Due::Report
        } else {
            Due::Nothing
        }
    }

    /// When something is next due.
    pub fn deadline(&self) -> Instant {
        let mut deadline = self.next_report.min(self.next_full);
        if self.full_requested {
            deadline = deadline.min(self.earliest_full());
        }
        deadline
    }

    fn earliest_full(&self) -> Instant {
        match self.last_full {
            Some(last) => last + MIN_FULL_SPACING,
            None => self.next_report.min(self.next_full),
        }
    }

    /// Records a report sent at `now`. A report on schedule keeps the
    /// schedule's phase (no drift); an early one (on request) restarts it.
    pub fn sent(&mut self, now: Instant, full: bool) {
        let planned = self.next_report + self.rate;
        self.next_report = if now >= self.next_report && planned > now {
            planned
        } else {
            now + self.rate
        };
        self.last_report = Some(now);
        if full {
            self.full_requested = false;
            self.last_full = Some(now);
            self.next_full = now + self.full_interval;
        }
    }

    /// Asks for a full report as soon as [`MIN_FULL_SPACING`] allows.
    pub fn request_full(&mut self) {
        self.full_requested = true;
    }

    /// Adopts a new interval from `now` on: the next report comes one new
    /// interval after the last one (at once if that is past).
    pub fn set_rate(&mut self, rate: Duration, now: Instant) {
        self.rate = rate;
        self.next_report = self.last_report.unwrap_or(now) + rate;
    }
}

/// What a received datagram asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// Send a full report now.
    UpdateRequest,
    /// Report at this interval (already clamped to `MIN_RATE..=MAX_RATE`);
    /// `asked_ms` is what the datagram said.
    RateChange {
        /// The interval to adopt.
        rate: Duration,
        /// The interval in the datagram, in ms.
        asked_ms: u32,
    },
    /// A STATUS: another node's report heard on the multicast group (or our
    /// own, looped back). Expected; not logged.
    Status,
    /// Well-formed but not for us to obey (the text says why).
    Ignored(&'static str),
    /// Not a valid datagram.
    Malformed(DecodeError),
}

/// Decides what the datagram `bytes` asks of this node (no key configured).
pub fn classify(bytes: &[u8]) -> Incoming {
    classify_keyed(bytes, None, IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0)
}

/// Decides what the datagram `bytes`, received from `from`, asks of this
/// node. With a key, a request is obeyed only if it is signed with that
/// key, its sender time is within the window of `now_ns`, and the guard
/// finds it fresh (not replayed, not signed before this sendstats started:
/// [`RequestGuard`]).
pub fn classify_keyed(
    bytes: &[u8],
    keyed: Option<(&Key, &mut RequestGuard)>,
    from: IpAddr,
    now_ns: u64,
) -> Incoming {
    let datagram = match decode(bytes) {
        Ok(datagram) => datagram,
        Err(e) => return Incoming::Malformed(e),
    };
    let header = datagram.header;
    if header.message_type == MessageType::Status {
        return Incoming::Status;
    }
    if header.node != NODE_MASTER {
        return Incoming::Ignored("request not from a master");
    }
    if let Some((key, guard)) = keyed {
        if !datagram.auth.as_ref().is_some_and(|t| key.verify(t)) {
            return Incoming::Ignored("request not signed with our key");
        }
        if header.time_ns.abs_diff(now_ns) > DEFAULT_TIME_WINDOW_SECS * 1_000_000_000 {
            return Incoming::Ignored("signed request outside the time window");
        }
        // Last, so that only requests about to be obeyed use up a sequence.
        let obeyable =
            header.message_type != MessageType::RateChange || datagram.interval_ms().is_some();
        if obeyable {
            if let Err(why) = guard.accept(from, header.sequence, header.time_ns) {
                return Incoming::Ignored(why);
            }
        }
    }
    match header.message_type {
        MessageType::Status => Incoming::Status,
        MessageType::UpdateRequest => Incoming::UpdateRequest,
        MessageType::RateChange => match datagram.interval_ms() {
            Some(asked_ms) => Incoming::RateChange {
                rate: Duration::from_millis(u64::from(asked_ms)).clamp(MIN_RATE, MAX_RATE),
                asked_ms,
            },
            None => Incoming::Ignored("rate change without an interval"),
        },
    }
}

/// One master that gets every report.
#[derive(Debug)]
struct Destination {
    address: SocketAddr,
    /// The last error, while sends to it fail.
    failing: Option<io::Error>,
    /// Datagrams sent to it.
    sent: u64,
}

impl Destination {
    fn record(&mut self, result: io::Result<usize>, len: usize) {
        let result = match result {
            Ok(written) if written == len => Ok(()),
            Ok(written) => Err(io::Error::other(format!("sent {written} of {len} bytes"))),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.sent += 1;
                if self.failing.take().is_some() {
                    log::info!("sending to {} works again", self.address);
                }
            }
            Err(e) => {
                if self.failing.is_none() {
                    log::warn!("cannot send to {}: {e}", self.address);
                }
                self.failing = Some(e);
            }
        }
    }
}

/// Logs one class of ignored datagrams at most once per [`DROP_LOG_INTERVAL`].
#[derive(Debug, Default)]
struct DropLog {
    count: u64,
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl DropLog {
    fn record(&mut self, now: Instant, from: SocketAddr, why: &dyn std::fmt::Display) {
        self.count += 1;
        if self
            .last_logged
            .is_some_and(|last| now.duration_since(last) < DROP_LOG_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        log::debug!(
            "ignored a datagram from {from}: {why} ({} so far, {} not logged)",
            self.count,
            self.suppressed
        );
        self.last_logged = Some(now);
        self.suppressed = 0;
    }
}

/// Counts of what arrived, for tests and the debug log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// UPDATE_REQUESTs obeyed.
    pub update_requests: u64,
    /// RATE_CHANGEs obeyed.
    pub rate_changes: u64,
    /// STATUS datagrams heard (other nodes, or our own looped back).
    pub status: u64,
    /// Well-formed datagrams not obeyed.
    pub ignored: u64,
    /// Invalid datagrams.
    pub malformed: u64,
}

/// Reads, encodes and sends reports; reads what recvstats sends back.
#[derive(Debug)]
pub struct Reporter {
    node: i32,
    source: Source,
    status: Status,
    encoder: Encoder,
    sockets: Sockets,
    destinations: Vec<Destination>,
    sequence: u64,
    /// Signature of the online CPUs (the `cpuN` names in /proc/stat).
    cpu_set: Option<u64>,
    unreadable: usize,
    bad_hostname_logged: bool,
    receive_buffer: Vec<u8>,
    received: Received,
    ignored_log: DropLog,
    malformed_log: DropLog,
    /// Signs every datagram and checks requests, when configured.
    key: Option<Key>,
    /// Which signed requests are fresh (used with a key).
    guard: RequestGuard,
    /// The `-i` interface's index: multicast leaves there (for the source
    /// address a signed report without a node number names).
    interface_index: Option<u32>,
}

impl Reporter {
    /// A reporter for `config`, sending to `destinations` over `sockets`.
    pub fn new(config: &Config, destinations: Vec<SocketAddr>, sockets: Sockets) -> Self {
        Reporter {
            node: config.node,
            source: Source {
                proc_root: config.proc_root.clone(),
                statfs_path: config.statfs_path.clone(),
            },
            status: Status::default(),
            encoder: Encoder::new(),
            sockets,
            destinations: destinations
                .into_iter()
                .map(|address| Destination {
                    address,
                    failing: None,
                    sent: 0,
                })
                .collect(),
            sequence: now_ns(),
            cpu_set: None,
            unreadable: 0,
            bad_hostname_logged: false,
            receive_buffer: vec![0; RECV_BUFFER_LEN],
            received: Received::default(),
            ignored_log: DropLog::default(),
            malformed_log: DropLog::default(),
            key: config.key.clone(),
            guard: RequestGuard::new(now_ns()),
            interface_index: None,
        }
    }

    /// The `-i` interface multicast leaves on (its index).
    pub fn set_interface(&mut self, index: Option<u32>) {
        self.interface_index = index;
    }

    /// The start-up log line: who we are, where reports go, where we listen.
    pub fn describe(&self, rate: Duration) -> String {
        let node = match self.node {
            NODE_FROM_ADDRESS => "node number from address".to_owned(),
            node => format!("node {node}"),
        };
        let to: Vec<String> = self
            .destinations
            .iter()
            .map(|d| d.address.to_string())
            .collect();
        let listening: Vec<String> = self
            .sockets
            .receivers()
            .filter_map(|s| s.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        format!(
            "{node}, reporting every {} s to {}; listening on {}",
            rate.as_secs_f64(),
            to.join(", "),
            listening.join(", ")
        )
    }

    /// The next sequence number.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// What has arrived so far.
    pub fn received(&self) -> Received {
        self.received
    }

    /// Reads the status and sends one report (full if `full`, or if the
    /// online CPUs changed). Returns whether it was full. Send failures are
    /// logged per destination, not returned.
    pub fn report(&mut self, full: bool) -> Result<bool, Error> {
        let time_ns = now_ns();
        self.source.read(full, &mut self.status);
        let cpu_set = cpu_set_signature(&self.status.stat);
        let mut full = full;
        if !full && self.cpu_set.is_some_and(|known| known != cpu_set) {
            log::info!("the online CPUs changed: sending cpuinfo");
            self.source.read(true, &mut self.status);
            full = true;
        }
        self.cpu_set = Some(cpu_set_signature(&self.status.stat));
        self.log_unreadable();
        if valid_hostname(&self.status.hostname).is_none() && !self.bad_hostname_logged {
            log::warn!("the host name is empty or not sendable: reports go without it");
            self.bad_hostname_logged = true;
        }

        let Reporter {
            node,
            status,
            encoder,
            sockets,
            destinations,
            sequence,
            key,
            interface_index,
            ..
        } = self;
        let report = status.report(valid_hostname(&status.hostname), full);
        // A signed report without a node number names the address it is
        // sent from, so the master records it only as the node of that
        // address (docs/PROTOCOL.md 7.7); each distinct source address gets
        // its own encoding.
        let origins: Vec<Option<IpAddr>> = destinations
            .iter()
            .map(|d| {
                (key.is_some() && *node == NODE_FROM_ADDRESS)
                    .then(|| net::source_address(d.address, *interface_index))
                    .and_then(|found| {
                        found
                            .map_err(|e| log::warn!("source address towards {}: {e}", d.address))
                            .ok()
                    })
            })
            .collect();
        let mut distinct = origins.clone();
        distinct.sort();
        distinct.dedup();
        let mut sent = 0;
        for origin in distinct {
            let mut header = Header::status(*node, *sequence, time_ns);
            if key.is_some() {
                header.flags |= FLAG_AUTH;
            }
            let signer = key.as_ref().map(|k| k as &dyn MacSigner);
            encoder.set_origin(origin);
            let result = encode_report(encoder, &header, &report, signer, |datagram| {
                for (destination, _) in destinations
                    .iter_mut()
                    .zip(&origins)
                    .filter(|(_, o)| **o == origin)
                {
                    let result = match sockets.sender_for(&destination.address) {
                        Some(socket) => socket.send_to(datagram, destination.address),
                        None => Err(io::Error::other("no socket for its address family")),
                    };
                    destination.record(result, datagram.len());
                }
            });
            encoder.set_origin(None);
            let count =
                result.map_err(|e| Error::Runtime(format!("cannot encode the report: {e}")))?;
            *sequence = sequence.wrapping_add(count);
            sent += count;
        }
        log::debug!(
            "sent a {} report in {sent} datagram(s)",
            if full { "full" } else { "dynamic" }
        );
        Ok(full)
    }

    /// `--once`: one full report; fails if any destination could not be
    /// sent to.
    pub fn report_once(&mut self) -> Result<(), Error> {
        self.report(true)?;
        match self.destinations.iter().find(|d| d.failing.is_some()) {
            Some(Destination {
                address,
                failing: Some(e),
                ..
            }) => Err(Error::Runtime(format!("cannot send to {address}: {e}"))),
            _ => Ok(()),
        }
    }

    fn log_unreadable(&mut self) {
        let count = self.status.unreadable.len();
        if count == self.unreadable {
            return;
        }
        self.unreadable = count;
        if count == 0 {
            log::info!("every status file is readable again");
        } else {
            let names: Vec<String> = self
                .status
                .unreadable
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            log::warn!("cannot read {}: sending the rest", names.join(", "));
        }
    }

    /// Reads every waiting datagram on every socket and applies it to
    /// `schedule`.
    pub fn receive(&mut self, schedule: &mut Schedule) {
        let Reporter {
            sockets,
            receive_buffer,
            received,
            ignored_log,
            malformed_log,
            key,
            guard,
            ..
        } = self;
        for socket in sockets.receivers() {
            for _ in 0..MAX_RECEIVED_PER_WAKE {
                let (len, from) = match socket.recv_from(receive_buffer) {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        log::debug!("receive error: {e}");
                        break;
                    }
                };
                let now = Instant::now();
                // A datagram that fills the buffer was cut by the kernel;
                // decode() reports it as Truncated.
                let keyed = key.as_ref().map(|k| (k, &mut *guard));
                match classify_keyed(&receive_buffer[..len], keyed, from.ip(), now_ns()) {
                    Incoming::UpdateRequest => {
                        received.update_requests += 1;
                        log::debug!("update request from {from}");
                        schedule.request_full();
                    }
                    Incoming::RateChange { rate, asked_ms } => {
                        received.rate_changes += 1;
                        if rate != schedule.rate() {
                            log::info!(
                                "{from} asked for a report every {asked_ms} ms: now every {} s",
                                rate.as_secs_f64()
                            );
                        }
                        schedule.set_rate(rate, now);
                    }
                    Incoming::Status => received.status += 1,
                    Incoming::Ignored(why) => {
                        received.ignored += 1;
                        ignored_log.record(now, from, &why);
                    }
                    Incoming::Malformed(e) => {
                        received.malformed += 1;
                        malformed_log.record(now, from, &e);
                    }
                }
            }
        }
    }
}

/// Runs until SIGTERM or SIGINT: reports when due, wakes early for
/// datagrams and signals (`wake` is written by the signal handlers).
pub fn serve(
    reporter: &mut Reporter,
    mut schedule: Schedule,
    signals: &Signals,
    wake: &UnixStream,
) -> Result<(), Error> {
    let mut fds: Vec<libc::pollfd> = std::iter::once(wake.as_raw_fd())
        .chain(reporter.sockets.receivers().map(AsRawFd::as_raw_fd))
        .map(net::pollfd)
        .collect();
    let mut drain = [0u8; 64];
    loop {
        if signals.terminate_requested() {
            log::info!("stopping on a signal");
            return Ok(());
        }
        if signals.take_reload() {
            log::info!("SIGHUP: sending a full report");
            schedule.request_full();
        }
        let now = Instant::now();
        let due = schedule.due(now);
        if due != Due::Nothing {
            match reporter.report(due == Due::Full) {
                Ok(full) => schedule.sent(now, full),
                Err(e) => {
                    log::warn!("{e}");
                    schedule.sent(now, due == Due::Full);
                }
            }
            continue;
        }
        let timeout = schedule.deadline().saturating_duration_since(now);
        for fd in &mut fds {
            fd.revents = 0;
        }
        net::poll(&mut fds, timeout).map_err(|e| Error::io("poll", e))?;
        while matches!((&*wake).read(&mut drain), Ok(1..)) {}
        reporter.receive(&mut schedule);
    }
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The host name if the protocol can carry it (1..=255 bytes, no NUL).
fn valid_hostname(name: &[u8]) -> Option<&[u8]> {
    (!name.is_empty() && name.len() <= MAX_HOSTNAME_LEN && !name.contains(&0)).then_some(name)
}

/// A hash of the names of the per-CPU lines (`cpu0`, `cpu1`, ...) of a
/// condensed /proc/stat: it changes exactly when CPUs go on- or offline.
fn cpu_set_signature(stat: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    for line in stat.lines() {
        let name = line.split_ascii_whitespace().next().unwrap_or("");
        if name.len() > 3 && name.starts_with("cpu") {
            name.hash(&mut hasher);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Encoder, SectionTag};

    const RATE: Duration = Duration::from_secs(5);
    const FULL: Duration = Duration::from_secs(600);

    #[test]
    fn schedule_starts_with_a_full_report_then_keeps_its_phase() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, RATE, FULL);
        assert_eq!(s.due(t0), Due::Full);
        s.sent(t0, true);
        assert_eq!(s.deadline(), t0 + RATE);
        assert_eq!(s.due(t0 + Duration::from_secs(4)), Due::Nothing);
        // Sent 30 ms late: the next one is still due at 10 s, not 10.03 s.
        let late = t0 + RATE + Duration::from_millis(30);
        assert_eq!(s.due(late), Due::Report);
        s.sent(late, false);
        assert_eq!(s.deadline(), t0 + 2 * RATE);
        // Far behind (suspended machine): restart from now, no burst.
        let much_later = t0 + Duration::from_secs(60);
        s.sent(much_later, false);
        assert_eq!(s.deadline(), much_later + RATE);
    }

    #[test]
    fn schedule_sends_a_full_report_every_full_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, RATE, Duration::from_secs(12));
        s.sent(t0, true);
        let t10 = t0 + 2 * RATE;
        assert_eq!(s.due(t10), Due::Report);
        s.sent(t10, false);
        assert_eq!(s.deadline(), t0 + Duration::from_secs(12));
        assert_eq!(s.due(t0 + Duration::from_secs(12)), Due::Full);
    }

    #[test]
    fn update_requests_are_answered_at_once_but_spaced() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, RATE, FULL);
        s.sent(t0, true);
        let t1 = t0 + MIN_FULL_SPACING;
        s.request_full();
        assert_eq!(s.due(t1 - Duration::from_millis(1)), Due::Nothing);
        assert_eq!(s.due(t1), Due::Full);
        s.sent(t1, true);
        // The early report restarts the phase.
        assert_eq!(s.deadline(), t1 + RATE);
        // A second request 10 ms later waits for the spacing.
        let t2 = t1 + Duration::from_millis(10);
        s.request_full();
        assert_eq!(s.due(t2), Due::Nothing);
        assert_eq!(s.deadline(), t1 + MIN_FULL_SPACING);
        assert_eq!(s.due(t1 + MIN_FULL_SPACING), Due::Full);
    }

    #[test]
    fn rate_changes_apply_from_the_last_report() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, Duration::from_secs(3600), FULL);
        s.sent(t0, true);
        let t1 = t0 + Duration::from_secs(2);
        s.set_rate(Duration::from_secs(1), t1);
        assert_eq!(s.rate(), Duration::from_secs(1));
        assert_eq!(s.due(t1), Due::Report, "1 s after the last report is past");
        s.sent(t1, false);
        assert_eq!(s.deadline(), t1 + Duration::from_secs(1));
        s.set_rate(Duration::from_secs(10), t1);
        assert_eq!(s.deadline(), t1 + Duration::from_secs(10));
    }

    fn encode(header: &Header, interval: Option<u32>) -> Vec<u8> {
        let mut encoder = Encoder::new();
        encoder.begin(header).unwrap();
        if let Some(ms) = interval {
            encoder.interval(ms).unwrap();
        }
        encoder.finish().unwrap().to_vec()
    }

    #[test]
    fn classify_obeys_the_master_and_clamps_rates() {
        assert_eq!(
            classify(&encode(&Header::update_request(1, 0), None)),
            Incoming::UpdateRequest
        );
        assert_eq!(
            classify(&encode(&Header::rate_change(2, 0), Some(2500))),
            Incoming::RateChange {
                rate: Duration::from_millis(2500),
                asked_ms: 2500
            }
        );
        assert_eq!(
            classify(&encode(&Header::rate_change(3, 0), Some(1))),
            Incoming::RateChange {
                rate: MIN_RATE,
                asked_ms: 1
            }
        );
        assert_eq!(
            classify(&encode(&Header::rate_change(4, 0), Some(u32::MAX))),
            Incoming::RateChange {
                rate: MAX_RATE,
                asked_ms: u32::MAX
            }
        );
        let mut from_a_node = Header::update_request(5, 0);
        from_a_node.node = 12;
        assert_eq!(
            classify(&encode(&from_a_node, None)),
            Incoming::Ignored("request not from a master")
        );
    }

    #[test]
    fn classify_never_panics_and_names_the_drop_reason() {
        let mut encoder = Encoder::new();
        encoder.begin(&Header::status(3, 1, 0)).unwrap();
        encoder.section(SectionTag::Loadavg, b"0.00\n").unwrap();
        let status = encoder.finish().unwrap().to_vec();
        assert_eq!(classify(&status), Incoming::Status);
        assert_eq!(classify(b""), Incoming::Malformed(DecodeError::Truncated));
        assert_eq!(
            classify(b"GET / HTTP/1.0"),
            Incoming::Malformed(DecodeError::BadMagic)
        );
        let request = encode(&Header::update_request(1, 0), None);
        // Every truncation and every single-byte corruption of a request.
        for cut in 0..request.len() {
            assert!(matches!(classify(&request[..cut]), Incoming::Malformed(_)));
        }
        for at in 0..request.len() {
            for value in [0u8, 1, 0x7f, 0xff] {
                let mut bytes = request.clone();
                bytes[at] = value;
                let _ = classify(&bytes);
            }
        }
    }

    #[test]
    fn cpu_signature_changes_with_the_online_cpus_only() {
        let two = "cpu 1 2 3 4\ncpu0 1 1 1 1\ncpu1 0 1 2 2\n";
        let two_later = "cpu 9 9 9 9\ncpu0 5 5 5 5\ncpu1 4 4 4 4\n";
        let one_offline = "cpu 9 9 9 9\ncpu0 5 5 5 5\n";
        assert_eq!(cpu_set_signature(two), cpu_set_signature(two_later));
        assert_ne!(cpu_set_signature(two), cpu_set_signature(one_offline));
    }

    #[test]
    fn host_names_the_protocol_cannot_carry_are_left_out() {
        assert_eq!(valid_hostname(b"n1"), Some(&b"n1"[..]));
        assert_eq!(valid_hostname(b""), None);
        assert_eq!(valid_hostname(b"a\0b"), None);
        assert_eq!(valid_hostname(&[b'h'; 256]), None);
        assert!(valid_hostname(&[b'h'; 255]).is_some());
    }
}
