//! Faults under a running C reader: recvstats is killed with SIGKILL while
//! datagrams pour in (so possibly in the middle of writing a record) and
//! restarted on the same directory. The reader never crashes, never needs a
//! restart, and sees the restarted daemon's fresh data; the daemon resumes
//! the same files (same generation) instead of recreating them.

use beostat::protocol::{Encoder, Header, SectionTag};
use beostat::shm::Reader;
use std::net::UdpSocket;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::daemon::start;
use common::{compile, wait_for_node};

/// A report for node 0 whose cpuinfo says `mhz`, with loadavg and stat.
fn report(sequence: u64, mhz: u32) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder
        .begin(&Header::status(0, sequence, beostat::shm::now_ns()))
        .unwrap();
    let cpuinfo = format!("processor : 0\ncpu MHz : {mhz}.000\n");
    encoder
        .section(SectionTag::Cpuinfo, cpuinfo.as_bytes())
        .unwrap();
    let load = format!(
        "0.{:02} 0.20 0.30 1/100 {}\n",
        sequence % 100,
        sequence % 30000
    );
    encoder
        .section(SectionTag::Loadavg, load.as_bytes())
        .unwrap();
    let stat = format!("cpu  {sequence} 0 {sequence} 100\ncpu0 {sequence} 0 {sequence} 100\n");
    encoder.section(SectionTag::Stat, stat.as_bytes()).unwrap();
    encoder.finish().unwrap().to_vec()
}

#[test]
fn sigkill_and_restart_under_a_running_c_reader() {
    let program = compile("survivor");
    let shm = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let done = scratch.path().join("done");

    let mut daemon = start(shm.path(), &[]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(&report(1, 100), ("127.0.0.1", daemon.port))
        .unwrap();
    wait_for_node(shm.path(), 0);
    let generation = Reader::new(shm.path()).control().unwrap().generation;

    let reader = Command::new(&program)
        .arg(&done)
        .env("BEOSTAT_SHM_DIR", shm.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // A sender that never stops while the daemon is killed and restarted.
    let port = Arc::new(AtomicU16::new(daemon.port));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (port, stop) = (port.clone(), stop.clone());
        std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut sequence = 2;
            while !stop.load(Ordering::Relaxed) {
                let _ = socket.send_to(
                    &report(sequence, 200),
                    ("127.0.0.1", port.load(Ordering::Relaxed)),
                );
                sequence += 1;
                if sequence % 64 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    for round in 0..5 {
        std::thread::sleep(Duration::from_millis(100 + 37 * round));
        daemon.child.kill().unwrap(); // SIGKILL, wherever it was
        let status = daemon.child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        daemon = start(shm.path(), &[]);
        port.store(daemon.port, Ordering::Relaxed);
    }
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();

    // The restarted daemon's data reaches the reader that never restarted.
    socket
        .send_to(&report(1_000_000, 777), ("127.0.0.1", daemon.port))
        .unwrap();
    std::fs::write(&done, b"").unwrap();
    let output = reader.wait_with_output().unwrap();
    assert_eq!(
        output.status.signal(),
        None,
        "the C reader was killed by a signal"
    );
    common::assert_all_passed("survivor", &output);
    assert_eq!(
        Reader::new(shm.path()).control().unwrap().generation,
        generation,
        "every restart resumed the same node file"
    );
}
