//! Sequence counters: one writer changes a record while other processes read it.
//!
//! A record starts with a `u64` sequence number. The writer makes it odd,
//! changes the record, and makes it even again (one higher than before the
//! odd value). A reader notes the number, copies what it needs, and accepts
//! the copy only if the number was even and has not changed. Readers never
//! block the writer and take no locks; a reader that keeps losing the race
//! gives up after [`READ_ATTEMPTS`] tries with [`Error::Busy`] (EAGAIN).
//!
//! All racing accesses go through byte-wise atomic copies (`atomic-memcpy`),
//! so no plain or volatile read ever sees memory another process is writing.
//! This module must never hand out a reference into shared memory.

use crate::error::{Error, Result};
use std::hint::spin_loop;
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// How many times a reader tries before giving up with EAGAIN.
pub const READ_ATTEMPTS: u32 = 10_000;
/// Attempts that only spin; after these a reader also yields the CPU, so a
/// reader on the writer's core lets the writer finish.
const SPIN_ATTEMPTS: u32 = 64;

/// Types that are plain bytes: every bit pattern is a valid value and there
/// is no padding, so they may be copied with byte-wise atomics.
///
/// # Safety
/// Implement only for `#[repr(C)]` types with no implicit padding whose
/// fields are integers, floats or arrays/structs of such.
pub unsafe trait Plain: Copy {}

// SAFETY: integers and floats have no padding and no invalid bit patterns.
unsafe impl Plain for u32 {}
// SAFETY: as above.
unsafe impl Plain for i32 {}
// SAFETY: as above.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl Plain for i64 {}
// SAFETY: as above.
unsafe impl Plain for f32 {}
// SAFETY: arrays of Plain elements have no padding between elements.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}
// SAFETY: i8 (c_char on x86_64) is a plain integer.
unsafe impl Plain for i8 {}
// SAFETY: u8 (c_char on aarch64, ppc64le) is a plain integer.
unsafe impl Plain for u8 {}

mod plain_impls {
    use super::Plain;
    use crate::types::*;
    // SAFETY (all below): #[repr(C)] structs of longs/u64/f32/i32 whose field
    // sizes add up to their size (checked in src/shm/layout.rs), so no padding.
    unsafe impl Plain for beostat_stat_cpu {}
    unsafe impl Plain for node_time {}
    unsafe impl Plain for beostat_memusage {}
    unsafe impl Plain for beostat_meminfo {}
    unsafe impl Plain for beostat_loadavg {}
    unsafe impl Plain for beostat_net_stat {}
    unsafe impl Plain for beostat_net_dev {}
    // glibc's struct statfs on LP64 is 15 eight-byte-aligned words of
    // integers (f_fsid is two ints packed into one word): no padding.
    unsafe impl Plain for libc::statfs {}
    use crate::shm::layout::*;
    // Explicit reserved fields keep these free of padding (sizes pinned in layout.rs).
    unsafe impl Plain for beostat_node_record {}
    unsafe impl Plain for beostat_shm_nodes {}
    unsafe impl Plain for beostat_shm_control {}
    unsafe impl Plain for beostat_cpu_times {}
}

/// Copies a `T` out of shared memory with byte-wise atomic loads.
///
/// # Safety
/// `src` must be valid for reads of `size_of::<T>()` bytes and aligned for `T`.
#[inline]
pub unsafe fn load<T: Plain>(src: *const T) -> T {
    // SAFETY: the caller guarantees validity and alignment; T: Plain makes
    // every loaded bit pattern a valid T, so assume_init is sound even if a
    // racing write tore the value (the sequence check then discards it).
    unsafe { atomic_memcpy::atomic_load(src, Ordering::Relaxed).assume_init() }
}

