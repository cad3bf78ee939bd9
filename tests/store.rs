//! The store under real cluster shapes (issue 11), against the real
//! recvstats: gaps in node numbers, numbers far above the rest, CPU-count
//! bombs, mutated datagrams, split texts that never finish, SIGKILL during
//! growth, FIFOs and sockets in place of the files, a deleted directory,
//! and every CPU mode and MemAvailable from sendstats' wire to the reader.
//!
//! Memory is measured where production keeps it: the shm directory is on a
//! tmpfs (`/dev/shm`), whose files cost what they allocate (`st_blocks`).
//! The tests that need their own small tmpfs (mounting needs root) are in
//! `tests/store_root.rs`.

use beostat::protocol::{Encoder, Header, Part, SectionTag, MAX_DATAGRAM};
use beostat::shm::{Counter, NodeState, Reader};
use std::net::UdpSocket;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;
use common::daemon::{report_from, rss_kib, send, start, with_section};
use common::{wait_for_counter, wait_for_node};

/// A directory on a tmpfs, as /var/shm is in production.
fn tmpfs_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs on Linux");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    dir
}

/// Bytes the shm files hold in memory (allocated blocks, not apparent size).
fn allocated(shm: &Path) -> u64 {
    ["beostat", "beostat.nodes"]
        .iter()
        .map(|name| std::fs::metadata(shm.join(name)).map_or(0, |m| m.blocks() * 512))
        .sum()
}

/// Regression (issue 11, item 1): with node 3 never booted, the calls a
/// scheduler makes failed with ESRCH for the whole cluster.
#[test]
fn a_gap_in_node_numbers_never_fails_a_whole_cluster_call() {
    let shm = tmpfs_dir();
    let daemon = start(shm.path(), &[]);
    for node in [0, 1, 2, 4] {
        send(daemon.port, &report_from("x86_64-vm-2cpu", node, 1));
    }
    for node in [0, 1, 2, 4] {
        wait_for_node(shm.path(), node);
    }
    let reader = Reader::new(shm.path());
    assert_eq!(reader.node_count().unwrap(), 5, "highest number + 1");
    assert_eq!(reader.node_numbers().unwrap(), vec![-1, 0, 1, 2, 4]);
    assert_eq!(
        reader.available_nodes(4242, &[]).unwrap(),
        vec![0, 1, 2, 4],
        "the gap is skipped, not an error"
    );
    // One sample each: no previous sample, so every CPU counts as idle.
    assert_eq!(reader.count_idle_cpus(1.0, 4242, &[]).unwrap(), 8);
    assert!(matches!(
        reader.cpu_count(3),
        Err(beostat::Error::UnknownNode(3))
    ));
    let nodes: Vec<i32> = reader.nodes().unwrap().iter().map(|n| n.node).collect();
    assert_eq!(nodes, vec![-1, 0, 1, 2, 4]);
    // And the command a person runs.
    let output = Command::new(env!("CARGO_BIN_EXE_beostat"))
        .env("BEOSTAT_SHM_DIR", shm.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("node 4 ") && !text.contains("node 3 "),
        "{text}"
    );
}

/// Regression (issue 11, item 2): one datagram from node 60000 allocated
/// 240 MiB of tmpfs.
#[test]
fn nodes_0_and_60000_together_take_under_2_mib() {
    let shm = tmpfs_dir();
    let daemon = start(shm.path(), &[]);
    send(daemon.port, &report_from("x86_64-8cpu", 0, 1));
    send(daemon.port, &report_from("x86_64-8cpu", 60_000, 1));
    wait_for_node(shm.path(), 0);
    wait_for_node(shm.path(), 60_000);
    let bytes = allocated(shm.path());
    println!("nodes 0 and 60000 (and the master): {bytes} bytes of tmpfs");
    assert!(bytes <= 2 << 20, "{bytes} bytes");
    let reader = Reader::new(shm.path());
    assert_eq!(
        reader.control().unwrap().records,
        3,
        "the master, 0 and 60000"
    );
    assert_eq!(reader.cpu_count(60_000).unwrap(), 8);
}

