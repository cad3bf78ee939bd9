//! The attacks of issue 14, each against the real daemons on loopback: a
//! signed report replayed from another node's address, replays across a
//! recvstats restart, replayed or stale requests to a keyed sendstats, a
//! sequence number pushed to 2^64-1, a hard link planted as a shm file, and
//! a host name that tries to drive the terminal. Each test failed on the
//! main branch before the fix it covers (docs/SECURITY.md lists them).

use beostat::auth::Key;
use beostat::protocol::{decode, Encoder, Header, MessageType, SectionTag, FLAG_AUTH};
use beostat::shm::layout::Counter;
use beostat::shm::Reader;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
mod requirements;
use common::daemon::{start, status};
use common::{sample, wait_for_node, wait_for_received};

/// How long a test waits for a datagram that must come.
const PATIENCE: Duration = Duration::from_secs(20);

fn key_file(dir: &Path) -> (PathBuf, Key) {
    let path = dir.join("key");
    std::fs::write(&path, b"issue-14-cluster-secret\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = Key::from_file(&path).unwrap();
    (path, key)
}

fn counters(reader: &Reader) -> [u64; 64] {
    reader.counters().unwrap()
}

/// A socket standing for a master: it receives what sendstats sends.
fn tap() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// A sendstats this test started; killed if the test fails before
/// stopping it, so that no daemon outlives its test.
struct Node(Option<Child>);

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn sendstats(args: &[&str], log: Option<&Path>) -> Node {
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
        None => Stdio::null(),
    };
    Node(Some(
        Command::new(env!("CARGO_BIN_EXE_sendstats"))
            .args(args)
            .arg("--proc-root")
            .arg(sample("x86_64-8cpu"))
            .stderr(stderr)
            .spawn()
            .unwrap(),
    ))
}

/// Stops a sendstats the way an administrator would (SIGTERM).
fn stop(mut node: Node) {
    if let Some(mut child) = node.0.take() {
        // SAFETY: kill(2) on a child this test started and has not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
    }
}

/// Every datagram waiting on `socket` (it must have a read timeout).
fn drain(socket: &UdpSocket) -> Vec<(Vec<u8>, SocketAddr)> {
    socket.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok((len, from)) = socket.recv_from(&mut buf) {
        got.push((buf[..len].to_vec(), from));
    }
    socket.set_nonblocking(false).unwrap();
    got
}

fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (len, from) = socket.recv_from(&mut buf).expect("a report in time");
    (buf[..len].to_vec(), from)
}

fn is_full(bytes: &[u8]) -> bool {
    decode(bytes).unwrap().header.is_full()
}

/// A request as recvstats sends it, signed with `key` when given.
fn request(mut header: Header, interval_ms: Option<u32>, key: Option<&Key>) -> Vec<u8> {
    let mut encoder = Encoder::new();
    if key.is_some() {
        header.flags |= FLAG_AUTH;
    }
    encoder.begin(&header).unwrap();
    if let Some(ms) = interval_ms {
        encoder.interval(ms).unwrap();
    }
    match key {
        Some(key) => encoder.finish_signed(key).unwrap().to_vec(),
        None => encoder.finish().unwrap().to_vec(),
    }
}

/// Full reports received while `act` runs every 50 ms for `duration`.
fn fulls_while(socket: &UdpSocket, duration: Duration, mut act: impl FnMut()) -> usize {
    let start = Instant::now();
    let mut fulls = 0;
    while start.elapsed() < duration {
        act();
        std::thread::sleep(Duration::from_millis(50));
        fulls += drain(socket).iter().filter(|(d, _)| is_full(d)).count();
    }
    fulls
}

