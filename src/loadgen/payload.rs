//! Synthetic node reports: /proc texts that look like a real cluster's, and
//! the pool of datagrams encoded from them before a run.
//!
//! Every node has a fixed shape (CPU count from 1 to 256, 2 to 6 network
//! interfaces, memory size; or one shape for every node, [`Shape`]) and
//! counters that grow from one interval to the
//! next as a busy machine's do. The texts are made as the kernel prints
//! them, then condensed and encoded exactly as sendstats does
//! ([`crate::protocol::condense_stat`] and friends, then
//! [`crate::protocol::encode_report`]), so recvstats sees the bytes a real
//! node of that shape would send. Encoding happens once, in
//! [`Pool::build`]; sending only patches the header's sequence and time.

use super::{Error, Result};
use crate::collect::Status;
use crate::protocol::{
    condense_cpuinfo, condense_meminfo, condense_net_dev, condense_stat, encode_report, Encoder,
    Header,
};
use std::fmt::Write;
use std::ops::Range;

/// CPU counts of the simulated nodes, node `n` has `CPU_COUNTS[n % 12]`:
/// 1 to 256, 57 on average (a mix of old and new machines).
pub const CPU_COUNTS: [u32; 12] = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256];
/// Interface names, in /proc/net/dev order; a node of the mix has the
/// first 2 to 6 (a fixed [`Shape`] may ask for more: `eth3`, `eth4`...).
const INTERFACES: [&str; 6] = ["lo", "eth0", "eth1", "ib0", "ib1", "eth2"];
/// Most interfaces a fixed [`Shape`] may have (recvstats records 32).
pub const MAX_INTERFACES: u32 = 32;

/// One shape for every simulated node (`--cpus`, `--interfaces`), instead
/// of the mix of [`NodeShape::of`]: e.g. 8 CPUs and 4 interfaces, so that
/// every datagram is what sendstats sends for such a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Online CPUs (1 to 4096).
    pub cpus: u32,
    /// Network interfaces, `lo` first (1 to [`MAX_INTERFACES`]).
    pub interfaces: u32,
}

impl Shape {
    /// Checks the bounds.
    pub fn new(cpus: u32, interfaces: u32) -> Result<Self> {
        if !(1..=4096).contains(&cpus) {
            return Err(Error(format!("--cpus {cpus}: not between 1 and 4096")));
        }
        if !(1..=MAX_INTERFACES).contains(&interfaces) {
            return Err(Error(format!(
                "--interfaces {interfaces}: not between 1 and {MAX_INTERFACES}"
            )));
        }
        Ok(Shape { cpus, interfaces })
    }
}

/// Name of interface `index` of a node.
fn interface_name(index: usize) -> std::borrow::Cow<'static, str> {
    match INTERFACES.get(index) {
        Some(name) => (*name).into(),
        None => format!("eth{}", index - 3).into(),
    }
}
/// Byte offset of the sequence number in the datagram header (docs/PROTOCOL.md).
pub const SEQUENCE_OFFSET: usize = 12;
/// Byte offset of the sender's time in the datagram header.
pub const TIME_OFFSET: usize = 20;

/// The fixed properties of one simulated node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeShape {
    /// Node number.
    pub node: i32,
    /// Online CPUs.
    pub cpus: u32,
    /// Network interfaces (2 to 6, the first is `lo`).
    pub interfaces: u32,
    /// Seed of the node's counters.
    pub seed: u64,
}

impl NodeShape {
    /// The shape of node `node`: CPU counts cycle through [`CPU_COUNTS`],
    /// interface counts through 2..=6 at another period, so every
    /// combination occurs.
    pub fn of(node: i32) -> Self {
        let n = node.unsigned_abs();
        NodeShape {
            node,
            cpus: CPU_COUNTS[n as usize % CPU_COUNTS.len()],
            interfaces: 2 + (n / 12) % 5,
            seed: splitmix(u64::from(n) ^ 0x5eed_beef),
        }
    }

