//! Encoding datagrams into one reused buffer.
//!
//! This module owns the send side of the codec: [`Encoder`] writes a header,
//! then sections, then (optionally) the authentication trailer into a `Vec`
//! it keeps between datagrams, so a sender allocates once at start and never
//! again. It must never produce a datagram the decoder would reject: every
//! section goes through the decoder's own [`check_section`] and duplicate
//! rules, and a refused section leaves the datagram exactly as it was, so the
//! caller can finish it and carry on in the next one.

use super::{
    check_section, decode::Part, statfs, EncodeError, Header, MessageType, SectionTag,
    SeenSections, AUTH_TRAILER_BODY_LEN, AUTH_TRAILER_LEN, AUTH_TRAILER_TAG, FLAG_AUTH, FLAG_FULL,
    HEADER_LEN, INTERVAL_LEN, KNOWN_FLAGS, MAC_LEN, MAGIC, MAX_DATAGRAM, PART_HEADER_LEN,
    SECTION_HEADER_LEN, VERSION,
};

/// Computes the authentication MAC of a datagram (HMAC-SHA-256 with a
/// shared key, to be built later). The encoder only reserves room for it and
/// writes what [`MacSigner::sign`] returns.
pub trait MacSigner {
    /// Identifies the key to the receiver (keys can then be rotated).
    fn key_id(&self) -> u32;
    /// The MAC of `covered`: every byte of the datagram before the MAC.
    fn sign(&self, covered: &[u8]) -> [u8; MAC_LEN];
}

/// Writes datagrams into a buffer it reuses.
///
/// ```
/// use beostat::protocol::{decode, Encoder, Header, SectionTag};
/// let mut encoder = Encoder::new();
/// encoder.begin(&Header::status(3, 1, 0)).unwrap();
/// encoder.section(SectionTag::Loadavg, b"0.00 0.11 0.09 1/77 7199\n").unwrap();
/// let datagram = encoder.finish().unwrap();
/// assert_eq!(decode(datagram).unwrap().header.node, 3);
/// ```
#[derive(Debug)]
pub struct Encoder {
    buf: Vec<u8>,
    limit: usize,
    open: Option<Open>,
    /// Written as the first section of every STATUS begun (see
    /// [`Encoder::set_origin`]).
    origin: Option<std::net::IpAddr>,
}

/// What the encoder knows about the datagram being written.
#[derive(Debug, Clone, Copy)]
struct Open {
    message_type: MessageType,
    authenticated: bool,
    count: u16,
    seen: SeenSections,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with room for the largest datagram, limited to
    /// [`MAX_DATAGRAM`].
    pub fn new() -> Self {
        Self::with_buffer(Vec::with_capacity(MAX_DATAGRAM))
    }

    /// An encoder writing into `buf` (its contents are discarded; give it
    /// [`MAX_DATAGRAM`] capacity to never reallocate).
    pub fn with_buffer(buf: Vec<u8>) -> Self {
        Encoder {
            buf,
            limit: MAX_DATAGRAM,
            open: None,
            origin: None,
        }
    }

    /// Makes every STATUS datagram begun from now on start with an
    /// `Origin` section holding `origin` (`None`: no such section). A
    /// signed datagram that asks for its node number from its source
    /// address must carry one (docs/PROTOCOL.md, 7.7).
    pub fn set_origin(&mut self, origin: Option<std::net::IpAddr>) {
        self.origin = origin;
    }

