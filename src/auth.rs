//! Datagram authentication: the shared key, signing, verifying, replay.
//!
//! With a key, sendstats signs every datagram with HMAC-SHA-256 over all of
//! its bytes before the MAC (the trailer of docs/PROTOCOL.md) and recvstats
//! accepts only datagrams that carry a valid MAC under the same key, that
//! are bound to the node they will be recorded as (the node number, or the
//! `Origin` address, is in the signed bytes), whose sender time is within a
//! window of the master's clock, and which are fresh by the rule of
//! [`Window`] (a 64-entry sliding window, as IPsec does, so reordered parts
//! of one report still pass, plus the sender time to tell a reset sender
//! from a replay). The windows live in a [`ReplayState`]: memory, or a file
//! that outlives recvstats. The key lives in a file that must not be
//! readable by group or others.
//!
//! This module owns the cryptography (RustCrypto `hmac` + `sha2`; the MAC
//! comparison is constant-time) and the replay bookkeeping; it never
//! decides what to count or log.

use crate::error::{Error, Result};
use crate::protocol::{AuthTrailer, Datagram, MacSigner, MAC_LEN};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 16;
/// Sender clocks may differ from the master's by this much.
pub const DEFAULT_TIME_WINDOW_SECS: u64 = 300;

/// A shared key, ready to sign and verify.
#[derive(Clone)]
pub struct Key {
    mac: HmacSha256,
    id: u32,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key {{ id: {:08x} }}", self.id)
    }
}

/// Keys are equal when their ids (the first 32 bits of SHA-256 of the
/// secret) are: enough to tell configurations apart, never used to decide
/// whether a MAC is valid.
impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Key {
    /// A key from its bytes (at least [`MIN_KEY_LEN`]).
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_KEY_LEN {
            return Err(Error::InvalidArgument(format!(
                "the key is {} bytes; at least {MIN_KEY_LEN} are needed",
                secret.len()
            )));
        }
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        let digest = Sha256::digest(secret);
        let id = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        Ok(Key { mac, id })
    }

    /// Reads a key file: its bytes, without trailing whitespace. Refused if
    /// group or others may read or write it.
    pub fn from_file(path: &Path) -> Result<Self> {
        let metadata = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("key file {}", path.display()), e))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::InvalidArgument(format!(
                "key file {} has mode {mode:04o}: group and others must have no access (chmod 600 it)",
                path.display()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("key file {}", path.display()), e))?;
        Key::new(bytes.trim_ascii_end())
            .map_err(|e| Error::InvalidArgument(format!("key file {}: {e}", path.display())))
    }

    /// Checks a datagram's trailer: the right key and a MAC that matches
    /// (compared in constant time).
    pub fn verify(&self, trailer: &AuthTrailer<'_>) -> bool {
        if trailer.key_id != self.id {
            return false;
        }
        let mut mac = self.mac.clone();
        mac.update(trailer.covered);
        mac.verify_slice(trailer.mac).is_ok()
    }
}

impl MacSigner for Key {
    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, covered: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.mac.clone();
        mac.update(covered);
        mac.finalize().into_bytes().into()
    }
}

/// Why an authenticated datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No trailer, another key, or a MAC that does not match.
    BadSignature,
    /// Asks for its node number from its source address but does not name,
    /// in the signed bytes, the address it was sent from (no `Origin`
    /// section): nothing would bind it to one node.
    Unbound,
    /// Its signed `Origin` is not the address it came from: a datagram of
    /// another node, replayed from here.
    WrongOrigin,
    /// Sequence number seen before, or too old, or sender time outside the
    /// window, or a sequence number ahead of any clock (see [`Window`]).
    Replayed,
}

