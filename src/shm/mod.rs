//! The shared-memory files: layout, the one writer, the many readers.
//!
//! See docs/SHM-LAYOUT.md for the format. `layout` owns the bytes, `seqlock`
//! the torn-read protection, `guard` the SIGBUS protection, `writer` and
//! `reader` the two safe APIs built on them.

pub mod layout;
