//! Which nodes a command shows: the `--node` option's values.
//!
//! A value is a comma-separated list of node numbers and inclusive ranges:
//! `3`, `0-15`, `-1,0-3,7`; `master` is node -1. Ranges may run past the
//! cluster: they mean "those of these nodes that exist". A node named alone
//! must exist. Parsing is pure; nothing here reads the files.

use std::collections::BTreeMap;

/// A parsed node selection: each node, and whether it was named alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    ranges: Vec<(i32, i32, bool)>,
}

impl Selection {
    /// Parses one `--node` value; the error says what is wrong, for clap.
    pub fn parse(value: &str) -> Result<Selection, String> {
        let mut selection = Selection::default();
        selection.add(value)?;
        Ok(selection)
    }

    /// Adds one `--node` value to the selection (the option repeats).
    pub fn add(&mut self, value: &str) -> Result<(), String> {
        for item in value.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(format!("empty item in node list {value:?}"));
            }
            self.ranges.push(parse_item(item)?);
        }
        Ok(())
    }

    /// Joins selections (one per `--node` option).
    pub fn extend(&mut self, other: Selection) {
        self.ranges.extend(other.ranges);
    }

    /// True when nothing was selected (the commands then show every node).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when `node` is one of the selected nodes (for filters, where
    /// there is no highest node to clip to).
    pub fn contains(&self, node: i32) -> bool {
        self.ranges
            .iter()
            .any(|&(low, high, _)| (low..=high).contains(&node))
    }

    /// The selected nodes up to `highest` (ranges are clipped to it), in
    /// increasing order without repeats, each with whether it was named
    /// alone (then it is reported even past `highest`).
    pub fn nodes(&self, highest: i32) -> Vec<(i32, bool)> {
        let mut out: BTreeMap<i32, bool> = BTreeMap::new();
        for &(low, high, named) in &self.ranges {
            if named {
                *out.entry(low).or_default() = true;
                continue;
            }
            for node in low..=high.min(highest) {
                out.entry(node).or_default();
            }
        }
        out.into_iter().collect()
    }
}

fn parse_item(item: &str) -> Result<(i32, i32, bool), String> {
    if item.eq_ignore_ascii_case("master") {
        return Ok((-1, -1, true));
    }
    let number = |text: &str| -> Result<i32, String> {
        text.trim()
            .parse::<i32>()
            .ok()
            .filter(|&n| n >= -1)
            .ok_or_else(|| format!("{text:?} is not a node number (-1 or more)"))
    };
    // "-1" is a number, "-1-3" a range from -1: split at a '-' that follows
    // a digit.
    let split = item
        .char_indices()
        .skip(1)
        .find(|&(i, c)| c == '-' && item.as_bytes()[i - 1].is_ascii_digit());
    match split {
        None => {
            let node = number(item)?;
            Ok((node, node, true))
        }
        Some((i, _)) => {
            let (low, high) = (number(&item[..i])?, number(&item[i + 1..])?);
            if low > high {
                return Err(format!("range {item:?} runs backwards"));
            }
            Ok((low, high, false))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ranges_and_master() {
        let s = Selection::parse("master,0-2,7").unwrap();
        assert_eq!(
            s.nodes(100),
            vec![(-1, true), (0, false), (1, false), (2, false), (7, true)]
        );
        let s = Selection::parse("-1-1").unwrap();
        assert_eq!(s.nodes(100), vec![(-1, false), (0, false), (1, false)]);
    }

    #[test]
    fn ranges_are_clipped_but_named_nodes_are_kept() {
        let mut s = Selection::parse("0-1000").unwrap();
        s.add("5000").unwrap();
        let nodes = s.nodes(3);
        assert_eq!(
            nodes,
            vec![(0, false), (1, false), (2, false), (3, false), (5000, true)]
        );
    }

    #[test]
    fn contains_sees_ranges_and_single_nodes() {
        let s = Selection::parse("master,0-15,32").unwrap();
        for node in [-1, 0, 7, 15, 32] {
            assert!(s.contains(node), "{node}");
        }
        for node in [16, 31, 33] {
            assert!(!s.contains(node), "{node}");
        }
    }

    #[test]
    fn a_node_both_in_a_range_and_named_counts_as_named() {
        let s = Selection::parse("0-3,2").unwrap();
        assert_eq!(s.nodes(10)[2], (2, true));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for bad in ["", "x", "3-1", "-2", "1,,2", "0-"] {
            assert!(Selection::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
