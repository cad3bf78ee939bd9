//! The replay windows of recvstats, kept in a file so that a restarted
//! recvstats still refuses every datagram it accepted before.
//!
//! This module owns the file `beostat.replay` (in `--state-dir`, by default
//! the shm directory) and nothing else: it implements
//! [`ReplayState`](crate::auth::ReplayState) over a shared memory mapping of
//! it, so recording a window is a store into the page cache, with no system
//! call per datagram, that survives the process being killed at any point
//! (the kernel writes the pages back; only a crash of the whole machine can
//! lose the last ~30 s, and the sender-time window bounds what a replay of
//! those could still do). It never decides what is fresh (`crate::auth`).
//!
//! Layout (native byte order: the file never leaves the machine): a 32-byte
//! header, magic `BEOSRPLY`, u32 version 1, u32 slot length 32, 16 bytes
//! reserved; then one 32-byte slot per node number: highest sequence, the
//! 64-bit seen mask, latest sender time, 8 bytes reserved. The file is
//! opened like the shm files ([`ShmDir::open_file`]: no links followed, a
//! planted or foreign file refused) and grows, doubling, up to the node cap;
//! a window it cannot take (the file could not grow) is kept in memory for
//! the run, and the failure logged.

use crate::auth::{ReplayState, Window};
use crate::error::{Error, Result};
use crate::shm::dir::{Create, ShmDir};
use memmap2::MmapMut;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The file's name in the state directory.
pub const FILE_NAME: &str = "beostat.replay";
const MAGIC: [u8; 8] = *b"BEOSRPLY";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 32;
const SLOT_LEN: usize = 32;
/// Slots the file starts with (it grows by doubling when a node beyond
/// them is accepted).
const INITIAL_SLOTS: usize = 1024;

/// Replay windows in a memory-mapped file.
#[derive(Debug)]
pub struct ReplayStore {
    path: PathBuf,
    file: File,
    map: MmapMut,
    max_slots: usize,
    /// Windows the file could not take (it could not grow): kept for this
    /// run only, so they still protect until a restart.
    unsaved: HashMap<usize, Window>,
}

