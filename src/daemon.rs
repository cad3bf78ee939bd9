//! What makes recvstats and sendstats behave like Unix daemons: logging,
//! detaching, the pidfile, and signals.
//!
//! - Logging goes through the `log` facade: to syslog (facility daemon) once
//!   detached, to stderr prefixed with the program name otherwise, one
//!   write(2) per line, with sd-daemon(3) `<N>` priority prefixes when
//!   stderr is the systemd journal (`$JOURNAL_STREAM`).
//! - [`detach`] forks; the parent waits until the child says it is ready (or
//!   failed, with the message) and exits 0 or 1, so `recvstats -i eth0`
//!   returns only once the daemon serves, and a startup error still reaches
//!   the administrator's terminal.
//! - [`Signals`] turns SIGTERM/SIGINT and SIGHUP into flags the main loop polls.
//! - [`notify`] tells a service manager (systemd `Type=notify`) when the
//!   daemon is ready and when it stops, through `$NOTIFY_SOCKET`.
//!
//! This module never decides policy (what to log, when to detach); the
//! binaries do.

use std::ffi::CString;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::FromRawFd;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// `program: message` on stderr.
    Stderr,
    /// syslog(3), facility LOG_DAEMON.
    Syslog,
}

struct Logger {
    program: &'static str,
    target: std::sync::atomic::AtomicU8,
    /// stderr is a stream of the systemd journal: lines carry an sd-daemon(3)
    /// `<N>` priority prefix, so `journalctl -p warning` finds warnings.
    journal: bool,
}

static mut LOGGER: Option<&'static Logger> = None;

/// The syslog(3) priority of a log level.
fn priority(level: log::Level) -> libc::c_int {
    match level {
        log::Level::Error => libc::LOG_ERR,
        log::Level::Warn => libc::LOG_WARNING,
        log::Level::Info => libc::LOG_INFO,
        log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
    }
}

/// One stderr log line, newline included: `program: [level: ]message`,
/// behind a `<N>` priority prefix when it goes to the journal.
fn stderr_line(program: &str, level: log::Level, journal: bool, message: &str) -> String {
    let label = match level {
        log::Level::Error => "error: ",
        log::Level::Warn => "warning: ",
        _ => "",
    };
    let prefix = if journal {
        format!("<{}>", priority(level))
    } else {
        String::new()
    };
    format!("{prefix}{program}: {label}{message}\n")
}

/// Whether stderr is the journal stream systemd names in `$JOURNAL_STREAM`
/// (`DEVICE:INODE` of the stream it connected; sd-daemon(3)).
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a whole struct stat into our buffer on success,
    // and we read it only then.
    if unsafe { libc::fstat(libc::STDERR_FILENO, stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat succeeded, so the struct is initialised.
    let stat = unsafe { stat.assume_init() };
    device.parse::<u64>().ok() == Some(stat.st_dev)
        && inode.parse::<u64>().ok() == Some(stat.st_ino)
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if self.target.load(Ordering::Relaxed) == 1 {
            let text =
                CString::new(record.args().to_string().replace('\0', "?")).unwrap_or_default();
            // SAFETY: both strings are valid NUL-terminated C strings; "%s"
            // keeps the message from being read as a format.
            unsafe { libc::syslog(priority(record.level()), c"%s".as_ptr(), text.as_ptr()) };
        } else {
            // One write(2) per line: stderr is unbuffered, and `writeln!`
            // with arguments writes each piece on its own, so two daemons
            // sharing a terminal or a file interleaved inside lines.
            let line = stderr_line(
                self.program,
                record.level(),
                self.journal,
                &record.args().to_string(),
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once per process). `debug` lowers the level to Debug.
pub fn init_logging(program: &'static str, target: LogTarget, debug: bool) {
    let logger: &'static Logger = Box::leak(Box::new(Logger {
        program,
        target: std::sync::atomic::AtomicU8::new(0),
        journal: stderr_is_journal(),
    }));
    if log::set_logger(logger).is_ok() {
        // SAFETY: written once, before any other thread exists.
        unsafe { *std::ptr::addr_of_mut!(LOGGER) = Some(logger) };
    }
    log::set_max_level(if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
    set_log_target(program, target);
}

/// Switches between stderr and syslog (after detaching).
pub fn set_log_target(program: &'static str, target: LogTarget) {
    // SAFETY: LOGGER is written once in init_logging before this can run.
    let Some(logger) = (unsafe { *std::ptr::addr_of!(LOGGER) }) else {
        return;
    };
    if target == LogTarget::Syslog {
        let ident: &'static CString =
            Box::leak(Box::new(CString::new(program).unwrap_or_default()));
        // SAFETY: ident lives forever, as openlog requires.
        unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
    }
    logger
        .target
        .store(u8::from(target == LogTarget::Syslog), Ordering::Relaxed);
}

/// The child's end of the readiness pipe (see [`detach`]).
#[derive(Debug)]
pub struct Readiness {
    pipe: Option<File>,
}

impl Readiness {
    /// For a process that did not detach: reporting is a no-op.
    pub fn none() -> Self {
        Readiness { pipe: None }
    }

    /// Tells the waiting parent that startup succeeded; it exits 0. Also
    /// tells a service manager that asked (`READY=1`, see [`notify`]).
    pub fn ready(&mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(b"\0");
        }
        notify_or_warn("READY=1");
    }

    /// Tells a service manager that asked that shutdown has begun
    /// (`STOPPING=1`, see [`notify`]).
    pub fn stopping(&mut self) {
        notify_or_warn("STOPPING=1");
    }

    /// Tells the waiting parent that startup failed; it prints `message`
    /// and exits 1.
    pub fn failed(&mut self, message: &str) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(message.as_bytes());
        }
    }
}

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";

