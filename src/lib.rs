//! libbeostat and the Beostat daemons, rebuilt.
//!
//! The crate builds two things from one source tree: `libbeostat.so` (the C
//! read API of `<sys/beostat.h>`, in [`capi`]) and the Rust library the
//! daemons and commands use. The shared-memory files are the contract between
//! them: [`shm::ShmWriter`] is the one writer, [`shm::Reader`] the many readers.

/// Datagram authentication: shared key, HMAC, replay (Rust-only).
///
/// cbindgen:ignore
pub mod auth;
pub mod capi;
/// The commands' shared logic (Rust-only).
///
/// cbindgen:ignore
pub mod cmd;
/// Reading a machine's own /proc status (Rust-only).
///
/// cbindgen:ignore
pub mod collect;
/// Daemon plumbing: logging, detaching, pidfile, signals (Rust-only).
///
/// cbindgen:ignore
pub mod daemon;
pub mod error;
/// Load generator (Rust-only).
///
/// cbindgen:ignore
pub mod loadgen;
/// Network interfaces and multicast socket options (Rust-only).
///
/// cbindgen:ignore
pub mod netif;
/// Dropping root to an unprivileged user (Rust-only).
///
/// cbindgen:ignore
pub mod privilege;
/// /proc text parsers (Rust-only).
///
/// cbindgen:ignore
pub mod proc;
/// The sendstats/recvstats wire protocol (Rust-only).
///
/// cbindgen:ignore
pub mod protocol;
/// recvstats internals (Rust-only).
///
/// cbindgen:ignore
pub mod recv;
/// sendstats internals (Rust-only).
///
/// cbindgen:ignore
pub mod send;
pub mod shm;
pub mod types;

pub use error::{Error, Result};
