//! The commands end to end: `beostat`, `beostatus` and `beostat-exporter`
//! run as real binaries on shm files the writer made with known values, and
//! their output compared with those values. The exporter's scrape goes
//! through a Prometheus text-format parser; every command's errors (missing,
//! unreadable, foreign and newer files) are checked to be one line.

mod requirements;

use beostat::cmd::format::{age, bytes, percent};
use beostat::cmd::table;
use beostat::cmd::table::Level;
use beostat::cmd::tui::keys::{handle_key, Viewport, KEYS};
use beostat::cmd::tui::{draw, Options, Screen};
use beostat::cmd::Snapshot;
use beostat::cmd::{memory_fraction, memory_total, memory_used_by_programs, swap_fraction, Disk};
use beostat::shm::layout::{BEOSTAT_SHM_LAYOUT_VERSION, CONTROL_FILE_NAME, NODES_FILE_NAME};
use beostat::shm::{now_ns, Counter, NodeState, NodeUpdate, Reader, ShmWriter, WriterOptions};
use beostat::types::*;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::style::Modifier;
use ratatui::Terminal;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

mod common;
use common::exporter::{Exporter, EXPORTER};

const BEOSTAT: &str = env!("CARGO_BIN_EXE_beostat");
const BEOSTATUS: &str = env!("CARGO_BIN_EXE_beostatus");
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
            monotonic_ns: Some(beostat::shm::monotonic_ns().saturating_sub(3600 * 1_000_000_000)),
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
            // Every mode, as sendstats sends them since issue 11: the
            // legacy view is user 45, system 5 + 4 + 3 + 3 (irq, softirq,
            // steal) = 15, nice 0, idle 30 + 10 (iowait) = 40: 60% busy.
            cpu_times: Some(&[beostat::shm::beostat_cpu_times {
                user: 45,
                nice: 0,
                system: 5,
                idle: 30,
                iowait: 10,
                irq: 4,
                softirq: 3,
                steal: 3,
            }]),
            mem_available: Some(5 * GIB),
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

/// The fixture on beostatus's screen, as `beostatus` starts (Classic,
/// every 5 s, colours unless `colour` is false).
fn fixture_screen(dir: &Path, colour: bool) -> Screen {
    let mut screen = Screen::new(&Options {
        interval: Duration::from_secs(5),
        compact: false,
        cpu_columns: 8,
        colour,
    });
    screen.update(&Snapshot::read(&Reader::new(dir)).unwrap(), |_| true);
    screen
}

/// Eight-CPU nodes with long host names (the table must narrow):
/// node N's CPU C is busy (100 - 10 C - N)% between two reports 2 s apart;
/// N + 2 GiB of 16 GiB used, half of it cache; load 10.5 + N; eth0 sent
/// 1 MiB in the 2 s.
fn write_wide_fixture(dir: &Path) -> ShmWriter {
    let mut options = WriterOptions::new(dir);
    options.node_capacity = 4;
    let mut w = ShmWriter::open(&options).unwrap();
    let now = now_ns();
    for node in 0..3i64 {
        let name = format!("compute-rack07-node-{node:03}");
        let idle = [cpu(0, 0, 0, 0); 8];
        w.update(
            node as i32,
            &NodeUpdate {
                time_ns: now - 2_000_000_000,
                name: Some(name.as_bytes()),
                stat_cpu: Some(&idle),
                net_dev: Some(&[net("eth0", 0, 0)]),
                ..Default::default()
            },
        )
        .unwrap();
        let busy: Vec<beostat_stat_cpu> = (0..8)
            .map(|c| cpu(100 - 10 * c - node, 0, 0, 10 * c + node))
            .collect();
        let used = (node as u64 + 2) * GIB;
        w.update(
            node as i32,
            &NodeUpdate {
                time_ns: now,
                stat_cpu: Some(&busy),
                loadavg: Some(beostat_loadavg {
                    load: [10.5 + node as f32, 1.0, 1.0],
                    ..Default::default()
                }),
                meminfo: Some(beostat_meminfo {
                    mem: beostat_memusage {
                        used,
                        free: 16 * GIB - used,
                    },
                    cached: used / 2,
                    ..Default::default()
                }),
                net_dev: Some(&[net("eth0", 0, MIB)]),
                ..Default::default()
            },
        )
        .unwrap();
    }
    w
}

