//! The real `sendstats` binary against a test "master": a UDP socket on
//! 127.0.0.1:0 that decodes what arrives with the protocol decoder. /proc is
//! replaced by the samples in tests/data/proc with --proc-root. Every wait
//! is bounded by a socket read timeout or a bounded number of polls; no test
//! asserts on how long something took.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use beostat::protocol::{
    decode, Encoder, Header, MessageType, SectionTag, NODE_FROM_ADDRESS, RECV_BUFFER_LEN,
};

const SENDSTATS: &str = env!("CARGO_BIN_EXE_sendstats");
/// Longest wait for any one datagram or exit: generous for a loaded CI box.
const PATIENCE: Duration = Duration::from_secs(20);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/proc")
        .join(name)
}

/// A socket standing in for recvstats.
fn master() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// `recv_from`, again when a signal interrupted it: with a receive timeout
/// set, Linux never restarts the call (signal(7)), whatever SA_RESTART says,
/// so any handled signal in this test process surfaces as EINTR.
fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    loop {
        match socket.recv_from(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// One datagram (a decode failure fails the test).
fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; RECV_BUFFER_LEN];
    let (len, from) =
        recv_from(socket, &mut buf).expect("a datagram from sendstats within the timeout");
    buf.truncate(len);
    decode(&buf).expect("sendstats sends valid datagrams");
    (buf, from)
}

/// Every datagram already queued (sendstats has exited, so all are there:
/// loopback delivers during sendto).
fn queued(socket: &UdpSocket) -> Vec<Vec<u8>> {
    socket.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; RECV_BUFFER_LEN];
    while let Ok((len, _)) = socket.recv_from(&mut buf) {
        out.push(buf[..len].to_vec());
    }
    socket.set_nonblocking(false).unwrap();
    out
}

