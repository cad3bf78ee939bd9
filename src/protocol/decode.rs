//! Decoding a received datagram into borrowed views, zero-copy.
//!
//! This module owns the receive side of the codec: [`decode`] validates the
//! whole datagram once (header, every section, the trailer) and returns a
//! [`Datagram`] whose section bodies are slices of the caller's buffer. It
//! must never panic, index out of bounds or allocate, whatever the bytes say:
//! all reads go through bounds-checked helpers, and a length is compared with
//! the bytes actually left before a slice is taken.

use super::{
    check_section, statfs, DecodeError, Header, MessageType, SectionTag, SeenSections,
    AUTH_TRAILER_BODY_LEN, AUTH_TRAILER_TAG, FLAG_AUTH, HEADER_LEN, MAC_LEN, MAGIC, MAX_DATAGRAM,
    PART_HEADER_LEN, SECTION_HEADER_LEN, VERSION,
};

/// A decoded datagram. Borrows the receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// The fixed header.
    pub header: Header,
    /// Number of sections (known and unknown; the trailer is not counted).
    pub section_count: u16,
    /// The section area, already validated.
    sections: &'a [u8],
    /// The trailer, present exactly when the header has [`FLAG_AUTH`].
    pub auth: Option<AuthTrailer<'a>>,
}

/// One section: its tag and its body, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// What the body is.
    pub tag: SectionTag,
    /// The body bytes.
    pub body: &'a [u8],
}

/// The authentication trailer, ready for a verifier (verification itself is
/// not done here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthTrailer<'a> {
    /// Which shared key the sender used.
    pub key_id: u32,
    /// The bytes the MAC covers: from the first byte of the datagram up to
    /// and including the key id (header, sections, trailer tag, length and
    /// key id).
    pub covered: &'a [u8],
    /// The MAC the sender computed over `covered`.
    pub mac: &'a [u8; MAC_LEN],
}

/// The body of a `CpuinfoPart` or `StatPart` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part<'a> {
    /// Which part this is, 0-based.
    pub index: u16,
    /// How many parts the whole text was split into (at least 1).
    pub count: u16,
    /// Same value in every part of one split text, different between texts.
    pub snapshot: u64,
    /// This part's text: whole lines of the original.
    pub text: &'a [u8],
}

/// Iterator over the sections of a [`Datagram`], in wire order, unknown
/// tags included.
#[derive(Debug, Clone)]
pub struct Sections<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Sections<'a> {
    type Item = Section<'a>;

    fn next(&mut self) -> Option<Section<'a>> {
        // The area was validated by `decode`; this re-walk still checks
        // every bound so that it cannot panic if that ever changes.
        let (tag, body, rest) = split_section(self.rest)?;
        self.rest = rest;
        Some(Section {
            tag: SectionTag::from_u16(tag),
            body,
        })
    }
}

impl<'a> Datagram<'a> {
    /// Every section, in wire order. Callers skip tags they do not know.
    pub fn sections(&self) -> Sections<'a> {
        Sections {
            rest: self.sections,
        }
    }

    /// The body of the section with this known tag, if present (a datagram
    /// holds at most one of each known tag).
    pub fn get(&self, tag: SectionTag) -> Option<&'a [u8]> {
        self.sections()
            .find(|section| section.tag == tag)
            .map(|section| section.body)
    }

    /// The `Origin` section: the address the sender says it sends from.
    pub fn origin(&self) -> Option<std::net::IpAddr> {
        let body = self.get(SectionTag::Origin)?;
        if let Ok(v4) = <[u8; 4]>::try_from(body) {
            return Some(std::net::Ipv4Addr::from(v4).into());
        }
        <[u8; 16]>::try_from(body)
            .ok()
            .map(|v6| std::net::Ipv6Addr::from(v6).into())
    }

    /// The `Hostname` section.
    pub fn hostname(&self) -> Option<&'a [u8]> {
        self.get(SectionTag::Hostname)
    }

    /// The `Statfs` section as a `struct statfs`.
    pub fn statfs(&self) -> Option<libc::statfs> {
        self.get(SectionTag::Statfs).and_then(statfs::decode_statfs)
    }

    /// The new interval of a RATE_CHANGE, in milliseconds (never 0).
    pub fn interval_ms(&self) -> Option<u32> {
        let body = self.get(SectionTag::Interval)?;
        Some(u32::from_be_bytes(body.try_into().ok()?))
    }

    /// The `StatPart` section, parsed.
    pub fn stat_part(&self) -> Option<Part<'a>> {
        self.get(SectionTag::StatPart).and_then(parse_part)
    }

    /// The `CpuinfoPart` section, parsed.
    pub fn cpuinfo_part(&self) -> Option<Part<'a>> {
        self.get(SectionTag::CpuinfoPart).and_then(parse_part)
    }
}