/// What the table's cell under `heading` must say for `node`, from the
/// reader (the numbers the C API returns), in the table's units.
fn expected_cell(reader: &Reader, node: i32, heading: &str) -> String {
    let data = reader.node(node).unwrap();
    let cpus: Vec<f32> = (0..data.stat_cpu.len() as i32)
        .map(|c| reader.cpu_percent(node, c).unwrap())
        .collect();
    let fraction = |f: Option<f32>| f.map_or("-".to_string(), percent);
    match heading {
        "Node" if node == -1 => "master".into(),
        "Node" => node.to_string(),
        "Host" => String::from_utf8(reader.name(node).unwrap()).unwrap(),
        "Up" if reader.state(node).unwrap() == NodeState::Up => "✓".into(),
        "Up" => "✗".into(),
        "State" if reader.state(node).unwrap() == NodeState::Up => "up".into(),
        "State" => format!(
            "down {}",
            age(now_ns() / 1_000_000_000 - data.time.time as u64)
        ),
        "CPU avg" => percent(cpus.iter().sum::<f32>() / cpus.len() as f32),
        "CPU max" => percent(cpus.iter().copied().fold(0.0, f32::max)),
        "Load" => format!("{:.2}", reader.loadavg(node).unwrap().load[0]),
        "Memory" => fraction(memory_fraction(&reader.meminfo(node).unwrap())),
        "Swap" => fraction(swap_fraction(&reader.meminfo(node).unwrap())),
        "Disk" => fraction(Disk::of(&reader.statfs(node).unwrap()).map(|d| d.used_fraction())),
        "Network" => format!("{}/s", bytes(reader.net_rate(node).unwrap())),
        cpu => {
            let c: usize = cpu.strip_prefix("CPU").unwrap().parse().unwrap();
            cpus.get(c).map_or(String::new(), |&f| percent(f))
        }
    }
}

/// Every heading the Classic table may show.
fn headings() -> Vec<String> {
    let mut all: Vec<String> = ["Node", "Host", "Up", "State", "CPUs", "CPU avg", "CPU max"]
        .map(String::from)
        .to_vec();
    all.extend((0..8).map(|c| format!("CPU{c}")));
    all.extend(["Load", "Memory", "Swap", "Disk", "Network"].map(String::from));
    all
}

/// The drawn table: the heading line and the rows under it.
fn table_lines(lines: &[String]) -> Vec<Vec<char>> {
    lines[1..lines.len() - 1]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.chars().collect())
        .collect()
}

/// The table's columns as (heading, first cell, last cell): runs of
/// cells that are not blank in every line (columns are one space apart and
/// as wide as their widest text). Every heading must be whole.
fn columns_of(lines: &[String]) -> Vec<(String, usize, usize)> {
    let table = table_lines(lines);
    let width = table.iter().map(Vec::len).max().unwrap_or(0);
    let blank = |x: usize| table.iter().all(|l| l.get(x).is_none_or(|&c| c == ' '));
    let mut runs: Vec<(String, usize, usize)> = Vec::new();
    let mut x = 0;
    while x < width {
        if blank(x) {
            x += 1;
            continue;
        }
        let start = x;
        while x < width && !blank(x) {
            x += 1;
        }
        let heading: String = table[0][start..x]
            .iter()
            .collect::<String>()
            .trim()
            .to_string();
        // "CPU avg" splits where no value is four characters wide.
        match runs.last_mut() {
            Some(last) if last.0 == "CPU" && (heading == "avg" || heading == "max") => {
                last.0 = format!("CPU {heading}");
                last.2 = x - 1;
            }
            _ => runs.push((heading, start, x - 1)),
        }
    }
    for (heading, _, _) in &runs {
        assert!(
            headings().contains(heading),
            "{heading:?} is not a whole heading in {:?}",
            lines[1]
        );
    }
    runs
}

