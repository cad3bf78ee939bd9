//! sendstats, the node daemon: reads this node's /proc status and sends it
//! to every master's recvstats, and does what recvstats asks.
//!
//! This module owns the daemon's behaviour; the binary (`src/bin/sendstats.rs`)
//! only parses the command line and calls [`run`](crate::send::run). It never parses /proc
//! text (it sends what [`crate::collect`] reads, condensed) and never lays
//! out datagrams itself ([`crate::protocol::encode_report`] does).
//!
//! Layout: [`cli`](crate::send::cli) is the command line, [`net`](crate::send::net) the sockets, [`reporter`](crate::send::reporter)
//! the report loop and its schedule.
//!
//! Decisions (also in `sendstats --help`):
//!
//! - **Defaults**: port [`DEFAULT_PORT`](crate::send::DEFAULT_PORT) 3040 (0xbe0, the old ClusterWare
//!   port); with no address, multicast to [`DEFAULT_GROUP_V4`](crate::send::DEFAULT_GROUP_V4)
//!   239.255.30.40 with TTL 1 on the `-i` interface. [`DEFAULT_GROUP_V6`](crate::send::DEFAULT_GROUP_V6)
//!   ff02::be0 is used by naming it as the address (`-a ff02::be0 -i eth0`);
//!   IPv6 multicast needs `-i` (the group is link-local). A multicast
//!   address given on the command line is treated like the default group.
//! - **Rate**: [`DEFAULT_RATE`](crate::send::DEFAULT_RATE) 5 s; `-r` takes fractional seconds within
//!   [`MIN_RATE`](crate::send::MIN_RATE)..=[`MAX_RATE`](crate::send::MAX_RATE) (0.1 s to 1 h), the same bounds a
//!   RATE_CHANGE from recvstats is clamped to.
//! - **Full reports** (cpuinfo, FULL flag): at start, on UPDATE_REQUEST, on
//!   SIGHUP, every `--full-interval` ([`DEFAULT_FULL_INTERVAL`](crate::send::DEFAULT_FULL_INTERVAL) 10 min), and
//!   when the set of online CPUs changes. That change is detected from the
//!   `cpuN` lines of /proc/stat, which every report reads anyway, rather
//!   than by re-reading /proc/cpuinfo every interval: on x86 each read of
//!   cpuinfo samples every CPU's clock (work on every core, which HPC nodes
//!   avoid), and its `cpu MHz` lines change on almost every read, so
//!   comparing the text would make nearly every report a full one.
//! - **Update requests** are answered at once, but full reports sent on
//!   request are at least [`MIN_FULL_SPACING`](crate::send::MIN_FULL_SPACING) (2 s) apart, whatever asks
//!   (UPDATE_REQUEST, replayed or not, or SIGHUP): a flood of requests
//!   cannot make a node flood the network.
//! - **Requests** are obeyed only from node [`crate::protocol::NODE_MASTER`]
//!   (what recvstats sends); anything else, including the STATUS of other
//!   nodes heard on the group, is counted and ignored. With `--key-file`,
//!   only requests signed with the key, within the time window, and fresh
//!   ([`requests`](crate::send::requests): not replayed, not signed before
//!   this sendstats started) are obeyed.
//! - **Multicast needs `-i`**: reports go to a multicast group only on the
//!   interface named with `-i` (a usage error otherwise, exit 2). Leaving it
//!   to the routing table would put the cluster's status, and the listener's
//!   IGMP join, on whatever interface the default route uses, often the
//!   public one; the old man page already said to always give `-i`.
//! - **Sequence numbers** start at the start time in ns since the epoch and
//!   go up by one per datagram, so a restarted sendstats does not repeat
//!   numbers a master has seen (unless the clock went back).
//! - **Node number**: the first positional word, if it is an integer ≥ 0;
//!   otherwise [`crate::protocol::NODE_FROM_ADDRESS`].
//! - **Host names** are resolved once at start (first address getaddrinfo
//!   gives); a name that does not resolve is a runtime error (exit 1), a
//!   malformed address a usage error (exit 2). A missing interface, or one
//!   without multicast, is a runtime error (exit 1): the command line is
//!   valid, this machine does not match it.
//! - **Running**: without `-d`, `-f` or `--once` it detaches; the sockets are
//!   built before, so their errors reach the terminal, and the parent exits
//!   0 once the child has written its pidfile. `-d` and `-f` stay in the
//!   foreground logging to stderr (`-d` at debug level). Relative paths are
//!   made absolute before detaching (the daemon runs in `/`).

pub mod cli;
pub mod net;
pub mod reporter;
pub mod requests;

use std::fmt;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::daemon::{self, LogTarget, Pidfile, Readiness, Signals};

pub use cli::{Args, Config};
pub use reporter::{Reporter, Schedule};

/// The program name in messages and syslog.
pub const PROGRAM: &str = "sendstats";
/// The defaults both daemons share live with the wire protocol.
pub use crate::protocol::{DEFAULT_GROUP_V4, DEFAULT_GROUP_V6, DEFAULT_PORT};
/// Default time between reports.
pub const DEFAULT_RATE: Duration = Duration::from_secs(5);
/// Shortest report interval (`-r` and RATE_CHANGE).
pub const MIN_RATE: Duration = Duration::from_millis(100);
/// Longest report interval (`-r` and RATE_CHANGE).
pub const MAX_RATE: Duration = Duration::from_secs(3600);
/// Default time between full reports (with cpuinfo).
pub const DEFAULT_FULL_INTERVAL: Duration = Duration::from_secs(600);
/// Shortest time between two full reports sent on request (UPDATE_REQUEST
/// or SIGHUP), whoever asks: a flood of requests, replayed or not, makes a
/// node send at most one full report per this time.
pub const MIN_FULL_SPACING: Duration = Duration::from_secs(2);

