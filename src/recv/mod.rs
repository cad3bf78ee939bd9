//! recvstats, the master daemon: receive node status, publish it.
//!
//! [`run`] owns the main loop: it opens the shm files and the sockets, then
//! drains every datagram that is queued, ingests it ([`ingest`]), and on a
//! timer samples the master's own /proc as node -1, marks silent nodes down,
//! and multicasts an update request to the nodes. Signals only set flags;
//! the loop checks them between batches, so shutdown always leaves the files
//! consistent. Nothing here parses or formats bytes: that is `ingest`,
//! `protocol` and `proc`.
//!
//! The loop must cost the master almost nothing (it also runs the
//! scheduler), and at a cluster's normal rates most of the cost of a
//! datagram would be the wakeup it causes, not its parsing. So datagrams are
//! taken 64 per system call ([`batch::BatchReceiver`], `recvmmsg`), and
//! whenever a short sleep gathers three or more (from 600 datagrams a
//! second) the loop sleeps before each drain instead of waking for every
//! one ([`batch::Pacing`]): `--batch-delay` (1 ms) at high rates, stretched
//! at low rates to at most 5 times it. A datagram waits at most that long
//! (5 ms; 1 ms from 8,000/s) before it is published.

pub mod batch;
pub mod cli;
pub mod ingest;
pub mod net;
pub mod nodemap;
pub mod reassembly;
pub mod replay_store;

use crate::auth::Verifier;
use crate::collect::{Source, Status};
use crate::daemon::{Readiness, Signals};
use crate::error::{Error, Result};
use crate::protocol::{Encoder, Header, DEFAULT_PORT};
use crate::shm::{now_ns, Counter, ShmWriter, WriterOptions};
use batch::{BatchReceiver, Drained, Pacing};
use ingest::{Ingest, Outcome};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often static data (cpuinfo) of the master is read again.
const MASTER_FULL_INTERVAL: Duration = Duration::from_secs(600);
/// A node whose static data is missing is asked again at most this often.
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(30);
/// Expiry of silent nodes is checked this often.
const EXPIRY_CHECK: Duration = Duration::from_secs(1);
/// Drops are logged at most this often (they are always counted).
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// Batches taken from one socket before the loop looks at its timers again
/// (64 datagrams each): a flood cannot starve the expiry and the signals.
const MAX_BATCHES_PER_DRAIN: usize = 16;

/// Everything recvstats is configured with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Shared-memory directory.
    pub shm_dir: PathBuf,
    /// Initial node capacity (`-N`).
    pub node_capacity: u32,
    /// Most distinct nodes held.
    pub max_nodes: u32,
    /// Most CPUs recorded per node.
    pub max_cpus: u32,
    /// Largest the node file may grow (bytes).
    pub max_shm_bytes: u64,
    /// A node silent this long is down.
    pub node_expiry: Duration,
    /// Port, if given on the command line (else the config file's, else 3040).
    pub port: Option<u16>,
    /// Interface for multicast (`-i`).
    pub interface: Option<String>,
    /// IPv4 group.
    pub group_v4: std::net::Ipv4Addr,
    /// IPv6 group.
    pub group_v6: std::net::Ipv6Addr,
    /// Interval between update-request multicasts.
    pub update_interval: Duration,
    /// Interval between samples of the master's own /proc.
    pub master_interval: Duration,
    /// ClusterWare configuration file (iprange, server beostats).
    pub config: PathBuf,
    /// Shared key file: when set, only signed datagrams are accepted.
    pub key_file: Option<PathBuf>,
    /// Where the replay windows are kept (`--state-dir`; None: the shm
    /// directory).
    pub state_dir: Option<PathBuf>,
    /// Run as this user (name or uid) once the files and sockets are open.
    pub user: Option<String>,
    /// Accept a shm directory others can write to (`--allow-insecure-dir`).
    pub allow_insecure_dir: bool,
    /// Where the master's own status is read.
    pub source: Source,
    /// How long datagrams may gather before a drain while traffic flows
    /// (`--batch-delay`; 0: drain on every wakeup).
    pub batch_delay: Duration,
}

/// Runs until SIGTERM or SIGINT. `readiness` is told once the files and the
/// sockets are ready (or why startup failed).
pub fn run(options: &Options, signals: &Signals, readiness: &mut Readiness) -> Result<()> {
    let result = start(options);
    let (mut daemon, sockets) = match result {
        Ok(started) => started,
        Err(e) => {
            readiness.failed(&e.to_string());
            return Err(e);
        }
    };
    readiness.ready();
    daemon.serve(options, &sockets, signals);
    if let Some(failure) = daemon.failure.take() {
        return Err(failure);
    }
    log::info!("shutting down; the shm files stay in place");
    Ok(())
}

struct Daemon {
    /// Signs update requests when a key is configured.
    key: Option<crate::auth::Key>,
    ingest: Ingest,
    encoder: Encoder,
    sequence: u64,
    status: Status,
    /// When each node without static data was last asked for it (pruned:
    /// entries older than [`ASK_AGAIN_AFTER`] are dropped).
    asked: HashMap<i32, Instant>,
    /// When a drop of each reason was last logged.
    last_drop_log: HashMap<Counter, Instant>,
    /// Why serving stopped, when it was not a signal.
    failure: Option<Error>,
}

