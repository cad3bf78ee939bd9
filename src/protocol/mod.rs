//! The sendstats → recvstats wire protocol: the bytes of one UDP datagram.
//!
//! This module owns the datagram format specified in docs/PROTOCOL.md and
//! nothing else: encoding a datagram into a caller's buffer, decoding one
//! that arrived, and the sender-side helpers that make /proc text fit (the
//! `condense_*` functions, line splitting, the report planner). It does no
//! I/O: no sockets, no files, no clocks, no logging. Callers pass bytes in and
//! get bytes or borrowed views out.
//!
//! Everything a decoder sees came from the network and may be hostile, so the
//! decoder must never panic, never read past the buffer, and never allocate:
//! a [`Datagram`] borrows its section bodies from the received buffer, and
//! every length on the wire is checked against what is actually there before
//! it is used. The encoder enforces the same rules as the decoder (they share
//! [`check_section`]), so whatever [`Encoder`] produces, [`decode()`] accepts.
//!
//! Layout of the module: [`decode`](mod@decode) and [`encode`](mod@encode)
//! are the codec, [`statfs`](mod@statfs) the binary `struct statfs` section,
//! [`condense`](mod@condense) the sender-side text shrinking and splitting,
//! and [`report`](mod@report) the planner that packs one node report into as
//! few datagrams as a size limit allows.

#[cfg(test)]
mod codec_tests;
pub mod condense;
pub mod decode;
pub mod encode;
pub mod report;
pub mod statfs;

use std::fmt;

use crate::shm::layout::Counter;

pub use condense::{
    condense_cpuinfo, condense_meminfo, condense_net_dev, condense_stat, split_lines, SplitLines,
    CPUINFO_KEYS, MEMINFO_KEYS,
};
pub use decode::{decode, AuthTrailer, Datagram, Part, Section, Sections};
pub use encode::{Encoder, MacSigner};
pub use report::{encode_report, Report};
pub use statfs::{decode_statfs, encode_statfs};

/// Default UDP port of recvstats (and of the multicast group): 3040, 0xbe0,
/// as the recvstats man page says.
pub const DEFAULT_PORT: u16 = 3040;
/// Default IPv4 multicast group (administratively scoped, 239/8).
pub const DEFAULT_GROUP_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(239, 255, 30, 40);
/// Default IPv6 multicast group (link-local scope; 0xbe0 = 3040).
pub const DEFAULT_GROUP_V6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xbe0);

/// First four bytes of every datagram.
pub const MAGIC: [u8; 4] = *b"BEOS";
/// The protocol version this code speaks. Any other version is dropped.
pub const VERSION: u8 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 32;
/// Bytes before each section body: tag (u16) and length (u16).
pub const SECTION_HEADER_LEN: usize = 4;
/// Bytes at the start of a `*Part` section body: index, count, snapshot.
pub const PART_HEADER_LEN: usize = 12;
/// Largest datagram the protocol allows: the largest UDP payload over IPv4
/// (65535 - 20 bytes of IP header - 8 bytes of UDP header).
pub const MAX_DATAGRAM: usize = 65507;
/// Receive buffer length: one byte more than [`MAX_DATAGRAM`], so a datagram
/// that fills the buffer is known to have been cut by the kernel.
pub const RECV_BUFFER_LEN: usize = MAX_DATAGRAM + 1;
/// Largest section body that can appear in a legal datagram.
pub const MAX_SECTION_BODY: usize = MAX_DATAGRAM - HEADER_LEN - SECTION_HEADER_LEN;
/// UDP payload that fits one 1500-byte Ethernet frame over IPv4 (1500 - 20 - 8).
pub const MTU_PAYLOAD_IPV4: usize = 1472;
/// UDP payload that fits one 1500-byte Ethernet frame over IPv6 (1500 - 40 - 8).
pub const MTU_PAYLOAD_IPV6: usize = 1452;

/// Node number meaning "I do not know my number; derive it from my source
/// address" (the ClusterWare `iprange`/`node` mapping).
pub const NODE_FROM_ADDRESS: i32 = i32::MIN;
/// Node number of the master; master → node messages carry it.
pub const NODE_MASTER: i32 = -1;

/// Header flag: the datagram carries static data (a `Cpuinfo` or
/// `CpuinfoPart` section). Only STATUS messages may set it, and the encoder
/// sets or clears it itself from the sections written.
pub const FLAG_FULL: u16 = 0x0001;
/// Header flag: the datagram ends with an authentication trailer.
pub const FLAG_AUTH: u16 = 0x0002;
/// Flags this version defines. Receivers ignore the others; senders send 0.
pub const KNOWN_FLAGS: u16 = FLAG_FULL | FLAG_AUTH;