    /// The shape of node `node` in a cluster where every node is `shape`
    /// (`None`: the mix of [`NodeShape::of`]).
    pub fn with(node: i32, shape: Option<Shape>) -> Self {
        let mut of = NodeShape::of(node);
        if let Some(shape) = shape {
            of.cpus = shape.cpus;
            of.interfaces = shape.interfaces;
        }
        of
    }
}

/// splitmix64: a deterministic generator, so a run is reproducible.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A value in `0..span` from `seed` and a salt.
fn pick(seed: u64, salt: u64, span: u64) -> u64 {
    splitmix(seed ^ salt.wrapping_mul(0x2545_f491_4f6c_dd1d)) % span.max(1)
}

/// Makes the texts of `shape`'s report for `interval` (0, 1, 2...: each
/// interval's counters are higher than the last one's), with cpuinfo when
/// `full`. `raw` is scratch space.
pub fn texts(shape: &NodeShape, interval: u32, full: bool, raw: &mut String, out: &mut Status) {
    let seed = shape.seed;
    let k = u64::from(interval);

    raw.clear();
    stat_text(shape, k, raw);
    out.stat.clear();
    condense_stat(raw, &mut out.stat);

    raw.clear();
    let total_kb = u64::from(shape.cpus) * 4 * 1024 * 1024;
    let free_kb = total_kb / 4 + pick(seed, 100 + k, total_kb / 2);
    let cached_kb = pick(seed, 200 + k, total_kb / 8);
    let _ = write!(
        raw,
        "MemTotal:       {total_kb} kB\nMemFree:        {free_kb} kB\n\
         MemAvailable:   {} kB\nBuffers:        {} kB\nCached:         {cached_kb} kB\n\
         SwapCached:            0 kB\nActive:         {} kB\nInactive:       {} kB\n\
         Dirty:               {} kB\nWriteback:             0 kB\nAnonPages:      {} kB\n\
         Mapped:         {} kB\nShmem:          {} kB\nSlab:           {} kB\n\
         SwapTotal:      8388604 kB\nSwapFree:       {} kB\nCommitLimit:    {} kB\n\
         Committed_AS:   {} kB\nVmallocTotal:   34359738367 kB\nHugePages_Total:       0\n",
        free_kb + cached_kb,
        pick(seed, 300 + k, 1 << 20),
        pick(seed, 400 + k, total_kb / 3),
        pick(seed, 500 + k, total_kb / 5),
        pick(seed, 600 + k, 10_000),
        pick(seed, 700 + k, total_kb / 3),
        pick(seed, 800 + k, 1 << 20),
        pick(seed, 900 + k, 1 << 18),
        pick(seed, 1000 + k, 1 << 21),
        8388604 - pick(seed, 1100, 1 << 16),
        total_kb / 2 + 8388604,
        pick(seed, 1200 + k, total_kb),
    );
    out.meminfo.clear();
    condense_meminfo(raw, &mut out.meminfo);

    out.loadavg.clear();
    let busy = u64::from(shape.cpus) * 100;
    let _ = writeln!(
        out.loadavg,
        "{}.{:02} {}.{:02} {}.{:02} {}/{} {}",
        pick(seed, 1300 + k, busy) / 100,
        pick(seed, 1301 + k, 100),
        pick(seed, 1302 + k, busy) / 100,
        pick(seed, 1303 + k, 100),
        pick(seed, 1304, busy) / 100,
        pick(seed, 1305, 100),
        1 + pick(seed, 1306 + k, u64::from(shape.cpus) + 2),
        300 + pick(seed, 1307 + k, 2000),
        1000 + (pick(seed, 1308, 4_000_000) + k * 37) % 4_000_000,
    );

    raw.clear();
    raw.push_str(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets \
         errs drop fifo colls carrier compressed\n",
    );
    for i in 0..shape.interfaces as usize {
        let name = interface_name(i);
        let salt = 2000 + 100 * i as u64;
        let rx_rate = 1 + pick(seed, salt, 100_000_000);
        let tx_rate = 1 + pick(seed, salt + 1, 100_000_000);
        let rx = pick(seed, salt + 2, 1 << 40) + k * rx_rate;
        let tx = pick(seed, salt + 3, 1 << 40) + k * tx_rate;
        let _ = writeln!(
            raw,
            "{name:>6}: {rx:>8} {:>7} {:>4} {:>4}    0     0          0 {:>9} {tx:>8} {:>7} {:>4} {:>4}    0     0       0          0",
            rx / 900,
            pick(seed, salt + 4, 3),
            pick(seed, salt + 5, 50) + k / 100,
            pick(seed, salt + 6, 100_000) + k,
            tx / 1100,
            pick(seed, salt + 7, 2),
            pick(seed, salt + 8, 20),
        );
    }
    out.net_dev.clear();
    condense_net_dev(raw, &mut out.net_dev);

    out.cpuinfo.clear();
    if full {
        raw.clear();
        cpuinfo_text(shape, raw);
        condense_cpuinfo(raw, &mut out.cpuinfo);
    }

    // SAFETY: statfs is plain old data; all zeroes is valid.
    let mut statfs: libc::statfs = unsafe { std::mem::zeroed() };
    statfs.f_type = 0x5846_5342; // XFS
    statfs.f_bsize = 4096;
    statfs.f_blocks = 26_214_400;
    statfs.f_bfree = 10_000_000 + pick(seed, 3000 + k, 1_000_000);
    statfs.f_bavail = statfs.f_bfree - 100_000;
    statfs.f_files = 52_428_800;
    statfs.f_ffree = 50_000_000 + pick(seed, 3001 + k, 100_000);
    statfs.f_namelen = 255;
    statfs.f_frsize = 4096;
    out.statfs = Some(statfs);

    out.hostname.clear();
    out.hostname
        .extend_from_slice(format!("n{}", shape.node).as_bytes());
}

