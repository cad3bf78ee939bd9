//! recvstats end to end on loopback: the real binary, datagrams built from
//! fixed /proc samples, and every value read back through the C API and
//! compared with the sample files (parsed here independently of src/proc).

use beostat::protocol::NODE_FROM_ADDRESS;
use beostat::shm::layout::Counter;
use beostat::shm::{NodeState, Reader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;
use common::daemon::{report_from, send, start, status};
use common::{dump, expected_lines, wait_for_node, wait_for_received};

#[test]
fn every_value_a_node_sent_reads_back_equal_through_the_c_api() {
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &[]);
    for (node, name) in [(3, "x86_64-8cpu"), (4, "x86_64-vm-2cpu")] {
        send(daemon.port, &report_from(name, node, 1));
        wait_for_node(shm.path(), node);
        let mut expected = expected_lines(name);
        expected.retain(|l| !l.starts_with("name "));
        let mut got = dump(shm.path(), node);
        got.retain(|l| !l.starts_with("name "));
        assert_eq!(got, expected, "node {node} from {name}");
    }
    let statfs = beostat::collect::statfs(Path::new("/")).unwrap();
    let reader = Reader::new(shm.path());
    let published = reader.statfs(3).unwrap();
    assert_eq!(
        (published.f_bsize, published.f_blocks),
        (statfs.f_bsize, statfs.f_blocks)
    );
    assert_eq!(reader.name(3).unwrap(), b"node-under-test");
}

#[test]
fn the_master_publishes_its_own_proc_as_node_minus_one() {
    let shm = tempfile::tempdir().unwrap();
    let _daemon = start(shm.path(), &[]);
    wait_for_node(shm.path(), -1);
    let mut expected = expected_lines("x86_64-8cpu");
    expected.retain(|l| !l.starts_with("name "));
    let mut got = dump(shm.path(), -1);
    got.retain(|l| !l.starts_with("name "));
    assert_eq!(got, expected);
}

#[test]
fn bad_datagrams_are_counted_by_reason_and_change_no_other_node() {
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &["--max-nodes", "3"]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 1, 1));
    wait_for_node(shm.path(), 1);
    let before = dump(shm.path(), 1);

    let good = report_from("x86_64-vm-2cpu", 2, 7).remove(0);
    let cut_short = good[..20].to_vec();
    let mut wrong_magic = good.clone();
    wrong_magic[0] = b'X';
    let mut future = good.clone();
    future[4] = 99;
    let mut overrun = good.clone();
    overrun[34] = 0xff; // first section's length high byte
                        // The master and nodes 1 and 6 fill --max-nodes 3: a fourth is refused.
    let huge_node = report_from("x86_64-vm-2cpu", 5000, 8).remove(0);
    let claims_master = report_from("x86_64-vm-2cpu", -1, 9).remove(0);
    let unnumbered = report_from("x86_64-vm-2cpu", NODE_FROM_ADDRESS, 10).remove(0);
    let mut bad_text = report_from("x86_64-vm-2cpu", 6, 11).remove(0);
    // Corrupt one byte of the loadavg text only: the other sections still count.
    let position = bad_text
        .windows(3)
        .position(|w| w == b"0.0" || w == b"0.1" || w == b"0.2")
        .unwrap();
    bad_text[position] = 0xff;
    send(
        daemon.port,
        &[
            b"short".to_vec(),
            cut_short,
            wrong_magic,
            future,
            overrun,
            claims_master,
            unnumbered,
            bad_text,
        ],
    );
    wait_for_node(shm.path(), 6);
    send(daemon.port, &[huge_node]);
    common::wait_for_counter(shm.path(), Counter::DroppedNodeLimit, 1);

    let reader = Reader::new(shm.path());
    let counters = reader.counters().unwrap();
    let count = |c: Counter| counters[c as usize];
    assert_eq!(count(Counter::DroppedTruncated), 1, "a header cut short");
    assert_eq!(
        count(Counter::DroppedBadMagic),
        2,
        "'short' and the wrong magic"
    );
    assert_eq!(count(Counter::DroppedBadVersion), 1);
    assert_eq!(count(Counter::DroppedMalformed), 1);
    assert_eq!(
        count(Counter::DroppedBadNode),
        2,
        "-1, and no iprange for an unnumbered report"
    );
    assert_eq!(
        count(Counter::DroppedNodeLimit),
        1,
        "node 5000, a fourth node over --max-nodes 3"
    );
    assert_eq!(count(Counter::ParseErrors), 1, "the corrupted loadavg text");
    assert_eq!(count(Counter::DatagramsAccepted), 2);
    assert_eq!(
        count(Counter::DatagramsReceived),
        10,
        "node 1 and the nine above"
    );
    assert_eq!(
        dump(shm.path(), 1),
        before,
        "node 1 is byte-for-byte unchanged"
    );
    assert!(
        reader.loadavg(6).is_err() || reader.loadavg(6).unwrap().last_pid == 0,
        "loadavg not published"
    );
    assert!(
        reader.cpu_count(6).unwrap() > 0,
        "stat of the same datagram still published"
    );
}

