//! recvstats' privileges and its shm directory, against the real binary:
//! `--user` drops root for good after the files and sockets are open (and
//! the daemon still publishes, grows the files and reads a root-only key),
//! and a directory others can write to, a planted symbolic link or a
//! directory the user cannot write are refused at startup with one line.
//! The root-only tests are #[ignore]d: `cargo test -- --include-ignored`
//! runs them (as root, as CI does).

mod common;
mod requirements;

use beostat::privilege::lookup;
use beostat::shm::Reader;
use common::daemon::{start, status};
use common::wait_for_node;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// recvstats in the foreground with `args`, expected to fail at startup.
fn recvstats_fails(shm: &Path, args: &[&str]) -> String {
    let output = recvstats(shm, args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

fn recvstats(shm: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recvstats"))
        .args(["-f", "-p", "0", "--config", "/nonexistent"])
        .arg("--shm-dir")
        .arg(shm)
        .args(args)
        .output()
        .unwrap()
}

/// The one error line of a failed startup (warnings aside).
fn error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("recvstats: error"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0]
}

/// `Name:\tv1\tv2...` of /proc/PID/status, as words.
fn status_field(pid: u32, name: &str) -> Vec<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "needs root"]
fn after_dropping_to_a_user_the_daemon_publishes_grows_and_cannot_regain_root() {
    requirements::root();
    let nobody = lookup("nobody").expect("this system has a nobody user");
    // The key is root's alone, in a directory only root can enter: it must
    // be read before the daemon gives up root.
    let secrets = tempfile::tempdir().unwrap();
    let key_path = secrets.path().join("key");
    fs::write(&key_path, b"the-cluster-shared-secret\n").unwrap();
    chmod(&key_path, 0o600);
    let key = beostat::auth::Key::from_file(&key_path).unwrap();
    let shm = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(shm.path(), Some(nobody.uid), Some(nobody.gid)).unwrap();
    chmod(shm.path(), 0o755);
    let pidfile = secrets.path().join("recvstats.pid");

    let mut daemon = start(
        shm.path(),
        &[
            "-N",
            "2",
            "--user",
            "nobody",
            "--key-file",
            key_path.to_str().unwrap(),
            "--pidfile",
            pidfile.to_str().unwrap(),
        ],
    );
    while !daemon.next_log_line().contains("running as nobody") {}
    let pid = daemon.child.id();
    let uid = nobody.uid.to_string();
    let gid = nobody.gid.to_string();
    assert_eq!(
        status_field(pid, "Uid"),
        [uid.clone(), uid.clone(), uid.clone(), uid]
    );
    assert_eq!(
        status_field(pid, "Gid"),
        [gid.clone(), gid.clone(), gid.clone(), gid.clone()]
    );
    assert_eq!(
        status_field(pid, "Groups"),
        [gid],
        "no supplementary group of root's"
    );
    for capabilities in ["CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(
            status_field(pid, capabilities),
            ["0000000000000000"],
            "{capabilities}"
        );
    }

    // A signed report from node 10, beyond -N 2: the node file grows, as
    // nobody, and the value arrives.
    let datagram = status(10, 4242, Some(&key));
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(&datagram, ("127.0.0.1", daemon.port))
        .unwrap();
    let reader = Reader::new(shm.path());
    for _ in 0..500 {
        if reader.loadavg(10).is_ok_and(|l| l.last_pid == 4242) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(reader.loadavg(10).unwrap().last_pid, 4242);
    wait_for_node(shm.path(), -1);
    assert_eq!(reader.node_count().unwrap(), 11, "nodes 0 to 10");

    let mut names = Vec::new();
    for entry in fs::read_dir(shm.path()).unwrap() {
        let entry = entry.unwrap();
        let metadata = entry.metadata().unwrap();
        names.push(entry.file_name().into_string().unwrap());
        assert_eq!(
            (metadata.uid(), metadata.gid(), metadata.mode() & 0o7777),
            (nobody.uid, nobody.gid, 0o644),
            "{:?}",
            entry.path()
        );
    }
    names.sort();
    // With the key, the replay windows too (issue 14), given to nobody.
    assert_eq!(
        names,
        ["beostat", "beostat.nodes", "beostat.replay"],
        "no temporary file left"
    );

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = daemon.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // nobody cannot remove a file from root's directory: it empties it, so
    // no stale pid is left for an init script to kill.
    assert_eq!(fs::read_to_string(&pidfile).unwrap(), "");
}

#[test]
#[ignore = "needs root"]
fn a_user_who_cannot_write_the_directory_is_refused_at_startup() {
    requirements::root();
    let shm = tempfile::tempdir().unwrap();
    chmod(shm.path(), 0o755);
    let stderr = recvstats_fails(shm.path(), &["--user", "nobody"]);
    let line = error_line(&stderr);
    assert!(line.contains("could not grow"), "{line}");
    assert!(
        line.contains(&format!("chown {}", lookup("nobody").unwrap().uid)),
        "{line}"
    );
}

#[test]
fn unknown_users_are_named() {
    let shm = tempfile::tempdir().unwrap();
    let stderr = recvstats_fails(shm.path(), &["--user", "no-such-user-beostat"]);
    assert!(
        error_line(&stderr).contains("--user no-such-user-beostat: no such user"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs root"]
fn only_root_can_switch_users() {
    requirements::root();
    let shm = tempfile::tempdir().unwrap();
    // As nobody (setpriv), in a directory nobody owns: switching to root fails.
    let nobody = lookup("nobody").unwrap();
    std::os::unix::fs::chown(shm.path(), Some(nobody.uid), Some(nobody.gid)).unwrap();
    let output = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            env!("CARGO_BIN_EXE_recvstats"),
            "-f",
            "-p",
            "0",
            "--config",
            "/nonexistent",
            "--user",
            "root",
            "--shm-dir",
        ])
        .arg(shm.path())
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        error_line(&stderr).contains("only root can switch users"),
        "{stderr}"
    );
}

#[test]
fn a_directory_others_can_write_is_refused_unless_allowed_and_links_never_followed() {
    let shm = tempfile::tempdir().unwrap();
    for mode in [0o1777, 0o777, 0o775] {
        chmod(shm.path(), mode);
        let stderr = recvstats_fails(shm.path(), &[]);
        let line = error_line(&stderr);
        assert!(line.contains(&format!("mode {mode:04o}")), "{line}");
        assert!(line.contains("--allow-insecure-dir"), "{line}");
        assert!(
            fs::read_dir(shm.path()).unwrap().next().is_none(),
            "nothing was created in a refused directory"
        );
    }

    // Allowed: it runs.
    chmod(shm.path(), 0o1777);
    let daemon = start(shm.path(), &["--allow-insecure-dir"]);
    wait_for_node(shm.path(), -1);
    drop(daemon);

    // But a planted link is still never followed, nor its target touched.
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("precious");
    fs::write(&target, b"keep me").unwrap();
    chmod(&target, 0o600);
    let planted = tempfile::tempdir().unwrap();
    chmod(planted.path(), 0o1777);
    std::os::unix::fs::symlink(&target, planted.path().join("beostat")).unwrap();
    let stderr = recvstats_fails(planted.path(), &["--allow-insecure-dir"]);
    assert!(error_line(&stderr).contains("symbolic link"), "{stderr}");
    assert_eq!(fs::read(&target).unwrap(), b"keep me");
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o7777, 0o600);
}
