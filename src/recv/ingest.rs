//! From a received datagram (or the master's own /proc texts) to a published
//! record: validate, count, parse each section, write.
//!
//! Owns the receive-side rules: every datagram is counted as received and
//! then either accepted or dropped for exactly one reason (the counters in
//! the control file); a section whose text does not parse is counted as a
//! parse error and left out, without losing the other sections of the same
//! datagram; a datagram can only ever change the record of the node it names
//! (or that its source address maps to). It must never panic on input.
//!
//! In steady state (dynamic reports of nodes already seen) it allocates
//! nothing: the parsed stat and net/dev are kept in buffers owned here and
//! reused for every datagram (`tests/ingest_allocations.rs` checks it).

use super::nodemap::NodeMap;
use super::reassembly::Reassembly;
use crate::auth::{Refusal, Verifier};
use crate::proc::{cpuinfo, loadavg, meminfo, netdev, stat, NetDevs, Stat};
use crate::protocol::{decode, MessageType, Report, SectionTag, MAX_DATAGRAM};
use crate::shm::{Counter, NodeUpdate, ShmWriter};
use std::net::IpAddr;

/// What happened to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Published for this node; `wants_static` when the master has no static
    /// data (cpuinfo) for it yet and should ask the node for a full report.
    Accepted { node: i32, wants_static: bool },
    /// Dropped and counted under this counter.
    Dropped(Counter),
}

/// The receive pipeline: owns the writer and the per-node receive state.
#[derive(Debug)]
pub struct Ingest {
    writer: ShmWriter,
    nodes: NodeMap,
    reassembly: Reassembly,
    /// Reused by every report: the last stat and net/dev parsed.
    stat: Stat,
    net: NetDevs,
    /// With a key: signatures and replays are checked.
    verifier: Option<Verifier>,
}

impl Ingest {
    /// A pipeline writing through `writer` (which holds the limits on
    /// nodes, CPUs and bytes).
    pub fn new(writer: ShmWriter, nodes: NodeMap) -> Self {
        Ingest {
            writer,
            nodes,
            reassembly: Reassembly::default(),
            stat: Stat::default(),
            net: NetDevs::default(),
            verifier: None,
        }
    }

    /// The writer (for periodic work: expiry, counters, last multicast).
    pub fn writer(&mut self) -> &mut ShmWriter {
        &mut self.writer
    }

    /// Requires every datagram to be signed with the verifier's key (and not
    /// replayed); `None` accepts unsigned datagrams.
    pub fn set_verifier(&mut self, verifier: Option<Verifier>) {
        self.verifier = verifier;
    }

    /// Does `source` match the address the configuration gives `node`?
    /// Nodes outside every configured range (machines outside the cluster)
    /// may report from anywhere.
    fn comes_from(&self, node: i32, source: IpAddr) -> bool {
        let Some(expected) = self.nodes.address_of(node) else {
            return true;
        };
        match source {
            IpAddr::V4(v4) => v4 == expected,
            IpAddr::V6(v6) => v6.to_ipv4_mapped() == Some(expected),
        }
    }

    /// Replaces the address-to-node map (SIGHUP).
    pub fn set_node_map(&mut self, nodes: NodeMap) {
        self.nodes = nodes;
    }

    /// Handles one datagram of `len` bytes received from `source` into a
    /// buffer of at least `len` bytes (`len > MAX_DATAGRAM` means it was
    /// truncated by the buffer).
    pub fn datagram(&mut self, bytes: &[u8], source: IpAddr, now_ns: u64) -> Outcome {
        self.writer.add_counter(Counter::DatagramsReceived, 1);
        let outcome = self.classify(bytes, source, now_ns);
        let counter = match outcome {
            Outcome::Accepted { .. } => Counter::DatagramsAccepted,
            Outcome::Dropped(reason) => reason,
        };
        self.writer.add_counter(counter, 1);
        outcome
    }

    fn classify(&mut self, bytes: &[u8], source: IpAddr, now_ns: u64) -> Outcome {
        if bytes.len() > MAX_DATAGRAM {
            return Outcome::Dropped(Counter::DroppedTruncated);
        }
        let datagram = match decode(bytes) {
            Ok(d) => d,
            Err(e) => return Outcome::Dropped(e.counter()),
        };
        if datagram.header.message_type != MessageType::Status {
            return Outcome::Dropped(Counter::DroppedBadType);
        }
        let node = if datagram.header.node_from_address() {
            match self.nodes.node_for(source) {
                Some(node) => node,
                None => return Outcome::Dropped(Counter::DroppedBadNode),
            }
        } else {
            datagram.header.node
        };
        if node < 0 {
            return Outcome::Dropped(Counter::DroppedBadNode);
        }
        if !datagram.header.node_from_address() && !self.comes_from(node, source) {
            return Outcome::Dropped(Counter::DroppedSpoofed);
        }
        if let Some(verifier) = &mut self.verifier {
            match verifier.check(node, &datagram, source, now_ns) {
                Ok(()) => {}
                Err(Refusal::BadSignature | Refusal::Unbound) => {
                    return Outcome::Dropped(Counter::DroppedAuth)
                }
                Err(Refusal::WrongOrigin) => return Outcome::Dropped(Counter::DroppedSpoofed),
                Err(Refusal::Replayed) => return Outcome::Dropped(Counter::DroppedReplay),
            }
        }
        // Split texts come back whole once every part has arrived (rare:
        // only nodes with well over a thousand CPUs split their stat).
        let now = std::time::Instant::now();
        let stat_whole = datagram
            .stat_part()
            .and_then(|p| self.reassembly.add(node, SectionTag::Stat, p, now));
        let cpuinfo_whole = datagram
            .cpuinfo_part()
            .and_then(|p| self.reassembly.add(node, SectionTag::Cpuinfo, p, now));
        let abandoned = self.reassembly.take_abandoned();
        if abandoned > 0 {
            self.writer
                .add_counter(Counter::ReassemblyAbandoned, abandoned as u64);
        }
        let statfs = datagram.statfs();
        let texts = Report {
            cpuinfo: cpuinfo_whole
                .as_deref()
                .or(datagram.get(SectionTag::Cpuinfo)),
            meminfo: datagram.get(SectionTag::Meminfo),
            loadavg: datagram.get(SectionTag::Loadavg),
            net_dev: datagram.get(SectionTag::NetDev),
            stat: stat_whole.as_deref().or(datagram.get(SectionTag::Stat)),
            statfs: statfs.as_ref(),
            hostname: datagram.hostname(),
        };
        match self.publish(node, &texts, now_ns) {
            Ok(()) => Outcome::Accepted {
                node,
                wants_static: !self.has_static(node),
            },
            Err(crate::Error::Refused(reason)) => Outcome::Dropped(reason),
            Err(crate::Error::UnknownNode(_)) => Outcome::Dropped(Counter::DroppedBadNode),
            // The files could not be written (a file truncated under us that
            // could not be rebuilt, say): not the datagram's fault.
            Err(_) => Outcome::Dropped(Counter::DroppedNoSpace),
        }
    }