fn start(options: &Options) -> Result<(Daemon, net::Sockets)> {
    let user = options
        .user
        .as_deref()
        .map(crate::privilege::lookup)
        .transpose()
        .map_err(Error::InvalidArgument)?;
    if let Some(user) = &user {
        crate::privilege::check_can_become(user)?;
    }
    let config = nodemap::load(&options.config)
        .map_err(Error::InvalidArgument)?
        .unwrap_or_default();
    if !config.nodes.is_empty() {
        log::info!(
            "node numbers of unnumbered reports come from {}",
            options.config.display()
        );
    }
    let mut writer_options = WriterOptions::new(&options.shm_dir);
    writer_options.node_capacity = options.node_capacity.min(options.max_nodes);
    writer_options.node_expiry_secs = options.node_expiry.as_secs().max(1) as u32;
    writer_options.max_nodes = options.max_nodes;
    writer_options.max_cpus = options.max_cpus;
    writer_options.max_shm_bytes = options.max_shm_bytes;
    writer_options.owner = user.as_ref().map(|u| (u.uid, u.gid));
    writer_options.allow_insecure_dir = options.allow_insecure_dir;
    let writer = ShmWriter::open(&writer_options)?;
    let port = options.port.or(config.port).unwrap_or(DEFAULT_PORT);
    let sockets = net::open(&net::NetOptions {
        port,
        interface: options.interface.clone(),
        group_v4: options.group_v4,
        group_v6: options.group_v6,
    })?;
    log::info!("publishing in {}", options.shm_dir.display());
    let key = options
        .key_file
        .as_deref()
        .map(crate::auth::Key::from_file)
        .transpose()?;
    if key.is_some() {
        log::info!(
            "accepting only datagrams signed with the key in {}",
            options.key_file.as_ref().unwrap().display()
        );
    }
    // Opened before dropping root, like the shm files it sits next to.
    let verifier = match key.clone() {
        Some(key) => {
            let dir = options.state_dir.as_deref().unwrap_or(&options.shm_dir);
            let owner = user.as_ref().map(|u| (u.uid, u.gid));
            let store = replay_store::ReplayStore::open(
                dir,
                owner,
                options.allow_insecure_dir,
                options.max_nodes,
            )?;
            log::info!("replay windows kept in {}", store.path().display());
            Some(Verifier::with_state(
                key,
                crate::auth::DEFAULT_TIME_WINDOW_SECS,
                Box::new(store),
            ))
        }
        None => None,
    };
    if let Some(user) = &user {
        crate::privilege::drop_to(user)?;
        writer.check_dir_writable()?;
        log::info!(
            "running as {} (uid {}, gid {})",
            user.name,
            user.uid,
            user.gid
        );
    }
    let mut ingest = Ingest::new(writer, config.nodes);
    ingest.set_verifier(verifier);
    let daemon = Daemon {
        key,
        ingest,
        encoder: Encoder::new(),
        sequence: now_ns(),
        status: Status::default(),
        asked: HashMap::new(),
        last_drop_log: HashMap::new(),
        failure: None,
    };
    Ok((daemon, sockets))
}

impl Daemon {
    fn serve(&mut self, options: &Options, sockets: &net::Sockets, signals: &Signals) {
        let start = Instant::now();
        let mut next_master = start;
        let mut next_full = start;
        let mut next_expiry = start;
        let mut next_multicast = start;
        let mut pacing = Pacing::new(options.batch_delay);
        let mut receiver = BatchReceiver::new();
        let mut fds = vec![sockets.v4.as_raw_fd()];
        fds.extend(sockets.v6.as_ref().map(AsRawFd::as_raw_fd));
        let mut last = Drained::default();
        loop {
            if signals.terminate_requested() {
                return;
            }
            if signals.take_reload() {
                self.reload(options);
            }
            let now = Instant::now();
            if now >= next_master {
                let full = now >= next_full;
                if full {
                    next_full = now + MASTER_FULL_INTERVAL;
                }
                self.sample_master(&options.source, full);
                next_master = now + options.master_interval;
            }
            if now >= next_expiry {
                let writer = self.ingest.writer();
                for node in writer.expire() {
                    log::info!("node {node} stopped reporting: marked down");
                }
                match writer.check_files() {
                    Ok(true) => log::warn!(
                        "the shm files in {} were deleted or replaced: made them again",
                        options.shm_dir.display()
                    ),
                    Ok(false) => {}
                    Err(e) => {
                        log::error!("{e}; exiting so that the service manager restarts recvstats");
                        self.failure = Some(e);
                        return;
                    }
                }
                self.ingest.expire_partial_texts();
                next_expiry = now + EXPIRY_CHECK;
            }
            if now >= next_multicast {
                self.request_updates(sockets);
                next_multicast = now + options.update_interval;
            }
            let wake = next_master.min(next_expiry).min(next_multicast);
            let ready = pacing.wait(&fds, last, wake.saturating_duration_since(Instant::now()));
            last = Drained::default();
            if ready.contains(0) {
                last = self.drain(&mut receiver, &sockets.v4);
            }
            if let Some(v6) = sockets.v6.as_ref().filter(|_| ready.contains(1)) {
                let more = self.drain(&mut receiver, v6);
                last.datagrams += more.datagrams;
                last.saturated |= more.saturated;
            }
        }
    }