fn run(args: &[&str]) -> Output {
    Command::new(SENDSTATS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sendstats runs")
}

/// Kills the child if the test fails before it exits.
struct Running(Child);

impl Running {
    fn spawn(args: &[&str], stderr: Stdio) -> Running {
        let child = Command::new(SENDSTATS)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("sendstats starts");
        Running(child)
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: plain kill(2) of our own child.
        assert_eq!(unsafe { libc::kill(self.0.id() as libc::pid_t, signal) }, 0);
    }

    /// Waits for the exit, polling a bounded number of times.
    fn wait(&mut self) -> ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("sendstats did not exit");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn text(body: &[u8]) -> &str {
    std::str::from_utf8(body).unwrap()
}

/// A line with runs of blanks squeezed, as the sender condenses it.
fn squeezed(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn once_sends_one_full_report_with_the_sample_texts() {
    for name in ["x86_64-vm-2cpu", "x86_64-8cpu"] {
        let root = sample(name);
        let (socket, port) = master();
        let statfs_dir = tempfile::tempdir().unwrap();
        let output = run(&[
            "--once",
            "7",
            &format!("127.0.0.1:{port}"),
            "--proc-root",
            root.to_str().unwrap(),
            "--statfs-path",
            statfs_dir.path().to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{name}: {output:?}");
        assert!(output.stderr.is_empty(), "{name}: no -d, nothing to say");

        let datagrams = queued(&socket);
        assert_eq!(
            datagrams.len(),
            1,
            "{name}: a full report fits one datagram"
        );
        let datagram = decode(&datagrams[0]).unwrap();
        let header = datagram.header;
        assert_eq!(header.node, 7);
        assert_eq!(header.message_type, MessageType::Status);
        assert!(header.is_full(), "{name}: the start report has cpuinfo");

        let loadavg = std::fs::read_to_string(root.join("loadavg")).unwrap();
        assert_eq!(text(datagram.get(SectionTag::Loadavg).unwrap()), loadavg);

        // Exactly the sample's cpu lines, nothing else: the label and the
        // first 8 time columns, `user nice system idle iowait irq softirq
        // steal`, as the kernel printed them (guest and guest_nice dropped).
        let stat = std::fs::read_to_string(root.join("stat")).unwrap();
        let expected: Vec<String> = stat
            .lines()
            .filter(|l| l.starts_with("cpu"))
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().take(9).collect();
                words.join(" ")
            })
            .collect();
        let sent: Vec<&str> = text(datagram.get(SectionTag::Stat).unwrap())
            .lines()
            .collect();
        assert_eq!(sent, expected, "{name}");

        let meminfo = std::fs::read_to_string(root.join("meminfo")).unwrap();
        let mem_total = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .map(squeezed)
            .unwrap();
        let sent_meminfo = text(datagram.get(SectionTag::Meminfo).unwrap());
        assert!(
            sent_meminfo.lines().any(|l| l == mem_total),
            "{name}: {mem_total:?} in {sent_meminfo:?}"
        );

        let cpuinfo = std::fs::read_to_string(root.join("cpuinfo")).unwrap();
        let processors = |t: &str| t.lines().filter(|l| l.starts_with("processor")).count();
        let sent_cpuinfo = text(datagram.get(SectionTag::Cpuinfo).unwrap());
        assert_eq!(processors(sent_cpuinfo), processors(&cpuinfo), "{name}");
        assert!(processors(sent_cpuinfo) >= 2);

        let net_dev = text(datagram.get(SectionTag::NetDev).unwrap());
        assert!(net_dev.lines().any(|l| l.trim_start().starts_with("lo:")));

        let hostname = datagram.hostname().expect("host name section");
        assert!(!hostname.is_empty() && !hostname.contains(&0));

        let statfs = datagram.statfs().expect("statfs section");
        let expected = beostat::collect::statfs(statfs_dir.path()).unwrap();
        assert_eq!(statfs.f_type, expected.f_type);
        assert_eq!(statfs.f_blocks, expected.f_blocks);
        assert_eq!(statfs.f_bsize, expected.f_bsize);
    }
}

#[test]
fn positional_synopsis_sends_to_every_master() {
    let (first, first_port) = master();
    let (second, second_port) = master();
    let output = run(&[
        "--once",
        "7",
        &format!("127.0.0.1:{first_port}"),
        &format!("127.0.0.1:{second_port}"),
        "--proc-root",
        sample("x86_64-vm-2cpu").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let to_first = queued(&first);
    let to_second = queued(&second);
    assert_eq!(to_first.len(), 1);
    assert_eq!(to_second.len(), 1);
    // The same datagram to both masters.
    assert_eq!(to_first[0], to_second[0]);
    assert_eq!(decode(&to_first[0]).unwrap().header.node, 7);
}

#[test]
fn without_a_node_number_the_master_derives_it_from_the_address() {
    let (socket, port) = master();
    let output = run(&[
        "--once",
        &format!("127.0.0.1:{port}"),
        "--proc-root",
        sample("x86_64-8cpu").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let datagrams = queued(&socket);
    assert_eq!(datagrams.len(), 1);
    let header = decode(&datagrams[0]).unwrap().header;
    assert!(header.node_from_address());
    assert_eq!(header.node, NODE_FROM_ADDRESS);
}

#[test]
fn option_synopsis_uses_the_port_option_for_bare_addresses() {
    let (socket, port) = master();
    let output = run(&[
        "--once",
        "-a",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--proc-root",
        sample("x86_64-vm-2cpu").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let datagrams = queued(&socket);
    assert_eq!(datagrams.len(), 1);
    assert!(decode(&datagrams[0]).unwrap().header.is_full());
}

#[test]
fn a_host_name_that_does_not_resolve_is_a_runtime_error() {
    // .invalid never resolves (RFC 2606); the command line itself is valid,
    // so this is exit status 1, not 2.
    let output = run(&[
        "--once",
        "7",
        "no-such-host.invalid",
        "--proc-root",
        sample("x86_64-vm-2cpu").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("sendstats: cannot resolve no-such-host.invalid"),
        "{stderr}"
    );
}

fn request(header: &Header, interval_ms: Option<u32>) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.begin(header).unwrap();
    if let Some(ms) = interval_ms {
        encoder.interval(ms).unwrap();
    }
    encoder.finish().unwrap().to_vec()
}

/// Dynamic reports (at 0.2 s) that may come while a requested full report
/// waits for the spacing of full reports.
const SPACING_SLACK: usize = (beostat::send::MIN_FULL_SPACING.as_millis() / 200) as usize + 1;

/// Receives until a full report arrives, allowing `slack` dynamic reports
/// first (ones sent before sendstats read our request), plus those of the
/// spacing of full reports; returns it.
fn receive_full(socket: &UdpSocket, slack: usize, last_sequence: &mut u64) -> Vec<u8> {
    let slack = slack + SPACING_SLACK;
    for _ in 0..=slack {
        let (bytes, _) = receive(socket);
        let header = decode(&bytes).unwrap().header;
        assert!(header.sequence > *last_sequence, "sequence goes up");
        *last_sequence = header.sequence;
        if header.is_full() {
            return bytes;
        }
    }
    panic!("no full report after {slack} dynamic ones");
}

#[test]
fn periodic_reports_obey_update_requests_rate_changes_and_signals() {
    let (socket, port) = master();
    let logs = tempfile::NamedTempFile::new().unwrap();
    let mut sendstats = Running::spawn(
        &[
            "-r",
            "0.2",
            "-d",
            "7",
            &format!("127.0.0.1:{port}"),
            "--proc-root",
            sample("x86_64-8cpu").to_str().unwrap(),
        ],
        logs.reopen().unwrap().into(),
    );

    // The start report is full; then dynamic ones, one datagram each.
    let (bytes, sendstats_address) = receive(&socket);
    let first = decode(&bytes).unwrap().header;
    assert!(first.is_full());
    assert_eq!(first.node, 7);
    let mut sequence = first.sequence;
    for _ in 0..3 {
        let (bytes, from) = receive(&socket);
        let datagram = decode(&bytes).unwrap();
        assert_eq!(from, sendstats_address, "one sending socket");
        assert_eq!(datagram.header.sequence, sequence + 1);
        assert!(!datagram.header.is_full());
        assert!(datagram.get(SectionTag::Cpuinfo).is_none());
        assert!(datagram.get(SectionTag::Stat).is_some());
        sequence = datagram.header.sequence;
    }

    // An update request to where the reports come from: a full report.
    let update = request(&Header::update_request(1, 0), None);
    socket.send_to(&update, sendstats_address).unwrap();
    let full = receive_full(&socket, 1, &mut sequence);
    let cpuinfo = text(decode(&full).unwrap().get(SectionTag::Cpuinfo).unwrap()).to_owned();
    assert_eq!(
        cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count(),
        8
    );

    // Slow down to one report an hour (and ask for a full report, which
    // tells us when the change was read): after that full report, silence.
    let slow = request(&Header::rate_change(2, 0), Some(3_600_000));
    socket.send_to(&slow, sendstats_address).unwrap();
    socket
        .send_to(
            &request(&Header::update_request(3, 0), None),
            sendstats_address,
        )
        .unwrap();
    receive_full(&socket, 2, &mut sequence);
    socket
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let silence = recv_from(&socket, &mut buf);
    assert!(
        silence
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut),
        "no report in 1.5 s at one an hour (was one per 0.2 s): {silence:?}"
    );
    socket.set_read_timeout(Some(PATIENCE)).unwrap();

    // Back to 0.2 s: reports resume without being asked.
    let fast = request(&Header::rate_change(4, 0), Some(200));
    socket.send_to(&fast, sendstats_address).unwrap();
    let (bytes, _) = receive(&socket);
    let resumed = decode(&bytes).unwrap().header;
    assert!(!resumed.is_full());
    assert_eq!(resumed.sequence, sequence + 1);
    sequence = resumed.sequence;

    // SIGHUP: a full report.
    sendstats.signal(libc::SIGHUP);
    receive_full(&socket, 2, &mut sequence);

    // Garbage and a request from a non-master node are ignored; a valid
    // request sent after them (same socket, so read after them) is still
    // answered, which also tells us the first two have been read.
    socket.send_to(b"not beostat", sendstats_address).unwrap();
    let mut not_master = Header::update_request(5, 0);
    not_master.node = 3;
    socket
        .send_to(&request(&not_master, None), sendstats_address)
        .unwrap();
    socket.send_to(&update, sendstats_address).unwrap();
    receive_full(&socket, 2, &mut sequence);

    sendstats.signal(libc::SIGTERM);
    let status = sendstats.wait();
    assert_eq!(status.code(), Some(0));

    let log = std::fs::read_to_string(logs.path()).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("asked for a report every 3600000 ms: now every 3600 s"),
        "{log}"
    );
    assert!(log.contains("update request from 127.0.0.1:"), "{log}");
    assert!(
        log.contains("ignored a datagram from 127.0.0.1:") && log.contains("(bad magic)"),
        "{log}"
    );
    assert!(log.contains("request not from a master"), "{log}");
    assert!(log.contains("stopping on a signal"), "{log}");
}

/// Runs a command line that must fail; returns (exit code, stderr).
fn failing(args: &[&str]) -> (Option<i32>, String) {
    let output = run(args);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}");
    (output.status.code(), stderr)
}

#[test]
fn bad_command_lines_fail_with_one_line_and_the_right_exit_code() {
    for (args, code, message) in [
        (
            &["-r", "0"][..],
            2,
            "sendstats: -r 0: must be more than 0 seconds\n",
        ),
        (
            &["-r", "abc"],
            2,
            "sendstats: -r abc: not a number of seconds\n",
        ),
        (
            &["-r", "-1"],
            2,
            "sendstats: -r -1: must be more than 0 seconds\n",
        ),
        (
            &["7", "127.0.0.1:99999"],
            2,
            "sendstats: bad address '127.0.0.1:99999': port must be between 1 and 65535\n",
        ),
        (
            &["7", "-a", "[::1"],
            2,
            "sendstats: bad address '[::1': missing ']'\n",
        ),
        (
            &["-i", "nosuchif0"],
            1,
            "sendstats: interface nosuchif0 does not exist\n",
        ),
        (
            &["-i", "lo"],
            1,
            "sendstats: interface lo does not support multicast\n",
        ),
        (
            &["--once", "7", "127.0.0.1", "--proc-root", "/nonexistent"],
            1,
            "sendstats: --proc-root /nonexistent: not a directory\n",
        ),
        (
            // Multicast leaves only on the interface named (issue 14).
            &["--once", "7"],
            2,
            "sendstats: multicast needs -i IFACE, the cluster interface (or give the \
             masters' addresses); see sendstats --help\n",
        ),
        (
            &["--once", "--proc-root", "/nonexistent", "-p", "0"],
            2,
            "sendstats: -p 0: port must be between 1 and 65535\n",
        ),
    ] {
        let (status, stderr) = failing(args);
        assert_eq!(status, Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr, message, "{args:?}");
    }
}

#[test]
fn unknown_options_get_clap_usage_errors() {
    let (status, stderr) = failing(&["--no-such-option"]);
    assert_eq!(status, Some(2));
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with("error:") && first.contains("--no-such-option"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage: sendstats"), "{stderr}");
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["-h", "--help"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains("Usage: sendstats [OPTIONS] [nodenumber] [ADDRESS[:PORT] ...]"));
        for option in [
            "--address",
            "--interface",
            "--port",
            "--rate",
            "--debug",
            "--foreground",
            "--once",
            "--pidfile",
            "--proc-root",
            "--statfs-path",
            "--full-interval",
            "--version",
        ] {
            assert!(help.contains(option), "{flag} lists {option}");
        }
        assert!(help.contains("239.255.30.40"), "the default group");
    }
    for flag in ["-v", "--version"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            format!("sendstats {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// Stops the detached daemon if the test fails before it does.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if alive(self.0) {
            // SAFETY: kill(2) of the daemon this test started.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

/// Whether /proc/<pid> is a process that has not exited (zombies have).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

#[test]
fn without_debug_it_detaches_writes_its_pidfile_and_stops_on_sigterm() {
    let (socket, port) = master();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("sendstats.pid");
    let mut parent = Running::spawn(
        &[
            "-r",
            "1",
            "7",
            &format!("127.0.0.1:{port}"),
            "--pidfile",
            pidfile.to_str().unwrap(),
            "--proc-root",
            sample("x86_64-vm-2cpu").to_str().unwrap(),
        ],
        Stdio::piped(),
    );
    let status = parent.wait();
    assert_eq!(status.code(), Some(0), "the parent returns once ready");

    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the pidfile exists when the command returns")
        .trim()
        .parse()
        .unwrap();
    assert_ne!(pid, parent.0.id() as i32, "the daemon is the forked child");
    let _daemon = KillOnDrop(pid);
    assert!(alive(pid), "the daemon runs");

    let (bytes, _) = receive(&socket);
    let header = decode(&bytes).unwrap().header;
    assert_eq!(header.node, 7);
    assert!(header.is_full());

    // SAFETY: kill(2) of the daemon this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let mut exited = false;
    for _ in 0..200 {
        if !alive(pid) {
            exited = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(exited, "the daemon exits on SIGTERM");
    for _ in 0..50 {
        if !pidfile.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!pidfile.exists(), "the pidfile is removed at exit");
}

/// Environment variable set in the copy of a test run inside its own
/// network namespace.
const IN_NETNS: &str = "BEOSTAT_TEST_IN_NETNS";

/// Multicast must never leave the machine: runs the test `name` again in
/// a network namespace of its own (`unshare -rn`: no root needed where user
/// namespaces are allowed) with a veth pair, and returns `None` in the
/// calling process once that run passed. Inside, it sets the pair up and
/// returns the interface to multicast on. The test is `#[ignore]`d for a
/// plain `cargo test`; under `--include-ignored` it fails where namespaces
/// cannot be made.
fn in_private_network(name: &str) -> Option<String> {
    let sh = |script: &str| {
        let output = Command::new("sh").args(["-c", script]).output().unwrap();
        assert!(output.status.success(), "{script}: {output:?}");
    };
    if std::env::var_os(IN_NETNS).is_some() {
        sh(
            "ip link set lo up && ip link add bs0 type veth peer name bs1 && \
            ip link set bs0 up && ip link set bs1 up && ip addr add 10.199.98.1/24 dev bs0",
        );
        return Some("bs0".to_owned());
    }
    let usable = Command::new("unshare")
        .args([
            "-rn", "ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        usable,
        "this test needs a network namespace with a veth pair: unshare -rn (user \
         namespaces, or root) and iproute2"
    );
    let output = Command::new("unshare")
        .arg("-rn")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(IN_NETNS, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "in its own network namespace: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    None
}

#[test]
#[ignore = "needs network namespaces (unshare -rn) and iproute2"]
fn with_no_address_it_multicasts_and_hears_requests_on_the_group() {
    use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
    let Some(interface) =
        in_private_network("with_no_address_it_multicasts_and_hears_requests_on_the_group")
    else {
        return;
    };
    let group = beostat::send::DEFAULT_GROUP_V4;
    // The master listens on the group, as an old multicast recvstats did;
    // port 0 picks a free port, which sendstats then shares (SO_REUSEADDR).
    let master = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    master.set_reuse_address(true).unwrap();
    master.bind(&SocketAddr::from((group, 0)).into()).unwrap();
    let name = std::ffi::CString::new(interface.clone()).unwrap();
    // SAFETY: a valid NUL-terminated interface name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(index, 0);
    master
        .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(index))
        .unwrap();
    master.set_multicast_all_v4(false).unwrap();
    let master: UdpSocket = master.into();
    master.set_read_timeout(Some(PATIENCE)).unwrap();
    let port = master.local_addr().unwrap().port();

    let mut sendstats = Running::spawn(
        &[
            "-d",
            "-r",
            "0.2",
            "-i",
            &interface,
            "-p",
            &port.to_string(),
            "11",
            "--proc-root",
            sample("x86_64-vm-2cpu").to_str().unwrap(),
        ],
        Stdio::null(),
    );
    // Our own requests loop back to us too: keep only STATUS datagrams.
    let status = |socket: &UdpSocket| loop {
        let (bytes, from) = receive(socket);
        if decode(&bytes).unwrap().header.message_type == MessageType::Status {
            return (bytes, from);
        }
    };
    let (bytes, _) = status(&master);
    let first = decode(&bytes).unwrap().header;
    assert_eq!(first.node, 11);
    assert!(first.is_full());
    let (bytes, _) = status(&master);
    let mut sequence = decode(&bytes).unwrap().header.sequence;
    assert!(!decode(&bytes).unwrap().header.is_full());

    // An update request multicast to the group reaches sendstats' listener.
    let sender = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    sender.set_multicast_loop_v4(true).unwrap();
    sender.set_multicast_ttl_v4(1).unwrap();
    let sender: UdpSocket = sender.into();
    let update = request(&Header::update_request(1, 0), None);
    let to = SocketAddr::from((group, port));
    beostat::send::net::set_multicast_if_v4_index(&socket2::SockRef::from(&sender), index).unwrap();
    sender.send_to(&update, to).unwrap();
    let mut found = false;
    for _ in 0..3 + SPACING_SLACK {
        let (bytes, _) = status(&master);
        let header = decode(&bytes).unwrap().header;
        assert!(header.sequence > sequence);
        sequence = header.sequence;
        if header.is_full() {
            found = true;
            break;
        }
    }
    assert!(found, "a full report answers the multicast update request");

    sendstats.signal(libc::SIGTERM);
    assert_eq!(sendstats.wait().code(), Some(0));
}

#[test]
fn with_a_key_file_every_datagram_is_signed_and_an_open_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key");
    std::fs::write(&key_path, b"a-cluster-secret-of-enough-bytes\n").unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = beostat::auth::Key::from_file(&key_path).unwrap();

    let (socket, port) = master();
    let output = run(&[
        "--once",
        "--key-file",
        key_path.to_str().unwrap(),
        "4",
        &format!("127.0.0.1:{port}"),
        "--proc-root",
        sample("x86_64-8cpu").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let datagrams = queued(&socket);
    assert!(!datagrams.is_empty());
    for bytes in &datagrams {
        let datagram = decode(bytes).unwrap();
        assert!(datagram.header.is_authenticated());
        assert!(
            key.verify(datagram.auth.as_ref().expect("a trailer")),
            "signed with the key"
        );
        let wrong = beostat::auth::Key::new(b"some-other-secret-entirely").unwrap();
        assert!(!wrong.verify(datagram.auth.as_ref().unwrap()));
    }

    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = failing(&[
        "--once",
        "--key-file",
        key_path.to_str().unwrap(),
        "4",
        "127.0.0.1:9",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("sendstats: ") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}
