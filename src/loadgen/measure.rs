//! What the benchmarks read about a process and a socket from /proc.

use std::fs;
use std::path::Path;

/// CPU time a process has used, user and system, in nanoseconds.
///
/// From `/proc/PID/task/*/schedstat` (first field: time on a CPU, in ns) when
/// the kernel has it; else `utime + stime` of `/proc/PID/stat`, which counts
/// in clock ticks (10 ms at USER_HZ 100), too coarse for short runs.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = Path::new("/proc").join(pid.to_string()).join("task");
    let mut total = 0u64;
    let mut found = false;
    if let Ok(entries) = fs::read_dir(&tasks) {
        for entry in entries.flatten() {
            let Ok(text) = fs::read_to_string(entry.path().join("schedstat")) else {
                continue;
            };
            if let Some(ns) = text
                .split_whitespace()
                .next()
                .and_then(|f| f.parse::<u64>().ok())
            {
                total += ns;
                found = true;
            }
        }
    }
    if found {
        return Some(total);
    }
    cpu_stat_ns(pid)
}

/// CPU time of a process from `utime + stime` of `/proc/PID/stat` alone, in
/// nanoseconds (clock-tick resolution: 10 ms at USER_HZ 100). What `top`,
/// `ps` and the side-by-side comparisons with gmond read; the kernel scales
/// the sampled split to the scheduler's exact total, so over a run of
/// seconds it should agree with [`cpu_ns`], and the benchmarks print both.
pub fn cpu_stat_ns(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(ticks * 1_000_000_000 / hz)
}

/// Resident memory of a process, in KiB, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// VmRSS: everything resident.
    pub rss_kib: u64,
    /// RssAnon: heap, stacks.
    pub anon_kib: u64,
    /// RssFile: the binary and libraries.
    pub file_kib: u64,
    /// RssShmem: pages of the shm files mapped and touched.
    pub shmem_kib: u64,
    /// VmHWM: peak resident.
    pub peak_kib: u64,
}

/// Reads [`Memory`] of `pid`.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(Memory {
        rss_kib: field("VmRSS"),
        anon_kib: field("RssAnon"),
        file_kib: field("RssFile"),
        shmem_kib: field("RssShmem"),
        peak_kib: field("VmHWM"),
    })
}

/// Datagrams the kernel dropped on the UDP sockets bound to `port` (IPv4 and
/// IPv6), because their receive buffers were full: the `drops` column of
/// `/proc/net/udp` and `/proc/net/udp6`.
pub fn udp_drops(port: u16) -> u64 {
    udp_sockets(port).iter().map(|s| s.drops).sum()
}

/// Whether a UDP socket is bound to `port`.
pub fn udp_bound(port: u16) -> bool {
    !udp_sockets(port).is_empty()
}

struct UdpSocketLine {
    drops: u64,
}

fn udp_sockets(port: u16) -> Vec<UdpSocketLine> {
    let wanted = format!(":{port:04X}");
    let mut found = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1).is_some_and(|local| local.ends_with(&wanted)) {
                let drops = fields.last().and_then(|d| d.parse().ok()).unwrap_or(0);
                found.push(UdpSocketLine { drops });
            }
        }
    }
    found
}

/// A UDP port that was free a moment ago (on IPv4 and IPv6).
pub fn free_port() -> std::io::Result<u16> {
    loop {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let port = socket.local_addr()?.port();
        if std::net::UdpSocket::bind(("::1", port)).is_ok() || !ipv6_present() {
            return Ok(port);
        }
    }
}

fn ipv6_present() -> bool {
    std::net::UdpSocket::bind("[::1]:0").is_ok()
}

/// Allocated bytes and apparent size of a (sparse) file.
pub fn file_usage(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = fs::metadata(path).ok()?;
    Some((metadata.blocks() * 512, metadata.size()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: this measured the test process itself, whose other test
    // threads exit while it runs; cpu_ns sums the live threads, so the
    // total could go down and the test failed at random. A busy child of
    // its own has one thread.
    #[test]
    fn a_busy_process_has_cpu_time_and_memory() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        let pid = child.id();
        let first = cpu_ns(pid).unwrap();
        // Until its time on a CPU moves (bounded: 10 s of polling).
        let mut rounds = 0;
        while cpu_ns(pid).unwrap() == first && rounds < 1_000 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            rounds += 1;
        }
        let later = cpu_ns(pid).unwrap();
        let stat = cpu_stat_ns(pid);
        let rss = memory(pid).unwrap().rss_kib;
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(later > first, "no CPU time after {rounds} rounds");
        assert!(stat.is_some());
        assert!(rss > 0);
    }

    #[test]
    fn a_bound_socket_is_found_with_its_drop_count() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        assert!(udp_bound(port));
        assert_eq!(udp_drops(port), 0);
    }
}
