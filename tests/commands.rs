//! The commands end to end: `beostat`, `beostatus` and `beostat-exporter`
//! run as real binaries on shm files the writer made with known values, and
//! their output compared with those values. The exporter's scrape goes
//! through a Prometheus text-format parser; every command's errors (missing,
//! unreadable, foreign and newer files) are checked to be one line.

mod requirements;

use beostat::cmd::table::{self, NodeRow};
use beostat::cmd::tui::{draw, Screen};
use beostat::cmd::Snapshot;
use beostat::shm::layout::{BEOSTAT_SHM_LAYOUT_VERSION, CONTROL_FILE_NAME, NODES_FILE_NAME};
use beostat::shm::{now_ns, Counter, NodeUpdate, Reader, ShmWriter, WriterOptions};
use beostat::types::*;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BEOSTAT: &str = env!("CARGO_BIN_EXE_beostat");
const BEOSTATUS: &str = env!("CARGO_BIN_EXE_beostatus");
const EXPORTER: &str = env!("CARGO_BIN_EXE_beostat-exporter");
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn cpu(user: i64, system: i64, nice: i64, idle: i64) -> beostat_stat_cpu {
    beostat_stat_cpu {
        user,
        system,
        nice,
        idle,
    }
}

fn net(name: &str, recv: u64, trans: u64) -> beostat_net_dev {
    let mut dev = beostat_net_dev::default();
    dev.set_name(name.as_bytes());
    dev.recv = beostat_net_stat {
        bytes: recv,
        packets: recv / 100,
        errs: 1,
        drop: 2,
        ..Default::default()
    };
    dev.trans = beostat_net_stat {
        bytes: trans,
        packets: trans / 100,
        ..Default::default()
    };
    dev
}