    /// Receives and ingests what is queued on `socket`, a batch at a time.
    fn drain(&mut self, receiver: &mut BatchReceiver, socket: &UdpSocket) -> Drained {
        let (drained, error) = batch::drain(
            receiver,
            socket.as_raw_fd(),
            MAX_BATCHES_PER_DRAIN,
            |bytes, source| {
                let from = source.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |s| s.ip());
                match self.ingest.datagram(bytes, from, now_ns()) {
                    Outcome::Accepted {
                        node,
                        wants_static: true,
                    } => {
                        if let Some(source) = source {
                            self.ask_for_static(socket, node, source);
                        }
                    }
                    Outcome::Accepted { .. } => {}
                    Outcome::Dropped(reason) => self.log_drop(reason, source),
                }
            },
        );
        if let Some(e) = error {
            log::warn!("receive: {e}");
        }
        drained
    }

    fn log_drop(&mut self, reason: Counter, source: Option<SocketAddr>) {
        let now = Instant::now();
        if self
            .last_drop_log
            .get(&reason)
            .is_none_or(|last| now.duration_since(*last) >= DROP_LOG_INTERVAL)
        {
            self.last_drop_log.insert(reason, now);
            let source = source.map_or_else(|| "an unknown address".to_owned(), |s| s.to_string());
            log::warn!("dropped a datagram from {source}: {} (further drops for this reason are counted, not logged, for {}s)", reason.name(), DROP_LOG_INTERVAL.as_secs());
        }
    }

    /// Asks a node we have no static data for to send a full report.
    fn ask_for_static(&mut self, socket: &UdpSocket, node: i32, source: SocketAddr) {
        let now = Instant::now();
        if self
            .asked
            .get(&node)
            .is_some_and(|at| now.duration_since(*at) < ASK_AGAIN_AFTER)
        {
            return;
        }
        // Bounded by the nodes asked within ASK_AGAIN_AFTER: old entries go.
        if self.asked.len() >= 4096 {
            self.asked
                .retain(|_, at| now.duration_since(*at) < ASK_AGAIN_AFTER);
        }
        self.asked.insert(node, now);
        if let Some(request) = self.update_request() {
            match socket.send_to(&request, source) {
                Ok(_) => log::debug!("asked node {node} ({source}) for a full report"),
                Err(e) => log::debug!("asking node {node} at {source} for a full report: {e}"),
            }
        }
    }

    fn update_request(&mut self) -> Option<Vec<u8>> {
        self.sequence += 1;
        let mut header = Header::update_request(self.sequence, now_ns());
        if self.key.is_some() {
            header.flags |= crate::protocol::FLAG_AUTH;
        }
        self.encoder.begin(&header).ok()?;
        match &self.key {
            Some(key) => self.encoder.finish_signed(key).ok().map(<[u8]>::to_vec),
            None => self.encoder.finish().ok().map(<[u8]>::to_vec),
        }
    }

    /// Multicasts an update request and records when.
    fn request_updates(&mut self, sockets: &net::Sockets) {
        if sockets.multicast_targets.is_empty() {
            return;
        }
        let Some(request) = self.update_request() else {
            return;
        };
        let mut sent = false;
        for target in &sockets.multicast_targets {
            let socket = if target.is_ipv4() {
                Some(&sockets.v4)
            } else {
                sockets.v6.as_ref()
            };
            match socket.map(|s| s.send_to(&request, target)) {
                Some(Ok(_)) => sent = true,
                Some(Err(e)) => log::warn!("update request to {target}: {e}"),
                None => {}
            }
        }
        if sent {
            let writer = self.ingest.writer();
            writer.set_last_multicast((now_ns() / 1_000_000_000) as libc::time_t);
            writer.add_counter(Counter::UpdateRequestsSent, 1);
        }
    }

    /// Publishes the master's own /proc as node -1.
    fn sample_master(&mut self, source: &Source, full: bool) {
        source.read(full, &mut self.status);
        for path in &self.status.unreadable {
            log::debug!("master status: cannot read {}", path.display());
        }
        // What sendstats would send of it, cpuinfo included whenever it was
        // read (it stays in `status` between full readings).
        let hostname = &self.status.hostname;
        let report = self
            .status
            .report((!hostname.is_empty()).then_some(hostname), true);
        if let Err(e) = self.ingest.publish(-1, &report, now_ns()) {
            log::warn!("publishing the master's status: {e}");
        }
    }

    fn reload(&mut self, options: &Options) {
        match nodemap::load(&options.config) {
            Ok(config) => {
                self.ingest.set_node_map(config.unwrap_or_default().nodes);
                log::info!("reread {}", options.config.display());
            }
            Err(e) => log::warn!("SIGHUP: keeping the previous node map: {e}"),
        }
    }
}