/// Sends `state` (for example `READY=1`) to the service manager, as
/// sd_notify(3) does, if `$NOTIFY_SOCKET` names one: a datagram to that
/// unix socket (an absolute path, or an abstract name written `@name`).
/// Returns Ok(false) when the variable is not set, so the daemons behave
/// the same under any init system.
///
/// Written with std's `UnixDatagram` rather than the `sd-notify` crate: the
/// protocol is one datagram, and the crate would add a dependency to save
/// twenty lines.
pub fn notify(state: &str) -> std::io::Result<bool> {
    let Some(value) = std::env::var_os(NOTIFY_SOCKET_ENV) else {
        return Ok(false);
    };
    let address = notify_address(&value)?;
    UnixDatagram::unbound()?.send_to_addr(state.as_bytes(), &address)?;
    Ok(true)
}

/// The socket address `$NOTIFY_SOCKET` names.
fn notify_address(value: &OsStr) -> std::io::Result<SocketAddr> {
    match value.as_bytes() {
        [b'@', name @ ..] => SocketAddr::from_abstract_name(name),
        [b'/', ..] => SocketAddr::from_pathname(value),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{NOTIFY_SOCKET_ENV}={} is neither an absolute path nor @name",
                value.to_string_lossy()
            ),
        )),
    }
}

fn notify_or_warn(state: &str) {
    if let Err(e) = notify(state) {
        log::warn!("cannot tell the service manager {state}: {e}");
    }
}

/// Forks into the background. In the parent this does not return: it waits
/// for the child's [`Readiness`] report and exits 0 (ready) or 1 (the
/// child's error message on stderr, prefixed with `program`). The child
/// starts a new session, moves to `/`, points stdio at /dev/null and logs to
/// syslog.
pub fn detach(program: &'static str) -> std::io::Result<Readiness> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid two-int array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the process is single-threaded here (called before any thread
    // is started), so fork is safe.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: fds[0] is ours to close; fds[1] becomes the File.
            unsafe { libc::close(fds[0]) };
            let pipe = unsafe { File::from_raw_fd(fds[1]) };
            // SAFETY: plain system calls on our own process.
            unsafe {
                libc::setsid();
                let root = c"/";
                libc::chdir(root.as_ptr());
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    libc::dup2(null, 0);
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                    if null > 2 {
                        libc::close(null);
                    }
                }
            }
            set_log_target(program, LogTarget::Syslog);
            Ok(Readiness { pipe: Some(pipe) })
        }
        _child => {
            // SAFETY: fds[1] is ours to close; fds[0] becomes the File.
            unsafe { libc::close(fds[1]) };
            let mut pipe = unsafe { File::from_raw_fd(fds[0]) };
            let mut report = Vec::new();
            let _ = pipe.read_to_end(&mut report);
            match report.as_slice() {
                [0] => std::process::exit(0),
                [] => {
                    eprintln!("{program}: the daemon exited during startup (see the system log)");
                    std::process::exit(1)
                }
                message => {
                    eprintln!("{program}: {}", String::from_utf8_lossy(message));
                    std::process::exit(1)
                }
            }
        }
    }
}

/// A pidfile that is removed when dropped.
///
/// The file stays open: a daemon that has dropped root (`recvstats --user`)
/// can no longer remove a file from `/run`, so it empties it instead (init
/// scripts read an empty pidfile as "not running", never as a stale pid
/// that may by now belong to another process).
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    file: File,
}

impl Pidfile {
    /// Writes our pid to `path` (mode 0644).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let mut file = File::create(path)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
        Ok(Pidfile {
            path: path.to_owned(),
            file,
        })
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        if std::fs::remove_file(&self.path).is_err() {
            let _ = self.file.set_len(0);
        }
    }
}

/// Signal flags for the main loop.
#[derive(Debug, Clone)]
pub struct Signals {
    terminate: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Signals {
    /// Registers SIGTERM and SIGINT (terminate) and SIGHUP (reload).
    pub fn install() -> std::io::Result<Self> {
        let signals = Signals {
            terminate: Arc::default(),
            reload: Arc::default(),
        };
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, signals.terminate.clone())?;
        }
        signal_hook::flag::register(signal_hook::consts::SIGHUP, signals.reload.clone())?;
        Ok(signals)
    }

    /// True once SIGTERM or SIGINT arrived.
    pub fn terminate_requested(&self) -> bool {
        self.terminate.load(Ordering::Relaxed)
    }

    /// True (once) after SIGHUP arrived.
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_line_carries_its_sd_daemon_priority() {
        assert_eq!(
            stderr_line("recvstats", log::Level::Warn, true, "slow"),
            "<4>recvstats: warning: slow\n"
        );
        assert_eq!(
            stderr_line("sendstats", log::Level::Error, true, "no route"),
            "<3>sendstats: error: no route\n"
        );
        assert_eq!(
            stderr_line("recvstats", log::Level::Debug, true, "x"),
            "<7>recvstats: x\n"
        );
        assert_eq!(
            stderr_line("recvstats", log::Level::Info, false, "up"),
            "recvstats: up\n"
        );
    }

    #[test]
    fn notify_socket_is_a_path_or_an_abstract_name() {
        let path = notify_address(OsStr::new("/run/systemd/notify")).unwrap();
        assert_eq!(path.as_pathname(), Some(Path::new("/run/systemd/notify")));
        let abstract_name = notify_address(OsStr::new("@beostat/notify")).unwrap();
        assert_eq!(
            abstract_name.as_abstract_name(),
            Some(&b"beostat/notify"[..])
        );
        for bad in ["", "relative/path", "vsock:2:1234"] {
            assert!(notify_address(OsStr::new(bad)).is_err(), "{bad:?}");
        }
    }
}