#[test]
fn unnumbered_reports_take_their_node_from_the_iprange_of_the_config_file() {
    let shm = tempfile::tempdir().unwrap();
    let config = shm.path().join("beowulf-config");
    std::fs::write(&config, "interface eth1\niprange 42 127.0.0.1 127.0.0.3\n").unwrap();
    let daemon = start(shm.path(), &["--config", config.to_str().unwrap()]);
    send(
        daemon.port,
        &report_from("x86_64-vm-2cpu", NODE_FROM_ADDRESS, 1),
    );
    wait_for_node(shm.path(), 42);
    assert_eq!(Reader::new(shm.path()).cpu_count(42).unwrap(), 2);
}

#[test]
fn silent_nodes_are_marked_down_and_keep_their_data() {
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &["--expiry", "1"]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 0, 1));
    wait_for_node(shm.path(), 0);
    let reader = Reader::new(shm.path());
    let mut state = reader.state(0).unwrap();
    for _ in 0..600 {
        if state == NodeState::Down {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        state = reader.state(0).unwrap();
    }
    assert_eq!(state, NodeState::Down);
    assert_eq!(
        reader.cpu_count(0).unwrap(),
        2,
        "data of a down node stays visible"
    );
    assert!(!reader.is_available(0, 0, &[]).unwrap());
}

#[test]
fn sigterm_exits_zero_and_leaves_the_files_readable() {
    let shm = tempfile::tempdir().unwrap();
    let mut daemon = start(shm.path(), &[]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 0, 1));
    wait_for_node(shm.path(), 0);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGTERM) };
    let status = daemon.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(Reader::new(shm.path()).cpu_count(0).unwrap(), 2);
}

#[test]
fn a_second_recvstats_on_the_same_directory_names_the_first() {
    let shm = tempfile::tempdir().unwrap();
    let first = start(shm.path(), &[]);
    let output = Command::new(env!("CARGO_BIN_EXE_recvstats"))
        .args(["-f", "-p", "0", "--config", "/nonexistent"])
        .arg("--shm-dir")
        .arg(shm.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another writer (pid {}) is running",
            first.child.id()
        )),
        "{stderr}"
    );
}

#[test]
fn without_d_or_f_it_forks_returns_zero_and_serves() {
    let shm = tempfile::tempdir().unwrap();
    let pidfile = shm.path().join("recvstats.pid");
    let status = Command::new(env!("CARGO_BIN_EXE_recvstats"))
        .args(["-p", "0", "-i", "lo", "--config", "/nonexistent"])
        .arg("--shm-dir")
        .arg(shm.path())
        .arg("--pidfile")
        .arg(&pidfile)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the daemon runs"
    );
    wait_for_node(shm.path(), -1);
    // SAFETY: kill(2) on the daemon we started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    for _ in 0..500 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the daemon exits on SIGTERM"
    );
    assert!(!pidfile.exists(), "the pidfile is removed");
}

#[test]
fn startup_errors_are_one_line_with_the_program_name() {
    let shm = tempfile::tempdir().unwrap();
    let shm = shm.path().to_str().unwrap();
    let cases: [&[&str]; 4] = [
        &["-f", "--shm-dir", "/nonexistent/dir"],
        &["-f", "--shm-dir", shm, "-i", "nosuchif0"],
        &["--shm-dir", "/nonexistent/dir"],
        &["-f", "--shm-dir", "/tmp"],
    ];
    for args in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_recvstats"))
            .args(["-p", "0", "--config", "/nonexistent"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| !l.contains("warning")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(errors[0].starts_with("recvstats: "), "{args:?}: {stderr}");
    }
}

#[test]
fn ipv6_unicast_is_received_and_a_node_above_the_initial_capacity_grows_the_files() {
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &["-N", "2"]);
    let socket = UdpSocket::bind("[::1]:0")
        .expect("this test needs an IPv6 loopback (::1); on a host without one, add --skip ipv6");
    for datagram in report_from("x86_64-vm-2cpu", 10, 1) {
        socket.send_to(&datagram, ("::1", daemon.port)).unwrap();
    }
    wait_for_node(shm.path(), 10);
    let reader = Reader::new(shm.path());
    assert_eq!(
        reader.control().unwrap().records,
        2,
        "the master and node 10"
    );
    assert_eq!(reader.cpu_count(10).unwrap(), 2);
}