/// What the receiver remembers of one sender to refuse replays: the
/// highest sequence number accepted, which of the 64 below it arrived, and
/// the sender time of the highest (the latest accepted).
///
/// The rule (docs/PROTOCOL.md section 9, docs/SECURITY.md): a datagram is
/// fresh if its sequence number is new (above the highest and sent no
/// earlier than it, or below it by less than 64 and not seen), or else if
/// its sender time is later than every sender time accepted so far, which
/// is a sender that started counting again (a reset, or a clock stepped
/// back) and is taken as a new start of the window. A replayed datagram is
/// never fresh: its number was seen, or (from before a reset) it is higher
/// but older, and its time is not later than what its sender sent after it.
/// Sequence numbers are nanosecond clocks (section 9 of docs/PROTOCOL.md),
/// so the receiver also refuses one beyond its own clock plus the time
/// window: nobody can push a sender's window to 2^64-1 and lock it out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Highest sequence number accepted (0 with `seen` 0: nothing yet).
    pub highest: u64,
    /// Bit i: `highest - i` was accepted.
    pub seen: u64,
    /// Sender time of the highest, the latest accepted (ns since the epoch).
    pub latest_time_ns: u64,
}

impl Window {
    /// Whether (`sequence`, `time_ns`) is fresh; if so it is recorded.
    pub fn accept(&mut self, sequence: u64, time_ns: u64) -> bool {
        let fresh = if self.highest == 0 && self.seen == 0 {
            self.highest = sequence;
            self.seen = 1;
            true
        } else if sequence > self.highest && time_ns >= self.latest_time_ns {
            let shift = sequence - self.highest;
            self.seen = if shift >= 64 {
                1
            } else {
                (self.seen << shift) | 1
            };
            self.highest = sequence;
            true
        } else {
            // Below the highest, or above it but sent before it: from
            // before a reset, so only the window or a later time admits it.
            let age = self.highest.saturating_sub(sequence);
            if sequence <= self.highest && age < 64 && self.seen & (1 << age) == 0 {
                self.seen |= 1 << age;
                true
            } else if time_ns > self.latest_time_ns {
                // The sender counts from lower than before: it was reset.
                self.highest = sequence;
                self.seen = 1;
                true
            } else {
                false
            }
        };
        if fresh {
            self.latest_time_ns = self.latest_time_ns.max(time_ns);
        }
        fresh
    }
}

/// Where a [`Verifier`] keeps its per-node windows: in memory, or in a file
/// that outlives the process (`recv::replay_store`).
pub trait ReplayState: std::fmt::Debug + Send {
    /// The window of node `index` (all zero if never written).
    fn window(&self, index: usize) -> Window;
    /// Records the window of node `index`.
    fn set_window(&mut self, index: usize, window: Window);
}

impl ReplayState for Vec<Window> {
    fn window(&self, index: usize) -> Window {
        self.get(index).copied().unwrap_or_default()
    }

    fn set_window(&mut self, index: usize, window: Window) {
        if self.len() <= index {
            self.resize(index + 1, Window::default());
        }
        self[index] = window;
    }
}