/// Checks that every row of the drawn table holds, under each heading,
/// exactly what the reader says of that node: nothing cut, nothing moved.
/// Returns the nodes in the order shown.
fn assert_table_matches_reader(lines: &[String], reader: &Reader) -> Vec<i32> {
    let columns = columns_of(lines);
    let mut order = Vec::new();
    for row in &table_lines(lines)[1..] {
        let cell = |i: usize| -> String {
            let (_, from, to) = &columns[i];
            row[*from..=*to]
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        };
        let line: String = row.iter().collect();
        let node_text = cell(0);
        let node = if node_text == "master" {
            -1
        } else {
            node_text.parse().unwrap()
        };
        order.push(node);
        for (i, (heading, _, _)) in columns.iter().enumerate() {
            let expected = expected_cell(reader, node, heading);
            let got = cell(i);
            if heading == "Host" && expected.chars().count() > got.chars().count() {
                let kept = got.trim_end_matches('…');
                assert!(expected.starts_with(kept), "host {got:?} of {expected:?}");
                continue;
            }
            assert_eq!(
                got, expected,
                "node {node}, column {heading}, line {line:?}"
            );
        }
    }
    order
}

fn screen_at(dir: &Path, colour: bool) -> (Screen, Reader) {
    (fixture_screen(dir, colour), Reader::new(dir))
}

fn headings_of(lines: &[String]) -> Vec<String> {
    columns_of(lines).into_iter().map(|c| c.0).collect()
}

#[test]
fn beostatus_screen_shows_each_node_and_greys_out_the_down_one() {
    let (dir, _writer) = fixture();
    let (screen, reader) = screen_at(dir.path(), true);
    let (lines, buffer) = render(&screen, 100, 12);
    assert_eq!(
        lines[0].trim_end(),
        "beostatus  4 nodes: 3 up, 1 down  every 5s  classic  sort node↑"
    );
    assert_eq!(
        headings_of(&lines),
        [
            "Node", "Host", "Up", "State", "CPU0", "CPU1", "CPU2", "CPU3", "Load", "Memory",
            "Swap", "Disk", "Network"
        ]
    );
    assert_eq!(assert_table_matches_reader(&lines, &reader), [-1, 0, 1, 3]);
    assert!(lines[11].starts_with("q quit"));
    // Colours: node 0's busy CPU0 is red, its idle CPU3 green; the down row is grey.
    let columns = columns_of(&lines);
    let end_of = |h: &str| columns.iter().find(|c| c.0 == h).unwrap().2 as u16;
    let cell = |x: u16, y: u16| buffer[(x, y)].clone();
    assert_eq!(cell(end_of("CPU0"), 3).fg, Color::Red, "CPU0 of node 0");
    assert_eq!(cell(end_of("CPU3"), 3).fg, Color::Green, "CPU3 of node 0");
    assert_eq!(cell(0, 4).fg, Color::DarkGray, "the down node's row");
    assert_eq!(
        cell(end_of("CPU0"), 4).fg,
        Color::DarkGray,
        "the down node's data"
    );
    let up = columns.iter().find(|c| c.0 == "Up").unwrap().1 as u16;
    assert_eq!(cell(up, 3).fg, Color::Green, "node 0's check mark");
    assert_eq!(cell(up, 4).fg, Color::Red, "node 1's cross");
    // The cursor starts on the first node, shown reversed (no colour needed).
    assert!(cell(0, 2).modifier.contains(Modifier::REVERSED));
    assert!(!cell(0, 3).modifier.contains(Modifier::REVERSED));
}

