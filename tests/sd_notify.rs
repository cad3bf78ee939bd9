//! Readiness for systemd `Type=notify` units: with `$NOTIFY_SOCKET` set, the
//! daemons send READY=1 once they serve and STOPPING=1 when they stop, as
//! datagrams to that unix socket (a path, or an abstract name `@name`).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::sample;

/// A daemon under test; killed if the test fails before it stops.
struct Running(Option<Child>);

impl Running {
    fn terminate(&mut self) -> Output {
        let child = self.0.take().unwrap();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut child = child;
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the daemon ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    /// Stops the daemon and returns what it printed (for failure messages).
    fn stderr_after_kill(&mut self) -> String {
        match self.0.take() {
            Some(mut child) => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                String::from_utf8_lossy(&output.stderr).into_owned()
            }
            None => String::new(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn receive(socket: &UnixDatagram, daemon: &mut Running, expecting: &str) -> String {
    let mut buffer = [0u8; 4096];
    match socket.recv(&mut buffer) {
        Ok(n) => String::from_utf8_lossy(&buffer[..n]).into_owned(),
        Err(e) => panic!(
            "no {expecting} from the daemon ({e}); its stderr:\n{}",
            daemon.stderr_after_kill()
        ),
    }
}

fn listen(socket: UnixDatagram) -> UnixDatagram {
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    socket
}

#[test]
fn recvstats_says_ready_only_once_the_files_exist_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("shm");
    std::fs::create_dir(&shm).unwrap();
    let socket_path = dir.path().join("notify");
    let socket = listen(UnixDatagram::bind(&socket_path).unwrap());
    let mut daemon = Running(Some(
        Command::new(env!("CARGO_BIN_EXE_recvstats"))
            .args([
                "-d",
                "-p",
                "0",
                "-i",
                "lo",
                "--config",
                "/nonexistent/config",
            ])
            .arg("--shm-dir")
            .arg(&shm)
            .arg("--proc-root")
            .arg(sample("x86_64-8cpu"))
            .env("NOTIFY_SOCKET", &socket_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start recvstats"),
    ));

    let first = receive(&socket, &mut daemon, "READY=1");
    assert_eq!(first, "READY=1");
    for file in ["beostat", "beostat.nodes"] {
        assert!(
            Path::new(&shm).join(file).is_file(),
            "READY=1 came before {file} existed"
        );
    }
    assert!(
        beostat::shm::Reader::new(&shm).node_count().is_ok(),
        "READY=1 came before the files were readable"
    );

    let output = daemon.terminate();
    let last = receive(&socket, &mut daemon, "STOPPING=1");
    assert_eq!(last, "STOPPING=1");
    assert!(
        output.status.success(),
        "recvstats exited with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sendstats_says_ready_on_an_abstract_socket() {
    let name = format!("beostat-test-notify-{}", std::process::id());
    let address = {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
    };
    let socket = listen(UnixDatagram::bind_addr(&address).unwrap());
    let master = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = master.local_addr().unwrap().port();
    let mut daemon = Running(Some(
        Command::new(env!("CARGO_BIN_EXE_sendstats"))
            .args(["-f", "-r", "1", "0"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--proc-root")
            .arg(sample("x86_64-vm-2cpu"))
            .env("NOTIFY_SOCKET", format!("@{name}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sendstats"),
    ));
    assert_eq!(receive(&socket, &mut daemon, "READY=1"), "READY=1");
    let output = daemon.terminate();
    assert_eq!(receive(&socket, &mut daemon, "STOPPING=1"), "STOPPING=1");
    assert!(
        output.status.success(),
        "sendstats exited with {}",
        output.status
    );
}

#[test]
fn without_notify_socket_nothing_is_sent_and_nothing_fails() {
    // The legacy case (init script, shell): the variable is absent.
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sendstats"))
        .args(["--once", "0", "127.0.0.1:9"])
        .arg("--proc-root")
        .arg(sample("x86_64-vm-2cpu"))
        .env_remove("NOTIFY_SOCKET")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("service manager"));
}