    /// Gives the buffer back.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Caps datagrams at `limit` bytes (clamped to [`MAX_DATAGRAM`]), for
    /// example [`super::MTU_PAYLOAD_IPV4`] to avoid IP fragmentation.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_DATAGRAM);
    }

    /// The current size cap.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written since the last `finish`.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes a new section may still take (section header included), after
    /// setting aside room for the trailer if the datagram is signed.
    pub fn available(&self) -> usize {
        let reserved = match self.open {
            Some(open) if open.authenticated => AUTH_TRAILER_LEN,
            _ => 0,
        };
        self.limit.saturating_sub(self.buf.len() + reserved)
    }

    /// Starts a datagram with `header`, discarding any unfinished one.
    /// [`FLAG_AUTH`] in `header.flags` makes it a signed datagram (finish it
    /// with [`Encoder::finish_signed`]); [`FLAG_FULL`] is ignored and set by
    /// `finish` from the sections written; undefined flags are cleared.
    pub fn begin(&mut self, header: &Header) -> Result<(), EncodeError> {
        self.buf.clear();
        self.open = None;
        let authenticated = header.flags & FLAG_AUTH != 0;
        let minimum = HEADER_LEN + if authenticated { AUTH_TRAILER_LEN } else { 0 };
        if minimum > self.limit {
            return Err(EncodeError::TooLarge {
                needed: minimum,
                available: self.limit,
            });
        }
        let flags = header.flags & KNOWN_FLAGS & !FLAG_FULL;
        self.buf.extend_from_slice(&MAGIC);
        self.buf.push(VERSION);
        self.buf.push(header.message_type.to_u8());
        self.buf.extend_from_slice(&flags.to_be_bytes());
        self.buf.extend_from_slice(&header.node.to_be_bytes());
        self.buf.extend_from_slice(&header.sequence.to_be_bytes());
        self.buf.extend_from_slice(&header.time_ns.to_be_bytes());
        self.buf.extend_from_slice(&0u16.to_be_bytes()); // section count, set by finish
        self.buf.extend_from_slice(&0u16.to_be_bytes()); // reserved
        debug_assert_eq!(self.buf.len(), HEADER_LEN);
        self.open = Some(Open {
            message_type: header.message_type,
            authenticated,
            count: 0,
            seen: SeenSections::default(),
        });
        if let (Some(origin), MessageType::Status) = (self.origin, header.message_type) {
            let result = match origin {
                std::net::IpAddr::V4(v4) => self.section(SectionTag::Origin, &v4.octets()),
                std::net::IpAddr::V6(v6) => self.section(SectionTag::Origin, &v6.octets()),
            };
            if let Err(e) = result {
                self.buf.clear();
                self.open = None;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Appends a section. On error the datagram is unchanged.
    pub fn section(&mut self, tag: SectionTag, body: &[u8]) -> Result<(), EncodeError> {
        if matches!(tag, SectionTag::CpuinfoPart | SectionTag::StatPart) {
            let part = super::decode::parse_part(body).ok_or(EncodeError::Invalid(
                "part section shorter than its part header",
            ))?;
            return self.part(tag, part);
        }
        self.push(tag, body, &[], body)
    }

    /// Appends a `Statfs` section.
    pub fn statfs(&mut self, statfs: &libc::statfs) -> Result<(), EncodeError> {
        let body = statfs::encode_statfs(statfs);
        self.push(SectionTag::Statfs, &body, &[], &body)
    }

    /// Appends an `Interval` section (RATE_CHANGE only).
    pub fn interval(&mut self, interval_ms: u32) -> Result<(), EncodeError> {
        let body: [u8; INTERVAL_LEN] = interval_ms.to_be_bytes();
        self.push(SectionTag::Interval, &body, &[], &body)
    }

    /// Appends a `CpuinfoPart` or `StatPart` section.
    pub fn part(&mut self, tag: SectionTag, part: Part<'_>) -> Result<(), EncodeError> {
        if !matches!(tag, SectionTag::CpuinfoPart | SectionTag::StatPart) {
            return Err(EncodeError::Invalid("part() takes CpuinfoPart or StatPart"));
        }
        let mut head = [0u8; PART_HEADER_LEN];
        head[0..2].copy_from_slice(&part.index.to_be_bytes());
        head[2..4].copy_from_slice(&part.count.to_be_bytes());
        head[4..12].copy_from_slice(&part.snapshot.to_be_bytes());
        // The part rules only concern the part header, so checking it alone
        // is checking the whole body.
        self.push(tag, &head, part.text, &head)
    }

    /// Writes `tag`, the length, `first` then `second`, after checking the
    /// space, the protocol rules (on `checked`) and duplicates.
    fn push(
        &mut self,
        tag: SectionTag,
        first: &[u8],
        second: &[u8],
        checked: &[u8],
    ) -> Result<(), EncodeError> {
        let available = self.available();
        let mut open = self.open.ok_or(EncodeError::Invalid("no datagram begun"))?;
        let body_len = first.len() + second.len();
        let needed = SECTION_HEADER_LEN + body_len;
        let wire_len = match u16::try_from(body_len) {
            Ok(len) if needed <= available => len,
            _ => return Err(EncodeError::TooLarge { needed, available }),
        };
        check_section(open.message_type, tag, checked).map_err(EncodeError::Invalid)?;
        open.seen.add(tag).map_err(EncodeError::Invalid)?;
        open.count = open
            .count
            .checked_add(1)
            .ok_or(EncodeError::Invalid("too many sections"))?;
        self.buf.extend_from_slice(&tag.to_u16().to_be_bytes());
        self.buf.extend_from_slice(&wire_len.to_be_bytes());
        self.buf.extend_from_slice(first);
        self.buf.extend_from_slice(second);
        self.open = Some(open);
        Ok(())
    }

    /// Completes an unsigned datagram and returns its bytes (valid until the
    /// next `begin`).
    pub fn finish(&mut self) -> Result<&[u8], EncodeError> {
        let open = self.close()?;
        if open.authenticated {
            return Err(EncodeError::Invalid(
                "AUTH flag set: finish with finish_signed",
            ));
        }
        self.open = None;
        Ok(&self.buf)
    }

    /// Completes a signed datagram: appends the trailer with `signer`'s key
    /// id and MAC.
    pub fn finish_signed(&mut self, signer: &dyn MacSigner) -> Result<&[u8], EncodeError> {
        let open = self.close()?;
        if !open.authenticated {
            return Err(EncodeError::Invalid(
                "finish_signed needs FLAG_AUTH in the header",
            ));
        }
        self.buf.extend_from_slice(&AUTH_TRAILER_TAG.to_be_bytes());
        self.buf
            .extend_from_slice(&(AUTH_TRAILER_BODY_LEN as u16).to_be_bytes());
        self.buf.extend_from_slice(&signer.key_id().to_be_bytes());
        let mac = signer.sign(&self.buf);
        self.buf.extend_from_slice(&mac);
        self.open = None;
        Ok(&self.buf)
    }

    /// Checks the whole-datagram rules and patches the section count and the
    /// FULL flag into the header.
    fn close(&mut self) -> Result<Open, EncodeError> {
        let open = self.open.ok_or(EncodeError::Invalid("no datagram begun"))?;
        let mut flags = u16::from_be_bytes([self.buf[6], self.buf[7]]);
        if open.seen.has_static() {
            flags |= FLAG_FULL;
        }
        open.seen
            .check_complete(open.message_type, flags)
            .map_err(EncodeError::Invalid)?;
        self.buf[6..8].copy_from_slice(&flags.to_be_bytes());
        self.buf[28..30].copy_from_slice(&open.count.to_be_bytes());
        Ok(open)
    }
}