/// Parses a `*Part` section body; `None` if shorter than its part header.
pub fn parse_part(body: &[u8]) -> Option<Part<'_>> {
    let (head, text) = body.split_at_checked(PART_HEADER_LEN)?;
    Some(Part {
        index: be_u16(head, 0)?,
        count: be_u16(head, 2)?,
        snapshot: be_u64(head, 4)?,
        text,
    })
}

/// Validates `buf` as one whole datagram and returns views into it.
///
/// The checks run in the order docs/PROTOCOL.md gives, so a datagram gets
/// the same drop reason from every implementation of the spec.
pub fn decode(buf: &[u8]) -> Result<Datagram<'_>, DecodeError> {
    if buf.len() > MAX_DATAGRAM {
        return Err(DecodeError::Truncated);
    }
    match buf.get(..MAGIC.len()) {
        None => return Err(DecodeError::Truncated),
        Some(magic) if magic != MAGIC => return Err(DecodeError::BadMagic),
        Some(_) => {}
    }
    match buf.get(4) {
        None => return Err(DecodeError::Truncated),
        Some(&version) if version != VERSION => return Err(DecodeError::BadVersion(version)),
        Some(_) => {}
    }
    let (head, area) = buf
        .split_at_checked(HEADER_LEN)
        .ok_or(DecodeError::Truncated)?;
    let type_byte = head[5];
    let message_type = MessageType::from_u8(type_byte).ok_or(DecodeError::BadType(type_byte))?;
    let malformed = DecodeError::Malformed;
    let read_error = malformed("header read out of bounds");
    let header = Header {
        message_type,
        flags: be_u16(head, 6).ok_or(read_error)?,
        node: be_u32(head, 8).map(|n| n as i32).ok_or(read_error)?,
        sequence: be_u64(head, 12).ok_or(read_error)?,
        time_ns: be_u64(head, 20).ok_or(read_error)?,
    };
    let section_count = be_u16(head, 28).ok_or(read_error)?;
    // Bytes 30..32 are reserved: senders write 0, receivers ignore them.

    let mut rest = area;
    let mut seen = SeenSections::default();
    for _ in 0..section_count {
        if rest.is_empty() {
            return Err(malformed("section count larger than the sections present"));
        }
        let (tag, body, after) =
            split_section(rest).ok_or(malformed("section length overruns the datagram"))?;
        let tag = SectionTag::from_u16(tag);
        check_section(message_type, tag, body).map_err(malformed)?;
        seen.add(tag).map_err(malformed)?;
        rest = after;
    }
    let sections = &area[..area.len() - rest.len()];

    let auth = if header.flags & FLAG_AUTH != 0 {
        Some(decode_trailer(buf, rest)?)
    } else if !rest.is_empty() {
        return Err(malformed("bytes after the last section"));
    } else {
        None
    };
    seen.check_complete(message_type, header.flags)
        .map_err(malformed)?;
    Ok(Datagram {
        header,
        section_count,
        sections,
        auth,
    })
}

/// Checks that `rest` (the end of `buf`) is exactly one trailer.
fn decode_trailer<'a>(buf: &'a [u8], rest: &'a [u8]) -> Result<AuthTrailer<'a>, DecodeError> {
    let malformed = DecodeError::Malformed;
    let (tag, body, after) =
        split_section(rest).ok_or(malformed("AUTH flag set but no whole trailer follows"))?;
    if tag != AUTH_TRAILER_TAG {
        return Err(malformed(
            "AUTH flag set but the last section is not the trailer",
        ));
    }
    if body.len() != AUTH_TRAILER_BODY_LEN {
        return Err(malformed("trailer body is not 36 bytes"));
    }
    if !after.is_empty() {
        return Err(malformed("bytes after the trailer"));
    }
    let (key, mac) = body
        .split_at_checked(4)
        .ok_or(malformed("trailer too short"))?;
    let key_id = be_u32(key, 0).ok_or(malformed("trailer too short"))?;
    let mac: &[u8; MAC_LEN] = mac
        .try_into()
        .map_err(|_| malformed("trailer MAC length"))?;
    // The MAC covers everything before its own first byte.
    let covered_len = buf.len() - MAC_LEN;
    Ok(AuthTrailer {
        key_id,
        covered: &buf[..covered_len],
        mac,
    })
}

/// Splits one `tag, len, body` off the front of `bytes`: `None` if the
/// section header or the body runs past the end.
fn split_section(bytes: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let tag = be_u16(bytes, 0)?;
    let len = usize::from(be_u16(bytes, 2)?);
    let after_header = bytes.get(SECTION_HEADER_LEN..)?;
    let (body, rest) = after_header.split_at_checked(len)?;
    Some((tag, body, rest))
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

pub(super) fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        bytes.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