/// Regression: at 80x24 the heading read `No Up Stat ... emory`, and at 60
/// columns `100%` showed as `00%`: columns now drop whole, never cut.
#[test]
fn beostatus_screen_at_80x24_and_60_columns_drops_columns_and_cuts_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_wide_fixture(dir.path());
    let (screen, reader) = screen_at(dir.path(), true);
    let (lines, _) = render(&screen, 80, 24);
    let shown = headings_of(&lines);
    assert!(
        (0..8).all(|c| shown.contains(&format!("CPU{c}"))),
        "eight CPUs still fit one column each at 80: {shown:?}"
    );
    assert!(!shown.contains(&"Host".to_string()), "{shown:?}");
    assert_eq!(assert_table_matches_reader(&lines, &reader), [0, 1, 2]);
    assert!(lines.iter().all(|l| l.chars().count() == 80));

    let (lines, _) = render(&screen, 60, 24);
    let shown = headings_of(&lines);
    assert!(shown.contains(&"CPU max".to_string()), "{shown:?}");
    assert_eq!(assert_table_matches_reader(&lines, &reader), [0, 1, 2]);
    // Node 0's CPU0 is the one at 100%: whole.
    assert_eq!(expected_cell(&reader, 0, "CPU max"), "100%");
    assert!(lines[2].contains(" 100% "), "{}", lines[2]);

    for width in [50, 40, 30, 20] {
        let (lines, _) = render(&screen, width, 10);
        assert_table_matches_reader(&lines, &reader);
    }
    // The small fixture too (a down node's long State).
    let (dir, _writer) = fixture();
    let (screen, reader) = screen_at(dir.path(), true);
    for width in [80, 60, 40] {
        let (lines, _) = render(&screen, width, 24);
        assert_eq!(assert_table_matches_reader(&lines, &reader), [-1, 0, 1, 3]);
    }
}

#[test]
fn beostatus_sorts_by_each_key_busiest_first_and_down_nodes_last() {
    let (dir, _writer) = fixture();
    let (mut screen, reader) = screen_at(dir.path(), true);
    let view = Viewport {
        page: 20,
        per_line: 50,
    };
    let press = |screen: &mut Screen, c: char| {
        handle_key(
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            screen,
            view,
        );
    };
    let up: Vec<i32> = [-1, 0, 1, 3]
        .into_iter()
        .filter(|&n| reader.state(n).unwrap() == NodeState::Up)
        .collect();
    let down: Vec<i32> = [-1, 0, 1, 3]
        .into_iter()
        .filter(|n| !up.contains(n))
        .collect();
    // The value each key sorts by, from the reader.
    let mean_cpu = |n: i32| {
        let count = reader.cpu_count(n).unwrap();
        (0..count)
            .map(|c| reader.cpu_percent(n, c).unwrap())
            .sum::<f32>()
            / count as f32
    };
    let memory = |n: i32| memory_fraction(&reader.meminfo(n).unwrap()).unwrap_or(-1.0);
    let load = |n: i32| reader.loadavg(n).unwrap().load[0];
    let network = |n: i32| reader.net_rate(n).unwrap() as f32;
    let expected = |key: &dyn Fn(i32) -> f32| {
        let mut order = up.clone();
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        order.extend(&down);
        order
    };
    for (c, key, name) in [
        ('u', &mean_cpu as &dyn Fn(i32) -> f32, "CPU"),
        ('l', &load, "load"),
        ('m', &memory, "memory"),
        ('w', &network, "network"),
    ] {
        press(&mut screen, c);
        let (lines, _) = render(&screen, 100, 12);
        assert!(lines[0].contains(&format!("sort {name}↓")), "{}", lines[0]);
        assert_eq!(
            assert_table_matches_reader(&lines, &reader),
            expected(key),
            "sorted by {name}"
        );
    }
    // The same key again reverses; `s` cycles back to node order.
    press(&mut screen, 'w');
    let (lines, _) = render(&screen, 100, 12);
    let mut reversed = up.clone();
    reversed.sort_by(|&a, &b| network(a).total_cmp(&network(b)).then(a.cmp(&b)));
    reversed.extend(&down);
    assert_eq!(assert_table_matches_reader(&lines, &reader), reversed);
    press(&mut screen, 's');
    let (lines, _) = render(&screen, 100, 12);
    assert!(lines[0].contains("sort node↑"));
    assert_eq!(assert_table_matches_reader(&lines, &reader), [-1, 0, 1, 3]);
}