/// Tag of the authentication trailer. Never valid as a counted section.
pub const AUTH_TRAILER_TAG: u16 = 0xFFFF;
/// Bytes of the MAC (HMAC-SHA-256) in the trailer.
pub const MAC_LEN: usize = 32;
/// Body length of the trailer: key id (u32) and the MAC.
pub const AUTH_TRAILER_BODY_LEN: usize = 4 + MAC_LEN;
/// Bytes the trailer adds to a datagram (its tag, length and body).
pub const AUTH_TRAILER_LEN: usize = SECTION_HEADER_LEN + AUTH_TRAILER_BODY_LEN;

/// Body length of a `Statfs` section: twelve big-endian u64 values.
pub const STATFS_LEN: usize = 96;
/// Longest `Hostname` body (the DNS limit on a full name).
pub const MAX_HOSTNAME_LEN: usize = 255;
/// Body length of an `Interval` section (u32 milliseconds).
pub const INTERVAL_LEN: usize = 4;

/// What a datagram asks or tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Node → master: the node's status (type byte 1).
    Status,
    /// Master → nodes: send a full status, static data included, now (2).
    UpdateRequest,
    /// Master → nodes: report at a new interval, given in an `Interval`
    /// section (3).
    RateChange,
}

impl MessageType {
    /// The type byte on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            MessageType::Status => 1,
            MessageType::UpdateRequest => 2,
            MessageType::RateChange => 3,
        }
    }

    /// The type for a type byte, if this version defines it.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(MessageType::Status),
            2 => Some(MessageType::UpdateRequest),
            3 => Some(MessageType::RateChange),
            _ => None,
        }
    }

    /// Whether a section with this (known) tag may appear in this type.
    pub fn allows(self, tag: SectionTag) -> bool {
        match self {
            MessageType::Status => matches!(
                tag,
                SectionTag::Cpuinfo
                    | SectionTag::Meminfo
                    | SectionTag::Loadavg
                    | SectionTag::NetDev
                    | SectionTag::Stat
                    | SectionTag::Statfs
                    | SectionTag::Hostname
                    | SectionTag::Origin
                    | SectionTag::CpuinfoPart
                    | SectionTag::StatPart
            ),
            MessageType::UpdateRequest => false,
            MessageType::RateChange => tag == SectionTag::Interval,
        }
    }
}

/// The kind of a section, from its 16-bit tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionTag {
    /// /proc/cpuinfo text, usually condensed (0x0001). Static data.
    Cpuinfo,
    /// /proc/meminfo text, usually condensed (0x0002).
    Meminfo,
    /// /proc/loadavg text (0x0003).
    Loadavg,
    /// /proc/net/dev text, usually condensed (0x0004).
    NetDev,
    /// /proc/stat text, usually condensed to its `cpu` lines (0x0005).
    Stat,
    /// `statfs("/")` as twelve big-endian u64 values (0x0006).
    Statfs,
    /// The node's host name, 1..=255 bytes, no NUL (0x0007).
    Hostname,
    /// The source address the sender sends from, 4 (IPv4) or 16 (IPv6)
    /// bytes (0x0008): binds a signed datagram that asks for its node
    /// number from its address to that address.
    Origin,
    /// One part of a cpuinfo text too long for one datagram (0x0101).
    CpuinfoPart,
    /// One part of a stat text too long for one datagram (0x0105).
    StatPart,
    /// New reporting interval, u32 milliseconds (0x0201). RATE_CHANGE only.
    Interval,
    /// A tag this version does not define. Decoders skip it.
    Unknown(u16),
}

impl SectionTag {
    /// Every tag this version defines.
    pub const KNOWN: [SectionTag; 11] = [
        SectionTag::Cpuinfo,
        SectionTag::Meminfo,
        SectionTag::Loadavg,
        SectionTag::NetDev,
        SectionTag::Stat,
        SectionTag::Statfs,
        SectionTag::Hostname,
        SectionTag::CpuinfoPart,
        SectionTag::StatPart,
        SectionTag::Interval,
        SectionTag::Origin,
    ];

