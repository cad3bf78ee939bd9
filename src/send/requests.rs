//! Which signed requests (UPDATE_REQUEST, RATE_CHANGE) a keyed sendstats
//! obeys: the freshness rule on the node's side.
//!
//! This module owns the node's replay state for master requests and nothing
//! else (the MAC is checked by `crate::auth`, what a request means by
//! `reporter`). A request that passed the MAC is obeyed only if:
//!
//! - its sender time is not before this sendstats started: a request
//!   captured before a restart cannot be replayed after it, with no state
//!   file on the node (sendstats sends a full report at start anyway, so a
//!   request from a master whose clock lags the node's is only missed for
//!   that lag);
//! - it is fresh in its master's window ([`crate::auth::Window`]: sequence
//!   new in the 64-entry window, or a later sender time after a master
//!   restart). Windows are kept per source address, at most
//!   [`MAX_MASTERS`] of them (the least recently heard is forgotten), so
//!   two masters do not refuse each other's requests.
//!
//! What a replay from a new address can still do is bounded by the sender
//! time window and by the spacing of full reports (`MIN_FULL_SPACING`).

use crate::auth::Window;
use std::net::IpAddr;

/// Masters whose windows are remembered.
pub const MAX_MASTERS: usize = 16;

/// Replay state of the masters' requests.
#[derive(Debug, Clone)]
pub struct RequestGuard {
    not_before_ns: u64,
    /// (address, window, last heard: a counter for eviction).
    windows: Vec<(IpAddr, Window, u64)>,
    heard: u64,
}

impl RequestGuard {
    /// Refuses requests signed before `started_ns` (this sendstats' start).
    pub fn new(started_ns: u64) -> Self {
        RequestGuard {
            not_before_ns: started_ns,
            windows: Vec::new(),
            heard: 0,
        }
    }

    /// Whether a request from `from` with `sequence` and sender time
    /// `time_ns` (MAC already verified) is to be obeyed; `Err` says why not.
    pub fn accept(
        &mut self,
        from: IpAddr,
        sequence: u64,
        time_ns: u64,
    ) -> Result<(), &'static str> {
        if time_ns < self.not_before_ns {
            return Err("signed request older than this sendstats (replayed?)");
        }
        self.heard += 1;
        let heard = self.heard;
        let position = match self.windows.iter().position(|(a, _, _)| *a == from) {
            Some(position) => position,
            None => {
                if self.windows.len() == MAX_MASTERS {
                    let oldest = (0..self.windows.len())
                        .min_by_key(|&i| self.windows[i].2)
                        .unwrap_or(0);
                    self.windows.swap_remove(oldest);
                }
                self.windows.push((from, Window::default(), heard));
                self.windows.len() - 1
            }
        };
        let (_, window, last) = &mut self.windows[position];
        if window.accept(sequence, time_ns) {
            *last = heard;
            Ok(())
        } else {
            Err("signed request replayed or stale")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_800_000_000_000_000_000;

    fn master(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn a_request_is_obeyed_once_and_never_if_signed_before_the_start() {
        let mut guard = RequestGuard::new(START);
        assert!(
            guard.accept(master(1), 5, START - 1).is_err(),
            "before start"
        );
        assert_eq!(guard.accept(master(1), 5, START + 1), Ok(()));
        assert!(guard.accept(master(1), 5, START + 1).is_err(), "replayed");
        assert_eq!(guard.accept(master(1), 6, START + 2), Ok(()));
        // Another master counts on its own.
        assert_eq!(guard.accept(master(2), 3, START + 3), Ok(()));
        assert_eq!(guard.accept(master(1), 7, START + 3), Ok(()));
        // A restarted master counts from lower, at a later time.
        assert_eq!(guard.accept(master(1), 1, START + 10), Ok(()));
        assert!(guard.accept(master(1), 6, START + 2).is_err());
    }

    #[test]
    fn only_the_most_recently_heard_masters_are_remembered() {
        let mut guard = RequestGuard::new(START);
        for n in 0..=MAX_MASTERS as u8 {
            assert_eq!(guard.accept(master(n), 100, START + 1), Ok(()));
        }
        assert_eq!(guard.windows.len(), MAX_MASTERS);
        assert!(guard.windows.iter().all(|(a, _, _)| *a != master(0)));
        assert!(guard.accept(master(16), 100, START + 1).is_err());
    }
}
