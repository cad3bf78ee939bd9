//! The load generator and the benchmarks of docs/PERFORMANCE.md
//! (`beostat-loadgen`).
//!
//! This module owns everything that simulates a cluster for measurement:
//! synthetic but realistic node reports, encoded once into a pool
//! ([`payload`]); sending them over loopback at a chosen total rate with
//! `sendmmsg` ([`sender`]); the bare receive loop that gives the machine's
//! physical limit ([`sink`]); reading CPU time, memory and kernel drops of
//! a process from /proc ([`measure`]); the measurements themselves,
//! which start recvstats and the bare loop and print tables ([`bench`]);
//! and a deterministic replay of the receive path for instruction counts
//! under callgrind ([`replay`]).
//!
//! It is a tool for the bench and for CI smoke tests: recvstats and
//! libbeostat never depend on it. It only ever sends to loopback addresses.

pub mod bench;
pub mod measure;
pub mod payload;
pub mod replay;
pub mod sender;
pub mod sink;

use std::fmt;

/// What went wrong in a benchmark, said for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

/// Result with the load generator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        Error(e.to_string())
    }
}
