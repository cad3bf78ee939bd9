//! Hostile input against the live recvstats: a flood of forged node
//! numbers, numbers that are not numbers, sections that lie about their
//! size. The daemon keeps running, memory and files stay bounded by the node
//! cap, the drop counters say why, and a legitimate node's published data is
//! byte-for-byte unchanged.

use beostat::protocol::SectionTag;
use beostat::shm::layout::Counter;
use beostat::shm::Reader;
use std::net::UdpSocket;
use std::time::Duration;

mod common;
use common::daemon::{report_from, rss_kib, send, start, with_section};
use common::{dump, wait_for_node, wait_for_received};

#[test]
fn a_burst_of_100000_forged_node_numbers_is_bounded_and_harmless() {
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &["--max-nodes", "1000", "-N", "16"]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 7, 1));
    wait_for_node(shm.path(), 7);
    let before = dump(shm.path(), 7);
    let rss_before = rss_kib(daemon.child.id());

    // 100,000 distinct node numbers: 0..1000 (within the cap, except 7)
    // and the rest far above it, negative, or at the extremes.
    let template = with_section(0, 2, SectionTag::Loadavg, b"0.10 0.20 0.30 1/100 4242\n");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0u64;
    let mut negative_sent = 0u64;
    for i in 0..100_000i64 {
        let node: i32 = match i {
            7 => continue,
            0..1000 => i as i32,
            1000..50_000 => (i * 7919) as i32,
            50_000..99_998 => -(i as i32) - 2,
            99_998 => i32::MAX,
            _ => i32::MIN + 1,
        };
        if node < 0 {
            negative_sent += 1;
        }
        let mut datagram = template.clone();
        datagram[8..12].copy_from_slice(&node.to_be_bytes());
        socket
            .send_to(&datagram, ("127.0.0.1", daemon.port))
            .unwrap();
        sent += 1;
        if i % 2000 == 0 {
            // Let the daemon keep up: this test is about bounds, not loss.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let reader = Reader::new(shm.path());
    let counters = wait_for_received(&reader, sent + 1);
    let count = |c: Counter| counters[c as usize];
    let received = count(Counter::DatagramsReceived) - 1;
    println!("sent {sent}, received {received} (any rest was lost in the socket buffer)");
    assert!(received > sent / 2, "most of the burst was received");
    assert_eq!(
        count(Counter::DatagramsAccepted)
            + count(Counter::DroppedBadNode)
            + count(Counter::DroppedNodeLimit),
        received + 1,
        "every received datagram was accepted, a bad node or past --max-nodes"
    );
    assert!(
        count(Counter::DroppedBadNode) > 0 && count(Counter::DroppedNodeLimit) > 0,
        "negative numbers are bad nodes, numbers past the first 1000 nodes are refused"
    );
    assert!(count(Counter::DroppedBadNode) <= negative_sent);

    assert!(
        common::child_alive(daemon.child.id()),
        "recvstats still runs"
    );
    let records = reader.control().unwrap().records;
    assert!(
        records <= 1000,
        "files bounded by --max-nodes: {records} records"
    );
    let file = std::fs::metadata(shm.path().join("beostat.nodes"))
        .unwrap()
        .len();
    assert!(file < 1001 * 8192 + 4096, "node file {file} bytes");
    let rss_after = rss_kib(daemon.child.id());
    println!("recvstats RSS {rss_before} KiB before, {rss_after} KiB after");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
    assert_eq!(
        dump(shm.path(), 7),
        before,
        "node 7 byte-for-byte unchanged"
    );
}

#[test]
fn numbers_that_are_not_numbers_are_parse_errors_not_values() {
    let shm = tempfile::tempdir().unwrap();
    let daemon = start(shm.path(), &[]);
    send(daemon.port, &report_from("x86_64-vm-2cpu", 1, 1));
    wait_for_node(shm.path(), 1);
    let before = dump(shm.path(), 1);
    let hostile: Vec<Vec<u8>> = vec![
        with_section(1, 10, SectionTag::Loadavg, b"nan inf -inf 1/2 3\n"),
        with_section(
            1,
            11,
            SectionTag::Loadavg,
            b"1e400 0.5 0.5 99999999999999999999/2 3\n",
        ),
        with_section(
            1,
            12,
            SectionTag::Meminfo,
            b"MemTotal: 99999999999999999999999 kB\nMemFree: 1 kB\n",
        ),
        with_section(
            1,
            13,
            SectionTag::Meminfo,
            b"MemTotal: -5 kB\nMemFree: NaN kB\n",
        ),
        with_section(
            1,
            14,
            SectionTag::Stat,
            b"cpu  1 2 3 4\ncpu99999999 1 2 3 4\n",
        ),
        with_section(
            1,
            15,
            SectionTag::Stat,
            b"cpu  18446744073709551616 0 0 0\ncpu0 1 1 1 1\n",
        ),
        with_section(1, 16, SectionTag::NetDev, b"eth0: x y z\n"),
        with_section(1, 17, SectionTag::Cpuinfo, b"\xff\xfe not text\n"),
    ];
    send(daemon.port, &hostile);
    let reader = Reader::new(shm.path());
    let counters = wait_for_received(&reader, 9);
    assert_eq!(counters[Counter::DatagramsReceived as usize], 9);
    assert_eq!(
        counters[Counter::ParseErrors as usize],
        8,
        "each hostile section is one parse error"
    );
    assert!(common::child_alive(daemon.child.id()));
    let after = dump(shm.path(), 1);
    // Only the arrival time may change: no hostile value was published.
    let strip = |lines: Vec<String>| {
        lines
            .into_iter()
            .filter(|l| !l.starts_with("time "))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(after), strip(before));
}