/// Regression (issue 11, item 2): a stat naming `cpu8191` made every
/// record 8192 CPUs wide (a 32 GiB file).
#[test]
fn a_cpu_count_bomb_costs_one_bounded_record_and_no_other_node_changes() {
    let shm = tmpfs_dir();
    let daemon = start(shm.path(), &["--max-cpus", "1024"]);
    send(daemon.port, &report_from("x86_64-8cpu", 0, 1));
    wait_for_node(shm.path(), 0);
    let before = allocated(shm.path());
    let bomb = with_section(
        65_535,
        1,
        SectionTag::Stat,
        b"cpu  1 2 3 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\ncpu8191 1 2 3 4 5 6 7 8\n",
    );
    send(daemon.port, &[bomb]);
    wait_for_counter(shm.path(), Counter::CpusTruncated, 1);
    wait_for_node(shm.path(), 65_535);
    let reader = Reader::new(shm.path());
    assert_eq!(
        reader.cpu_count(65_535).unwrap(),
        1024,
        "capped at --max-cpus"
    );
    assert_eq!(reader.cpu_count(0).unwrap(), 8, "node 0 keeps its own size");
    let grown = allocated(shm.path()) - before;
    // 1024 CPUs x 2 samples x 64 bytes, plus the file's growth step.
    println!("the bomb cost {grown} bytes");
    assert!(grown <= (1024 * 128 + 512) + (256 << 10), "{grown} bytes");
}

/// Issue 11, item 2: 30,000 mutated real datagrams (random bytes changed,
/// node numbers among them) cost at most 64 MiB of tmpfs and RSS together.
#[test]
fn thirty_thousand_mutated_real_datagrams_cost_at_most_64_mib() {
    let shm = tmpfs_dir();
    let daemon = start(shm.path(), &[]);
    let mut originals = report_from("x86_64-8cpu", 0, 1);
    originals.extend(report_from("x86_64-vm-2cpu", 1, 1));
    send(daemon.port, &originals);
    wait_for_node(shm.path(), 1);
    let rss_before = rss_kib(daemon.child.id());
    let tmpfs_before = allocated(shm.path());

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below.max(1)
    };
    for i in 0..30_000u64 {
        let mut datagram = originals[(i % originals.len() as u64) as usize].clone();
        for _ in 0..1 + next(8) {
            let at = next(datagram.len() as u64) as usize;
            datagram[at] = next(256) as u8;
        }
        // Half of them also claim a random node number.
        if i % 2 == 0 {
            let node = next(1 << 31) as i32;
            datagram[8..12].copy_from_slice(&node.to_be_bytes());
        }
        socket
            .send_to(&datagram, ("127.0.0.1", daemon.port))
            .unwrap();
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let reader = Reader::new(shm.path());
    common::wait_for_received(&reader, originals.len() as u64 + 25_000);
    std::thread::sleep(Duration::from_millis(200));
    let rss_growth = rss_kib(daemon.child.id()).saturating_sub(rss_before) * 1024;
    let tmpfs_growth = allocated(shm.path()) - tmpfs_before;
    let counters = reader.counters().unwrap();
    println!(
        "RSS +{} KiB, tmpfs +{} KiB, {} records, {} accepted",
        rss_growth / 1024,
        tmpfs_growth / 1024,
        reader.control().unwrap().records,
        counters[Counter::DatagramsAccepted as usize]
    );
    assert!(
        rss_growth + tmpfs_growth <= 64 << 20,
        "RSS +{rss_growth} and tmpfs +{tmpfs_growth} bytes"
    );
    assert!(
        common::child_alive(daemon.child.id()),
        "recvstats still runs"
    );
}

/// A split stat part claiming `count` parts.
fn part_datagram(node: i32, snapshot: u64, count: u16) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.set_limit(MAX_DATAGRAM);
    encoder
        .begin(&Header::status(node, snapshot, beostat::shm::now_ns()))
        .unwrap();
    let text = vec![b'7'; 40];
    encoder
        .part(
            SectionTag::StatPart,
            Part {
                index: 0,
                count,
                snapshot,
                text: &text,
            },
        )
        .unwrap();
    encoder.finish().unwrap().to_vec()
}

