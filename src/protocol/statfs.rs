//! The `Statfs` section: `struct statfs` of the node's root filesystem as
//! twelve big-endian u64 values.
//!
//! This module owns the conversion between `libc::statfs` and those 96
//! bytes. The C struct has no text form in /proc, so it travels in binary;
//! u64 for every field makes the encoding independent of the platform's
//! field widths and signedness (signed fields are sign-extended, so the bit
//! pattern round-trips). Decoding must never fail loudly: a body of the
//! wrong size or a value the platform's field cannot hold gives `None`.
//!
//! Order on the wire: `f_type`, `f_bsize`, `f_blocks`, `f_bfree`, `f_bavail`, `f_files`,
//! `f_ffree`, `f_fsid[0]`, `f_fsid[1]`, `f_namelen`, `f_frsize`, `f_flags`.

use std::mem::{offset_of, size_of};

use super::{decode::be_u64, STATFS_LEN};
use crate::types::statfs_zeroed;

/// Converts to and from the u64 on the wire, whatever the field's C type.
trait WireValue: Sized + Copy {
    fn to_wire(self) -> u64;
    fn from_wire(value: u64) -> Option<Self>;
}

impl WireValue for u64 {
    fn to_wire(self) -> u64 {
        self
    }
    fn from_wire(value: u64) -> Option<Self> {
        Some(value)
    }
}

impl WireValue for u32 {
    fn to_wire(self) -> u64 {
        u64::from(self)
    }
    fn from_wire(value: u64) -> Option<Self> {
        u32::try_from(value).ok()
    }
}

impl WireValue for i64 {
    fn to_wire(self) -> u64 {
        self as u64
    }
    fn from_wire(value: u64) -> Option<Self> {
        Some(value as i64)
    }
}

impl WireValue for i32 {
    fn to_wire(self) -> u64 {
        i64::from(self) as u64
    }
    fn from_wire(value: u64) -> Option<Self> {
        i32::try_from(value as i64).ok()
    }
}

/// `libc::fsid_t` keeps its two ints private; this is its C layout.
type FsidWords = [libc::c_int; 2];

/// Byte offset of `f_flags` when its type is `T` (the type of `f_frsize`).
/// glibc and musl declare `f_flags` right after `f_frsize` with the same
/// type, but the libc crate folds it into a private spare array, so it can
/// only be reached by offset.
fn flags_offset<T>() -> Option<usize> {
    let offset = offset_of!(libc::statfs, f_frsize) + size_of::<T>();
    (offset + size_of::<T>() <= size_of::<libc::statfs>()).then_some(offset)
}

const _: () = assert!(size_of::<libc::fsid_t>() == size_of::<FsidWords>());

/// Reads `f_flags`; `_frsize` only names its type. 0 if the platform's
/// struct has no room for it.
fn flags_of<T: WireValue>(statfs: &libc::statfs, _frsize: T) -> u64 {
    let Some(offset) = flags_offset::<T>() else {
        return 0;
    };
    // SAFETY: offset + size_of::<T>() is within the struct (checked above),
    // and read_unaligned has no alignment demand. The bytes are initialised:
    // libc::statfs has a private field, so a value can only come from
    // zeroing (statfs_zeroed), from statfs(2) (the kernel writes the whole
    // struct), or from copying such a value.
    let flags = unsafe {
        (statfs as *const libc::statfs)
            .cast::<u8>()
            .add(offset)
            .cast::<T>()
            .read_unaligned()
    };
    flags.to_wire()
}

/// Writes `f_flags`; `_frsize` only names its type. `None` if the value
/// does not fit the type; a no-op if the struct has no room for it.
fn set_flags<T: WireValue>(statfs: &mut libc::statfs, _frsize: T, flags: u64) -> Option<()> {
    let flags = T::from_wire(flags)?;
    let Some(offset) = flags_offset::<T>() else {
        return Some(());
    };
    // SAFETY: as in `flags_of`, the range is inside the struct; writing plain
    // integer bytes into the spare area cannot make the struct invalid.
    unsafe {
        (statfs as *mut libc::statfs)
            .cast::<u8>()
            .add(offset)
            .cast::<T>()
            .write_unaligned(flags)
    };
    Some(())
}

fn fsid_words(statfs: &libc::statfs) -> FsidWords {
    // SAFETY: fsid_t is #[repr(C)] { __val: [c_int; 2] } on Linux, the same
    // size as FsidWords (asserted above); every bit pattern is a valid int.
    unsafe { std::mem::transmute::<libc::fsid_t, FsidWords>(statfs.f_fsid) }
}

fn fsid_from_words(words: FsidWords) -> libc::fsid_t {
    // SAFETY: the inverse of `fsid_words`; any two ints are a valid fsid_t.
    unsafe { std::mem::transmute::<FsidWords, libc::fsid_t>(words) }
}

/// Encodes the fields of `statfs` that matter into a section body.
pub fn encode_statfs(statfs: &libc::statfs) -> [u8; STATFS_LEN] {
    let [fsid0, fsid1] = fsid_words(statfs);
    let values: [u64; STATFS_LEN / 8] = [
        statfs.f_type.to_wire(),
        statfs.f_bsize.to_wire(),
        statfs.f_blocks.to_wire(),
        statfs.f_bfree.to_wire(),
        statfs.f_bavail.to_wire(),
        statfs.f_files.to_wire(),
        statfs.f_ffree.to_wire(),
        fsid0.to_wire(),
        fsid1.to_wire(),
        statfs.f_namelen.to_wire(),
        statfs.f_frsize.to_wire(),
        flags_of(statfs, statfs.f_frsize),
    ];
    let mut body = [0u8; STATFS_LEN];
    for (chunk, value) in body.chunks_exact_mut(8).zip(values) {
        chunk.copy_from_slice(&value.to_be_bytes());
    }
    body
}

/// Decodes a `Statfs` section body. `None` if it is not 96 bytes or a value
/// does not fit this platform's field.
pub fn decode_statfs(body: &[u8]) -> Option<libc::statfs> {
    if body.len() != STATFS_LEN {
        return None;
    }
    let value = |index: usize| be_u64(body, index * 8);
    let mut statfs = statfs_zeroed();
    statfs.f_type = WireValue::from_wire(value(0)?)?;
    statfs.f_bsize = WireValue::from_wire(value(1)?)?;
    statfs.f_blocks = WireValue::from_wire(value(2)?)?;
    statfs.f_bfree = WireValue::from_wire(value(3)?)?;
    statfs.f_bavail = WireValue::from_wire(value(4)?)?;
    statfs.f_files = WireValue::from_wire(value(5)?)?;
    statfs.f_ffree = WireValue::from_wire(value(6)?)?;
    statfs.f_fsid = fsid_from_words([
        WireValue::from_wire(value(7)?)?,
        WireValue::from_wire(value(8)?)?,
    ]);
    statfs.f_namelen = WireValue::from_wire(value(9)?)?;
    statfs.f_frsize = WireValue::from_wire(value(10)?)?;
    let frsize = statfs.f_frsize;
    set_flags(&mut statfs, frsize, value(11)?)?;
    Some(statfs)
}