#[test]
fn beostatus_filters_by_node_range_state_and_host_name() {
    let (dir, _writer) = fixture();
    let (mut screen, reader) = screen_at(dir.path(), true);
    let view = Viewport {
        page: 20,
        per_line: 50,
    };
    let type_filter = |screen: &mut Screen, text: &str| {
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        handle_key(key(KeyCode::Char('/')), screen, view);
        // Clear what the prompt starts from (the current filter).
        for _ in 0..screen.prompt.as_ref().unwrap().len() {
            handle_key(key(KeyCode::Backspace), screen, view);
        }
        for c in text.chars() {
            handle_key(key(KeyCode::Char(c)), screen, view);
        }
        let (lines, _) = render(screen, 100, 12);
        assert!(
            lines[11].contains(text),
            "the prompt shows {text:?}: {}",
            lines[11]
        );
        handle_key(key(KeyCode::Enter), screen, view);
    };
    let all = [-1, 0, 1, 3];
    let name = |n: i32| String::from_utf8(reader.name(n).unwrap()).unwrap();
    let state = |n: i32| reader.state(n).unwrap();
    for (text, keep) in [
        (
            "0-3",
            &(|n: i32| (0..=3).contains(&n)) as &dyn Fn(i32) -> bool,
        ),
        ("0,3 up", &|n: i32| {
            (n == 0 || n == 3) && state(n) == NodeState::Up
        }),
        ("down", &|n: i32| state(n) == NodeState::Down),
        ("N3", &|n: i32| name(n).contains("n3")),
        ("master", &|n: i32| n == -1),
    ] {
        type_filter(&mut screen, text);
        let (lines, _) = render(&screen, 100, 12);
        let expected: Vec<i32> = all.into_iter().filter(|&n| keep(n)).collect();
        assert_eq!(
            assert_table_matches_reader(&lines, &reader),
            expected,
            "filter {text:?}"
        );
        assert!(
            lines[0].contains(&format!("{} shown: {text}", expected.len())),
            "{}",
            lines[0]
        );
    }
    // The grid keeps every cell in its place and blanks what is filtered out.
    type_filter(&mut screen, "0-2");
    screen.compact = true;
    let (lines, _) = render(&screen, 60, 8);
    let grid = lines.iter().find(|l| l.starts_with("    0 ")).unwrap();
    assert_eq!(grid.trim_end(), "    0 ■■·", "node 3 is filtered out");
    type_filter(&mut screen, "");
    assert!(screen.filter.is_empty());
}