#[test]
fn a_signed_report_numbered_by_address_is_recorded_only_as_the_node_of_that_address() {
    // Regression (issue 14, 1): replayed from node 1's address without the
    // key, node 0's signed report was accepted as node 1.
    let shm = tempfile::tempdir().unwrap();
    let (key_path, _) = key_file(shm.path());
    let config = shm.path().join("config");
    std::fs::write(&config, "iprange 0 127.0.0.1 127.0.0.8\n").unwrap();
    let daemon = start(
        shm.path(),
        &[
            "--key-file",
            key_path.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    // Capture what a keyed sendstats without a node number sends.
    let (tap, port) = tap();
    let output = Command::new(env!("CARGO_BIN_EXE_sendstats"))
        .args(["--once", "--key-file", key_path.to_str().unwrap()])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--proc-root")
        .arg(sample("x86_64-8cpu"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    std::thread::sleep(Duration::from_millis(200));
    let captured: Vec<Vec<u8>> = drain(&tap).into_iter().map(|(d, _)| d).collect();
    assert!(!captured.is_empty());

    // The attacker, at node 1's address (127.0.0.2), is faster than the
    // node (127.0.0.1, node 0) itself.
    let reader = Reader::new(shm.path());
    let before = counters(&reader);
    let attacker = UdpSocket::bind("127.0.0.2:0").unwrap();
    let node = UdpSocket::bind("127.0.0.1:0").unwrap();
    for socket in [&attacker, &node] {
        for datagram in &captured {
            socket
                .send_to(datagram, ("127.0.0.1", daemon.port))
                .unwrap();
        }
    }
    let n = captured.len() as u64;
    let after = wait_for_received(&reader, before[Counter::DatagramsReceived as usize] + 2 * n);
    let delta = |c: Counter| after[c as usize] - before[c as usize];
    assert_eq!(
        delta(Counter::DroppedSpoofed),
        n,
        "the replays from 127.0.0.2"
    );
    assert_eq!(delta(Counter::DatagramsAccepted), n, "the node's own");
    wait_for_node(shm.path(), 0);
    assert_eq!(reader.cpu_count(0).unwrap(), 8);
    assert!(
        reader.cpu_count(1).map_or(true, |n| n == 0),
        "node 1 must show nothing of node 0's report"
    );
}

#[test]
fn a_datagram_accepted_before_a_restart_is_refused_after_it() {
    // Regression (issue 14, 2): the windows died with recvstats.
    let shm = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(shm.path());
    for extra in [
        &[][..],
        &["--state-dir", state.path().to_str().unwrap()][..],
    ] {
        let mut args = vec!["--key-file", key_path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let node = 2 + extra.len() as i32;
        // The sequence number is also the loadavg's last pid: small.
        let captured = status(node, 10, Some(&key));
        let fresh = status(node, 11, Some(&key));
        {
            let daemon = start(shm.path(), &args);
            let reader = Reader::new(shm.path());
            let before = counters(&reader)[Counter::DatagramsAccepted as usize];
            common::daemon::send(daemon.port, std::slice::from_ref(&captured));
            for _ in 0..3000 {
                if counters(&reader)[Counter::DatagramsAccepted as usize] > before {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(reader.loadavg(node).unwrap().last_pid, 10);
        } // SIGKILL: no chance to save anything at exit
        let daemon = start(shm.path(), &args);
        let reader = Reader::new(shm.path());
        let before = counters(&reader);
        common::daemon::send(daemon.port, &[fresh, captured.clone()]);
        let after = wait_for_received(&reader, before[Counter::DatagramsReceived as usize] + 2);
        let delta = |c: Counter| after[c as usize] - before[c as usize];
        assert_eq!(delta(Counter::DroppedReplay), 1, "{extra:?}");
        assert_eq!(reader.loadavg(node).unwrap().last_pid, 11, "{extra:?}");
    }
    assert!(state.path().join("beostat.replay").is_file());
}

#[test]
fn a_sequence_pushed_to_the_maximum_does_not_lock_a_node_out() {
    // Regression (issue 14, 4): one datagram with sequence 2^64-1 made every
    // later report of the node a replay.
    let shm = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(shm.path());
    let daemon = start(shm.path(), &["--key-file", key_path.to_str().unwrap()]);
    let reader = Reader::new(shm.path());
    // The sequence number is also the loadavg's last pid: small.
    common::daemon::send(
        daemon.port,
        &[
            status(5, 100, Some(&key)),
            status(5, u64::MAX, Some(&key)),
            status(5, 101, Some(&key)),
        ],
    );
    let counters = wait_for_received(&reader, 3);
    assert_eq!(counters[Counter::DroppedReplay as usize], 1);
    assert_eq!(counters[Counter::DatagramsAccepted as usize], 2);
    assert_eq!(reader.loadavg(5).unwrap().last_pid, 101);
    // A node that counts again from 1 (reset), later: accepted.
    common::daemon::send(daemon.port, &[status(5, 1, Some(&key))]);
    let counters = wait_for_received(&reader, 4);
    assert_eq!(counters[Counter::DatagramsAccepted as usize], 3);
    assert_eq!(reader.loadavg(5).unwrap().last_pid, 1);
}

#[test]
fn a_keyed_node_ignores_replayed_and_stale_requests() {
    // Regression (issue 14, 3): a captured signed UPDATE_REQUEST replayed
    // made a keyed node send a full report each time; a RATE_CHANGE too.
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    let (tap, port) = tap();
    let log = dir.path().join("log");
    let destination = format!("127.0.0.1:{port}");
    let args = [
        "-d",
        "-r",
        "0.2",
        "--key-file",
        key_path.to_str().unwrap(),
        "7",
        &destination,
    ];
    let node = sendstats(&args, Some(&log));
    let (first, node_address) = receive(&tap);
    assert!(is_full(&first));
    let now = beostat::shm::now_ns();
    let update = request(Header::update_request(now, now), None, Some(&key));
    tap.send_to(&update, node_address).unwrap();
    while !is_full(&receive(&tap).0) {}
    let replays = fulls_while(&tap, Duration::from_secs(3), || {
        tap.send_to(&update, node_address).unwrap();
    });
    assert_eq!(replays, 0, "full reports for a replayed update request");

    // Slow down, speed up again, then replay the slow-down: still fast.
    let now = beostat::shm::now_ns();
    let slow = request(Header::rate_change(now, now), Some(3_600_000), Some(&key));
    let fast = request(Header::rate_change(now + 1, now + 1), Some(200), Some(&key));
    tap.send_to(&slow, node_address).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    tap.send_to(&fast, node_address).unwrap();
    receive(&tap);
    tap.send_to(&slow, node_address).unwrap();
    drain(&tap);
    tap.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..3 {
        receive(&tap);
    }
    tap.set_read_timeout(Some(PATIENCE)).unwrap();
    stop(node);

    // A request captured before sendstats restarted is not obeyed after.
    let node = sendstats(&args, Some(&log));
    let (first, node_address) = receive(&tap);
    assert!(is_full(&first));
    std::thread::sleep(Duration::from_millis(100));
    let stale = fulls_while(&tap, Duration::from_millis(2500), || {
        tap.send_to(&update, node_address).unwrap();
    });
    assert_eq!(stale, 0, "full reports for a request older than the node");
    stop(node);
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("older than this sendstats"), "{text}");
}

#[test]
fn full_reports_on_request_are_rate_limited_with_or_without_a_key() {
    // Regression (issue 14, 3): 4,469 requests in 5 s gave 51 full reports.
    let dir = tempfile::tempdir().unwrap();
    let (key_path, key) = key_file(dir.path());
    for keyed in [false, true] {
        let (tap, port) = tap();
        let destination = format!("127.0.0.1:{port}");
        let mut args = vec!["-f", "-r", "0.2", "9", &destination];
        if keyed {
            args.extend_from_slice(&["--key-file", key_path.to_str().unwrap()]);
        }
        let node = sendstats(&args, None);
        let (first, node_address) = receive(&tap);
        assert!(is_full(&first));
        // Fresh requests (new sequence, current time) every 50 ms for 4 s.
        let key = keyed.then_some(&key);
        let fulls = fulls_while(&tap, Duration::from_secs(4), || {
            let now = beostat::shm::now_ns();
            let update = request(Header::update_request(now, now), None, key);
            tap.send_to(&update, node_address).unwrap();
        });
        stop(node);
        assert!(
            (1..=3).contains(&fulls),
            "keyed {keyed}: {fulls} full reports for 80 requests in 4 s"
        );
    }
}

#[test]
fn a_hard_link_planted_as_a_shm_file_is_refused_and_its_target_untouched() {
    // Regression (issue 14, 5): O_NOFOLLOW does not stop hard links; the
    // target was made 0644.
    planted_hard_link_is_refused(&["--allow-insecure-dir"]);
}

#[test]
#[ignore = "needs root"]
fn a_hard_link_planted_as_a_shm_file_is_refused_by_a_recvstats_that_drops_to_a_user() {
    // Regression (issue 14, 5): with --user, the target was given to that user.
    requirements::root();
    planted_hard_link_is_refused(&["--user", "nobody"]);
}

/// Plants a hard link to a 0600 file as each shm file and checks recvstats
/// (run with `extra`) refuses it and leaves the target as it was.
fn planted_hard_link_is_refused(extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, b"root's secret").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let runs: Vec<&[&str]> = vec![extra];
    // Runs recvstats on `shm` for a moment; its exit status and stderr.
    let recvstats = |shm: &Path, extra: &[&str]| {
        let child = Command::new(env!("CARGO_BIN_EXE_recvstats"))
            .args(["-f", "-p", "0", "-i", "lo", "--config", "/nonexistent"])
            .arg("--shm-dir")
            .arg(shm)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // Refused at start (exit 1); a recvstats that serves is stopped
        // after a moment so the files can be checked.
        let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: kill(2) on the recvstats this test started (if it already
        // exited, the pid is not reused while it is unreaped).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let output = waiter.join().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    for name in ["beostat", "beostat.nodes"] {
        for extra in &runs {
            let shm = tmp.path().join("shm");
            let _ = std::fs::remove_dir_all(&shm);
            std::fs::create_dir(&shm).unwrap();
            std::fs::set_permissions(&shm, std::fs::Permissions::from_mode(0o755)).unwrap();
            if extra.contains(&"--user") {
                // nobody must be able to write the directory to get this far.
                let nobody = beostat::privilege::lookup("nobody").expect("a nobody user");
                std::os::unix::fs::chown(&shm, Some(nobody.uid), None).unwrap();
            }
            // Files of an earlier run, so the node file is reopened, not
            // replaced; then the planted link.
            let (code, stderr) = recvstats(&shm, extra);
            assert_eq!(code, None, "the first run serves: {stderr}");
            std::fs::remove_file(shm.join(name)).unwrap();
            std::fs::hard_link(&secret, shm.join(name)).unwrap();
            let (code, stderr) = recvstats(&shm, extra);
            let metadata = std::fs::metadata(&secret).unwrap();
            assert_eq!(metadata.mode() & 0o777, 0o600, "{name} {extra:?}: {stderr}");
            assert_eq!(metadata.uid(), std::fs::metadata(tmp.path()).unwrap().uid());
            assert_eq!(std::fs::read(&secret).unwrap(), b"root's secret");
            assert!(stderr.contains("has 2 hard links"), "{stderr}");
            if name == "beostat" {
                assert_eq!(code, Some(1), "{name} {extra:?}: {stderr}");
            } else {
                // The node file is not needed to start: the link is
                // replaced by a new file (renamed over it), as a stale or
                // foreign node file is.
                assert_eq!(code, None, "{name} {extra:?}: {stderr}");
                let planted = std::fs::metadata(shm.join(name)).unwrap();
                assert_ne!(planted.ino(), metadata.ino(), "the link is replaced");
                assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);
            }
        }
    }
}

#[test]
fn host_and_interface_names_from_the_network_reach_terminals_escaped() {
    // Regression (issue 14, 6): ESC and newlines in a host name set the
    // terminal title, cleared the screen and forged a line in `beostat`.
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &[]);
    let hostile = "n1\x1b]0;owned\x07\x1b[2J\nnode 0 (trusted): up\r";
    let interface = "e\x1b[31mth0";
    let mut encoder = Encoder::new();
    encoder
        .begin(&Header::status(3, 1, beostat::shm::now_ns()))
        .unwrap();
    encoder
        .section(SectionTag::Hostname, hostile.as_bytes())
        .unwrap();
    encoder
        .section(SectionTag::Loadavg, b"0.50 0.40 0.30 1/99 4242\n")
        .unwrap();
    let net_dev = format!("{interface}: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
    encoder
        .section(SectionTag::NetDev, net_dev.as_bytes())
        .unwrap();
    let datagram = encoder.finish().unwrap().to_vec();
    common::daemon::send(daemon.port, &[datagram]);
    let reader = Reader::new(shm.path());
    for _ in 0..500 {
        if reader.name(3).is_ok_and(|n| !n.is_empty()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(reader.name(3).unwrap(), hostile.as_bytes());

    let run = |program: &str, args: &[&str]| {
        let output = Command::new(program)
            .args(args)
            .arg("--shm-dir")
            .arg(shm.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{program} {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let beostat = env!("CARGO_BIN_EXE_beostat");
    for args in [&["--node", "3"][..], &["--node", "3", "--net"][..]] {
        let text = run(beostat, args);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "beostat {args:?}: {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("node 0 (trusted)")),
            "{text}"
        );
        assert!(
            text.contains("n1\\x1b]0;owned\\x07\\x1b[2J\\x0anode 0"),
            "{text}"
        );
    }
    assert!(run(beostat, &["--node", "3", "--net"]).contains("e\\x1b[31mth0"));
    let once = run(env!("CARGO_BIN_EXE_beostatus"), &["--once"]);
    assert!(
        !once.chars().any(|c| c.is_control() && c != '\n'),
        "beostatus --once: {once:?}"
    );
    // JSON stays exact: the same bytes, escaped by JSON's own rules.
    let json: serde_json::Value =
        serde_json::from_str(&run(beostat, &["--node", "3", "--json"])).unwrap();
    let text = json.to_string();
    assert!(
        text.contains(&serde_json::to_string(hostile).unwrap()),
        "{text}"
    );
}

#[test]
fn a_sendstats_restart_never_reuses_a_sequence_number() {
    let (tap, port) = tap();
    let mut last = 0;
    for _ in 0..2 {
        let output = Command::new(env!("CARGO_BIN_EXE_sendstats"))
            .args(["--once", "4", &format!("127.0.0.1:{port}")])
            .arg("--proc-root")
            .arg(sample("x86_64-8cpu"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let (bytes, _) = receive(&tap);
        let datagram = decode(&bytes).unwrap();
        assert_eq!(datagram.header.message_type, MessageType::Status);
        assert!(datagram.header.sequence > last);
        last = datagram.header.sequence;
        drain(&tap);
    }
}