/// Checks that a signed datagram is bound to the node it will be recorded
/// as: one whose header names its node is (the number is signed); one that
/// asks for its number from its source address must carry a signed
/// `Origin` equal to that address (an IPv4 address may arrive as an
/// IPv4-mapped IPv6 one).
pub fn check_origin(datagram: &Datagram<'_>, source: IpAddr) -> Result<(), Refusal> {
    if !datagram.header.node_from_address() {
        return Ok(());
    }
    let origin = datagram.origin().ok_or(Refusal::Unbound)?;
    if canonical(origin) == canonical(source) {
        Ok(())
    } else {
        Err(Refusal::WrongOrigin)
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The receiving side: key, time window and per-node replay windows.
#[derive(Debug)]
pub struct Verifier {
    key: Key,
    time_window_ns: u64,
    windows: Box<dyn ReplayState>,
}

impl Verifier {
    /// Accepts datagrams signed with `key` whose sender time is within
    /// `time_window_secs` of the receiver's clock; windows kept in memory.
    pub fn new(key: Key, time_window_secs: u64) -> Self {
        Self::with_state(key, time_window_secs, Box::new(Vec::<Window>::new()))
    }

    /// The same, keeping the windows in `windows` (a file, so that a
    /// restarted receiver still refuses what it accepted before).
    pub fn with_state(key: Key, time_window_secs: u64, windows: Box<dyn ReplayState>) -> Self {
        Verifier {
            key,
            time_window_ns: time_window_secs.saturating_mul(1_000_000_000),
            windows,
        }
    }

    /// Checks one datagram that will be recorded as `node` (>= 0), received
    /// from `source` at receiver time `now_ns`: the MAC, the binding to
    /// `node` ([`check_origin`]), the sender time, the sequence number
    /// bound and the replay window. The window advances only for
    /// datagrams that pass every check.
    pub fn check(
        &mut self,
        node: i32,
        datagram: &Datagram<'_>,
        source: IpAddr,
        now_ns: u64,
    ) -> Result<(), Refusal> {
        match &datagram.auth {
            Some(t) if self.key.verify(t) => {}
            _ => return Err(Refusal::BadSignature),
        }
        check_origin(datagram, source)?;
        let header = &datagram.header;
        if header.time_ns.abs_diff(now_ns) > self.time_window_ns
            || header.sequence > now_ns.saturating_add(self.time_window_ns)
        {
            return Err(Refusal::Replayed);
        }
        let index = usize::try_from(node).map_err(|_| Refusal::BadSignature)?;
        let mut window = self.windows.window(index);
        if window.accept(header.sequence, header.time_ns) {
            self.windows.set_window(index, window);
            Ok(())
        } else {
            Err(Refusal::Replayed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode, Encoder, Header, SectionTag, FLAG_AUTH};

    fn signed(key: &Key, node: i32, sequence: u64, sent_ns: u64) -> Vec<u8> {
        let mut header = Header::status(node, sequence, sent_ns);
        header.flags |= FLAG_AUTH;
        let mut encoder = Encoder::new();
        encoder.begin(&header).unwrap();
        encoder
            .section(SectionTag::Loadavg, b"0.00 0.01 0.05 1/77 7199\n")
            .unwrap();
        encoder.finish_signed(key).unwrap().to_vec()
    }

    const NOW: u64 = 1_800_000_000_000_000_000;
    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_reset_sender_is_accepted_by_its_later_time_and_a_replay_never_is() {
        let mut window = Window::default();
        assert!(window.accept(1_000, NOW));
        assert!(window.accept(1_001, NOW));
        assert!(!window.accept(1_000, NOW), "replay");
        // Counting again from 5, but at a later time: a reset.
        assert!(window.accept(5, NOW + 1));
        assert!(window.accept(6, NOW + 1));
        assert!(!window.accept(1_001, NOW), "a replay of before the reset");
        assert!(!window.accept(5, NOW + 1), "a replay of after it");
        assert!(
            !window.accept(7_000, NOW),
            "higher, but sent before the reset: from before it"
        );
        assert!(window.accept(3, NOW + 1), "reordered within the new window");
    }

    #[test]
    fn a_sequence_beyond_the_clock_is_refused_and_does_not_lock_the_node_out() {
        let key = Key::new(b"0123456789abcdef").unwrap();
        let mut verifier = Verifier::new(key.clone(), 300);
        let mut check = |bytes: &[u8]| {
            let d = decode(bytes).unwrap();
            verifier.check(d.header.node, &d, LOCAL, NOW)
        };
        assert_eq!(check(&signed(&key, 1, NOW - 10, NOW)), Ok(()));
        assert_eq!(
            check(&signed(&key, 1, u64::MAX, NOW)),
            Err(Refusal::Replayed)
        );
        assert_eq!(
            check(&signed(&key, 1, NOW + 301_000_000_000, NOW)),
            Err(Refusal::Replayed)
        );
        assert_eq!(check(&signed(&key, 1, NOW - 9, NOW)), Ok(()));
        // Within the bound: the node comes back once its time moves on.
        assert_eq!(check(&signed(&key, 1, NOW + 299_000_000_000, NOW)), Ok(()));
        assert_eq!(
            check(&signed(&key, 1, NOW - 8, NOW)),
            Err(Refusal::Replayed)
        );
        assert_eq!(check(&signed(&key, 1, NOW - 7, NOW + 1)), Ok(()));
    }

    #[test]
    fn a_datagram_numbered_by_address_is_bound_to_its_signed_origin() {
        let key = Key::new(b"0123456789abcdef").unwrap();
        let node_a = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
        let node_b = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));
        let by_address = |origin: Option<IpAddr>| {
            let mut header = Header::status(crate::protocol::NODE_FROM_ADDRESS, 7, NOW);
            header.flags |= FLAG_AUTH;
            let mut encoder = Encoder::new();
            encoder.set_origin(origin);
            encoder.begin(&header).unwrap();
            encoder.finish_signed(&key).unwrap().to_vec()
        };
        let bound = by_address(Some(node_a));
        let d = decode(&bound).unwrap();
        assert_eq!(d.origin(), Some(node_a));
        assert_eq!(check_origin(&d, node_a), Ok(()));
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(check_origin(&d, mapped), Ok(()));
        assert_eq!(check_origin(&d, node_b), Err(Refusal::WrongOrigin));
        let unbound = by_address(None);
        assert_eq!(
            check_origin(&decode(&unbound).unwrap(), node_a),
            Err(Refusal::Unbound)
        );
        let mut verifier = Verifier::new(key.clone(), 300);
        assert_eq!(
            verifier.check(4, &d, node_b, NOW),
            Err(Refusal::WrongOrigin)
        );
        assert_eq!(verifier.check(3, &d, node_a, NOW), Ok(()));
    }

    #[test]
    fn a_signed_datagram_verifies_and_any_changed_byte_does_not() {
        let key = Key::new(b"0123456789abcdef-cluster-key").unwrap();
        let bytes = signed(&key, 3, 10, NOW);
        let datagram = decode(&bytes).unwrap();
        assert!(key.verify(datagram.auth.as_ref().unwrap()));
        for i in 0..bytes.len() {
            let mut forged = bytes.clone();
            forged[i] ^= 0x01;
            if let Ok(d) = decode(&forged) {
                assert!(
                    d.auth.as_ref().is_none_or(|t| !key.verify(t)),
                    "byte {i} changed, still verified"
                );
            }
        }
        let other = Key::new(b"another key, 16+ bytes").unwrap();
        assert!(!other.verify(datagram.auth.as_ref().unwrap()));
    }

    #[test]
    fn unsigned_replayed_stale_and_reordered_datagrams() {
        let key = Key::new(b"0123456789abcdef").unwrap();
        let mut verifier = Verifier::new(key.clone(), 300);
        let check = |v: &mut Verifier, bytes: &[u8], now: u64| {
            let d = decode(bytes).unwrap();
            v.check(d.header.node, &d, LOCAL, now)
        };
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 100, NOW), NOW),
            Ok(())
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 100, NOW), NOW),
            Err(Refusal::Replayed),
            "same sequence"
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 102, NOW), NOW),
            Ok(())
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 101, NOW), NOW),
            Ok(()),
            "reordered, inside the window"
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 101, NOW), NOW),
            Err(Refusal::Replayed)
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 500, NOW), NOW),
            Ok(())
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 1, 400, NOW), NOW),
            Err(Refusal::Replayed),
            "older than 64"
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 2, 100, NOW), NOW),
            Ok(()),
            "windows are per node"
        );
        let late = NOW + 301_000_000_000;
        assert_eq!(
            check(&mut verifier, &signed(&key, 3, 1, NOW), late),
            Err(Refusal::Replayed),
            "sender time too old"
        );

        let mut encoder = Encoder::new();
        encoder.begin(&Header::status(4, 1, NOW)).unwrap();
        let unsigned = encoder.finish().unwrap().to_vec();
        assert_eq!(
            check(&mut verifier, &unsigned, NOW),
            Err(Refusal::BadSignature)
        );
        let wrong_key = Key::new(b"fedcba9876543210").unwrap();
        assert_eq!(
            check(&mut verifier, &signed(&wrong_key, 4, 2, NOW), NOW),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            check(&mut verifier, &signed(&key, 4, 3, NOW), NOW),
            Ok(()),
            "a refused datagram does not advance the window"
        );
    }

    #[test]
    fn key_files_readable_by_others_or_too_short_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, b"0123456789abcdef0123\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let error = Key::from_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("mode 0640") && error.contains("chmod 600"),
            "{error}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let key = Key::from_file(&path).unwrap();
        assert_eq!(
            key.key_id(),
            Key::new(b"0123456789abcdef0123").unwrap().key_id(),
            "trailing newline ignored"
        );
        std::fs::write(&path, b"short\n").unwrap();
        assert!(Key::from_file(&path)
            .unwrap_err()
            .to_string()
            .contains("at least 16"));
        assert!(Key::from_file(&dir.path().join("missing")).is_err());
    }
}
