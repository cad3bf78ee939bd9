//! `scripts/no-multicast-leak.sh`, which CI wraps around `cargo test` and
//! the demo, must see a leak when there is one: run inside a network
//! namespace of its own (`unshare -n`) with a veth pair, it fails when the
//! command multicasts out of the veth and passes when the command only
//! talks over loopback. Nothing here leaves the namespace.
//!
//! Needs root (tcpdump switches to its own user, which a user namespace
//! does not map, so `unshare -rn` will not do) and tcpdump: `#[ignore]`d for
//! a plain `cargo test`, run by `cargo test -- --include-ignored` (CI).

use std::path::Path;
use std::process::{Command, Output};

/// Runs `command` under the checker in a fresh namespace with an up veth.
fn checked_in_namespace(command: &str) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/no-multicast-leak.sh");
    // No IPv6 on the pair: its MLD reports when it comes up would count.
    let setup = "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && \
                 ip link set lo up && ip link add lk0 type veth peer name lk1 && \
                 ip link set lk0 up && ip link set lk1 up && \
                 ip addr add 10.199.97.1/24 dev lk0 && exec \"$0\" python3 -c \"$1\"";
    Command::new("unshare")
        .args(["-n", "sh", "-c", setup])
        .arg(&script)
        .arg(command)
        .output()
        .unwrap()
}

mod requirements;

#[test]
#[ignore = "needs root and tcpdump"]
fn the_leak_checker_fails_on_multicast_out_of_an_interface_and_passes_without() {
    requirements::root();
    requirements::tool("tcpdump", "--version", "tcpdump");
    let multicast = "import socket, struct\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('10.199.97.1'))\n\
        s.sendto(b'BEOS', ('239.255.30.40', 3040))";
    let output = checked_in_namespace(multicast);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("lk0: 1 multicast"), "{stdout}\n{stderr}");
    assert!(stderr.contains("239.255.30.40"), "{stderr}");

    let unicast = "import socket\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.sendto(b'BEOS', ('127.0.0.1', 3040))";
    let output = checked_in_namespace(unicast);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("lk0: 0 multicast"), "{stdout}");
}