#[test]
fn beostatus_detail_shows_one_node_with_cpu_bars_and_interface_rates() {
    let (dir, mut writer) = fixture();
    let (mut screen, reader) = screen_at(dir.path(), true);
    // A later report of node 0, 4 s after the last: the interfaces moved.
    let before = reader.node(0).unwrap();
    let seconds = 4;
    let (received, sent) = (
        before.net_dev[0].recv.bytes + 8192,
        before.net_dev[0].trans.bytes + 2048,
    );
    writer
        .update(
            0,
            &NodeUpdate {
                time_ns: before.time_ns + seconds * 1_000_000_000,
                net_dev: Some(&[net("eth0", received, sent), net("lo", 77, 77)]),
                ..Default::default()
            },
        )
        .unwrap();
    screen.update(&Snapshot::read(&reader).unwrap(), |_| true);

    let view = Viewport {
        page: 20,
        per_line: 50,
    };
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    handle_key(key(KeyCode::Down), &mut screen, view);
    handle_key(key(KeyCode::Enter), &mut screen, view);
    assert_eq!(screen.detail, Some(0));
    let (lines, _) = render(&screen, 80, 24);
    let text = lines.join("\n");
    let name = String::from_utf8(reader.name(0).unwrap()).unwrap();
    assert!(
        lines[1].starts_with(&format!("node 0 ({name})  up, last report ")),
        "{text}"
    );
    let data = reader.node(0).unwrap();
    let l = data.loadavg;
    assert!(
        lines[2].starts_with(&format!(
            "{} CPUs at {:.0} MHz  load {:.2} {:.2} {:.2}",
            data.cpu_count, data.mhz, l.load[0], l.load[1], l.load[2]
        )),
        "{}",
        lines[2]
    );
    for c in 0..data.cpu_count {
        let line = &lines[3 + c as usize];
        let busy = reader.cpu_percent(0, c).unwrap();
        assert!(line.starts_with(&format!("cpu{c} ")), "{line}");
        assert!(
            line.trim_end().ends_with(&format!(" {}", percent(busy))),
            "{line}"
        );
        let bar: String = line.chars().filter(|&ch| ch == '█' || ch == '░').collect();
        let filled = bar.chars().filter(|&ch| ch == '█').count();
        assert_eq!(
            filled,
            (busy * bar.chars().count() as f32).round() as usize,
            "{line}"
        );
    }
    let m = reader.meminfo(0).unwrap();
    assert!(
        text.contains(&format!(
            "memory {} of {} held by programs ({})",
            bytes(memory_used_by_programs(&m)),
            bytes(memory_total(&m)),
            percent(memory_fraction(&m).unwrap())
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "swap   {} of {} used",
        bytes(m.swap.used),
        bytes(m.swap.used + m.swap.free)
    )));
    let disk = Disk::of(&reader.statfs(0).unwrap()).unwrap();
    assert!(text.contains(&format!(
        "disk / {} of {} used",
        bytes(disk.size - disk.free),
        bytes(disk.size)
    )));
    let eth0 = lines.iter().find(|l| l.starts_with("eth0 ")).expect("eth0");
    let words: Vec<&str> = eth0
        .split("  ")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let delta = |now: u64, then: u64| format!("{}/s", bytes((now - then) / seconds));
    assert_eq!(
        words,
        [
            "eth0".to_string(),
            delta(received, before.net_dev[0].recv.bytes),
            delta(sent, before.net_dev[0].trans.bytes),
            bytes(received),
            bytes(sent)
        ]
    );
    // Narrow: the totals go, the rates stay whole.
    let (lines, _) = render(&screen, 40, 24);
    let eth0 = lines.iter().find(|l| l.starts_with("eth0 ")).expect("eth0");
    assert!(
        eth0.contains(&delta(received, before.net_dev[0].recv.bytes)),
        "{eth0}"
    );
    // Right steps to the next node of the table, Esc goes back to it.
    handle_key(key(KeyCode::Right), &mut screen, view);
    let (lines, _) = render(&screen, 80, 24);
    assert!(
        lines[1].starts_with("node 1 (n1)  down, last report "),
        "{}",
        lines[1]
    );
    handle_key(key(KeyCode::Esc), &mut screen, view);
    let (lines, _) = render(&screen, 80, 24);
    assert_eq!(screen.cursor, Some(1));
    assert!(lines[1].starts_with("Node "));
}

#[test]
fn beostatus_help_lists_every_key_at_80x24_and_60_columns() {
    let (dir, _writer) = fixture();
    let (mut screen, _reader) = screen_at(dir.path(), true);
    let view = Viewport {
        page: 20,
        per_line: 50,
    };
    handle_key(
        KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE),
        &mut screen,
        view,
    );
    for (width, height) in [(80, 24), (60, 24)] {
        let (lines, _) = render(&screen, width, height);
        for (keys, what) in KEYS {
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(&format!("{keys} ")) && l.contains(what)),
                "{keys} {what} at {width}x{height}:\n{}",
                lines.join("\n")
            );
        }
    }
}