/// /proc/stat as the kernel prints it: the aggregate line, one line per
/// CPU, and the lines condensing drops.
fn stat_text(shape: &NodeShape, k: u64, out: &mut String) {
    let seed = shape.seed;
    let mut lines = String::new();
    let mut sum = [0u64; 10];
    for cpu in 0..u64::from(shape.cpus) {
        let salt = 10_000 + cpu * 16;
        // Ticks since boot, then about 100 ticks per interval (USER_HZ),
        // split between the states according to this CPU's load.
        let uptime = 50_000_000 + pick(seed, 1, 10_000_000);
        let busy = pick(seed, salt, 100);
        let user = uptime * busy / 150 + k * busy * 8 / 10 + pick(seed, salt + 1 + k, 3);
        let nice = pick(seed, salt + 2, 50_000) + k / 50;
        let system = uptime * busy / 900 + k * busy / 10;
        let idle = uptime * (100 - busy) / 100 + k * (100 - busy) + pick(seed, salt + 3 + k, 3);
        let iowait = pick(seed, salt + 4, 100_000) + k / 20;
        let irq = pick(seed, salt + 5, 10_000) + k / 100;
        let softirq = pick(seed, salt + 6, 200_000) + k / 10;
        let steal = pick(seed, salt + 7, 5_000) + k / 200;
        let guest = 0;
        let guest_nice = 0;
        let row = [
            user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice,
        ];
        for (total, value) in sum.iter_mut().zip(row) {
            *total += value;
        }
        let _ = write!(lines, "cpu{cpu}");
        for value in row {
            let _ = write!(lines, " {value}");
        }
        lines.push('\n');
    }
    out.push_str("cpu ");
    for value in sum {
        let _ = write!(out, " {value}");
    }
    out.push('\n');
    out.push_str(&lines);
    let interrupts = 1_000_000 + pick(seed, 5, 1_000_000) + k * 5000;
    let _ = writeln!(out, "intr {interrupts} 9 0 0 0 0 0 0 0 0 1 0 0 156 0 0 0");
    let _ = writeln!(out, "ctxt {}", 2_000_000 + k * 9000);
    let _ = writeln!(out, "btime 1700000000\nprocesses {}", 40_000 + k * 3);
    let _ = writeln!(out, "procs_running {}\nprocs_blocked 0", 1 + k % 4);
    let _ = writeln!(out, "softirq {} 0 1 2 3 4 5 6 7 8", 500_000 + k * 800);
}