impl ReplayStore {
    /// Opens (or creates) the file in `dir`, for node numbers below
    /// `max_nodes`. `owner` and `allow_insecure` are the shm directory's
    /// rules (`recvstats --user`, `--allow-insecure-dir`).
    pub fn open(
        dir: &Path,
        owner: Option<(libc::uid_t, libc::gid_t)>,
        allow_insecure: bool,
        max_nodes: u32,
    ) -> Result<Self> {
        let shm_dir = ShmDir::open(dir, owner, allow_insecure)?;
        let file = shm_dir.open_file(FILE_NAME, Create::IfMissing)?;
        let path = dir.join(FILE_NAME);
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
            .len() as usize;
        let max_slots = max_nodes as usize;
        if len == 0 {
            let slots = INITIAL_SLOTS.min(max_slots);
            set_len(&file, &path, HEADER_LEN + slots * SLOT_LEN)?;
        } else if len < HEADER_LEN || !(len - HEADER_LEN).is_multiple_of(SLOT_LEN) {
            return Err(corrupt(
                &path,
                format!("its length {len} is not a whole number of slots"),
            ));
        }
        // SAFETY: the file is recvstats' own (opened by ShmDir: no link,
        // trusted owner, mode 0644 so nobody else can write it), and only
        // this process maps it for writing; recvstats holds the shm lock,
        // so no second recvstats maps it at the same time.
        let mut map = unsafe { MmapMut::map_mut(&file) }
            .map_err(|e| Error::io(format!("map {}", path.display()), e))?;
        if len == 0 {
            map[0..8].copy_from_slice(&MAGIC);
            map[8..12].copy_from_slice(&VERSION.to_ne_bytes());
            map[12..16].copy_from_slice(&(SLOT_LEN as u32).to_ne_bytes());
        } else if map[0..8] != MAGIC
            || map[8..12] != VERSION.to_ne_bytes()
            || map[12..16] != (SLOT_LEN as u32).to_ne_bytes()
        {
            return Err(corrupt(
                &path,
                "it is not a version 1 replay-state file".into(),
            ));
        }
        Ok(ReplayStore {
            path,
            file,
            map,
            max_slots,
            unsaved: HashMap::new(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn slots(&self) -> usize {
        (self.map.len() - HEADER_LEN) / SLOT_LEN
    }

    /// Makes room for slot `index`; false if it cannot (the error is
    /// logged; the caller keeps the window in memory).
    fn grow_to(&mut self, index: usize) -> bool {
        if index < self.slots() {
            return true;
        }
        if index >= self.max_slots {
            return false;
        }
        let slots = (index + 1).next_power_of_two().min(self.max_slots);
        let grown = set_len(&self.file, &self.path, HEADER_LEN + slots * SLOT_LEN).and_then(|()| {
            // SAFETY: as in `open`; the old mapping is dropped when replaced.
            unsafe { MmapMut::map_mut(&self.file) }
                .map_err(|e| Error::io(format!("map {}", self.path.display()), e))
        });
        match grown {
            Ok(map) => {
                self.map = map;
                true
            }
            Err(e) => {
                log::warn!("replay state of node {index} not saved: {e}");
                false
            }
        }
    }
}

fn set_len(file: &File, path: &Path, len: usize) -> Result<()> {
    file.set_len(len as u64)
        .map_err(|e| Error::io(format!("grow {}", path.display()), e))
}

fn corrupt(path: &Path, why: String) -> Error {
    Error::InvalidArgument(format!(
        "replay state {}: {why}; remove it to start with empty replay windows \
         (datagrams captured before then could be accepted once more)",
        path.display()
    ))
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(word)
}

impl ReplayState for ReplayStore {
    fn window(&self, index: usize) -> Window {
        if index >= self.slots() {
            return self.unsaved.get(&index).copied().unwrap_or_default();
        }
        let slot = &self.map[HEADER_LEN + index * SLOT_LEN..][..SLOT_LEN];
        Window {
            highest: word(slot, 0),
            seen: word(slot, 8),
            latest_time_ns: word(slot, 16),
        }
    }

    fn set_window(&mut self, index: usize, window: Window) {
        if !self.grow_to(index) {
            self.unsaved.insert(index, window);
            return;
        }
        let slot = &mut self.map[HEADER_LEN + index * SLOT_LEN..][..SLOT_LEN];
        slot[0..8].copy_from_slice(&window.highest.to_ne_bytes());
        slot[8..16].copy_from_slice(&window.seen.to_ne_bytes());
        slot[16..24].copy_from_slice(&window.latest_time_ns.to_ne_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_survive_reopening_and_the_file_grows_for_high_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let window = Window {
            highest: 1_000,
            seen: 0b1011,
            latest_time_ns: 42,
        };
        {
            let mut store = ReplayStore::open(dir.path(), None, true, 100_000).unwrap();
            store.set_window(3, window);
            store.set_window(5_000, window);
            assert_eq!(store.window(4), Window::default());
            assert_eq!(store.window(1 << 20), Window::default());
            store.set_window(100_000, window);
            assert_eq!(store.window(100_000), window, "over the cap: in memory");
        }
        let store = ReplayStore::open(dir.path(), None, true, 100_000).unwrap();
        assert_eq!(store.window(3), window);
        assert_eq!(store.window(5_000), window);
        assert_eq!(store.window(100_000), Window::default(), "not saved");
        let len = std::fs::metadata(store.path()).unwrap().len() as usize;
        assert_eq!(len, HEADER_LEN + 8192 * SLOT_LEN);
    }

    #[test]
    fn a_file_that_is_not_a_replay_state_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), [7u8; HEADER_LEN + SLOT_LEN]).unwrap();
        let error = ReplayStore::open(dir.path(), None, true, 10)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a version 1 replay-state file"),
            "{error}"
        );
        std::fs::write(dir.path().join(FILE_NAME), [0u8; 33]).unwrap();
        let error = ReplayStore::open(dir.path(), None, true, 10)
            .unwrap_err()
            .to_string();
        assert!(error.contains("whole number of slots"), "{error}");
    }
}
