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

use beostat::shm::layout::{beostat_shm_control, CONTROL_FILE_NAME, NODES_FILE_NAME};
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

/// Node numbers that reported once, two days ago (down).
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
fn report(w: &mut ShmWriter, node: i32, step: u64, time_ns: u64) {
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
    // A day: the up nodes must stay up however slowly a loaded machine
    // runs the browser.
    options.node_expiry_secs = 86_400;
    let mut w = ShmWriter::open(&options).unwrap();
    let now = now_ns();
    let two_days = 48 * 3600 * 1_000_000_000u64;
    // The down nodes first, then expired as the writer would after a
    // silence longer than the expiry (the machine may have booted less
    // than a day ago, so their monotonic time cannot simply be old).
    for node in (0..NODES).filter(|&n| starts_down(n) && !never_reports(n)) {
        report(&mut w, node, 0, now - two_days);
    }
    let later = monotonic_ns() + (u64::from(options.node_expiry_secs) + 1) * 1_000_000_000;
    assert_eq!(
        w.expire_at(later).len(),
        (0..NODES)
            .filter(|&n| starts_down(n) && !never_reports(n))
            .count()
    );
    report(&mut w, -1, 0, now - 2_000_000_000);
    report(&mut w, -1, 1, now);
    for node in (0..NODES).filter(|&n| !starts_down(n) && !never_reports(n)) {
        report(&mut w, node, 0, now - 2_000_000_000);
        report(&mut w, node, 1, now);
    }
    w
}

/// A pid above any kernel's pid_max: no process has it.
const NO_SUCH_PID: i32 = 0x3fff_fff0;

/// Makes the control file name a writer that is gone, as when recvstats
/// was killed and left its files (the test's own writer stays open).
fn name_a_dead_writer(dir: &Path) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(CONTROL_FILE_NAME))
        .unwrap();
    let offset = std::mem::offset_of!(beostat_shm_control, writer_pid) as u64;
    file.write_all_at(&NO_SUCH_PID.to_ne_bytes(), offset)
        .unwrap();
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
                report(&mut writer, 5, 1, now);
                report(&mut writer, NODE, 2, now);
                let second = expected(&reader);
                assert_eq!(second["up"], first["up"].as_u64().unwrap() + 1);
                assert_ne!(
                    second["busy"], first["busy"],
                    "the new report changes CPU use"
                );
                std::fs::write(&expected_path, second.to_string()).unwrap();
            }
            "writer-gone" => name_a_dead_writer(dir.path()),
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
    assert_eq!(steps, ["new-reports", "writer-gone", "remove-files"]);
    drop(writer);
}

/// One GET on a new connection: (status code, lower-case head, body
/// decompressed when gzipped).
fn fetch(address: &str, path: &str, gzip: bool) -> (u16, String, Vec<u8>) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut body = raw[end + 4..].to_vec();
    if head.contains("\r\ncontent-encoding: gzip") {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .unwrap();
        body = plain;
    }
    (status, head, body)
}

fn fetch_json(address: &str, path: &str) -> (u16, serde_json::Value) {
    let (status, head, body) = fetch(address, path, true);
    assert!(head.contains("content-type: application/json"), "{head}");
    (status, serde_json::from_slice(&body).unwrap())
}

