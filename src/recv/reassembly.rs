//! Putting split texts (StatPart, CpuinfoPart sections) back together.
//!
//! A node with thousands of CPUs sends its stat or cpuinfo text in several
//! parts (docs/PROTOCOL.md). Parts of one text share a snapshot number; a
//! part of a newer snapshot discards an unfinished older one. Memory is
//! bounded whatever senders claim: at most [`MAX_PENDING`] unfinished texts
//! (the oldest is dropped first) and [`MAX_TEXT`] bytes per text.

use crate::protocol::{Part, SectionTag};
use std::collections::{HashMap, VecDeque};

/// Unfinished texts kept at once.
pub const MAX_PENDING: usize = 256;
/// Largest text reassembled (a 8192-CPU stat is about 0.5 MiB).
pub const MAX_TEXT: usize = 4 << 20;

#[derive(Debug)]
struct Pending {
    snapshot: u64,
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

/// Unfinished texts by (node, tag).
#[derive(Debug, Default)]
pub struct Reassembly {
    pending: HashMap<(i32, u16), Pending>,
    order: VecDeque<(i32, u16)>,
}

impl Reassembly {
    /// Adds a part; returns the whole text when this part completes it.
    pub fn add(&mut self, node: i32, tag: SectionTag, part: Part<'_>) -> Option<Vec<u8>> {
        if part.count <= 1 {
            return Some(part.text.to_vec());
        }
        if part.index >= part.count {
            return None;
        }
        let key = (node, tag.to_u16());
        let fresh = || Pending {
            snapshot: part.snapshot,
            parts: vec![None; part.count as usize],
            bytes: 0,
        };
        let entry = self.pending.entry(key).or_insert_with(|| {
            self.order.push_back(key);
            fresh()
        });
        if entry.snapshot != part.snapshot || entry.parts.len() != part.count as usize {
            *entry = fresh();
        }
        let slot = &mut entry.parts[part.index as usize];
        if slot.is_none() {
            entry.bytes += part.text.len();
            *slot = Some(part.text.to_vec());
        }
        if entry.bytes > MAX_TEXT {
            self.remove(key);
            return None;
        }
        if entry.parts.iter().all(Option::is_some) {
            let whole = entry.parts.iter().flatten().flatten().copied().collect();
            self.remove(key);
            return Some(whole);
        }
        while self.pending.len() > MAX_PENDING {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.pending.remove(&oldest);
        }
        None
    }

    fn remove(&mut self, key: (i32, u16)) {
        self.pending.remove(&key);
        self.order.retain(|k| *k != key);
    }

    /// Unfinished texts held.
    pub fn len(&self) -> usize {
        self.pending.len()
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

    #[test]
    fn parts_in_any_order_give_the_whole_text_once() {
        let mut r = Reassembly::default();
        assert_eq!(r.add(1, SectionTag::Stat, part(2, 3, 9, b"c")), None);
        assert_eq!(r.add(1, SectionTag::Stat, part(0, 3, 9, b"a")), None);
        assert_eq!(
            r.add(1, SectionTag::Stat, part(0, 3, 9, b"a")),
            None,
            "duplicates ignored"
        );
        assert_eq!(
            r.add(1, SectionTag::Stat, part(1, 3, 9, b"b")),
            Some(b"abc".to_vec())
        );
        assert!(r.is_empty());
        assert_eq!(
            r.add(1, SectionTag::Stat, part(0, 1, 10, b"x")),
            Some(b"x".to_vec())
        );
    }

    #[test]
    fn a_newer_snapshot_discards_the_unfinished_older_one() {
        let mut r = Reassembly::default();
        r.add(1, SectionTag::Stat, part(0, 2, 1, b"old"));
        assert_eq!(r.add(1, SectionTag::Stat, part(1, 2, 2, b"new1")), None);
        assert_eq!(
            r.add(1, SectionTag::Stat, part(0, 2, 2, b"new0")),
            Some(b"new0new1".to_vec())
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_unfinished_texts() {
        let mut r = Reassembly::default();
        for node in 0..10_000 {
            r.add(node, SectionTag::Stat, part(0, 2, 1, b"x"));
        }
        assert!(r.len() <= MAX_PENDING);
        let big = vec![b'x'; MAX_TEXT / 2 + 1];
        r.add(5, SectionTag::Cpuinfo, part(0, 3, 1, &big));
        assert_eq!(r.add(5, SectionTag::Cpuinfo, part(1, 3, 1, &big)), None);
        assert_eq!(
            r.add(5, SectionTag::Cpuinfo, part(2, 3, 1, b"y")),
            None,
            "over MAX_TEXT: dropped"
        );
        assert!(r.index_bad_is_ignored());
    }

    impl Reassembly {
        fn index_bad_is_ignored(&mut self) -> bool {
            self.add(1, SectionTag::Stat, part(5, 2, 1, b"z")).is_none()
        }
    }
}