/// Regression (issue 11, item 6): 256 datagrams whose parts claim 65,535
/// parts each added 394 MB of heap, never given back.
#[test]
fn split_texts_claiming_65535_parts_cost_what_they_carry() {
    let shm = tmpfs_dir();
    let daemon = start(shm.path(), &[]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 1, 1));
    wait_for_node(shm.path(), 1);
    let rss_before = rss_kib(daemon.child.id());
    let claims: Vec<Vec<u8>> = (0..256).map(|n| part_datagram(n, 1, 65_535)).collect();
    send(daemon.port, &claims);
    wait_for_counter(shm.path(), Counter::ReassemblyAbandoned, 256);
    // Within the part cap, held until they age out.
    let pending: Vec<Vec<u8>> = (0..256).map(|n| part_datagram(n, 2, 1024)).collect();
    send(daemon.port, &pending);
    let reader = Reader::new(shm.path());
    common::wait_for_received(&reader, 1 + 512);
    let growth = rss_kib(daemon.child.id()).saturating_sub(rss_before);
    println!("RSS grew {growth} KiB");
    assert!(growth < 8 * 1024, "RSS grew {growth} KiB");
    assert!(common::child_alive(daemon.child.id()));
}

/// Issue 11, item 4: SIGKILL at random instants while new nodes keep
/// making the file grow, 50 times: every record a reader saw before the
/// kill is there when the restarted daemon has opened the files (before
/// any new report), and nothing a dead writer made is left behind.
#[test]
fn sigkill_at_random_instants_during_growth_loses_no_record() {
    let shm = tmpfs_dir();
    let reader = Reader::new(shm.path());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below.max(1)
    };
    let template = report_from("x86_64-vm-2cpu", 0, 1);
    for cycle in 0..50i32 {
        let mut daemon = start(shm.path(), &[]);
        // Everything seen before the previous kill is there at once.
        if cycle > 0 {
            let seen = reader.nodes().unwrap();
            for node in seen.iter().filter(|n| n.node >= 0) {
                assert_eq!(node.cpu_count, 2, "node {}", node.node);
            }
        }
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let first = cycle * 300;
        let sender = std::thread::spawn({
            let template = template.clone();
            let port = daemon.port;
            move || {
                for node in first..first + 300 {
                    for datagram in &template {
                        let mut d = datagram.clone();
                        d[8..12].copy_from_slice(&node.to_be_bytes());
                        let _ = socket.send_to(&d, ("127.0.0.1", port));
                    }
                }
            }
        });
        // Kill while the file grows: once this cycle's first node is in,
        // at a random instant of the next 20 ms.
        wait_for_node(shm.path(), first);
        std::thread::sleep(Duration::from_micros(next(20_000)));
        let before_kill: Vec<i32> = reader
            .nodes()
            .map(|nodes| nodes.iter().map(|n| n.node).collect())
            .unwrap_or_default();
        daemon.child.kill().unwrap();
        daemon.child.wait().unwrap();
        sender.join().unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(shm.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "beostat" && n != "beostat.nodes")
            .collect();
        // A dead writer's leftovers are removed by the next writer; check
        // that by restarting before looking again.
        let restarted = start(shm.path(), &[]);
        let after: Vec<i32> = reader.nodes().unwrap().iter().map(|n| n.node).collect();
        for node in &before_kill {
            assert!(after.contains(node), "cycle {cycle}: node {node} lost");
        }
        let remaining: Vec<_> = std::fs::read_dir(shm.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "beostat" && n != "beostat.nodes")
            .collect();
        assert!(
            remaining.is_empty(),
            "cycle {cycle}: left behind {remaining:?} (before restart: {leftovers:?})"
        );
        drop(restarted);
    }
    let final_count = reader.nodes().unwrap().len();
    println!("{final_count} records after 50 kills");
    assert!(final_count > 50);
}

