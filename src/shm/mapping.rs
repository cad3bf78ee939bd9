//! One mapped shm file: the memmap2 mapping plus its SIGBUS registration.
//!
//! Owns the lifetime rule that makes raw pointers into the file sound: the
//! mapping lives as long as this value, and the SIGBUS registration is
//! dropped before the memory is unmapped. It never creates references into
//! the mapped bytes; callers get raw pointers and use `seqlock` to access them.

use super::guard::{self, Registration};
use crate::error::{Error, Result};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::path::Path;

/// A shared mapping of (a prefix of) a file.
#[derive(Debug)]
pub struct Mapping {
    // Field order matters: the registration is dropped before the mapping.
    registration: Registration,
    map: MmapRaw,
}

impl Mapping {
    /// Maps the first `len` bytes of `file` read-only.
    pub fn read_only(file: &File, len: usize, path: &Path) -> Result<Self> {
        let map = MmapOptions::new()
            .len(len)
            .map_raw_read_only(file)
            .map_err(|e| Error::io(format!("mmap {}", path.display()), e))?;
        Ok(Self::registered(map))
    }

    /// Maps the first `len` bytes of `file` for reading and writing.
    pub fn read_write(file: &File, len: usize, path: &Path) -> Result<Self> {
        let map = MmapOptions::new()
            .len(len)
            .map_raw(file)
            .map_err(|e| Error::io(format!("mmap {}", path.display()), e))?;
        Ok(Self::registered(map))
    }

    fn registered(map: MmapRaw) -> Self {
        let registration = guard::register(map.as_ptr(), map.len());
        Mapping { registration, map }
    }

    /// Start of the mapping.
    pub fn ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// Length of the mapping in bytes.
    pub fn size(&self) -> usize {
        self.map.len()
    }

    /// True if the file was truncated under the mapping and a page of it
    /// now reads as zeros; everything read from it since is suspect.
    pub fn poisoned(&self) -> bool {
        self.registration.poisoned()
    }

    /// Pointer to a `T` at `offset`, if it lies inside the mapping and is aligned.
    pub fn at<T>(&self, offset: usize) -> Option<*mut T> {
        let end = offset.checked_add(std::mem::size_of::<T>())?;
        if end > self.size() || !offset.is_multiple_of(std::mem::align_of::<T>()) {
            return None;
        }
        // SAFETY: offset + size_of::<T>() <= len, so the result stays inside
        // the mapped allocation.
        Some(unsafe { self.ptr().add(offset) } as *mut T)
    }
}

/// Length of an open file.
pub fn file_len(file: &File, path: &Path) -> Result<u64> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))
}