#[test]
fn beostatus_without_colour_tells_states_by_characters() {
    let (dir, _writer) = fixture();
    let (mut screen, reader) = screen_at(dir.path(), false);
    let (lines, buffer) = render(&screen, 100, 12);
    assert_eq!(assert_table_matches_reader(&lines, &reader), [-1, 0, 1, 3]);
    let coloured: Vec<(u16, u16)> = (0..12)
        .flat_map(|y| (0..100).map(move |x| (x, y)))
        .filter(|&(x, y)| buffer[(x, y)].fg != Color::Reset || buffer[(x, y)].bg != Color::Reset)
        .collect();
    assert_eq!(coloured, [], "no colour anywhere");

    screen.compact = true;
    let (lines, buffer) = render(&screen, 60, 8);
    let rows = table::rows(&Snapshot::read(&reader).unwrap(), |_| true);
    let (master, cells) = table::grid(&rows);
    let glyphs: String = cells.iter().map(|l| l.glyph()).collect();
    assert_eq!(glyphs, "ox-O", "node 0 light, 1 down, 2 never, 3 heavy");
    assert_eq!(
        lines[1].trim_end(),
        format!("master {}", master.unwrap().glyph())
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_end() == format!("    0 {glyphs}")),
        "{lines:?}"
    );
    for level in [
        Level::Idle,
        Level::Light,
        Level::Heavy,
        Level::Busy,
        Level::Down,
        Level::Missing,
    ] {
        assert!(lines[2].contains(level.glyph()), "legend {:?}", lines[2]);
    }
    assert!((0..60).all(|x| (0..8).all(|y| buffer[(x, y)].fg == Color::Reset)));
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
    let start = |session: &str, environment: &str, args: &str| {
        let command = format!(
            "{environment} {BEOSTATUS} --shm-dir {} -i 1 {args}; echo exit=$?; sleep 30",
            dir.path().display()
        );
        // 80x24: the size the issue found the table cut at.
        let started = tmux(&[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            session,
            &command,
        ]);
        assert!(started.status.success(), "{started:?}");
    };
    let capture = |session: &str| {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
    };
    let wait_until = |session: &str, what: &str, done: &dyn Fn(&str) -> bool| {
        for _ in 0..100 {
            let screen = capture(session);
            if done(&screen) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("never {what}:\n{}", capture(session));
    };
    let wait_for = |what: &str| {
        wait_until("t", &format!("showed {what:?}"), &|screen| {
            screen.contains(what)
        })
    };
    let keys = |keys: &[&str]| {
        for key in keys {
            tmux(&["send-keys", "-t", "t", key]);
        }
    };
    start("t", "", "");
    let screen = wait_for("q quit");
    assert!(screen.contains("4 nodes: 3 up, 1 down"), "{screen}");
    assert!(screen.contains("down 1h00m"), "{screen}");

    // Help: every key, then any key closes it. (A capture can catch a
    // frame half drawn, so wait for all of it.)
    keys(&["?"]);
    let help_shown = |screen: &str| {
        KEYS.iter()
            .all(|(keys, what)| screen.contains(keys) && screen.contains(what))
    };
    wait_until("t", "listed every key", &help_shown);
    keys(&["x"]);
    wait_until("t", "closed the help", &|screen| {
        !screen.contains("keys (any key closes)")
    });

    // Detail of node 0 (the cursor starts on the master, one row above):
    // one bar per CPU, ending with the use the reader returns.
    keys(&["j", "Enter"]);
    let reader = Reader::new(dir.path());
    let bars: Vec<(String, String)> = (0..reader.cpu_count(0).unwrap())
        .map(|c| {
            let busy = percent(reader.cpu_percent(0, c).unwrap());
            (format!("cpu{c} "), format!(" {busy}"))
        })
        .collect();
    let detail_shown = |screen: &str| {
        screen.contains("node 0 (n0)  up")
            && screen.lines().any(|l| l.starts_with("eth0 "))
            && bars.iter().all(|(cpu, busy)| {
                screen
                    .lines()
                    .any(|l| l.starts_with(cpu.as_str()) && l.trim_end().ends_with(busy.as_str()))
            })
    };
    wait_until("t", "showed node 0's detail", &detail_shown);
    keys(&["Escape"]);
    let screen = wait_until("t", "went back to the table", &|screen| {
        screen.lines().any(|l| l.starts_with("Node "))
            && screen.lines().any(|l| l.starts_with("3 "))
    });

    // The mouse: a click on node 3's row puts the cursor there, a second
    // opens its detail. (An SGR mouse report, as the terminal sends it;
    // columns and lines count from 1.)
    let line = screen.lines().position(|l| l.starts_with("3 ")).unwrap() + 1;
    let click = format!("\x1b[<0;1;{line}M");
    tmux(&["send-keys", "-t", "t", "-l", &click]);
    tmux(&["send-keys", "-t", "t", "-l", &click]);
    wait_for("node 3 (n3)  up");
    keys(&["Escape"]);
    wait_until("t", "went back to the table", &|screen| {
        screen.lines().any(|l| l.starts_with("Node "))
    });

    keys(&["c"]);
    // The footer names both views ("c classic/compact"), so wait for the
    // title's view name, then for the cells themselves.
    wait_for("every 1s  compact");
    wait_for("    0 ■■·■");
    keys(&["q"]);
    let screen = wait_for("exit=");
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        !screen.contains("q quit"),
        "the alternate screen is gone:\n{screen}"
    );

    // NO_COLOR: the grid tells the states by character, as --once does.
    start("u", "NO_COLOR=1", "--compact");
    let screen = wait_until("u", "showed the grid", &|screen| {
        screen.contains("    0 ox-O")
    });
    assert!(screen.contains("master o"), "{screen}");
    tmux(&["send-keys", "-t", "u", "q"]);
    wait_until("u", "quit", &|screen| screen.contains("exit=0"));
}