#[test]
fn sighup_rereads_the_config_file() {
    let shm = tempfile::tempdir().unwrap();
    let config = shm.path().join("beowulf-config");
    std::fs::write(&config, "# no ranges yet\n").unwrap();
    let mut daemon = start(shm.path(), &["--config", config.to_str().unwrap()]);
    send(
        daemon.port,
        &report_from("x86_64-vm-2cpu", NODE_FROM_ADDRESS, 1),
    );
    let reader = Reader::new(shm.path());
    let dropped = |r: &Reader| r.counters().unwrap()[Counter::DroppedBadNode as usize];
    for _ in 0..500 {
        if dropped(&reader) == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        dropped(&reader),
        1,
        "no iprange yet: an unnumbered report is dropped"
    );

    std::fs::write(&config, "iprange 7 127.0.0.1 127.0.0.1\n").unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGHUP) };
    while !daemon.next_log_line().contains("reread") {}
    send(
        daemon.port,
        &report_from("x86_64-vm-2cpu", NODE_FROM_ADDRESS, 2),
    );
    wait_for_node(shm.path(), 7);
}

#[test]
fn with_a_key_only_signed_fresh_datagrams_are_published() {
    use std::os::unix::fs::PermissionsExt;
    let shm = tempfile::tempdir().unwrap();
    let key_path = shm.path().join("key");
    std::fs::write(&key_path, b"the-cluster-shared-secret\n").unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = beostat::auth::Key::from_file(&key_path).unwrap();
    let wrong = beostat::auth::Key::new(b"not-the-cluster-secret").unwrap();
    let daemon = start(shm.path(), &["--key-file", key_path.to_str().unwrap()]);

    let signed = status(2, 100, Some(&key));
    send(
        daemon.port,
        &[
            status(2, 99, None),
            signed.clone(),
            signed.clone(),
            status(2, 101, Some(&wrong)),
            status(2, 102, Some(&key)),
        ],
    );
    let reader = Reader::new(shm.path());
    let counters = wait_for_received(&reader, 5);
    let count = |c: Counter| counters[c as usize];
    assert_eq!(
        count(Counter::DroppedAuth),
        2,
        "unsigned, and signed with another key"
    );
    assert_eq!(
        count(Counter::DroppedReplay),
        1,
        "the same signed datagram twice"
    );
    assert_eq!(count(Counter::DatagramsAccepted), 2);
    assert_eq!(reader.loadavg(2).unwrap().last_pid, 102);

    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_recvstats"))
        .args([
            "-f",
            "-p",
            "0",
            "--config",
            "/nonexistent",
            "--key-file",
            key_path.to_str().unwrap(),
        ])
        .arg("--shm-dir")
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("recvstats: ") && l.contains("chmod 600")),
        "{stderr}"
    );
}

#[test]
fn a_node_number_claimed_from_another_nodes_address_is_dropped() {
    let shm = tempfile::tempdir().unwrap();
    let config = shm.path().join("beowulf-config");
    std::fs::write(&config, "iprange 3 127.0.0.2 127.0.0.4\n").unwrap();
    let daemon = start(shm.path(), &["--config", config.to_str().unwrap()]);
    // From 127.0.0.1: node 3 belongs to 127.0.0.2; node 9 is outside every range.
    send(daemon.port, &[status(3, 1, None), status(9, 2, None)]);
    let from_right_address = UdpSocket::bind("127.0.0.2:0").unwrap();
    from_right_address
        .send_to(&status(3, 3, None), ("127.0.0.1", daemon.port))
        .unwrap();
    let reader = Reader::new(shm.path());
    let counters = wait_for_received(&reader, 3);
    assert_eq!(counters[Counter::DroppedSpoofed as usize], 1);
    assert_eq!(counters[Counter::DatagramsAccepted as usize], 2);
    assert_eq!(
        reader.loadavg(3).unwrap().last_pid,
        3,
        "only node 3's own address was believed"
    );
    assert_eq!(reader.loadavg(9).unwrap().last_pid, 2);
}