/// Copies a `T` into shared memory with byte-wise atomic stores.
///
/// # Safety
/// `dst` must be valid for writes of `size_of::<T>()` bytes and aligned for `T`.
#[inline]
pub unsafe fn store<T: Plain>(dst: *mut T, value: T) {
    // SAFETY: the caller guarantees validity and alignment; T: Plain has no
    // padding, so every stored byte is initialised.
    unsafe { atomic_memcpy::atomic_store(dst, value, Ordering::Relaxed) }
}

/// Reads a consistent snapshot from the record whose counter is at `seq`.
///
/// `copy` performs the [`load`]s; it may run several times and its result is
/// returned only from a run no write overlapped.
///
/// # Safety
/// `seq` must point at an 8-byte-aligned `u64` in a mapping that stays
/// valid for the duration of the call, and `copy` must only read the record.
#[inline]
pub unsafe fn read<R>(seq: *const u64, mut copy: impl FnMut() -> R) -> Result<R> {
    // SAFETY: the caller guarantees the pointer is aligned and live; an
    // AtomicU64 has the same layout as u64.
    let seq = unsafe { AtomicU64::from_ptr(seq as *mut u64) };
    for attempt in 0..READ_ATTEMPTS {
        // Acquire: the data loads below cannot move before this load, and we
        // see every write that happened before the writer's even store.
        let before = seq.load(Ordering::Acquire);
        if before & 1 == 0 {
            let value = copy();
            // Acquire fence: the data loads above complete before the second
            // counter load, so a write that overlapped them changes `after`.
            fence(Ordering::Acquire);
            let after = seq.load(Ordering::Relaxed);
            if after == before {
                return Ok(value);
            }
        }
        if attempt < SPIN_ATTEMPTS {
            spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    Err(Error::Busy)
}

/// Marks the record at `seq` as being written and returns the even value
/// it had, to be passed to [`end_write`].
///
/// # Safety
/// As [`read`], and only the single writer process may call it.
#[inline]
pub unsafe fn begin_write(seq: *mut u64) -> u64 {
    // SAFETY: see the function contract.
    let seq = unsafe { AtomicU64::from_ptr(seq) };
    // Relaxed load: only this process writes the counter. A counter left odd
    // by a writer that crashed mid-record is rounded up to even first.
    let current = seq.load(Ordering::Relaxed);
    let even = (current + 1) & !1;
    seq.store(even + 1, Ordering::Relaxed);
    // Release fence: the odd value is visible before any data store below,
    // so a reader that sees new data also sees a changed counter.
    fence(Ordering::Release);
    even
}

/// Ends a write begun with [`begin_write`].
///
/// # Safety
/// As [`begin_write`].
#[inline]
pub unsafe fn end_write(seq: *mut u64, even: u64) {
    // SAFETY: see the function contract.
    let seq = unsafe { AtomicU64::from_ptr(seq) };
    // Release: every data store happens-before a reader's Acquire of this value.
    seq.store(even + 2, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_odd_counter_makes_readers_give_up_with_busy() {
        let seq: u64 = 3;
        let data: u64 = 7;
        // SAFETY: both live on this stack frame for the whole call.
        let result = unsafe { read(&seq, || load(&data)) };
        assert!(matches!(result, Err(Error::Busy)));
    }

    #[test]
    fn a_write_moves_the_counter_by_two_and_readers_see_the_data() {
        let mut seq: u64 = 0;
        let mut data: u64 = 0;
        // SAFETY: single-threaded test over stack variables.
        unsafe {
            let even = begin_write(&mut seq);
            assert_eq!(seq, 1);
            store(&mut data, 42);
            end_write(&mut seq, even);
            assert_eq!(seq, 2);
            assert_eq!(read(&seq, || load(&data)).unwrap(), 42);
        }
    }

    #[test]
    fn a_counter_left_odd_by_a_crashed_writer_is_repaired_by_the_next_write() {
        let mut seq: u64 = 5;
        // SAFETY: single-threaded test over a stack variable.
        unsafe {
            let even = begin_write(&mut seq);
            assert_eq!(even, 6);
            end_write(&mut seq, even);
            assert_eq!(seq, 8);
        }
    }
}
