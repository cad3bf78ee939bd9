//! A simulated cluster in network namespaces: a bridge, a master namespace
//! running `recvstats -i <its veth>` started as the man page does (it forks
//! and returns 0), and three node namespaces running `sendstats` to the
//! multicast group. All three nodes appear with their /proc values, an update
//! request reaches them and is answered, and a stopped node is marked down.
//!
//! Needs root (network namespaces): ignored by a plain `cargo test`,
//! run by `cargo test -- --include-ignored` (as root, as CI does).

use beostat::shm::{NodeState, Reader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
mod requirements;
use common::{dump, expected_lines, sample, wait_for_node};

/// Runs `ip ARGS`, panicking with its stderr on failure.
fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("ip(8) from iproute2 is needed");
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The namespaces of one test run; deleting them removes their veths too.
struct Cluster {
    namespaces: Vec<String>,
    children: Vec<Child>,
    daemon_pid: Option<i32>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = self.daemon_pid {
            // SAFETY: kill(2) on the recvstats daemon this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Builds switch + master + nodes, each host joined to the switch's bridge
/// by a veth pair, addresses 10.199.X.Y/24.
fn build(tag: &str, hosts: &[&str]) -> Cluster {
    let switch = format!("bst{tag}sw");
    let mut cluster = Cluster {
        namespaces: vec![switch.clone()],
        children: Vec::new(),
        daemon_pid: None,
    };
    ip(&["netns", "add", &switch]);
    ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &switch, "link", "set", "br0", "up"]);
    for (i, host) in hosts.iter().enumerate() {
        let ns = format!("bst{tag}{host}");
        cluster.namespaces.push(ns.clone());
        ip(&["netns", "add", &ns]);
        let inside = format!("veth-{host}");
        let outside = format!("p{tag}{i}");
        ip(&[
            "-n", &ns, "link", "add", &inside, "type", "veth", "peer", "name", &outside, "netns",
            &switch,
        ]);
        ip(&[
            "-n", &switch, "link", "set", &outside, "master", "br0", "up",
        ]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("10.199.{}.{}/24", tag_octet(tag), i + 1),
            "dev",
            &inside,
        ]);
        ip(&["-n", &ns, "link", "set", &inside, "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
    }
    cluster
}

fn tag_octet(tag: &str) -> u32 {
    tag.parse::<u32>().unwrap_or(0) % 250
}

#[test]
#[ignore = "needs root and iproute2"]
fn a_simulated_cluster_reports_over_multicast_through_the_real_daemons() {
    requirements::root();
    requirements::tool("ip", "-V", "iproute2");
    let tag = (std::process::id() % 250).to_string();
    let hosts = ["m", "n0", "n1", "n2"];
    let mut cluster = build(&tag, &hosts);
    let shm = tempfile::tempdir().unwrap();
    let pidfile = shm.path().join("recvstats.pid");

    // The man page's start line, with test paths: forks, returns 0, serves.
    let status = Command::new("ip")
        .args([
            "netns",
            "exec",
            &format!("bst{tag}m"),
            env!("CARGO_BIN_EXE_recvstats"),
        ])
        .args([
            "-i",
            "veth-m",
            "--update-interval",
            "1",
            "--expiry",
            "3",
            "--config",
            "/nonexistent",
        ])
        .arg("--shm-dir")
        .arg(shm.path())
        .arg("--pidfile")
        .arg(&pidfile)
        .arg("--proc-root")
        .arg(sample("x86_64-vm-2cpu"))
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "recvstats -i veth-m returns 0 after forking"
    );
    cluster.daemon_pid = Some(
        std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    );

    // Nodes report slowly (every 30 s) so a report arriving sooner can only
    // be the answer to an update request.
    let samples = ["x86_64-8cpu", "x86_64-vm-2cpu", "this-host-x86_64"];
    for (node, name) in samples.iter().enumerate() {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &format!("bst{tag}n{node}"),
                env!("CARGO_BIN_EXE_sendstats"),
            ])
            .args(["-f", "-i", &format!("veth-n{node}"), "-r", "30"])
            .arg("--proc-root")
            .arg(sample(name))
            .arg(node.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        cluster.children.push(child);
    }

    let reader = Reader::new(shm.path());
    for (node, name) in samples.iter().enumerate() {
        let node = node as i32;
        wait_for_node(shm.path(), node);
        let mut expected = expected_lines(name);
        let mut got = dump(shm.path(), node);
        expected.retain(|l| !l.starts_with("name "));
        got.retain(|l| !l.starts_with("name "));
        assert_eq!(
            got, expected,
            "node {node} ({name}) read back through the C API"
        );
    }

    // An update request (every second here) is answered with a full report
    // long before the 30 s reporting interval.
    let first = reader.node(0).unwrap().time_ns;
    let mut answered = false;
    for _ in 0..1000 {
        if reader.node(0).unwrap().time_ns > first {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(answered, "node 0 answered an update request");
    let counters = reader.counters().unwrap();
    assert!(counters[beostat::shm::Counter::UpdateRequestsSent as usize] >= 1);
    assert!(
        reader.last_multicast().unwrap() > 0,
        "last-multicast time recorded"
    );

    // A node that stops is marked down (expiry 3 s), its data kept.
    let mut stopped = cluster.children.remove(2);
    stopped.kill().unwrap();
    stopped.wait().unwrap();
    let mut state = reader.state(2).unwrap();
    for _ in 0..1000 {
        if state == NodeState::Down {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        state = reader.state(2).unwrap();
    }
    assert_eq!(state, NodeState::Down, "a stopped node is marked down");
    assert!(
        reader.cpu_count(2).unwrap() > 0,
        "its last data stays visible"
    );
    assert_eq!(
        reader.state(0).unwrap(),
        NodeState::Up,
        "the others stay up"
    );
    drop(cluster);
    assert!(
        !Path::new(&format!("/run/netns/bst{tag}m")).exists(),
        "namespaces removed"
    );
}
