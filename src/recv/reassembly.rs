//! Putting split texts (StatPart, CpuinfoPart sections) back together.
//!
//! A node with thousands of CPUs sends its stat or cpuinfo text in several
//! parts (docs/PROTOCOL.md). Parts of one text share a snapshot number; a
//! part of a newer snapshot discards an unfinished older one. Memory is
//! bounded whatever senders claim, and only by what actually arrived (a
//! part that claims 65,535 siblings costs what it carries, not a table of
//! 65,535 slots):
//!
//! - at most [`MAX_PENDING`] unfinished texts (the oldest is dropped first);
//! - at most [`MAX_PARTS`] parts and [`MAX_TEXT`] bytes per text;
//! - at most [`MAX_PENDING_BYTES`] bytes over all unfinished texts (the
//!   oldest go first);
//! - an unfinished text older than [`MAX_AGE`] is dropped ([`Reassembly::expire`]).
//!
//! Every text abandoned for one of these reasons is counted
//! ([`Reassembly::take_abandoned`]; recvstats' `reassembly_abandoned`).

use crate::protocol::{Part, SectionTag};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Unfinished texts kept at once.
pub const MAX_PENDING: usize = 256;
/// Largest text reassembled (a 8192-CPU stat is about 0.5 MiB).
pub const MAX_TEXT: usize = 4 << 20;
/// Most parts a text may be split into (4 MiB in parts of 4 KiB; sendstats
/// fills each datagram, so a real text has a handful).
pub const MAX_PARTS: u16 = 1024;
/// Bytes held over all unfinished texts.
pub const MAX_PENDING_BYTES: usize = 16 << 20;
/// An unfinished text is abandoned this long after its first part (a
/// sender sends all parts of a text back to back).
pub const MAX_AGE: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Pending {
    snapshot: u64,
    count: u16,
    /// Parts received, by index (sparse: only what arrived).
    parts: Vec<(u16, Vec<u8>)>,
    bytes: usize,
    started: Instant,
}

/// Unfinished texts by (node, tag).
#[derive(Debug, Default)]
pub struct Reassembly {
    pending: HashMap<(i32, u16), Pending>,
    order: VecDeque<(i32, u16)>,
    /// Bytes held over all pending texts.
    bytes: usize,
    /// Texts abandoned since the last [`Reassembly::take_abandoned`].
    abandoned: usize,
}

impl Reassembly {
    /// Adds a part received at `now`; returns the whole text when this part
    /// completes it.
    pub fn add(
        &mut self,
        node: i32,
        tag: SectionTag,
        part: Part<'_>,
        now: Instant,
    ) -> Option<Vec<u8>> {
        if part.count <= 1 {
            return Some(part.text.to_vec());
        }
        if part.index >= part.count || part.count > MAX_PARTS || part.text.len() > MAX_TEXT {
            self.abandoned += 1;
            return None;
        }
        let key = (node, tag.to_u16());
        if let Some(entry) = self.pending.get(&key) {
            if entry.snapshot != part.snapshot || entry.count != part.count {
                self.remove(key);
            }
        }
        if !self.pending.contains_key(&key) {
            self.order.push_back(key);
            self.pending.insert(
                key,
                Pending {
                    snapshot: part.snapshot,
                    count: part.count,
                    parts: Vec::new(),
                    bytes: 0,
                    started: now,
                },
            );
        }
        let entry = self.pending.get_mut(&key)?;
        if entry.parts.iter().all(|(i, _)| *i != part.index) {
            entry.bytes += part.text.len();
            self.bytes += part.text.len();
            entry.parts.push((part.index, part.text.to_vec()));
        }
        if entry.bytes > MAX_TEXT {
            self.abandon(key);
            return None;
        }
        if entry.parts.len() == usize::from(entry.count) {
            let mut parts = std::mem::take(&mut entry.parts);
            parts.sort_unstable_by_key(|(i, _)| *i);
            let whole = parts.into_iter().flat_map(|(_, text)| text).collect();
            self.remove(key);
            return Some(whole);
        }
        while self.pending.len() > MAX_PENDING || self.bytes > MAX_PENDING_BYTES {
            let Some(oldest) = self.order.front().copied() else {
                break;
            };
            self.abandon(oldest);
        }
        None
    }