/// Regression (issue 11, item 7): a FIFO named `beostat` or
/// `beostat.nodes` hung every reader in open(). A socket, a directory or
/// a device is refused the same way.
#[test]
fn a_fifo_socket_or_directory_in_place_of_a_file_is_an_error_not_a_hang() {
    for victim in ["beostat", "beostat.nodes"] {
        for kind in ["fifo", "socket", "directory"] {
            let shm = tmpfs_dir();
            {
                let _daemon = start(shm.path(), &[]);
            }
            let path = shm.path().join(victim);
            std::fs::remove_file(&path).unwrap();
            let _socket;
            match kind {
                "fifo" => {
                    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
                    // SAFETY: a valid NUL-terminated path.
                    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
                }
                "socket" => _socket = std::os::unix::net::UnixListener::bind(&path).unwrap(),
                _ => std::fs::create_dir(&path).unwrap(),
            }
            let reader = Reader::new(shm.path());
            let error = reader.node_count().unwrap_err();
            assert!(
                [libc::EPROTO, libc::ENXIO, libc::EISDIR].contains(&error.errno()),
                "{victim} as a {kind}: {error}"
            );
            let output = Command::new(env!("CARGO_BIN_EXE_beostat"))
                .env("BEOSTAT_SHM_DIR", shm.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{victim} as a {kind}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.starts_with("beostat: "), "{stderr}");
        }
    }
}

/// Issue 11, item 8: files deleted under the daemon come back (with every
/// record); a deleted directory makes it exit non-zero with the reason.
#[test]
fn deleted_files_are_made_again_and_a_deleted_directory_ends_the_daemon() {
    let shm = tmpfs_dir();
    let dir = shm.path().join("shm");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut daemon = start(&dir, &[]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 5, 1));
    wait_for_node(&dir, 5);
    std::fs::remove_file(dir.join("beostat")).unwrap();
    std::fs::remove_file(dir.join("beostat.nodes")).unwrap();
    // Checked once a second: wait (bounded) for both files to come back.
    for _ in 0..500 {
        if dir.join("beostat").exists() && dir.join("beostat.nodes").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for_node(&dir, 5);
    assert_eq!(Reader::new(&dir).cpu_count(5).unwrap(), 2, "node 5 kept");

    std::fs::remove_dir_all(&dir).unwrap();
    let mut status = None;
    for _ in 0..500 {
        status = daemon.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = status.expect("recvstats exits when its directory is gone");
    assert_eq!(status.code(), Some(1), "{status:?}");
    let mut log = Vec::new();
    while let Some(line) = daemon.try_log_line() {
        log.push(line);
    }
    assert!(
        log.iter().any(|l| l.contains("shm directory is gone")),
        "{log:?}"
    );
}

/// Issue 11, item 9: iowait and steal stay apart from sendstats to the
/// reader, MemAvailable arrives, and the legacy four fields keep their
/// Linux 2.4 meaning.
#[test]
fn every_cpu_mode_and_mem_available_reach_the_reader() {
    let shm = tmpfs_dir();
    let daemon = start(shm.path(), &[]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 2, 1));
    wait_for_node(shm.path(), 2);
    let reader = Reader::new(shm.path());
    // cpu0 1111 0 2755 61542 17 0 7 43 0 0
    let times = reader.cpu_times(2, 0).unwrap();
    assert_eq!(
        (
            times.user,
            times.system,
            times.idle,
            times.iowait,
            times.softirq,
            times.steal
        ),
        (1111, 2755, 61542, 17, 7, 43)
    );
    let legacy = reader.stat_cpu(2, 0).unwrap();
    assert_eq!(
        legacy.system,
        2755 + 7 + 43,
        "system + irq + softirq + steal"
    );
    assert_eq!(legacy.idle, 61542 + 17, "idle + iowait");
    assert_eq!(
        reader.mem_available(2).unwrap(),
        Some(24_453_608 * 1024),
        "MemAvailable: 24453608 kB"
    );
    let node = reader.node(2).unwrap();
    assert_eq!(node.cpu_times.len(), 2);
    assert_eq!(node.state, NodeState::Up);
}