/// Why sendstats stopped.
#[derive(Debug)]
pub enum Error {
    /// The command line is wrong (exit status 2).
    Usage(String),
    /// The machine does not allow what was asked (exit status 1).
    Runtime(String),
    /// A system call failed (exit status 1).
    Io {
        /// What was being done.
        context: String,
        /// What the system said.
        source: io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit status for this error: 2 for usage, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Runtime(_) | Error::Io { .. } => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) | Error::Runtime(message) => f.write_str(message),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Runs sendstats with parsed arguments until a signal stops it (or after
/// one report with `--once`).
pub fn run(args: Args) -> Result<(), Error> {
    let mut config = Config::from_args(args)?;
    daemon::init_logging(PROGRAM, LogTarget::Stderr, config.debug);
    for path in [&mut config.proc_root, &mut config.statfs_path]
        .into_iter()
        .chain(config.pidfile.as_mut())
    {
        *path =
            std::path::absolute(&*path).map_err(|e| Error::io(format!("{}", path.display()), e))?;
    }

    if !config.proc_root.is_dir() {
        return Err(Error::Runtime(format!(
            "--proc-root {}: not a directory",
            config.proc_root.display()
        )));
    }
    let interface = config
        .interface
        .as_deref()
        .map(net::Interface::find)
        .transpose()?;
    let destinations = net::resolve(&config.targets)?;
    let multicast = destinations.iter().any(|d| d.ip().is_multicast());
    if multicast && interface.is_none() {
        // A host name that resolved to a group (addresses are checked
        // with the command line).
        return Err(Error::Usage(cli::MULTICAST_NEEDS_INTERFACE.into()));
    }
    let sockets = net::Sockets::open(&destinations, interface.as_ref(), !config.once)?;
    if let (Some(interface), false) = (&interface, multicast) {
        log::debug!(
            "-i {}: only multicast uses it; unicast follows the routing table",
            interface.name
        );
    }
    let mut reporter = Reporter::new(&config, destinations, sockets);
    reporter.set_interface(interface.as_ref().map(|i| i.index));

    if config.once {
        return reporter.report_once();
    }

    let mut readiness = if config.foreground {
        Readiness::none()
    } else {
        daemon::detach(PROGRAM).map_err(|e| Error::io("cannot detach", e))?
    };
    let (_pidfile, signals, wake) = match start(config.pidfile.as_deref()) {
        Ok(started) => started,
        Err(e) => {
            readiness.failed(&e.to_string());
            return Err(e);
        }
    };
    readiness.ready();
    match &interface {
        Some(interface) => log::info!(
            "{} (multicast interface {})",
            reporter.describe(config.rate),
            interface.name
        ),
        None => log::info!("{}", reporter.describe(config.rate)),
    }
    let result = reporter::serve(
        &mut reporter,
        Schedule::new(std::time::Instant::now(), config.rate, config.full_interval),
        &signals,
        &wake,
    );
    readiness.stopping();
    if let Err(e) = &result {
        if !config.foreground {
            log::error!("{e}");
        }
    }
    result
}

/// What the running daemon holds: its pidfile (removed on drop), the signal
/// flags, and the read end of the pipe signals write to (to wake `poll`).
fn start(pidfile: Option<&Path>) -> Result<(Option<Pidfile>, Signals, UnixStream), Error> {
    let pidfile = pidfile
        .map(|path| {
            Pidfile::create(path)
                .map_err(|e| Error::io(format!("cannot write pidfile {}", path.display()), e))
        })
        .transpose()?;
    let signals = Signals::install().map_err(|e| Error::io("cannot install signal handlers", e))?;
    let (wake, write) = UnixStream::pair().map_err(|e| Error::io("cannot create a pipe", e))?;
    wake.set_nonblocking(true)
        .map_err(|e| Error::io("cannot create a pipe", e))?;
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        let write = write
            .try_clone()
            .map_err(|e| Error::io("cannot create a pipe", e))?;
        signal_hook::low_level::pipe::register(signal, write)
            .map_err(|e| Error::io("cannot install signal handlers", e))?;
    }
    Ok((pidfile, signals, wake))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_documented_values() {
        assert_eq!(DEFAULT_PORT, 0xbe0);
        assert_eq!(DEFAULT_GROUP_V4.to_string(), "239.255.30.40");
        assert_eq!(DEFAULT_GROUP_V6.to_string(), "ff02::be0");
        assert!(DEFAULT_GROUP_V4.is_multicast() && DEFAULT_GROUP_V6.is_multicast());
    }

    #[test]
    fn exit_codes_separate_usage_from_runtime_errors() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::Runtime("x".into()).exit_code(), 1);
        let io = Error::io("cannot open", io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(io.exit_code(), 1);
        assert_eq!(
            io.to_string(),
            "cannot open: Permission denied (os error 13)"
        );
    }
}