    /// Abandons the texts that started before `now - MAX_AGE`; returns how
    /// many (also counted for [`Reassembly::take_abandoned`]).
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.abandoned;
        while let Some(&oldest) = self.order.front() {
            let started = self.pending.get(&oldest).map(|p| p.started);
            if started.is_some_and(|t| now.saturating_duration_since(t) <= MAX_AGE) {
                break;
            }
            self.abandon(oldest);
        }
        let expired = self.abandoned - before;
        self.abandoned = before;
        expired
    }

    /// Texts abandoned (too many parts or bytes, or pushed out) since the
    /// last call.
    pub fn take_abandoned(&mut self) -> usize {
        std::mem::take(&mut self.abandoned)
    }

    fn abandon(&mut self, key: (i32, u16)) {
        if self.pending.contains_key(&key) {
            self.abandoned += 1;
        }
        self.remove(key);
    }

    fn remove(&mut self, key: (i32, u16)) {
        if let Some(entry) = self.pending.remove(&key) {
            self.bytes -= entry.bytes;
        }
        if self.order.front() == Some(&key) {
            self.order.pop_front();
        } else {
            self.order.retain(|k| *k != key);
        }
    }

    /// Unfinished texts held.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held over all unfinished texts.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(index: u16, count: u16, snapshot: u64, text: &[u8]) -> Part<'_> {
        Part {
            index,
            count,
            snapshot,
            text,
        }
    }

    fn now() -> Instant {
        Instant::now()
    }

    /// Regression (issue 11): 256 parts claiming 65,535 siblings each held
    /// 394 MB of slot tables until the sender's next snapshot.
    #[test]
    fn claimed_part_counts_cost_nothing_and_are_refused_past_the_cap() {
        let mut r = Reassembly::default();
        for node in 0..256 {
            assert_eq!(
                r.add(node, SectionTag::Stat, part(0, 65_535, 1, b"x"), now()),
                None
            );
        }
        assert!(r.is_empty(), "a count past MAX_PARTS is refused outright");
        assert_eq!(r.take_abandoned(), 256);
        for node in 0..256 {
            r.add(node, SectionTag::Stat, part(0, MAX_PARTS, 1, b"xy"), now());
        }
        assert_eq!(
            (r.len(), r.bytes()),
            (256, 512),
            "only what arrived is held"
        );
    }

    #[test]
    fn unfinished_texts_expire_and_total_bytes_stay_bounded() {
        let mut r = Reassembly::default();
        let start = Instant::now();
        r.add(1, SectionTag::Stat, part(0, 2, 1, b"old"), start);
        assert_eq!(r.expire(start + MAX_AGE), 0, "not yet");
        assert_eq!(r.expire(start + MAX_AGE + Duration::from_secs(1)), 1);
        assert!(r.is_empty() && r.bytes() == 0);
        let big = vec![b'x'; MAX_TEXT / 2];
        for node in 0..64 {
            r.add(node, SectionTag::Stat, part(0, 3, 1, &big), start);
        }
        assert!(r.bytes() <= MAX_PENDING_BYTES, "{} bytes", r.bytes());
        assert!(r.take_abandoned() > 0);
    }

    #[test]
    fn parts_in_any_order_give_the_whole_text_once() {
        let mut r = Reassembly::default();
        assert_eq!(r.add(1, SectionTag::Stat, part(2, 3, 9, b"c"), now()), None);
        assert_eq!(r.add(1, SectionTag::Stat, part(0, 3, 9, b"a"), now()), None);
        assert_eq!(
            r.add(1, SectionTag::Stat, part(0, 3, 9, b"a"), now()),
            None,
            "duplicates ignored"
        );
        assert_eq!(
            r.add(1, SectionTag::Stat, part(1, 3, 9, b"b"), now()),
            Some(b"abc".to_vec())
        );
        assert!(r.is_empty());
        assert_eq!(
            r.add(1, SectionTag::Stat, part(0, 1, 10, b"x"), now()),
            Some(b"x".to_vec())
        );
    }

    #[test]
    fn a_newer_snapshot_discards_the_unfinished_older_one() {
        let mut r = Reassembly::default();
        r.add(1, SectionTag::Stat, part(0, 2, 1, b"old"), now());
        assert_eq!(
            r.add(1, SectionTag::Stat, part(1, 2, 2, b"new1"), now()),
            None
        );
        assert_eq!(
            r.add(1, SectionTag::Stat, part(0, 2, 2, b"new0"), now()),
            Some(b"new0new1".to_vec())
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_unfinished_texts() {
        let mut r = Reassembly::default();
        for node in 0..10_000 {
            r.add(node, SectionTag::Stat, part(0, 2, 1, b"x"), now());
        }
        assert!(r.len() <= MAX_PENDING);
        let big = vec![b'x'; MAX_TEXT / 2 + 1];
        r.add(5, SectionTag::Cpuinfo, part(0, 3, 1, &big), now());
        assert_eq!(
            r.add(5, SectionTag::Cpuinfo, part(1, 3, 1, &big), now()),
            None
        );
        assert_eq!(
            r.add(5, SectionTag::Cpuinfo, part(2, 3, 1, b"y"), now()),
            None,
            "over MAX_TEXT: dropped"
        );
        assert!(r.index_bad_is_ignored());
    }

    impl Reassembly {
        fn index_bad_is_ignored(&mut self) -> bool {
            self.add(1, SectionTag::Stat, part(5, 2, 1, b"z"), now())
                .is_none()
        }
    }
}
