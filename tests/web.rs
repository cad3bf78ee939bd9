//! The exporter's web view in a real browser: Debian's chromium, headless,
//! driven by playwright-core from npm (tests/web/browser.mjs), against a
//! real beostat-exporter reading shm files the writer made here.
//!
//! This side writes the cluster, works out what the page must show from
//! the reader (what the C API returns), and feeds the script one step at a
//! time over its stdin/stdout: new reports, then the files removed (as
//! when recvstats stops and its files go). Ignored by a plain `cargo test`
//! (it needs chromium and node); `.ci/run` installs both and runs it.
//! Screenshots go to the test's temporary directory, and to docs/ when
//! `BEOSTAT_UPDATE_SCREENSHOTS=1`.

use beostat::shm::layout::{CONTROL_FILE_NAME, NODES_FILE_NAME};
use beostat::shm::{
    beostat_cpu_times, monotonic_ns, now_ns, NodeUpdate, Reader, ShmWriter, WriterOptions,
};
use beostat::types::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::exporter::Exporter;

const NODES: i32 = 1000;
const GIB: u64 = 1 << 30;
/// The node the test opens.
const NODE: i32 = 7;

/// Node numbers below [`NODES`] that never report.
fn never_reports(node: i32) -> bool {
    node % 97 == 13
}

/// Node numbers whose last report is an hour old (down).
fn starts_down(node: i32) -> bool {
    node % 50 == 5
}

/// CPU `cpu`'s counters after `step` intervals of 1,000 ticks, each spent
/// in every mode (so every column of the page moves) in shares that vary
/// with the node, the interval and the CPU.
fn times(node: u64, step: u64, cpu: u64) -> beostat_cpu_times {
    let mut t = beostat_cpu_times {
        user: 100_000,
        nice: 100_000,
        system: 100_000,
        idle: 100_000,
        iowait: 100_000,
        irq: 100_000,
        softirq: 100_000,
        steal: 100_000,
    };
    for k in 0..=step {
        let busy = (node * 131 + k * 211 + cpu * 37) % 900 + 50;
        let (user, nice, system, irq, softirq) =
            (busy * 6 / 10, busy / 10, busy / 10, busy / 20, busy / 20);
        t.user += user;
        t.nice += nice;
        t.system += system;
        t.irq += irq;
        t.softirq += softirq;
        t.steal += busy - user - nice - system - irq - softirq;
        t.idle += (1000 - busy) * 9 / 10;
        t.iowait += (1000 - busy) - (1000 - busy) * 9 / 10;
    }
    t
}

/// One report of `node`: CPUs advanced by `step` seconds of use.
fn report(w: &mut ShmWriter, node: i32, step: u64, time_ns: u64, monotonic: Option<u64>) {
    let cpus = 4 + (node.max(0) as u64 % 3) * 2;
    let cpu_times: Vec<_> = (0..cpus)
        .map(|c| times(node.max(0) as u64, step, c))
        .collect();
    let mut eth0 = beostat_net_dev::default();
    eth0.set_name(b"eth0");
    eth0.recv.bytes = 1_000_000 * (step + 1) + node.max(0) as u64;
    eth0.trans.bytes = 500_000 * (step + 1);
    let mut statfs: libc::statfs = unsafe { std::mem::zeroed() };
    statfs.f_bsize = 4096;
    statfs.f_frsize = 4096;
    statfs.f_blocks = 26_214_400;
    statfs.f_bfree = 13_107_200;
    statfs.f_bavail = 12_000_000;
    let name = format!("n{node}");
    w.update(
        node,
        &NodeUpdate {
            time_ns,
            monotonic_ns: monotonic,
            name: Some(name.as_bytes()),
            loadavg: Some(beostat_loadavg {
                load: [cpus as f32 * 0.5, 1.0, 0.5],
                num_active_procs: 3,
                total_procs: 400,
                last_pid: 1234,
            }),
            meminfo: Some(beostat_meminfo {
                mem: beostat_memusage {
                    used: 5 * GIB + step * GIB / 4,
                    free: 11 * GIB - step * GIB / 4,
                },
                swap: beostat_memusage {
                    used: GIB / 8,
                    free: 2 * GIB - GIB / 8,
                },
                shared: GIB / 16,
                buffers: GIB / 4,
                cached: 2 * GIB,
            }),
            mem_available: Some(9 * GIB),
            net_dev: Some(&[eth0]),
            cpu_times: Some(&cpu_times),
            mhz: Some(2600.0),
            statfs: Some(statfs),
            ..Default::default()
        },
    )
    .unwrap();
}