/// /proc/cpuinfo of an x86 machine with `shape.cpus` CPUs.
fn cpuinfo_text(shape: &NodeShape, out: &mut String) {
    let model = match shape.cpus {
        0..=8 => "Intel(R) Xeon(R) CPU E5-2620 v4 @ 2.10GHz",
        9..=64 => "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
        _ => "AMD EPYC 7763 64-Core Processor",
    };
    for cpu in 0..shape.cpus {
        let mhz = 1500 + pick(shape.seed, 20_000 + u64::from(cpu), 1500);
        let _ = write!(
            out,
            "processor\t: {cpu}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
             model name\t: {model}\nstepping\t: 7\nmicrocode\t: 0x5003604\n\
             cpu MHz\t\t: {mhz}.{:03}\ncache size\t: 36608 KB\nphysical id\t: {}\n\
             siblings\t: {}\ncore id\t\t: {}\ncpu cores\t: {}\napicid\t\t: {cpu}\n\
             fpu\t\t: yes\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge \
             mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx \
             pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology \
             avx512f avx512dq avx512cd avx512bw avx512vl\nbogomips\t: 6000.00\n\
             clflush size\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\n\n",
            pick(shape.seed, 21_000 + u64::from(cpu), 1000),
            cpu / 64,
            shape.cpus.min(64),
            cpu % 64,
            shape.cpus.min(64) / 2 + 1,
        );
    }
}

/// How to build a [`Pool`].
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Simulated nodes, numbered `first_node..first_node + nodes`.
    pub nodes: u32,
    /// Number of the first node.
    pub first_node: i32,
    /// Distinct dynamic reports kept per node (at least 1); the sender
    /// cycles through them, so values change from one round to the next.
    pub variants: u32,
    /// Cap on the pool's size: fewer variants are kept when they would not
    /// fit (never fewer than 1).
    pub max_bytes: usize,
}

impl PoolOptions {
    /// The usual options: `nodes` nodes from 0, 4 variants, 512 MB at most.
    pub fn new(nodes: u32) -> Self {
        PoolOptions {
            nodes,
            first_node: 0,
            variants: 4,
            max_bytes: 512 << 20,
        }
    }
}

/// Every datagram a run sends, encoded once.
///
/// One full report per node (static data included, maybe in several
/// datagrams), then `variants` dynamic reports per node, one datagram each
/// (the largest, a 256-CPU node's, is about 18 KB).
#[derive(Debug)]
pub struct Pool {
    arena: Vec<u8>,
    /// Datagrams of node i's full report: `full[full_index[i]..full_index[i + 1]]`.
    full: Vec<Range<usize>>,
    full_index: Vec<usize>,
    /// Dynamic report of round variant v for node i: `dynamic[v * nodes + i]`.
    dynamic: Vec<Range<usize>>,
    nodes: u32,
    first_node: i32,
    variants: u32,
}

impl Pool {
    /// Makes and encodes every report of the mix of node shapes (this takes
    /// about a second per 10,000 nodes and variant).
    pub fn build(options: &PoolOptions) -> Result<Pool> {
        Self::build_shaped(options, None)
    }

    /// [`Pool::build`] with every node of `shape` (`None`: the mix).
    pub fn build_shaped(options: &PoolOptions, shape: Option<Shape>) -> Result<Pool> {
        let nodes = options.nodes.max(1);
        let mut pool = Pool {
            arena: Vec::new(),
            full: Vec::new(),
            full_index: vec![0],
            dynamic: Vec::new(),
            nodes,
            first_node: options.first_node,
            variants: 0,
        };
        let mut encoder = Encoder::new();
        let mut raw = String::new();
        let mut texts_buffer = Status::default();
        for i in 0..nodes {
            let shape = NodeShape::with(options.first_node + i as i32, shape);
            texts(&shape, 0, true, &mut raw, &mut texts_buffer);
            pool.encode(&mut encoder, &shape, &texts_buffer, true)?;
            pool.full_index.push(pool.full.len());
        }
        let full_bytes = pool.arena.len();
        for variant in 0..options.variants.max(1) {
            if variant > 0 {
                let per_variant = (pool.arena.len() - full_bytes) / variant as usize;
                if pool.arena.len() + per_variant > options.max_bytes {
                    break;
                }
            }
            for i in 0..nodes {
                let shape = NodeShape::with(options.first_node + i as i32, shape);
                texts(&shape, variant + 1, false, &mut raw, &mut texts_buffer);
                pool.encode(&mut encoder, &shape, &texts_buffer, false)?;
            }
            pool.variants += 1;
        }
        pool.arena.shrink_to_fit();
        Ok(pool)
    }

