//! A beostat-exporter started for a test: its address (read from the
//! first line it prints), killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The exporter binary cargo built for this test run.
pub const EXPORTER: &str = env!("CARGO_BIN_EXE_beostat-exporter");

/// A running exporter; killed when dropped.
pub struct Exporter {
    pub child: Child,
    pub address: String,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    pub fn start(dir: &Path, extra: &[&str]) -> Exporter {
        let mut child = Command::new(EXPORTER)
            .arg("--shm-dir")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start beostat-exporter");
        let mut line = String::new();
        // Only the first line is read, then stderr is closed: the exporter
        // must keep serving (and logging) with a closed stderr. Regression:
        // its eprintln! panicked on EPIPE and tiny_http answered 500.
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim_end()
            .strip_prefix("beostat-exporter: listening on http://")
            .or_else(|| {
                line.trim_end()
                    .strip_prefix("beostat-exporter: listening on https://")
            })
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Exporter { child, address }
    }

    /// The exporter's peak resident memory, bytes (VmHWM).
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status");
        kib * 1024
    }
}