fn write_cluster(dir: &Path) -> ShmWriter {
    let mut options = WriterOptions::new(dir);
    options.node_capacity = NODES as u32 + 1;
    let mut w = ShmWriter::open(&options).unwrap();
    let now = now_ns();
    let hour = 3600 * 1_000_000_000u64;
    report(&mut w, -1, 0, now - 2_000_000_000, None);
    report(&mut w, -1, 1, now, None);
    for node in 0..NODES {
        if never_reports(node) {
            continue;
        }
        if starts_down(node) {
            let old = Some(monotonic_ns().saturating_sub(hour));
            report(&mut w, node, 0, now - hour, old);
            continue;
        }
        report(&mut w, node, 0, now - 2_000_000_000, None);
        report(&mut w, node, 1, now, None);
    }
    w
}

fn credentials() -> (libc::uid_t, Vec<libc::gid_t>) {
    // SAFETY: getuid/getgid have no preconditions.
    unsafe { (libc::getuid(), vec![libc::getgid()]) }
}

/// What the page must show, from the reader (the C API's values).
fn expected(reader: &Reader) -> serde_json::Value {
    let (mut up, mut down, mut never) = (0, 0, 0);
    for node in 0..NODES {
        match reader.state(node) {
            Ok(beostat::shm::NodeState::Up) => up += 1,
            Ok(beostat::shm::NodeState::Down) => down += 1,
            Err(beostat::Error::UnknownNode(_)) => never += 1,
            Err(e) => panic!("{e}"),
        }
    }
    let (uid, gids) = credentials();
    let idle = reader.count_idle_cpus(0.5, uid, &gids).unwrap();
    let cpus = reader.cpu_count(NODE).unwrap();
    let busy: Vec<String> = (0..cpus)
        .map(|c| format!("{:.1}%", reader.cpu_percent(NODE, c).unwrap() * 100.0))
        .collect();
    let mem = reader.meminfo(NODE).unwrap();
    let eth0 = reader.net_dev(NODE).unwrap()[0];
    json!({
        "up": up,
        "down": down,
        "never": never,
        "idle_cpus": idle,
        "node": NODE,
        "name": String::from_utf8(reader.name(NODE).unwrap()).unwrap(),
        "busy": busy,
        "mem_total": mem.mem.used + mem.mem.free,
        "mem_used": mem.mem.used,
        "swap_used": mem.swap.used,
        "eth0_received": eth0.recv.bytes,
    })
}

fn screenshot_dir() -> PathBuf {
    if std::env::var_os("BEOSTAT_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
    } else {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

#[test]
#[ignore = "needs chromium and node"]
fn the_web_view_in_chromium_shows_the_cluster_and_a_node_and_follows_updates() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = write_cluster(dir.path());
    let reader = Reader::new(dir.path());
    let exporter = Exporter::start(dir.path(), &[]);
    let first = expected(&reader);
    // The counts the fixture was built with, so the reader is checked too.
    let never = (0..NODES).filter(|&n| never_reports(n)).count();
    let down = (0..NODES)
        .filter(|&n| starts_down(n) && !never_reports(n))
        .count();
    assert_eq!(first["never"], never);
    assert_eq!(first["down"], down);
    assert_eq!(first["up"], NODES as usize - never - down);

    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-test");
    std::fs::create_dir_all(&work).unwrap();
    let expected_path = work.join("expected.json");
    std::fs::write(&expected_path, first.to_string()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/browser.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .env("BEOSTAT_URL", format!("http://{}", exporter.address))
        .env("BEOSTAT_EXPECTED", &expected_path)
        .env("BEOSTAT_SHOTS", screenshot_dir())
        .env("BEOSTAT_PROFILE", work.join("profile"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node (install nodejs, and `npm ci` in tests/web)");
    let mut to_script = child.stdin.take().unwrap();
    let from_script = BufReader::new(child.stdout.take().unwrap());
    let mut steps = Vec::new();
    for line in from_script.lines() {
        let line = line.unwrap();
        println!("browser.mjs: {line}");
        let Some(step) = line.strip_prefix("STEP ") else {
            continue;
        };
        steps.push(step.to_string());
        match step {
            "new-reports" => {
                // Node 5 comes back up, and the node on show reports again.
                let now = now_ns();
                report(&mut writer, 5, 1, now, None);
                report(&mut writer, NODE, 2, now, None);
                let second = expected(&reader);
                assert_eq!(second["up"], first["up"].as_u64().unwrap() + 1);
                assert_ne!(
                    second["busy"], first["busy"],
                    "the new report changes CPU use"
                );
                std::fs::write(&expected_path, second.to_string()).unwrap();
            }
            "remove-files" => {
                for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
                    std::fs::remove_file(dir.path().join(name)).unwrap();
                }
            }
            other => panic!("unknown step {other:?}"),
        }
        writeln!(to_script, "go").unwrap();
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "browser.mjs failed: {status}");
    assert_eq!(steps, ["new-reports", "remove-files"]);
    drop(writer);
}