    fn encode(
        &mut self,
        encoder: &mut Encoder,
        shape: &NodeShape,
        texts: &Status,
        full: bool,
    ) -> Result<()> {
        let report = texts.report(Some(&texts.hostname), full);
        let header = Header::status(shape.node, 0, 0);
        let arena = &mut self.arena;
        let mut ranges = Vec::new();
        encode_report(encoder, &header, &report, None, |datagram| {
            let start = arena.len();
            arena.extend_from_slice(datagram);
            ranges.push(start..arena.len());
        })
        .map_err(|e| Error(format!("encoding node {}: {e}", shape.node)))?;
        if full {
            self.full.extend(ranges);
        } else if ranges.len() == 1 {
            self.dynamic.extend(ranges);
        } else {
            return Err(Error(format!(
                "node {}'s dynamic report needs {} datagrams",
                shape.node,
                ranges.len()
            )));
        }
        Ok(())
    }

    /// Simulated nodes.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// Number of the first node.
    pub fn first_node(&self) -> i32 {
        self.first_node
    }

    /// Dynamic reports kept per node.
    pub fn variants(&self) -> u32 {
        self.variants
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.arena.len()
    }

    /// Datagrams of every node's full report, in node order.
    pub fn full_datagrams(&self) -> usize {
        self.full.len()
    }

    /// Byte range (in [`Pool::arena_mut`]) of full-report datagram `index`.
    pub fn full(&self, index: usize) -> Range<usize> {
        self.full[index].clone()
    }

    /// Byte range of node index `node`'s dynamic report for `round`.
    pub fn dynamic(&self, round: u64, node: u32) -> Range<usize> {
        let variant = (round % u64::from(self.variants.max(1))) as usize;
        self.dynamic[variant * self.nodes as usize + node as usize].clone()
    }

    /// Average bytes of a dynamic datagram.
    pub fn dynamic_average(&self) -> usize {
        let total: usize = self.dynamic.iter().map(ExactSizeIterator::len).sum();
        total / self.dynamic.len().max(1)
    }

    /// The encoded bytes, for patching headers and sending.
    pub fn arena_mut(&mut self) -> &mut [u8] {
        &mut self.arena
    }

    /// The encoded bytes.
    pub fn arena(&self) -> &[u8] {
        &self.arena
    }
}

