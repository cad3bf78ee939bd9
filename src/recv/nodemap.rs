//! Node numbers from source addresses, and the port, from the ClusterWare
//! configuration file (`/etc/beowulf/config`).
//!
//! Of that file's format this reads only (see docs/RECVSTATS.md):
//! - `iprange [FIRST-NODE] LOW-IPv4 HIGH-IPv4`: the addresses LOW..=HIGH
//!   belong to nodes FIRST-NODE, FIRST-NODE+1, ...; FIRST-NODE defaults to
//!   the node after the previous range's last (0 for the first range);
//! - `server beostats PORT`: the port recvstats listens on.
//!
//! Everything else (other keywords, `#` comments, blank lines) is ignored, so
//! the same file keeps serving the rest of ClusterWare. A malformed line of a
//! keyword we read is an error naming the line. Pure: no I/O but [`load`].

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// Address ranges and the node number of each range's first address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeMap {
    ranges: Vec<Range>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    low: u32,
    high: u32,
    first_node: i32,
}

/// What recvstats takes from the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeowulfConfig {
    /// Address-to-node ranges.
    pub nodes: NodeMap,
    /// `server beostats PORT`, if given.
    pub port: Option<u16>,
}

impl NodeMap {
    /// The node a source address belongs to (IPv4, or IPv4-mapped IPv6).
    pub fn node_for(&self, address: IpAddr) -> Option<i32> {
        let v4 = match address {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
        };
        let ip = u32::from(v4);
        self.ranges
            .iter()
            .find(|r| (r.low..=r.high).contains(&ip))
            .and_then(|r| r.first_node.checked_add(i32::try_from(ip - r.low).ok()?))
    }

    /// The address of `node`, if a range covers it (the inverse of [`Self::node_for`]).
    pub fn address_of(&self, node: i32) -> Option<Ipv4Addr> {
        self.ranges.iter().find_map(|r| {
            let offset = u32::try_from(node.checked_sub(r.first_node)?).ok()?;
            let ip = r.low.checked_add(offset)?;
            (ip <= r.high).then(|| Ipv4Addr::from(ip))
        })
    }

    /// True when no range is configured.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// Parses the text of a configuration file.
pub fn parse(text: &str) -> Result<BeowulfConfig, String> {
    let mut config = BeowulfConfig::default();
    let mut next_node: i64 = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        let bad = |what: &str| format!("line {}: {what}: {}", number + 1, line.trim());
        match words.as_slice() {
            ["iprange", rest @ ..] => {
                let (first, low, high) = match rest {
                    [low, high] => (next_node, *low, *high),
                    [first, low, high] => (
                        first.parse::<i64>().map_err(|_| bad("bad node number"))?,
                        *low,
                        *high,
                    ),
                    _ => return Err(bad("expected: iprange [NODE] LOW-IP HIGH-IP")),
                };
                let low: Ipv4Addr = low.parse().map_err(|_| bad("bad IPv4 address"))?;
                let high: Ipv4Addr = high.parse().map_err(|_| bad("bad IPv4 address"))?;
                let (low, high) = (u32::from(low), u32::from(high));
                if high < low || !(0..=i64::from(i32::MAX)).contains(&first) {
                    return Err(bad("empty range or node number out of range"));
                }
                let first_node = first as i32;
                config.nodes.ranges.push(Range {
                    low,
                    high,
                    first_node,
                });
                next_node = first + i64::from(high - low) + 1;
            }
            ["server", "beostats", port] => {
                config.port = Some(port.parse().map_err(|_| bad("bad port"))?);
            }
            ["server", "beostats", ..] => return Err(bad("expected: server beostats PORT")),
            _ => {}
        }
    }
    Ok(config)
}

/// Reads and parses `path`; `Ok(None)` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<BeowulfConfig>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipranges_map_addresses_to_consecutive_nodes() {
        let config = parse(
            "# cluster\ninterface eth1\niprange 10.0.0.10 10.0.0.13\n\
             iprange 10.0.1.1 10.0.1.2   # continues at node 4\n\
             iprange 100 10.0.2.0 10.0.2.255\nserver beostats 5545\nnode 00:11:22:33:44:55\n",
        )
        .unwrap();
        let node = |ip: &str| config.nodes.node_for(ip.parse().unwrap());
        assert_eq!(node("10.0.0.10"), Some(0));
        assert_eq!(node("10.0.0.13"), Some(3));
        assert_eq!(node("10.0.0.14"), None);
        assert_eq!(node("10.0.1.2"), Some(5));
        assert_eq!(node("10.0.2.7"), Some(107));
        assert_eq!(node("::ffff:10.0.0.11"), Some(1));
        assert_eq!(node("fe80::1"), None);
        assert_eq!(
            config.nodes.address_of(107),
            Some("10.0.2.7".parse().unwrap())
        );
        assert_eq!(config.nodes.address_of(6), None);
        assert_eq!(config.port, Some(5545));
    }

    #[test]
    fn malformed_lines_of_keywords_we_read_are_errors_naming_the_line() {
        assert!(parse("iprange 10.0.0.1\n")
            .unwrap_err()
            .starts_with("line 1:"));
        assert!(parse("\n\niprange x 10.0.0.1 10.0.0.2\n")
            .unwrap_err()
            .starts_with("line 3:"));
        assert!(parse("iprange 10.0.0.9 10.0.0.1\n").is_err());
        assert!(parse("server beostats 99999\n").is_err());
        assert!(parse("server beostats\n").is_err());
        assert_eq!(
            parse("unknownkeyword 1 2 3\n").unwrap(),
            BeowulfConfig::default()
        );
    }
}
