//! Starting the real recvstats for a test, and what sendstats would send.

use super::sample;
use beostat::collect::{Source, Status};
use beostat::protocol::{encode_report, Encoder, Header, MAX_DATAGRAM};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running recvstats in the foreground; killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
    log: mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(shm: &Path, extra: &[&str]) -> Daemon {
    start_with_env(shm, extra, &[])
}

/// [`start`] with extra environment variables (libfaketime, say).
pub fn start_with_env(shm: &Path, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recvstats"))
        .envs(env.iter().copied())
        .args([
            "-d",
            "-p",
            "0",
            "-i",
            "lo",
            "--config",
            "/nonexistent/config",
        ])
        .arg("--shm-dir")
        .arg(shm)
        .arg("--proc-root")
        .arg(sample("x86_64-8cpu"))
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start recvstats");
    let (sender, log) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut port = None;
    while port.is_none() {
        let line = log
            .recv_timeout(Duration::from_secs(30))
            .expect("recvstats said where it listens");
        port = line
            .strip_prefix("recvstats: listening on UDP port ")
            .and_then(|rest| rest.split(';').next())
            .and_then(|p| p.parse().ok());
    }
    let mut daemon = Daemon {
        child,
        port: port.unwrap(),
        log,
    };
    // "publishing in" follows once the files are ready.
    while !daemon.next_log_line().contains("publishing in") {}
    daemon
}

impl Daemon {
    /// The next log line if one is waiting (or arrives within a second).
    pub fn try_log_line(&mut self) -> Option<String> {
        self.log.recv_timeout(Duration::from_secs(1)).ok()
    }

    pub fn next_log_line(&mut self) -> String {
        self.log
            .recv_timeout(Duration::from_secs(30))
            .expect("recvstats log line")
    }
}

/// The datagrams sendstats would send for the sample directory `name`.
pub fn report_from(name: &str, node: i32, sequence: u64) -> Vec<Vec<u8>> {
    let source = Source {
        proc_root: sample(name),
        statfs_path: PathBuf::from("/"),
    };
    let mut status = Status::default();
    source.read(true, &mut status);
    let report = status.report(Some(b"node-under-test"), true);
    let mut encoder = Encoder::new();
    encoder.set_limit(MAX_DATAGRAM);
    let mut datagrams = Vec::new();
    encode_report(
        &mut encoder,
        &Header::status(node, sequence, beostat::shm::now_ns()),
        &report,
        None,
        |d| datagrams.push(d.to_vec()),
    )
    .unwrap();
    datagrams
}

pub fn send(port: u16, datagrams: &[Vec<u8>]) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        socket.send_to(d, ("127.0.0.1", port)).unwrap();
    }
}

/// A loadavg-only status datagram of `node` whose `last_pid` is
/// `sequence`, signed with `key` when given.
pub fn status(node: i32, sequence: u64, key: Option<&beostat::auth::Key>) -> Vec<u8> {
    use beostat::protocol::{Encoder, Header, SectionTag, FLAG_AUTH};
    let mut header = Header::status(node, sequence, beostat::shm::now_ns());
    let mut encoder = Encoder::new();
    if key.is_some() {
        header.flags |= FLAG_AUTH;
    }
    encoder.begin(&header).unwrap();
    encoder
        .section(
            SectionTag::Loadavg,
            format!("0.5 0.5 0.5 1/9 {sequence}\n").as_bytes(),
        )
        .unwrap();
    match key {
        Some(key) => encoder.finish_signed(key).unwrap().to_vec(),
        None => encoder.finish().unwrap().to_vec(),
    }
}

/// VmRSS of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// A status datagram of `node` carrying one text section.
pub fn with_section(
    node: i32,
    sequence: u64,
    tag: beostat::protocol::SectionTag,
    text: &[u8],
) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.set_limit(MAX_DATAGRAM);
    encoder
        .begin(&Header::status(node, sequence, beostat::shm::now_ns()))
        .unwrap();
    encoder.section(tag, text).unwrap();
    encoder.finish().unwrap().to_vec()
}
