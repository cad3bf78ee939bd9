//! Writes a large shm fixture for the call benchmark (c-tests/bench_calls.c,
//! driven by scripts/bench-calls.sh):
//!
//!     cargo run --release --example bench_fixture -- DIR [NODES [CPUS]]
//!
//! NODES compute nodes (default 10,000) plus the master, each with CPUS CPUs
//! (default 16), 4 network interfaces, a root filesystem, and two reports
//! five seconds apart, so cpu_percent and net_rate have a real interval
//! behind them. Values vary from node to node (a deterministic generator, no
//! randomness) so no call can take a shortcut a real cluster would not offer.
//!
//! The expiry time is set to a day: the benchmark runs long after the
//! fixture's last report, and nodes must stay up for the access and idle-CPU
//! paths to do their full work. The writer's lock is released on exit; the
//! files stay.

use beostat::shm::{now_ns, NodeUpdate, ShmWriter, WriterOptions};
use beostat::types::*;
use std::path::PathBuf;
use std::process::ExitCode;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// Seconds between a node's two reports.
const INTERVAL_SECS: u64 = 5;
/// Clock ticks per second (USER_HZ) behind the CPU counters.
const USER_HZ: u64 = 100;

/// A small deterministic generator (SplitMix64), so fixtures are reproducible.
struct Values(u64);

impl Values {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn interface(name: &str, recv_bytes: u64, trans_bytes: u64) -> beostat_net_dev {
    let mut dev = beostat_net_dev::default();
    dev.set_name(name.as_bytes());
    dev.recv = beostat_net_stat {
        bytes: recv_bytes,
        packets: recv_bytes / 900,
        ..Default::default()
    };
    dev.multicast = recv_bytes / 90_000;
    dev.trans = beostat_net_stat {
        bytes: trans_bytes,
        packets: trans_bytes / 900,
        ..Default::default()
    };
    dev
}

/// The four interfaces of a node whose counters stood at `base` bytes.
fn interfaces(base: u64) -> [beostat_net_dev; 4] {
    [
        interface("lo", base / 50, base / 50),
        interface("eth0", base, base / 3),
        interface("eth1", base / 7, base / 11),
        interface("ib0", base * 4, base * 4),
    ]
}

/// One node's two reports, written in order.
fn write_node(writer: &mut ShmWriter, node: i32, cpus: usize, now: u64) -> beostat::Result<()> {
    let mut values = Values(node as u64 ^ 0x0BE0_57A7);
    let name = if node < 0 {
        "master".to_string()
    } else {
        format!("n{node}")
    };
    let total_memory = [64, 128, 256, 512][values.below(4) as usize] * GIB;
    let used = total_memory / 8 + values.below(total_memory / 2);
    let cached = used / 3;
    let uptime_ticks = (3_600 + values.below(30 * 86_400)) * USER_HZ;
    let earlier: Vec<beostat_stat_cpu> = (0..cpus)
        .map(|_| {
            let busy = values.below(uptime_ticks);
            beostat_stat_cpu {
                user: (busy * 8 / 10) as i64,
                system: (busy / 10) as i64,
                nice: (busy / 10) as i64,
                idle: (uptime_ticks - busy) as i64,
            }
        })
        .collect();
    // Over the interval each CPU is busy anywhere from 0 to 100%.
    let interval_ticks = INTERVAL_SECS * USER_HZ;
    let later: Vec<beostat_stat_cpu> = earlier
        .iter()
        .map(|c| {
            let busy = values.below(interval_ticks + 1);
            beostat_stat_cpu {
                user: c.user + (busy * 9 / 10) as i64,
                system: c.system + (busy / 10) as i64,
                nice: c.nice,
                idle: c.idle + (interval_ticks - busy) as i64,
            }
        })
        .collect();
    let net_before = values.below(1 << 40);
    let net_after = net_before + values.below(INTERVAL_SECS * 100 * MIB);
    let mut statfs = statfs_zeroed();
    statfs.f_type = 0xEF53;
    statfs.f_bsize = 4096;
    statfs.f_frsize = 4096;
    statfs.f_blocks = (200 * GIB / 4096) as _;
    statfs.f_bfree = values.below(200 * GIB / 4096) as _;
    statfs.f_bavail = statfs.f_bfree;
    statfs.f_files = 13_107_200;
    statfs.f_ffree = 12_000_000;
    statfs.f_namelen = 255;
    let load = values.below(cpus as u64 * 100) as f32 / 100.0;
    let common = NodeUpdate {
        name: Some(name.as_bytes()),
        loadavg: Some(beostat_loadavg {
            load: [load, load * 0.9, load * 0.8],
            num_active_procs: 1 + values.below(cpus as u64) as i32,
            total_procs: 300 + values.below(700) as i32,
            last_pid: 1_000 + values.below(4_000_000) as i32,
        }),
        meminfo: Some(beostat_meminfo {
            mem: beostat_memusage {
                used,
                free: total_memory - used,
            },
            swap: beostat_memusage {
                used: values.below(GIB),
                free: 8 * GIB,
            },
            shared: 64 * MIB,
            buffers: used / 20,
            cached,
        }),
        mhz: Some(2_000.0 + values.below(1_500) as f32),
        statfs: Some(statfs),
        ..Default::default()
    };
    let first_net = interfaces(net_before);
    writer.update(
        node,
        &NodeUpdate {
            time_ns: now - INTERVAL_SECS * 1_000_000_000,
            stat_cpu: Some(&earlier),
            net_dev: Some(&first_net),
            ..common.clone()
        },
    )?;
    let second_net = interfaces(net_after);
    writer.update(
        node,
        &NodeUpdate {
            time_ns: now,
            stat_cpu: Some(&later),
            net_dev: Some(&second_net),
            ..common
        },
    )
}

/// Writes the fixture (public for tests/bench_calls.rs, which includes this file).
pub fn run(dir: PathBuf, nodes: u32, cpus: u32) -> beostat::Result<()> {
    let mut options = WriterOptions::new(&dir);
    options.node_capacity = nodes;
    options.node_expiry_secs = 86_400;
    let mut writer = ShmWriter::open(&options)?;
    let now = now_ns();
    for node in -1..nodes as i32 {
        write_node(&mut writer, node, cpus as usize, now)?;
    }
    println!(
        "bench_fixture: {} nodes + master, {cpus} CPUs each, in {} ({} bytes of node file)",
        nodes,
        dir.display(),
        writer.file_bytes()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_fixture DIR [NODES [CPUS]]";
    let (Some(dir), true) = (args.first(), args.len() <= 3) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let number = |i: usize, default: u32| -> Option<u32> {
        args.get(i)
            .map_or(Some(default), |s| s.parse().ok().filter(|&n| n > 0))
    };
    let (Some(nodes), Some(cpus)) = (number(1, 10_000), number(2, 16)) else {
        eprintln!("{usage} (NODES and CPUS are positive integers)");
        return ExitCode::from(2);
    };
    match run(PathBuf::from(dir), nodes, cpus) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_fixture: {error}");
            ExitCode::FAILURE
        }
    }
}