fn start_exporter(dir: &Path, extra: &[&str]) -> Exporter {
    Exporter::start(dir, extra)
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
    let exporter = start_exporter(dir.path(), &["--per-cpu"]);
    let (status, headers, body) = get(&exporter.address, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
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
    // Node 1 is down: only its up, last-seen and info series remain.
    let down: Vec<&str> = scrape
        .samples
        .iter()
        .filter(|s| s.labels.get("node") == Some("1"))
        .map(|s| s.metric.as_str())
        .collect();
    assert_eq!(
        down,
        [
            "beostat_node_up",
            "beostat_node_last_seen_timestamp_seconds",
            "beostat_node_info"
        ],
        "a down node's value series are gone"
    );
    assert_eq!(
        value("beostat_node_info", &[("node", "1"), ("name", "n1")]),
        1.0
    );
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
    // Node 3 reports every mode: each is its own series (node_exporter's
    // names), and MemAvailable is exported where a node reports it.
    for (mode, ticks) in [
        ("user", 45.0),
        ("system", 5.0),
        ("idle", 30.0),
        ("iowait", 10.0),
        ("irq", 4.0),
        ("softirq", 3.0),
        ("steal", 3.0),
    ] {
        assert_eq!(
            counter(
                "beostat_node_cpu_seconds_total",
                &[("node", "3"), ("cpu", "0"), ("mode", mode)]
            ),
            ticks / 100.0,
            "{mode}"
        );
    }
    assert_eq!(
        value("beostat_node_memory_available_bytes", &node("3")),
        (5 * GIB) as f64
    );
    assert!(
        !scrape
            .samples
            .iter()
            .any(|s| s.metric == "beostat_node_memory_available_bytes"
                && s.labels.get("node") == Some("0")),
        "node 0 does not report MemAvailable: no series"
    );
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
fn exporter_sums_cpu_seconds_over_each_nodes_cpus_by_default() {
    let (dir, _writer) = fixture();
    let exporter = start_exporter(dir.path(), &[]);
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
            &format!("is newer than the {BEOSTAT_SHM_LAYOUT_VERSION} this program understands"),
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
