//! The shared-memory files: layout, the one writer, the many readers.
//!
//! See docs/SHM-LAYOUT.md for the format. `layout` owns the bytes, `dir` who
//! may own the directory and the files, `seqlock`
//! the torn-read protection, `guard` the SIGBUS protection, `mapping` the
//! lifetime of a mapped file, and `writer` and `reader` the two safe APIs
//! built on them.

pub mod dir;
mod guard;
pub mod layout;
mod mapping;
pub mod reader;
pub mod seqlock;
pub mod writer;

pub use layout::{beostat_cpu_times, Counter, RecordShape};
pub use reader::{default_dir, NodeData, NodeState, NodeSummary, Reader};
pub use writer::{
    legacy_stat_cpu, monotonic_ns, now_ns, Access, NodeUpdate, ShmWriter, WriterOptions,
};