    /// The tag on the wire.
    pub fn to_u16(self) -> u16 {
        match self {
            SectionTag::Cpuinfo => 0x0001,
            SectionTag::Meminfo => 0x0002,
            SectionTag::Loadavg => 0x0003,
            SectionTag::NetDev => 0x0004,
            SectionTag::Stat => 0x0005,
            SectionTag::Statfs => 0x0006,
            SectionTag::Hostname => 0x0007,
            SectionTag::Origin => 0x0008,
            SectionTag::CpuinfoPart => 0x0101,
            SectionTag::StatPart => 0x0105,
            SectionTag::Interval => 0x0201,
            SectionTag::Unknown(raw) => raw,
        }
    }

    /// The tag for a wire value (anything undefined is `Unknown`).
    pub fn from_u16(raw: u16) -> Self {
        match raw {
            0x0001 => SectionTag::Cpuinfo,
            0x0002 => SectionTag::Meminfo,
            0x0003 => SectionTag::Loadavg,
            0x0004 => SectionTag::NetDev,
            0x0005 => SectionTag::Stat,
            0x0006 => SectionTag::Statfs,
            0x0007 => SectionTag::Hostname,
            0x0008 => SectionTag::Origin,
            0x0101 => SectionTag::CpuinfoPart,
            0x0105 => SectionTag::StatPart,
            0x0201 => SectionTag::Interval,
            other => SectionTag::Unknown(other),
        }
    }

    /// Position of a known tag in [`SectionTag::KNOWN`]; used as a bit index
    /// to find duplicates without allocating.
    fn index(self) -> Option<u32> {
        let position = SectionTag::KNOWN.iter().position(|&known| known == self)?;
        u32::try_from(position).ok()
    }

    /// Whether this tag carries static data (sets [`FLAG_FULL`]).
    pub fn is_static(self) -> bool {
        matches!(self, SectionTag::Cpuinfo | SectionTag::CpuinfoPart)
    }
}

/// The fixed header of a datagram, minus what the codec derives itself
/// (magic, version and section count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the datagram is.
    pub message_type: MessageType,
    /// `FLAG_*` bits. On encoding, [`FLAG_AUTH`] selects a signed datagram
    /// and [`FLAG_FULL`] is recomputed from the sections.
    pub flags: u16,
    /// The sender's node number: 0.., [`NODE_MASTER`] for the master, or
    /// [`NODE_FROM_ADDRESS`].
    pub node: i32,
    /// Per-sender counter, one higher for every datagram sent.
    pub sequence: u64,
    /// When the sender read the data: nanoseconds since the Unix epoch
    /// (CLOCK_REALTIME).
    pub time_ns: u64,
}

impl Header {
    /// A STATUS header with no flags.
    pub fn status(node: i32, sequence: u64, time_ns: u64) -> Self {
        Header {
            message_type: MessageType::Status,
            flags: 0,
            node,
            sequence,
            time_ns,
        }
    }

    /// An UPDATE_REQUEST header from the master.
    pub fn update_request(sequence: u64, time_ns: u64) -> Self {
        Header {
            message_type: MessageType::UpdateRequest,
            flags: 0,
            node: NODE_MASTER,
            sequence,
            time_ns,
        }
    }

    /// A RATE_CHANGE header from the master (add an `Interval` section).
    pub fn rate_change(sequence: u64, time_ns: u64) -> Self {
        Header {
            message_type: MessageType::RateChange,
            flags: 0,
            node: NODE_MASTER,
            sequence,
            time_ns,
        }
    }

    /// Whether the sender asked to be identified by its source address.
    pub fn node_from_address(&self) -> bool {
        self.node == NODE_FROM_ADDRESS
    }

    /// Whether the datagram carries static data.
    pub fn is_full(&self) -> bool {
        self.flags & FLAG_FULL != 0
    }

    /// Whether the datagram ends with an authentication trailer.
    pub fn is_authenticated(&self) -> bool {
        self.flags & FLAG_AUTH != 0
    }
}

/// Why a received datagram was dropped. Each variant is one drop reason the
/// daemon counts ([`DecodeError::counter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than its fixed header, or longer than [`MAX_DATAGRAM`] (the
    /// receive buffer filled up, so the kernel cut it).
    Truncated,
    /// The first four bytes are not [`MAGIC`]: not ours.
    BadMagic,
    /// A protocol version this code does not speak.
    BadVersion(u8),
    /// A message type byte this version does not define.
    BadType(u8),
    /// The structure is broken: a length overruns the datagram, the section
    /// count disagrees with the bytes, a known section has a bad body, a
    /// section is duplicated or not allowed in this type, the trailer is
    /// missing or wrong. The text says which rule failed.
    Malformed(&'static str),
}

