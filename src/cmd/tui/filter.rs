//! The monitor's filter (the `/` key): which nodes the table and the grid
//! show.
//!
//! A filter is words separated by spaces, and a node is shown when it
//! matches every word:
//! - a node list as `--node` takes it (`0-15,32`, `master`): the node is in it;
//! - `up` or `down`: the node is in that state;
//! - `name:TEXT`, or any other word: the host name contains TEXT (ignoring
//!   case).
//!
//! Parsing is pure and never fails: a word that is not a node list is a
//! host name, so whatever the user types means something visible.

use super::app::NodeInfo;
use crate::cmd::select::Selection;
use crate::shm::NodeState;

/// One word of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Nodes(Selection),
    State(NodeState),
    Name(String),
}

/// A parsed filter; the empty filter shows every node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

impl Filter {
    /// Parses what the user typed.
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .map(|word| {
                if let Some(name) = word.strip_prefix("name:") {
                    return Term::Name(name.to_lowercase());
                }
                match word.to_ascii_lowercase().as_str() {
                    "up" => Term::State(NodeState::Up),
                    "down" => Term::State(NodeState::Down),
                    _ => match Selection::parse(word) {
                        Ok(nodes) => Term::Nodes(nodes),
                        Err(_) => Term::Name(word.to_lowercase()),
                    },
                }
            })
            .collect();
        Filter {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            terms,
        }
    }

    /// The filter as the user typed it (spaces normalised); empty when none.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the filter shows every node.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether node number `number`, which never reported, passes: only
    /// when every word is a node list naming it (it has no state or name).
    pub fn matches_missing(&self, number: i32) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Nodes(selection) => selection.contains(number),
            _ => false,
        })
    }

    /// Whether `node` passes every word.
    pub fn matches(&self, node: &NodeInfo) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Nodes(selection) => selection.contains(node.row.node),
            Term::State(state) => node.row.state == *state,
            Term::Name(part) => node.name.to_lowercase().contains(part.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_node_lists_states_or_host_names() {
        let f = Filter::parse("  0-15,32   down ");
        assert_eq!(f.text(), "0-15,32 down");
        assert_eq!(
            f.terms,
            vec![
                Term::Nodes(Selection::parse("0-15,32").unwrap()),
                Term::State(NodeState::Down)
            ]
        );
        let f = Filter::parse("Rack3 name:42");
        assert_eq!(
            f.terms,
            vec![Term::Name("rack3".into()), Term::Name("42".into())]
        );
        assert!(Filter::parse("   ").is_empty());
    }
}