    /// Abandons split texts that have waited too long for their other
    /// parts (called once a second).
    pub fn expire_partial_texts(&mut self) {
        let abandoned = self.reassembly.expire(std::time::Instant::now());
        if abandoned > 0 {
            self.writer
                .add_counter(Counter::ReassemblyAbandoned, abandoned as u64);
        }
    }

    /// Parses the texts of `texts` (a report as sendstats sends it, from a
    /// datagram or the master's own /proc) and writes what parsed into
    /// `node`'s record; node -1 is the master.
    pub fn publish(&mut self, node: i32, texts: &Report<'_>, time_ns: u64) -> crate::Result<()> {
        // Start loading the record while the texts are parsed. A folded
        // stat line is 25 to 45 bytes a CPU (an estimate from below, so
        // every CPU's entries are asked for; the writer caps it at the
        // record's capacity), a net/dev line about 100 bytes.
        self.writer.prefetch(
            node,
            texts.stat.map_or(0, |s| s.len() / 24 + 1),
            texts.net_dev.map_or(0, |s| s.len() / 96 + 1),
        );
        let mut errors = 0u64;
        let cpu = parse_counted(texts.cpuinfo, cpuinfo::parse, &mut errors);
        let memory = parse_counted(texts.meminfo, meminfo::parse, &mut errors);
        let mem_available = memory
            .is_some()
            .then(|| texts.meminfo.and_then(|m| std::str::from_utf8(m).ok()))
            .flatten()
            .and_then(meminfo::mem_available);
        let load = parse_counted(texts.loadavg, loadavg::parse, &mut errors);
        // stat checks its own UTF-8 (only where its fast path does not
        // already prove the text ASCII): no separate pass over the bytes.
        let stat_parsed = match texts.stat {
            Some(bytes) => {
                let parsed = stat::parse_bytes_into(bytes, &mut self.stat).is_ok();
                errors += u64::from(!parsed);
                parsed
            }
            None => false,
        };
        let net_parsed = parse_into_counted(
            texts.net_dev,
            netdev::parse_into,
            &mut self.net,
            &mut errors,
        );
        let cpu_times = stat_parsed.then_some(self.stat.cpus.as_slice());
        let update = NodeUpdate {
            time_ns,
            monotonic_ns: None,
            name: texts.hostname,
            loadavg: load,
            meminfo: memory,
            mem_available,
            net_dev: net_parsed.then_some(self.net.devices.as_slice()),
            cpu_times,
            stat_cpu: None,
            cpu_count: if cpu_times.is_some() {
                None
            } else {
                cpu.as_ref().map(|c| c.cpu_count)
            },
            mhz: cpu.as_ref().map(|c| c.mhz.unwrap_or(0.0)),
            statfs: texts.statfs.copied(),
        };
        if errors > 0 {
            self.writer.add_counter(Counter::ParseErrors, errors);
        }
        self.writer.update(node, &update)?;
        if cpu.is_some() {
            self.writer.mark_static(node);
        }
        Ok(())
    }

    fn has_static(&self, node: i32) -> bool {
        self.writer.has_static(node)
    }
}

/// Parses one section's text, counting text that is not UTF-8 or does not
/// parse in `errors`.
fn parse_counted<T, E>(
    bytes: Option<&[u8]>,
    parse: fn(&str) -> Result<T, E>,
    errors: &mut u64,
) -> Option<T> {
    let parsed = std::str::from_utf8(bytes?)
        .ok()
        .and_then(|text| parse(text).ok());
    if parsed.is_none() {
        *errors += 1;
    }
    parsed
}

/// Like [`parse_counted`], for the parsers that fill a reused value:
/// whether `bytes` was present and parsed into `out`. An absent section is
/// not an error.
fn parse_into_counted<T, E>(
    bytes: Option<&[u8]>,
    parse_into: fn(&str, &mut T) -> Result<(), E>,
    out: &mut T,
    errors: &mut u64,
) -> bool {
    let Some(bytes) = bytes else {
        return false;
    };
    let parsed = std::str::from_utf8(bytes)
        .ok()
        .is_some_and(|text| parse_into(text, out).is_ok());
    if !parsed {
        *errors += 1;
    }
    parsed
}
