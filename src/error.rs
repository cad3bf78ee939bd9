//! The one error type of the library, and its mapping to `errno`.
//!
//! Every fallible function in the crate returns [`Result`]. The C API turns an
//! [`Error`] into the legacy convention (-1 / -1.0 / NULL) and sets `errno`
//! from [`Error::errno`]; the commands print it with `Display`.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing the shm files.
#[derive(Debug)]
pub enum Error {
    /// A shm file does not exist (no daemon has ever run here).
    NoFiles(PathBuf),
    /// A shm file exists but is not ours, or is too short to hold its header.
    BadMagic(PathBuf),
    /// A shm file was written by a newer layout than this code understands.
    NewerLayout {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The file changed shape between two checks; try again.
    Inconsistent(PathBuf),
    /// The node number is outside the cluster or has never reported.
    UnknownNode(i32),
    /// The CPU number is outside the node's CPUs.
    UnknownCpu { node: i32, cpu: i32 },
    /// The writer kept changing the record; the bounded retries ran out.
    Busy,
    /// A NULL pointer was passed where data was expected.
    NullPointer,
    /// An argument is out of range (negative size, capacity too large...).
    InvalidArgument(String),
    /// Another writer holds the shm directory.
    WriterRunning { dir: PathBuf, pid: Option<i32> },
    /// The shm directory or a file in it could be replaced or redirected by
    /// someone other than the writer (group/other-writable directory, a
    /// symbolic link, a foreign owner): the writer refuses to use it.
    Insecure { path: PathBuf, reason: String },
    /// The writer refused a report: a limit was reached or the file could
    /// not grow; the counter says which (nodes already held are unaffected).
    Refused(crate::shm::Counter),
    /// An operating-system call failed.
    Io { context: String, source: io::Error },
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The errno value the C API sets for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::NoFiles(_) => libc::ENOENT,
            Error::BadMagic(_) | Error::NewerLayout { .. } => libc::EPROTO,
            Error::Inconsistent(_) | Error::Busy => libc::EAGAIN,
            Error::UnknownNode(_) => libc::ESRCH,
            Error::UnknownCpu { .. } | Error::InvalidArgument(_) => libc::EINVAL,
            Error::NullPointer => libc::EFAULT,
            Error::WriterRunning { .. } => libc::EBUSY,
            Error::Insecure { .. } => libc::EPERM,
            Error::Refused(crate::shm::Counter::DroppedNoSpace) => libc::ENOSPC,
            Error::Refused(_) => libc::E2BIG,
            Error::Io { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoFiles(p) => write!(
                f,
                "{}: no such file (is recvstats running with this shm directory?)",
                p.display()
            ),
            Error::BadMagic(p) => write!(f, "{}: not a beostat shared-memory file", p.display()),
            Error::NewerLayout { path, found, supported } => write!(
                f,
                "{}: layout version {found} is newer than the {supported} this program understands; upgrade libbeostat",
                path.display()
            ),
            Error::Inconsistent(p) => write!(f, "{}: file changed while being read", p.display()),
            Error::UnknownNode(n) => write!(f, "node {n}: no such node"),
            Error::UnknownCpu { node, cpu } => write!(f, "node {node}: no CPU {cpu}"),
            Error::Busy => write!(f, "record kept changing while being read; try again"),
            Error::NullPointer => write!(f, "NULL pointer argument"),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::WriterRunning { dir, pid: Some(pid) } => {
                write!(f, "{}: another writer (pid {pid}) is running", dir.display())
            }
            Error::WriterRunning { dir, pid: None } => {
                write!(f, "{}: another writer is running", dir.display())
            }
            Error::Insecure { path, reason } => write!(f, "{}: {reason}", path.display()),
            Error::Refused(counter) => write!(f, "refused: {}", counter.name()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_follows_the_legacy_convention() {
        assert_eq!(Error::NoFiles(PathBuf::from("/x")).errno(), libc::ENOENT);
        assert_eq!(Error::UnknownNode(7).errno(), libc::ESRCH);
        assert_eq!(Error::UnknownCpu { node: 1, cpu: 9 }.errno(), libc::EINVAL);
        assert_eq!(Error::Busy.errno(), libc::EAGAIN);
        assert_eq!(Error::NullPointer.errno(), libc::EFAULT);
        let denied = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(Error::io("open", denied).errno(), libc::EACCES);
    }
}
