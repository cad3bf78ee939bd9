//! Datagram authentication: the shared key, signing, verifying, replay.
//!
//! With a key, sendstats signs every datagram with HMAC-SHA-256 over all of
//! its bytes before the MAC (the trailer of docs/PROTOCOL.md) and recvstats
//! accepts only datagrams that carry a valid MAC under the same key, whose
//! sender time is within a window of the master's clock, and whose sequence
//! number was not seen before from that node (a 64-entry sliding window, as
//! IPsec does, so reordered parts of one report still pass). The key lives
//! in a file that must not be readable by group or others.
//!
//! This module owns the cryptography (RustCrypto `hmac` + `sha2`; the MAC
//! comparison is constant-time) and the replay bookkeeping; it never
//! decides what to count or log.

use crate::error::{Error, Result};
use crate::protocol::{AuthTrailer, MacSigner, MAC_LEN};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
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
    /// Sequence number seen before, or too old, or sender time outside the window.
    Replayed,
}

/// Sequence numbers seen from one node: the highest, and which of the 64
/// below it arrived.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    highest: u64,
    seen: u64,
}

impl Window {
    fn accept(&mut self, sequence: u64) -> bool {
        if self.highest == 0 && self.seen == 0 {
            self.highest = sequence;
            self.seen = 1;
            return true;
        }
        if sequence > self.highest {
            let shift = sequence - self.highest;
            self.seen = if shift >= 64 {
                1
            } else {
                (self.seen << shift) | 1
            };
            self.highest = sequence;
            return true;
        }
        let age = self.highest - sequence;
        if age >= 64 || self.seen & (1 << age) != 0 {
            return false;
        }
        self.seen |= 1 << age;
        true
    }
}

/// The receiving side: key, time window and per-node replay windows.
#[derive(Debug)]
pub struct Verifier {
    key: Key,
    time_window_ns: u64,
    windows: Vec<Window>,
}

impl Verifier {
    /// Accepts datagrams signed with `key` whose sender time is within
    /// `time_window_secs` of the receiver's clock.
    pub fn new(key: Key, time_window_secs: u64) -> Self {
        Verifier {
            key,
            time_window_ns: time_window_secs.saturating_mul(1_000_000_000),
            windows: Vec::new(),
        }
    }

    /// Checks one datagram from `node` (>= 0) carrying `trailer` (None: the
    /// datagram was not signed), `sequence` and sender time `sent_ns`, at
    /// receiver time `now_ns`. The replay window advances only for
    /// datagrams that pass every check.
    pub fn check(
        &mut self,
        node: i32,
        trailer: Option<&AuthTrailer<'_>>,
        sequence: u64,
        sent_ns: u64,
        now_ns: u64,
    ) -> Result<(), Refusal> {
        match trailer {
            Some(t) if self.key.verify(t) => {}
            _ => return Err(Refusal::BadSignature),
        }
        if sent_ns.abs_diff(now_ns) > self.time_window_ns {
            return Err(Refusal::Replayed);
        }
        let index = usize::try_from(node).map_err(|_| Refusal::BadSignature)?;
        if self.windows.len() <= index {
            self.windows.resize(index + 1, Window::default());
        }
        if self.windows[index].accept(sequence) {
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
            v.check(
                d.header.node,
                d.auth.as_ref(),
                d.header.sequence,
                d.header.time_ns,
                now,
            )
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