/// Writes a sequence number and a send time into the header of `datagram`.
pub fn stamp(datagram: &mut [u8], sequence: u64, time_ns: u64) {
    datagram[SEQUENCE_OFFSET..SEQUENCE_OFFSET + 8].copy_from_slice(&sequence.to_be_bytes());
    datagram[TIME_OFFSET..TIME_OFFSET + 8].copy_from_slice(&time_ns.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::{cpuinfo, loadavg, meminfo, netdev, stat};
    use crate::protocol::{decode, SectionTag};

    #[test]
    fn shapes_cover_every_cpu_count_and_2_to_6_interfaces() {
        let shapes: Vec<NodeShape> = (0..60).map(NodeShape::of).collect();
        for count in CPU_COUNTS {
            assert!(shapes.iter().any(|s| s.cpus == count));
        }
        for interfaces in 2..=6 {
            assert!(shapes.iter().any(|s| s.interfaces == interfaces));
        }
    }

    #[test]
    fn texts_parse_and_counters_grow_from_one_interval_to_the_next() {
        let mut raw = String::new();
        let (mut first, mut second) = (Status::default(), Status::default());
        for node in 0..24 {
            let shape = NodeShape::of(node);
            texts(&shape, 1, true, &mut raw, &mut first);
            texts(&shape, 2, false, &mut raw, &mut second);
            let a = stat::parse(&first.stat).unwrap();
            let b = stat::parse(&second.stat).unwrap();
            assert_eq!(a.cpu_count, shape.cpus as usize);
            assert!(b.total.idle + b.total.user > a.total.idle + a.total.user);
            let nets = netdev::parse(&second.net_dev).unwrap();
            assert_eq!(nets.devices.len(), shape.interfaces as usize);
            assert!(
                nets.devices[1].recv.bytes
                    > netdev::parse(&first.net_dev).unwrap().devices[1].recv.bytes
            );
            meminfo::parse(&second.meminfo).unwrap();
            loadavg::parse(&second.loadavg).unwrap();
            let info = cpuinfo::parse(&first.cpuinfo).unwrap();
            assert_eq!(info.cpu_count, shape.cpus);
            assert!(second.cpuinfo.is_empty());
            assert_ne!(first.stat, second.stat);
        }
    }

    #[test]
    fn the_pool_holds_decodable_datagrams_naming_their_node() {
        let mut pool = Pool::build(&PoolOptions {
            nodes: 13,
            first_node: 100,
            variants: 2,
            max_bytes: usize::MAX,
        })
        .unwrap();
        assert_eq!(pool.variants(), 2);
        assert!(pool.full_datagrams() >= 13);
        for node in 0..13 {
            let range = pool.dynamic(1, node);
            stamp(&mut pool.arena_mut()[range.clone()], 77, 123);
            let datagram = decode(&pool.arena()[range]).unwrap();
            assert_eq!(datagram.header.node, 100 + node as i32);
            assert_eq!(
                (datagram.header.sequence, datagram.header.time_ns),
                (77, 123)
            );
            assert!(datagram.get(SectionTag::Stat).is_some());
            assert!(!datagram.header.is_full());
        }
        assert_ne!(pool.dynamic(0, 3), pool.dynamic(1, 3));
        assert_eq!(pool.dynamic(0, 3), pool.dynamic(2, 3));
        let first = decode(&pool.arena()[pool.full(0)]).unwrap();
        assert!(first.header.is_full());
    }

    #[test]
    fn the_size_cap_keeps_at_least_one_variant() {
        let pool = Pool::build(&PoolOptions {
            nodes: 12,
            first_node: 0,
            variants: 8,
            max_bytes: 0,
        })
        .unwrap();
        assert_eq!(pool.variants(), 1);
    }

    #[test]
    fn a_fixed_shape_gives_every_node_that_many_cpus_and_interfaces() {
        let shape = Shape::new(8, 4).unwrap();
        let pool = Pool::build_shaped(&PoolOptions::new(30), Some(shape)).unwrap();
        for node in 0..30 {
            let datagram = decode(&pool.arena()[pool.dynamic(1, node)]).unwrap();
            let stat =
                stat::parse(std::str::from_utf8(datagram.get(SectionTag::Stat).unwrap()).unwrap())
                    .unwrap();
            assert_eq!(stat.cpu_count, 8);
            let nets = netdev::parse(
                std::str::from_utf8(datagram.get(SectionTag::NetDev).unwrap()).unwrap(),
            )
            .unwrap();
            assert_eq!(nets.devices.len(), 4);
        }
        // Past the six named interfaces, names go on as eth3, eth4...
        let wide = NodeShape::with(5, Some(Shape::new(2, 9).unwrap()));
        let (mut raw, mut out) = (String::new(), Status::default());
        texts(&wide, 1, false, &mut raw, &mut out);
        let nets = netdev::parse(&out.net_dev).unwrap();
        assert_eq!(nets.devices.len(), 9);
        assert!(Shape::new(0, 4).is_err());
        assert!(Shape::new(8, 0).is_err());
        assert!(Shape::new(8, MAX_INTERFACES + 1).is_err());
    }
}