#[test]
fn the_cluster_and_node_json_carry_what_the_reader_reads() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path());
    let reader = Reader::new(dir.path());
    let exporter = Exporter::start(dir.path(), &[]);
    let want = expected(&reader);

    let (status, cluster) = fetch_json(&exporter.address, "/api/cluster?metric=cpu&idle=0.5");
    assert_eq!(status, 200);
    for key in ["up", "down", "never", "idle_cpus"] {
        assert_eq!(cluster[key], want[key], "{key}");
    }
    let states = cluster["states"].as_str().unwrap();
    assert_eq!(states.len(), NODES as usize);
    assert_eq!(&states[5..8], "DUU", "5 down, 6 and 7 up");
    assert_eq!(&states[13..14], "-", "13 never reported");
    let data = reader.node(NODE).unwrap();
    let mean = (0..data.cpu_count as usize)
        .map(|c| data.cpu_percent(c).unwrap())
        .sum::<f32>()
        / data.cpu_count as f32;
    assert_eq!(
        cluster["values"][NODE as usize],
        (mean * 100.0).round() as i64
    );
    assert_eq!(cluster["values"][13], -1);
    let (_, memory) = fetch_json(&exporter.address, "/api/cluster?metric=mem");
    let fraction = beostat::cmd::memory_fraction(&data.meminfo).unwrap();
    assert_eq!(
        memory["values"][NODE as usize],
        (fraction * 100.0).round() as i64
    );
    let (_, net) = fetch_json(&exporter.address, "/api/cluster?metric=net");
    assert_eq!(net["values"][NODE as usize], data.net_rate);
    let (_, every) = fetch_json(&exporter.address, "/api/cluster?idle=9999");
    let (uid, gids) = credentials();
    assert_eq!(
        every["idle_cpus"],
        reader.count_idle_cpus(9999.0, uid, &gids).unwrap()
    );
    assert_eq!(
        every["idle_cpus"], every["cpus_up"],
        "every CPU of the up nodes"
    );

    let (status, node) = fetch_json(&exporter.address, &format!("/api/node?node={NODE}"));
    assert_eq!(status, 200);
    assert_eq!(node["beostat"]["name"], want["name"]);
    assert_eq!(node["mem_available_bytes"], 9 * GIB);
    let cpus = node["cpus"].as_array().unwrap();
    assert_eq!(cpus.len(), data.cpu_count as usize);
    for (c, cpu) in cpus.iter().enumerate() {
        let busy = reader.cpu_percent(NODE, c as i32).unwrap();
        assert_eq!(cpu["busy"].as_f64().unwrap() as f32, busy, "cpu{c}");
        let (now, then) = (data.cpu_times[c], data.cpu_times_previous[c]);
        let deltas = [
            now.user - then.user,
            now.nice - then.nice,
            now.system - then.system,
            now.idle - then.idle,
            now.iowait - then.iowait,
            now.irq - then.irq,
            now.softirq - then.softirq,
            now.steal - then.steal,
        ];
        assert_eq!(cpu["ticks"], json!(deltas), "cpu{c}");
        assert_eq!(
            deltas.iter().sum::<u64>(),
            1000,
            "one interval of 1,000 ticks"
        );
    }

    let (status, missing) = fetch_json(&exporter.address, "/api/node?node=13");
    assert_eq!(status, 404);
    assert!(
        missing["error"].as_str().unwrap().contains("13"),
        "{missing}"
    );
    assert_eq!(fetch_json(&exporter.address, "/api/node?node=x").0, 400);
    assert_eq!(
        fetch_json(&exporter.address, "/api/cluster?metric=disk").0,
        400
    );

    assert_eq!(cluster["writer_running"], true);
    name_a_dead_writer(dir.path());
    let (_, orphaned) = fetch_json(&exporter.address, "/api/cluster");
    assert_eq!(orphaned["writer_pid"], NO_SUCH_PID);
    assert_eq!(orphaned["writer_running"], false);
    assert_eq!(orphaned["up"], want["up"], "the data is still served");

    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    // The reader notices removed files at its next path check (at most a
    // second later); until then it serves what it has mapped.
    let gone = loop {
        match fetch_json(&exporter.address, "/api/cluster") {
            (503, gone) => break gone,
            (200, _) => std::thread::sleep(std::time::Duration::from_millis(100)),
            (status, body) => panic!("{status} {body}"),
        }
    };
    assert!(
        gone["error"].as_str().unwrap().contains("no such file"),
        "{gone}"
    );
}

#[test]
fn the_page_is_whole_in_the_binary_and_says_so_to_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path());
    let exporter = Exporter::start(dir.path(), &[]);
    for (path, kind) in [
        ("/web", "text/html"),
        ("/web/app.js", "text/javascript"),
        ("/web/style.css", "text/css"),
    ] {
        let (status, head, body) = fetch(&exporter.address, path, false);
        assert_eq!(status, 200, "{path}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{path}: {head}"
        );
        assert!(
            head.contains("content-security-policy: default-src 'none'"),
            "{head}"
        );
        let text = String::from_utf8(body).unwrap();
        // No asset from anywhere else: no absolute URL in any of the files.
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path}"
        );
        assert!(
            !text.contains("//cdn") && !text.contains("src=\"//"),
            "{path}"
        );
    }
    let (_, _, landing) = fetch(&exporter.address, "/", false);
    assert!(String::from_utf8(landing).unwrap().contains("href=\"web\""));
}

/// [`fetch`] with an `Authorization` header: the status only.
fn status_with(address: &str, path: &str, authorization: &str) -> u16 {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    String::from_utf8_lossy(&raw[9..12]).parse().unwrap()
}

#[test]
fn the_web_view_asks_for_the_same_basic_auth_as_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path());
    let web = tempfile::tempdir().unwrap();
    let config = web.path().join("web.yml");
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    std::fs::write(&config, format!("basic_auth_users:\n  admin: '{hash}'\n")).unwrap();
    let exporter = Exporter::start(dir.path(), &["--web.config.file", config.to_str().unwrap()]);
    // admin:s3cret, then admin:wrong.
    let good = "Authorization: Basic YWRtaW46czNjcmV0\r\n";
    let wrong = "Authorization: Basic YWRtaW46d3Jvbmc=\r\n";
    for path in [
        "/web",
        "/web/app.js",
        "/api/cluster",
        "/api/node?node=7",
        "/metrics",
    ] {
        assert_eq!(status_with(&exporter.address, path, ""), 401, "{path}");
        assert_eq!(status_with(&exporter.address, path, wrong), 401, "{path}");
        assert_eq!(status_with(&exporter.address, path, good), 200, "{path}");
    }
}