impl DecodeError {
    /// The daemon counter this drop reason increments.
    pub fn counter(&self) -> Counter {
        match self {
            DecodeError::Truncated => Counter::DroppedTruncated,
            DecodeError::BadMagic => Counter::DroppedBadMagic,
            DecodeError::BadVersion(_) => Counter::DroppedBadVersion,
            DecodeError::BadType(_) => Counter::DroppedBadType,
            DecodeError::Malformed(_) => Counter::DroppedMalformed,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("datagram truncated or too long"),
            DecodeError::BadMagic => f.write_str("not a beostat datagram (bad magic)"),
            DecodeError::BadVersion(v) => {
                write!(
                    f,
                    "protocol version {v} not supported (this side speaks {VERSION})"
                )
            }
            DecodeError::BadType(t) => write!(f, "unknown message type {t}"),
            DecodeError::Malformed(why) => write!(f, "malformed datagram: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why the encoder refused a section or a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The section does not fit the space left under the encoder's limit.
    /// The datagram is unchanged: finish it and put the section in the next.
    TooLarge {
        /// Bytes the section would take (its header included).
        needed: usize,
        /// Bytes left under the limit (trailer reservation excluded).
        available: usize,
    },
    /// The section or datagram breaks a protocol rule (the same rule the
    /// decoder would reject it for); a bug in the caller.
    Invalid(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLarge { needed, available } => {
                write!(
                    f,
                    "section of {needed} bytes does not fit the {available} bytes left"
                )
            }
            EncodeError::Invalid(why) => write!(f, "invalid datagram: {why}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Checks a section the way the decoder does: the tag is not reserved, a
/// known tag is allowed in `message_type` and its body is well-formed.
/// Unknown tags pass with any body. Shared by encoder and decoder so that
/// they cannot disagree.
pub fn check_section(
    message_type: MessageType,
    tag: SectionTag,
    body: &[u8],
) -> Result<(), &'static str> {
    match tag {
        SectionTag::Unknown(0) => return Err("section tag 0 is reserved"),
        SectionTag::Unknown(AUTH_TRAILER_TAG) => return Err("trailer tag used as a section"),
        SectionTag::Unknown(_) => return Ok(()),
        known if !message_type.allows(known) => {
            return Err("section not allowed in this message type")
        }
        _ => {}
    }
    if body.len() > MAX_SECTION_BODY {
        return Err("section longer than any datagram");
    }
    match tag {
        SectionTag::Statfs if body.len() != STATFS_LEN => Err("statfs section is not 96 bytes"),
        SectionTag::Hostname if body.is_empty() => Err("empty host name"),
        SectionTag::Hostname if body.len() > MAX_HOSTNAME_LEN => Err("host name over 255 bytes"),
        SectionTag::Hostname if body.contains(&0) => Err("NUL byte in host name"),
        SectionTag::Interval if body.len() != INTERVAL_LEN => {
            Err("interval section is not 4 bytes")
        }
        SectionTag::Interval if body == [0; INTERVAL_LEN] => Err("interval of 0 ms"),
        SectionTag::Origin if body.len() != 4 && body.len() != 16 => {
            Err("origin section is not 4 or 16 bytes")
        }
        SectionTag::CpuinfoPart | SectionTag::StatPart => match decode::parse_part(body) {
            None => Err("part section shorter than its part header"),
            Some(part) if part.count == 0 => Err("part count of 0"),
            Some(part) if part.index >= part.count => Err("part index not below part count"),
            Some(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Tracks which known sections a datagram has, to enforce "at most one of
/// each" and the whole/part exclusions without allocating.
#[derive(Debug, Clone, Copy, Default)]
struct SeenSections(u32);

impl SeenSections {
    /// Records `tag`; fails if it, or its whole/part counterpart, was seen.
    fn add(&mut self, tag: SectionTag) -> Result<(), &'static str> {
        let Some(index) = tag.index() else {
            return Ok(());
        };
        let bit = 1u32 << index;
        if self.0 & bit != 0 {
            return Err("duplicate section");
        }
        let rival = match tag {
            SectionTag::Cpuinfo => Some(SectionTag::CpuinfoPart),
            SectionTag::CpuinfoPart => Some(SectionTag::Cpuinfo),
            SectionTag::Stat => Some(SectionTag::StatPart),
            SectionTag::StatPart => Some(SectionTag::Stat),
            _ => None,
        };
        if let Some(rival_index) = rival.and_then(SectionTag::index) {
            if self.0 & (1u32 << rival_index) != 0 {
                return Err("whole and part of the same text in one datagram");
            }
        }
        self.0 |= bit;
        Ok(())
    }

    fn has(&self, tag: SectionTag) -> bool {
        tag.index()
            .is_some_and(|index| self.0 & (1u32 << index) != 0)
    }

    fn has_static(&self) -> bool {
        self.has(SectionTag::Cpuinfo) || self.has(SectionTag::CpuinfoPart)
    }

    /// The whole-datagram rules, checked once every section is in.
    fn check_complete(&self, message_type: MessageType, flags: u16) -> Result<(), &'static str> {
        if message_type == MessageType::RateChange && !self.has(SectionTag::Interval) {
            return Err("rate change without an interval section");
        }
        if (flags & FLAG_FULL != 0) != self.has_static() {
            return Err("FULL flag disagrees with the static sections present");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_bytes_round_trip_and_others_are_rejected() {
        for t in [
            MessageType::Status,
            MessageType::UpdateRequest,
            MessageType::RateChange,
        ] {
            assert_eq!(MessageType::from_u8(t.to_u8()), Some(t));
        }
        assert_eq!(MessageType::Status.to_u8(), 1);
        assert_eq!(MessageType::RateChange.to_u8(), 3);
        assert_eq!(MessageType::from_u8(0), None);
        assert_eq!(MessageType::from_u8(4), None);
    }

    #[test]
    fn section_tags_round_trip_and_unknown_values_stay_unknown() {
        for tag in SectionTag::KNOWN {
            assert_eq!(SectionTag::from_u16(tag.to_u16()), tag);
        }
        assert_eq!(SectionTag::from_u16(0x0042), SectionTag::Unknown(0x0042));
        assert_eq!(SectionTag::Unknown(0x0042).to_u16(), 0x0042);
        assert_eq!(SectionTag::StatPart.to_u16(), 0x0105);
    }

    #[test]
    fn every_drop_reason_has_its_own_counter() {
        let counters = [
            DecodeError::Truncated.counter(),
            DecodeError::BadMagic.counter(),
            DecodeError::BadVersion(2).counter(),
            DecodeError::BadType(9).counter(),
            DecodeError::Malformed("x").counter(),
        ];
        for (i, a) in counters.iter().enumerate() {
            for b in &counters[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            DecodeError::BadVersion(7).counter(),
            Counter::DroppedBadVersion
        );
    }

    #[test]
    fn seen_sections_reject_duplicates_and_whole_with_part() {
        let mut seen = SeenSections::default();
        seen.add(SectionTag::Stat).unwrap();
        assert_eq!(seen.add(SectionTag::Stat), Err("duplicate section"));
        assert!(seen.add(SectionTag::StatPart).is_err());
        seen.add(SectionTag::Unknown(0x7777)).unwrap();
        seen.add(SectionTag::Unknown(0x7777)).unwrap();
        assert!(!seen.has_static());
        seen.add(SectionTag::CpuinfoPart).unwrap();
        assert!(seen.has_static());
    }

    #[test]
    fn check_section_applies_type_and_body_rules() {
        use MessageType::*;
        assert!(check_section(Status, SectionTag::Statfs, &[0; 96]).is_ok());
        assert!(check_section(Status, SectionTag::Statfs, &[0; 95]).is_err());
        assert!(check_section(Status, SectionTag::Interval, &[0, 0, 0, 1]).is_err());
        assert!(check_section(RateChange, SectionTag::Interval, &[0, 0, 0, 1]).is_ok());
        assert!(check_section(RateChange, SectionTag::Interval, &[0, 0, 0, 0]).is_err());
        assert!(check_section(UpdateRequest, SectionTag::Loadavg, b"0.00").is_err());
        assert!(check_section(UpdateRequest, SectionTag::Unknown(0x4000), b"x").is_ok());
        assert!(check_section(Status, SectionTag::Unknown(0), b"").is_err());
        assert!(check_section(Status, SectionTag::Unknown(AUTH_TRAILER_TAG), b"").is_err());
        assert!(check_section(Status, SectionTag::Hostname, b"").is_err());
        assert!(check_section(Status, SectionTag::Hostname, b"a\0b").is_err());
        assert!(check_section(Status, SectionTag::Hostname, &[b'h'; 255]).is_ok());
        assert!(check_section(Status, SectionTag::Hostname, &[b'h'; 256]).is_err());
    }
}