/// The fixture every test reads:
/// - master: 2 CPUs at 3000 MHz, load 0.25 0.50 0.75;
/// - node 0 ("n0"): up, two reports 2 s apart; 4 CPUs at 2400 MHz busy
///   100%, 25%, 50% and 0% between them; 4 GiB memory, 3 GiB used of which
///   128 MiB buffers and 512 MiB cache (59% held by programs); 1 GiB swap,
///   256 MiB used; eth0 received 1000 -> 5000 and sent 2000 -> 4000 bytes
///   (3000 B/s over the 2 s); a 100 GiB root filesystem, half free;
/// - node 1 ("n1"): last report an hour ago, so down;
/// - node 2: never reported;
/// - node 3 ("n3"): 9 GiB memory, 6 GiB used, 1 GiB buffers, 1 GiB cache
///   (44% held by programs);
/// - recvstats counters: 100 received, 3 bad magic, 2 parse errors.
fn write_fixture(dir: &Path) -> ShmWriter {
    let mut options = WriterOptions::new(dir);
    options.node_capacity = 4;
    options.cpu_capacity = 4;
    let mut w = ShmWriter::open(&options).unwrap();
    let now = now_ns();
    w.update(
        -1,
        &NodeUpdate {
            name: Some(b"master"),
            loadavg: Some(beostat_loadavg {
                load: [0.25, 0.5, 0.75],
                num_active_procs: 2,
                total_procs: 300,
                last_pid: 4242,
            }),
            stat_cpu: Some(&[cpu(1, 1, 0, 8), cpu(2, 2, 0, 6)]),
            mhz: Some(3000.0),
            ..Default::default()
        },
    )
    .unwrap();

    let mut statfs = statfs_zeroed();
    statfs.f_bsize = 4096;
    statfs.f_frsize = 4096;
    statfs.f_blocks = 26_214_400;
    statfs.f_bfree = 13_107_200;
    statfs.f_bavail = 12_000_000;
    statfs.f_files = 1000;
    statfs.f_ffree = 500;
    w.update(
        0,
        &NodeUpdate {
            time_ns: now - 2_000_000_000,
            name: Some(b"n0"),
            stat_cpu: Some(&[
                cpu(500, 500, 0, 1000),
                cpu(1000, 2000, 10, 4000),
                cpu(0, 0, 0, 0),
                cpu(10, 10, 10, 10),
            ]),
            net_dev: Some(&[net("eth0", 1000, 2000), net("lo", 77, 77)]),
            ..Default::default()
        },
    )
    .unwrap();
    w.update(
        0,
        &NodeUpdate {
            time_ns: now,
            loadavg: Some(beostat_loadavg {
                load: [1.5, 1.25, 1.0],
                num_active_procs: 5,
                total_procs: 512,
                last_pid: 31337,
            }),
            meminfo: Some(beostat_meminfo {
                mem: beostat_memusage {
                    used: 3 * GIB,
                    free: GIB,
                },
                swap: beostat_memusage {
                    used: 256 * MIB,
                    free: 768 * MIB,
                },
                shared: 64 * MIB,
                buffers: 128 * MIB,
                cached: 512 * MIB,
            }),
            stat_cpu: Some(&[
                cpu(550, 550, 0, 1000),
                cpu(1015, 2010, 10, 4075),
                cpu(50, 0, 0, 50),
                cpu(10, 10, 10, 110),
            ]),
            net_dev: Some(&[net("eth0", 5000, 4000), net("lo", 77, 77)]),
            mhz: Some(2400.0),
            statfs: Some(statfs),
            ..Default::default()
        },
    )
    .unwrap();
    w.update(
        1,
        &NodeUpdate {
            time_ns: now - 3600 * 1_000_000_000,
            name: Some(b"n1"),
            stat_cpu: Some(&[cpu(0, 0, 0, 100), cpu(0, 0, 0, 100)]),
            ..Default::default()
        },
    )
    .unwrap();
    w.update(
        3,
        &NodeUpdate {
            time_ns: now,
            name: Some(b"n3"),
            stat_cpu: Some(&[cpu(60, 0, 0, 40)]),
            meminfo: Some(beostat_meminfo {
                mem: beostat_memusage {
                    used: 6 * GIB,
                    free: 3 * GIB,
                },
                buffers: GIB,
                cached: GIB,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .unwrap();
    w.add_counter(Counter::DatagramsReceived, 100);
    w.add_counter(Counter::DroppedBadMagic, 3);
    w.add_counter(Counter::ParseErrors, 2);
    w
}

fn fixture() -> (tempfile::TempDir, ShmWriter) {
    let dir = tempfile::tempdir().unwrap();
    let writer = write_fixture(dir.path());
    (dir, writer)
}

fn run(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .arg("--shm-dir")
        .arg(dir)
        .args(args)
        .env_remove("BEOSTAT_SHM_DIR")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// Runs and expects success; returns stdout.
fn stdout_of(program: &str, dir: &Path, args: &[&str]) -> String {
    let output = run(program, dir, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The block `beostat` printed for the node whose heading starts `heading`.
fn block<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("no block {heading:?} in:\n{text}"));
    lines[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect()
}

#[test]
fn beostat_text_shows_every_source_of_every_node_in_human_units() {
    let (dir, _writer) = fixture();
    let text = stdout_of(BEOSTAT, dir.path(), &[]);
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(headings.len(), 4, "master, 0, 1, 3:\n{text}");
    assert!(headings[0].starts_with("master: up, last report "));

    let n0 = block(&text, "node 0 ");
    assert!(
        n0[0].starts_with("node 0 (n0): up, last report ") && n0[0].ends_with("s ago"),
        "{}",
        n0[0]
    );
    let expected = [
        "  cpuinfo  4 CPUs, 2400 MHz",
        "  meminfo  memory 4.0 GiB total, 3.0 GiB used (128.0 MiB buffers, 512.0 MiB cached), 1.0 GiB free, 64.0 MiB shared",
        "           swap 1.0 GiB total, 256.0 MiB used, 768.0 MiB free",
        "  loadavg  1.50 1.25 1.00, 5/512 processes running, last pid 31337",
        "  net      2.9 KiB/s over 2 interfaces",
        "           interface  received  packets  errs  drop  transmitted  packets  errs  drop",
        "           eth0        4.9 KiB       50     1     2      3.9 KiB       40     0     0",
        "           lo             77 B        0     1     2         77 B        0     0     0",
        "  stat     ticks (1/100 s) since boot; busy: since the previous report",
        "           cpu   user  nice  system  idle  busy",
        "           cpu0   550     0     550  1000  100%",
        "           cpu1  1015    10    2010  4075   25%",
        "           cpu2    50     0       0    50   50%",
        "           cpu3    10    10      10   110    0%",
        "  disk     / 100.0 GiB total, 50.0 GiB free, 45.8 GiB available, 52% used; 500 of 1000 inodes free",
    ];
    assert_eq!(&n0[1..], &expected[..], "node 0 block:\n{}", n0.join("\n"));

    let n1 = block(&text, "node 1 ");
    assert_eq!(n1[0], "node 1 (n1): down (last report 1h00m ago)");
    assert!(
        n1.contains(&"           cpu0     0     0       0   100    0%"),
        "a down node still shows its last data:\n{}",
        n1.join("\n")
    );
}

#[test]
fn beostat_options_choose_sources_nodes_and_raw_bytes() {
    let (dir, _writer) = fixture();
    let text = stdout_of(
        BEOSTAT,
        dir.path(),
        &["--meminfo", "--loadavg", "-n", "0", "--bytes"],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("node 0 (n0): up"));
    assert_eq!(
        lines[1],
        "  meminfo  memory 4294967296 total, 3221225472 used (134217728 buffers, 536870912 cached), 1073741824 free, 67108864 shared"
    );
    assert!(lines[3].starts_with("  loadavg  1.50 1.25 1.00"));

    // Ranges take the nodes that exist; `master` is -1.
    let text = stdout_of(BEOSTAT, dir.path(), &["-c", "-n", "master", "-n", "1-9"]);
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(headings.len(), 3, "{text}");
    assert!(headings[0].starts_with("master:"));
    assert!(headings[1].starts_with("node 1 (n1): down"));
    assert!(headings[2].starts_with("node 3 (n3): up"));
    assert!(text.contains("  cpuinfo  2 CPUs, 3000 MHz\n"));
}

#[test]
fn beostat_names_a_node_that_never_reported_after_showing_the_others() {
    let (dir, _writer) = fixture();
    let output = run(BEOSTAT, dir.path(), &["-n", "0,2", "-c"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("node 0 (n0): up"), "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "beostat: node 2: no such node\n"
    );
}

#[test]
fn beostat_json_follows_the_documented_schema() {
    let (dir, _writer) = fixture();
    let text = stdout_of(BEOSTAT, dir.path(), &["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["schema"], "beostat/1");
    assert_eq!(doc["node_expiry_seconds"], 30);
    let nodes = doc["nodes"].as_array().unwrap();
    let numbers: Vec<i64> = nodes.iter().map(|n| n["node"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [-1, 0, 1, 3]);

    let n0 = &nodes[1];
    assert_eq!(n0["name"], "n0");
    assert_eq!(n0["state"], "up");
    assert!(n0["age_seconds"].as_u64().unwrap() <= 5);
    assert_eq!(
        n0["last_report"].as_i64().unwrap(),
        doc["taken_at"].as_i64().unwrap() - n0["age_seconds"].as_i64().unwrap()
    );
    assert_eq!(n0["cpuinfo"]["cpus"], 4);
    assert_eq!(n0["cpuinfo"]["mhz"], 2400.0);
    let memory = &n0["meminfo"]["memory"];
    assert_eq!(memory["total_bytes"], 4 * GIB);
    assert_eq!(memory["used_bytes"], 3 * GIB);
    assert_eq!(memory["free_bytes"], GIB);
    assert_eq!(memory["shared_bytes"], 64 * MIB);
    assert_eq!(memory["buffers_bytes"], 128 * MIB);
    assert_eq!(memory["cached_bytes"], 512 * MIB);
    assert_eq!(n0["meminfo"]["swap"]["total_bytes"], GIB);
    assert_eq!(n0["meminfo"]["swap"]["used_bytes"], 256 * MIB);
    assert_eq!(n0["loadavg"]["load1"], 1.5);
    assert_eq!(n0["loadavg"]["load15"], 1.0);
    assert_eq!(n0["loadavg"]["running"], 5);
    assert_eq!(n0["loadavg"]["processes"], 512);
    assert_eq!(n0["loadavg"]["last_pid"], 31337);
    assert_eq!(n0["net"]["rate_bytes_per_second"], 3000);
    let eth0 = &n0["net"]["interfaces"][0];
    assert_eq!(eth0["name"], "eth0");
    assert_eq!(eth0["receive"]["bytes"], 5000);
    assert_eq!(eth0["receive"]["packets"], 50);
    assert_eq!(eth0["receive"]["errs"], 1);
    assert_eq!(eth0["transmit"]["bytes"], 4000);
    assert_eq!(n0["stat"]["user_hz"], 100);
    let cpus = n0["stat"]["cpus"].as_array().unwrap();
    let busy: Vec<f64> = cpus
        .iter()
        .map(|c| c["busy_percent"].as_f64().unwrap())
        .collect();
    assert_eq!(busy, [100.0, 25.0, 50.0, 0.0]);
    assert_eq!(cpus[1]["user"], 1015);
    assert_eq!(cpus[1]["system"], 2010);
    assert_eq!(cpus[1]["nice"], 10);
    assert_eq!(cpus[1]["idle"], 4075);
    assert_eq!(n0["disk"]["size_bytes"], 100 * GIB);
    assert_eq!(n0["disk"]["free_bytes"], 50 * GIB);
    assert_eq!(n0["disk"]["avail_bytes"], 12_000_000u64 * 4096);
    assert_eq!(n0["disk"]["files_free"], 500);

    let n1 = &nodes[2];
    assert_eq!(n1["state"], "down");
    assert!((3600..3610).contains(&n1["age_seconds"].as_u64().unwrap()));
    assert!(n1["disk"].is_null(), "no filesystem reported: null");

    // Sections not asked for are absent, not null.
    let text = stdout_of(BEOSTAT, dir.path(), &["--json", "-l", "-n", "3"]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let n3 = doc["nodes"][0].as_object().unwrap();
    let mut keys: Vec<&str> = n3.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "age_seconds",
            "last_report",
            "loadavg",
            "name",
            "node",
            "state"
        ]
    );
}

/// The fixture's rows as beostatus makes them (everyone may use up nodes).
fn fixture_rows(dir: &Path) -> Vec<NodeRow> {
    let snapshot = Snapshot::read(&Reader::new(dir)).unwrap();
    table::rows(&snapshot, |_| true)
}

#[test]
fn beostatus_once_prints_the_classic_table_as_plain_text() {
    let (dir, _writer) = fixture();
    let text = stdout_of(BEOSTATUS, dir.path(), &["--once"]);
    assert!(!text.contains('\x1b'), "no control codes: {text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(
        lines[0],
        "Node    Up   State       CPU0  CPU1  CPU2  CPU3  Memory  Swap  Disk    Network"
    );
    assert_eq!(
        lines[2],
        "0       yes  up          100%   25%   50%    0%     59%   25%   52%  2.9 KiB/s"
    );
    assert_eq!(
        lines[3],
        "1       no   down 1h00m    0%    0%                   -     -     -      0 B/s"
    );
    assert_eq!(
        lines[4],
        "3       yes  up           60%                       44%     -     -      0 B/s"
    );
}

#[test]
fn beostatus_once_compact_prints_one_character_per_node() {
    let (dir, _writer) = fixture();
    let text = stdout_of(BEOSTATUS, dir.path(), &["--once", "--compact"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "4 nodes: 3 up, 1 down");
    assert!(lines[1].starts_with("mean CPU use: "));
    // The master's one sample counts from boot: 20% and 40%.
    assert_eq!(lines[2], "master o");
    // Node 0 averages 44% (o), 1 is down (x), 2 never reported (-), 3 is 60% (O).
    assert_eq!(lines[3], "     0 ox-O");
}

/// Renders `screen` into a test backend; returns its lines and the buffer.
fn render(screen: &Screen, width: u16, height: u16) -> (Vec<String>, ratatui::buffer::Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, screen)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let lines = (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect();
    (lines, buffer)
}

#[test]
fn beostatus_screen_shows_each_node_and_greys_out_the_down_one() {
    let (dir, _writer) = fixture();
    let screen = Screen {
        rows: fixture_rows(dir.path()),
        compact: false,
        offset: 0,
        cpu_columns: 8,
        interval: Duration::from_secs(5),
        error: None,
    };
    let (lines, buffer) = render(&screen, 90, 10);
    assert_eq!(
        lines[0].trim_end(),
        "beostatus  4 nodes: 3 up, 1 down  every 5s  classic"
    );
    assert_eq!(
        lines[1].trim_end(),
        "Node   Up State      CPU0 CPU1 CPU2 CPU3 Memory  Swap  Disk     Network"
    );
    assert_eq!(
        lines[3].trim_end(),
        "0      ✓  up         100%  25%  50%   0%    59%   25%   52%   2.9 KiB/s"
    );
    assert_eq!(
        lines[4].trim_end(),
        "1      ✗  down 1h00m   0%   0%                -     -     -       0 B/s"
    );
    assert!(
        lines[5].starts_with("3      ✓  up          60%"),
        "{}",
        lines[5]
    );
    assert!(
        lines[5].contains("   44% "),
        "node 3's memory: {}",
        lines[5]
    );
    assert!(lines[9].starts_with("q quit"));
    // Colours: node 0's busy CPU0 is red, its idle CPU3 green; the down row is grey.
    let cell = |x: u16, y: u16| buffer[(x, y)].clone();
    assert_eq!(cell(22, 3).fg, Color::Red, "CPU0 of node 0");
    assert_eq!(cell(37, 3).fg, Color::Green, "CPU3 of node 0");
    assert_eq!(cell(0, 4).fg, Color::DarkGray, "the down node's row");
    assert_eq!(cell(60, 4).fg, Color::DarkGray, "the down node's data");
    assert_eq!(cell(7, 3).fg, Color::Green, "node 0's check mark");
    assert_eq!(cell(7, 4).fg, Color::Red, "node 1's cross");
}

#[test]
fn beostatus_compact_screen_colours_one_cell_per_node() {
    let (dir, _writer) = fixture();
    let screen = Screen {
        rows: fixture_rows(dir.path()),
        compact: true,
        offset: 0,
        cpu_columns: 8,
        interval: Duration::from_secs(2),
        error: None,
    };
    let (lines, buffer) = render(&screen, 60, 6);
    assert!(lines[0].ends_with("compact") || lines[0].trim_end().ends_with("compact"));
    assert_eq!(lines[1].trim_end(), "master ■");
    assert!(lines[2].starts_with("mean CPU: "));
    assert_eq!(lines[3].trim_end(), "    0 ■■·■");
    let colours: Vec<Color> = (6..10).map(|x| buffer[(x, 3)].fg).collect();
    assert_eq!(
        colours,
        [
            Color::Yellow,
            Color::DarkGray,
            Color::DarkGray,
            Color::LightRed
        ],
        "node 0 at 44%, node 1 down, node 2 missing, node 3 at 60%"
    );
}

/// Runs beostatus's real terminal loop inside tmux, reads the screen, and
/// quits with `q`.
#[test]
#[ignore = "needs tmux"]
fn beostatus_runs_in_a_real_terminal_and_quits_on_q() {
    requirements::tool("tmux", "-V", "tmux");
    let (dir, _writer) = fixture();
    let socket = dir.path().join("tmux.sock");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap()
    };
    /// Stops this test's tmux server (and beostatus in it) on every exit.
    struct Server(std::path::PathBuf);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .arg("-S")
                .arg(&self.0)
                .arg("kill-server")
                .output();
        }
    }
    let _server = Server(socket.clone());
    let command = format!(
        "{BEOSTATUS} --shm-dir {} -i 1; echo exit=$?; sleep 30",
        dir.path().display()
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "12",
        "-s",
        "t",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    let capture =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned();
    let wait_for = |what: &str| {
        for _ in 0..100 {
            let screen = capture();
            if screen.contains(what) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{what:?} never appeared:\n{}", capture());
    };
    let screen = wait_for("q quit");
    assert!(screen.contains("4 nodes: 3 up, 1 down"), "{screen}");
    assert!(screen.contains("down 1h00m"), "{screen}");
    tmux(&["send-keys", "-t", "t", "c"]);
    // The footer names both views ("c classic/compact"), so wait for the
    // title's view name, then for the cells themselves.
    let screen = wait_for("every 1s  compact");
    assert!(screen.contains("    0 ■■·■"), "{screen}");
    tmux(&["send-keys", "-t", "t", "q"]);
    let screen = wait_for("exit=");
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        !screen.contains("q quit"),
        "the alternate screen is gone:\n{screen}"
    );
}

/// A running exporter; killed when dropped.
struct Exporter {
    child: Child,
    address: String,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_exporter(dir: &Path, extra: &[&str]) -> Exporter {
    let mut child = Command::new(EXPORTER)
        .arg("--shm-dir")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start beostat-exporter");
    let mut line = String::new();
    // Only the first line is read, then stderr is closed: the exporter must
    // keep serving (and logging) with a closed stderr. Regression: its
    // eprintln! panicked on EPIPE and tiny_http answered 500.
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim_end()
        .strip_prefix("beostat-exporter: listening on http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Exporter { child, address }
}

/// GETs `path`; returns the status line, the headers and the body.
fn get(address: &str, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a header");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_string(), body.to_string())
}

/// Checks the text format's rules the parser does not enforce: every line
/// is a HELP, a TYPE or a sample the parser recognises; each family has
/// one HELP and one TYPE before its samples, and its samples are together.
fn check_exposition(body: &str) {
    use prometheus_parse::LineInfo;
    let mut seen = std::collections::HashSet::new();
    let mut current = String::new();
    for line in body.lines() {
        match LineInfo::parse(line) {
            LineInfo::Doc { metric_name, .. } => {
                assert!(
                    seen.insert(metric_name.to_string()),
                    "family {metric_name} twice"
                );
                current = metric_name.to_string();
            }
            LineInfo::Type { metric_name, .. } => {
                assert_eq!(metric_name, current, "TYPE right after its HELP");
            }
            LineInfo::Sample { metric_name, .. } => {
                assert_eq!(metric_name, current, "sample outside its family: {line}");
            }
            LineInfo::Empty | LineInfo::Ignored => panic!("not a valid line: {line:?}"),
        }
    }
}

#[test]
fn exporter_serves_the_fixture_in_the_prometheus_text_format() {
    let (dir, _writer) = fixture();
    let exporter = start_exporter(dir.path(), &[]);
    let (status, headers, body) = get(&exporter.address, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{headers}"
    );
    check_exposition(&body);
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |metric: &str, labels: &[(&str, &str)]| -> f64 {
        let matching: Vec<f64> = scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{metric}: unexpected {other:?}"),
            })
            .collect();
        assert_eq!(matching.len(), 1, "{metric}{labels:?}: {matching:?}");
        matching[0]
    };
    let counter = |metric: &str, labels: &[(&str, &str)]| {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("no {metric}"));
        assert!(
            matches!(sample.value, prometheus_parse::Value::Counter(_)),
            "{metric} is a counter"
        );
        value(metric, labels)
    };
    let node = |n: &'static str| [("node", n)];

    assert_eq!(value("beostat_node_up", &node("0")), 1.0);
    assert_eq!(value("beostat_node_up", &node("1")), 0.0);
    assert_eq!(value("beostat_node_up", &node("-1")), 1.0);
    let now = now_ns() as f64 / 1e9;
    let seen0 = value("beostat_node_last_seen_timestamp_seconds", &node("0"));
    let seen1 = value("beostat_node_last_seen_timestamp_seconds", &node("1"));
    assert!((now - seen0).abs() < 30.0, "{now} {seen0}");
    assert!((seen0 - seen1 - 3600.0).abs() < 0.001, "{seen0} {seen1}");
    assert_eq!(
        value("beostat_node_info", &[("node", "3"), ("name", "n3")]),
        1.0
    );
    assert_eq!(value("beostat_node_load1", &node("0")), 1.5);
    assert_eq!(value("beostat_node_load5", &node("-1")), 0.5);
    assert_eq!(value("beostat_node_load15", &node("0")), 1.0);
    assert_eq!(value("beostat_node_procs_running", &node("0")), 5.0);
    assert_eq!(
        value("beostat_node_memory_total_bytes", &node("0")),
        (4 * GIB) as f64
    );
    assert_eq!(
        value("beostat_node_memory_free_bytes", &node("0")),
        GIB as f64
    );
    assert_eq!(
        value("beostat_node_memory_buffers_bytes", &node("0")),
        (128 * MIB) as f64
    );
    assert_eq!(
        value("beostat_node_memory_cached_bytes", &node("0")),
        (512 * MIB) as f64
    );
    assert_eq!(
        value("beostat_node_swap_total_bytes", &node("0")),
        GIB as f64
    );
    assert_eq!(
        value("beostat_node_swap_free_bytes", &node("0")),
        (768 * MIB) as f64
    );
    assert_eq!(value("beostat_node_cpus", &node("0")), 4.0);
    assert_eq!(value("beostat_node_cpu_mhz", &node("0")), 2400.0);
    let cpu_seconds = |cpu: &'static str, mode: &'static str| {
        counter(
            "beostat_node_cpu_seconds_total",
            &[("node", "0"), ("cpu", cpu), ("mode", mode)],
        )
    };
    assert_eq!(cpu_seconds("1", "user"), 10.15);
    assert_eq!(cpu_seconds("1", "system"), 20.1);
    assert_eq!(cpu_seconds("1", "nice"), 0.1);
    assert_eq!(cpu_seconds("3", "idle"), 1.1);
    let eth0 = [("node", "0"), ("device", "eth0")];
    assert_eq!(
        counter("beostat_node_network_receive_bytes_total", &eth0),
        5000.0
    );
    assert_eq!(
        counter("beostat_node_network_transmit_bytes_total", &eth0),
        4000.0
    );
    assert_eq!(
        counter("beostat_node_network_receive_packets_total", &eth0),
        50.0
    );
    assert_eq!(
        counter("beostat_node_network_receive_errors_total", &eth0),
        1.0
    );
    assert_eq!(
        counter("beostat_node_network_receive_drop_total", &eth0),
        2.0
    );
    assert_eq!(
        value("beostat_node_filesystem_size_bytes", &node("0")),
        (100 * GIB) as f64
    );
    assert_eq!(
        value("beostat_node_filesystem_avail_bytes", &node("0")),
        12_000_000.0 * 4096.0
    );
    assert_eq!(value("beostat_nodes", &[("state", "down")]), 1.0);
    assert_eq!(
        counter("beostat_recvstats_datagrams_received_total", &[]),
        100.0
    );
    assert_eq!(
        counter(
            "beostat_recvstats_datagrams_dropped_total",
            &[("reason", "bad_magic")]
        ),
        3.0
    );
    assert_eq!(
        counter(
            "beostat_recvstats_datagrams_dropped_total",
            &[("reason", "truncated")]
        ),
        0.0
    );
    assert_eq!(counter("beostat_recvstats_parse_errors_total", &[]), 2.0);
    assert_eq!(
        value("beostat_recvstats_running", &[]),
        1.0,
        "the writer is this test"
    );
    for family in ["beostat_node_up", "beostat_node_cpu_seconds_total"] {
        assert!(scrape.docs.contains_key(family), "HELP of {family}");
    }

    let (status, _, _) = get(&exporter.address, "/nothing");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[test]
fn exporter_can_sum_cpu_seconds_over_each_nodes_cpus() {
    let (dir, _writer) = fixture();
    let exporter = start_exporter(dir.path(), &["--no-per-cpu"]);
    let (_, _, body) = get(&exporter.address, "/metrics");
    check_exposition(&body);
    // user ticks of node 0: 550 + 1015 + 50 + 10 = 1625.
    assert!(
        body.contains("beostat_node_cpu_seconds_total{node=\"0\",mode=\"user\"} 16.25\n"),
        "{body}"
    );
    assert!(!body.contains("cpu=\""));
}

#[test]
fn exporter_answers_503_with_the_error_when_the_files_vanish() {
    let (dir, writer) = fixture();
    let exporter = start_exporter(dir.path(), &[]);
    drop(writer);
    std::fs::remove_file(dir.path().join(CONTROL_FILE_NAME)).unwrap();
    std::fs::remove_file(dir.path().join(NODES_FILE_NAME)).unwrap();
    // The reader notices files deleted behind it within a second.
    std::thread::sleep(Duration::from_millis(1100));
    let (status, _, body) = get(&exporter.address, "/metrics");
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert!(body.contains("no such file"), "{body}");
}

/// Every command, with arguments that would otherwise succeed and exit.
fn each_command() -> [(&'static str, &'static str, &'static [&'static str]); 4] {
    [
        (BEOSTAT, "beostat", &[]),
        (BEOSTATUS, "beostatus", &["--once"]),
        (BEOSTATUS, "beostatus", &[]),
        (EXPORTER, "beostat-exporter", &["--listen", "127.0.0.1:0"]),
    ]
}

fn assert_one_line_error(output: &Output, program: &str, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{program}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{program} printed {:?}",
        output.stdout
    );
    assert_eq!(stderr.lines().count(), 1, "{program}: {stderr}");
    assert!(
        stderr.starts_with(&format!("{program}: ")) && stderr.contains(expected),
        "{program}: {stderr:?} lacks {expected:?}"
    );
}

#[test]
fn missing_files_give_a_one_line_error() {
    let empty = tempfile::tempdir().unwrap();
    for (binary, program, args) in each_command() {
        let output = run(binary, empty.path(), args);
        let expected = format!(
            "{}: no such file (is recvstats running with this shm directory?)",
            empty.path().join(CONTROL_FILE_NAME).display()
        );
        assert_one_line_error(&output, program, &expected);
    }
}

#[test]
fn files_of_a_newer_layout_give_a_one_line_error() {
    let (dir, writer) = fixture();
    drop(writer);
    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        let path = dir.path().join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&(BEOSTAT_SHM_LAYOUT_VERSION + 1).to_ne_bytes());
        std::fs::write(&path, bytes).unwrap();
    }
    for (binary, program, args) in each_command() {
        let output = run(binary, dir.path(), args);
        assert_one_line_error(
            &output,
            program,
            "is newer than the 1 this program understands",
        );
    }
}

#[test]
fn foreign_files_give_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        std::fs::write(dir.path().join(name), vec![0x5a; 8192]).unwrap();
    }
    for (binary, program, args) in each_command() {
        let output = run(binary, dir.path(), args);
        assert_one_line_error(&output, program, "not a beostat shared-memory file");
    }
}

#[test]
fn unreadable_files_give_a_one_line_error() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, writer) = fixture();
    drop(writer);
    let path = dir.path().join(CONTROL_FILE_NAME);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    for (binary, program, args) in each_command() {
        // Root reads any file: run as nobody, as a user would be.
        let output = if root {
            let output = Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(binary)
                .arg("--shm-dir")
                .arg(dir.path())
                .args(args)
                .env_remove("BEOSTAT_SHM_DIR")
                .output();
            match output {
                Ok(o) if !String::from_utf8_lossy(&o.stderr).starts_with("setpriv:") => o,
                other => panic!("cannot run {program} as nobody with setpriv: {other:?}"),
            }
        } else {
            run(binary, dir.path(), args)
        };
        let expected = format!("open {}: Permission denied", path.display());
        assert_one_line_error(&output, program, &expected);
    }
}

#[test]
fn usage_errors_exit_2_and_help_and_version_exit_0() {
    for (binary, program) in [
        (BEOSTAT, "beostat"),
        (BEOSTATUS, "beostatus"),
        (EXPORTER, "beostat-exporter"),
    ] {
        let output = Command::new(binary)
            .arg("--no-such-option")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{program}");
        for flag in ["--help", "-v", "-V", "--version"] {
            let output = Command::new(binary).arg(flag).output().unwrap();
            assert!(output.status.success(), "{program} {flag}");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains(program), "{program} {flag}: {stdout}");
        }
    }
    let output = Command::new(BEOSTAT).args(["-n", "5-2"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("runs backwards"));
    let output = Command::new(BEOSTATUS).args(["-i", "0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
