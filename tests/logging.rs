//! The daemons' log lines on stderr: each is written whole, in one
//! write(2), and carries an sd-daemon(3) `<N>` priority prefix when stderr is
//! the journal stream named by `$JOURNAL_STREAM`, as under systemd.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Starts recvstats in the foreground with stderr going to `log`, waits
/// until it serves, stops it with SIGTERM and returns its exit status.
fn run_recvstats(program: &mut Command, shm: &Path, log: &Path) -> std::process::ExitStatus {
    let stderr = std::fs::File::create(log).unwrap();
    let mut child = program
        .args([
            "-f",
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
        .arg(common::sample("x86_64-8cpu"))
        .stderr(stderr)
        .stdout(Stdio::null())
        .spawn()
        .expect("start recvstats");
    // Bounded wait for "publishing in" (the files are ready).
    for _ in 0..3000 {
        if std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("publishing in")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // recvstats itself: the child, or strace's child when traced (strace
    // would detach on SIGTERM and leave recvstats running).
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let pid = std::fs::read_to_string(children)
        .ok()
        .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()))
        .unwrap_or(child.id() as libc::pid_t);
    // SAFETY: kill(2) on recvstats, which we started and have not reaped
    // (or strace's child, which strace has not reaped).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    child.wait().unwrap()
}

#[test]
fn lines_carry_priorities_when_stderr_is_the_journal_stream() {
    let scratch = tempfile::tempdir().unwrap();
    let shm = scratch.path().join("shm");
    std::fs::create_dir(&shm).unwrap();
    let log = scratch.path().join("journal-stream");
    // The "journal stream" is a file whose device and inode we name, as
    // systemd names the socket it connected to stderr.
    std::fs::write(&log, "").unwrap();
    let metadata = std::fs::metadata(&log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_recvstats"));
    command.env(
        "JOURNAL_STREAM",
        format!("{}:{}", metadata.dev(), metadata.ino()),
    );
    let status = run_recvstats(&mut command, &shm, &log);
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
    for line in text.lines() {
        assert!(
            ["<3>", "<4>", "<6>", "<7>"]
                .iter()
                .any(|p| line.starts_with(&format!("{p}recvstats: "))),
            "no priority prefix: {line:?}"
        );
    }
    assert!(
        text.contains("<6>recvstats: listening on UDP port"),
        "{text}"
    );

    // Without $JOURNAL_STREAM (a terminal, a file): no prefix.
    let plain = scratch.path().join("plain");
    let mut command = Command::new(env!("CARGO_BIN_EXE_recvstats"));
    command.env_remove("JOURNAL_STREAM");
    run_recvstats(&mut command, &shm, &plain);
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(text.starts_with("recvstats: "), "{text}");
}

// Regression: a line was written in about ten pieces, so two daemons
// sharing a terminal printed `recvstatssendstats: : shutting down`.
#[test]
#[ignore = "needs strace (apt-get install strace)"]
fn each_line_is_one_write() {
    let scratch = tempfile::tempdir().unwrap();
    let shm = scratch.path().join("shm");
    std::fs::create_dir(&shm).unwrap();
    let trace = scratch.path().join("trace");
    let mut command = Command::new("strace");
    command
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=write",
            "-e",
            "signal=none",
            "-s",
            "4096",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_recvstats"))
        .env_remove("JOURNAL_STREAM");
    let status = run_recvstats(&mut command, &shm, &scratch.path().join("log"));
    assert!(status.success(), "strace recvstats: {status}");
    let trace = std::fs::read_to_string(&trace).unwrap();
    let writes: Vec<&str> = trace
        .lines()
        .filter_map(|l| l.split_once("write(2, \"").map(|(_, rest)| rest))
        .collect();
    assert!(writes.len() >= 2, "no log writes traced:\n{trace}");
    for write in writes {
        let text = write.rsplit_once("\", ").unwrap().0;
        assert!(
            text.starts_with("recvstats: ")
                && text.ends_with("\\n")
                && text.matches("\\n").count() == 1,
            "not one whole line per write: {write:?}"
        );
    }
}
