//! `/proc/stat`: cumulative CPU time, total and per CPU, as `struct beostat_stat_cpu`.
//!
//! This module owns the reading of the `cpu` lines and the mapping of the
//! kernel's time columns onto the four legacy fields; it never does I/O.
//!
//! **Mapping.** The kernel prints, in USER_HZ ticks, `user nice system idle
//! iowait irq softirq steal guest guest_nice` (Linux 2.4 printed only the
//! first 4; 2.6.0 added 3, 2.6.11 steal, 2.6.24 guest, 2.6.33 guest_nice).
//! Missing columns count as 0, extra future columns are ignored (but must be
//! numbers):
//!
//! | field    | from                                  |
//! |----------|---------------------------------------|
//! | `user`   | `user`                                |
//! | `nice`   | `nice`                                |
//! | `system` | `system + irq + softirq + steal`      |
//! | `idle`   | `idle + iowait`                       |
//!
//! `guest` and `guest_nice` are not added: the kernel already counts them in
//! `user` and `nice`. Steal is time the hypervisor took from a runnable
//! guest CPU, so it is counted as busy, never idle.
//!
//! **Wrapping.** The columns are `u64` but the C fields are `long`: sums are
//! computed with wrapping `u64` arithmetic and converted with `as`, so a
//! counter past `LONG_MAX` wraps negative. That is the legacy contract:
//! "counters only grow and wrap", and callers take differences.
//!
//! **CPU lines.** `cpu ` is the aggregate (required); `cpuN` is CPU number N.
//! Offline CPUs have no line, so numbers may have gaps: [`Stat::cpus`] is
//! indexed by CPU number with zeroed entries in the gaps, and
//! [`Stat::cpu_count`] is the highest number + 1. A kernel that prints only
//! the aggregate line (some old uniprocessor kernels) is reported as one CPU
//! whose times are the aggregate's. A CPU number of [`MAX_CPU_INDEX`] or more
//! is an error, not a skip: it is beyond the largest `NR_CPUS` Linux can be
//! built with, so the text is not a real /proc/stat, and accepting it would let
//! one line make the parser allocate an arbitrarily large vector. A duplicated
//! CPU line, a CPU line with fewer than 4 columns or a non-numeric column is
//! also an error: per-CPU usage from such a text would be silently wrong.
//!
//! **Speed.** Only lines starting with `cpu` are split into fields, in one
//! scan that also finds their end; every other line (including `intr`,
//! which lists every interrupt and runs to hundreds of KiB on large
//! machines) is skipped by one newline search (memchr).
//! A line that starts with `cpu` but is not `cpu` + digits (a future
//! `cpufoo` key) is ignored.

use libc::c_long;

use super::{excerpt, parse_u64, scan_u64, ParseError};
use crate::types::beostat_stat_cpu;

const FILE: &str = "/proc/stat";

/// CPU numbers must be below this: the largest `CONFIG_NR_CPUS` Linux allows.
pub const MAX_CPU_INDEX: usize = 8192;

/// The CPU times of one /proc/stat.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stat {
    /// The aggregate `cpu` line: all CPUs together.
    pub total: beostat_stat_cpu,
    /// Per CPU, indexed by CPU number; zeroed where a CPU had no line.
    pub cpus: Vec<beostat_stat_cpu>,
    /// Highest CPU number seen + 1 (equals `cpus.len()`).
    pub cpu_count: usize,
}

/// Parses the text of /proc/stat.
pub fn parse(text: &str) -> Result<Stat, ParseError> {
    let mut stat = Stat::default();
    parse_into(text, &mut stat)?;
    Ok(stat)
}

/// Parses the text of /proc/stat into `stat`, reusing its `cpus` vector:
/// once the vector has grown to the node's CPU count, parsing allocates
/// nothing (recvstats parses every report of every node this way). On error
/// `stat` holds an unspecified partial result.
pub fn parse_into(text: &str, stat: &mut Stat) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let mut total = None;
    let cpus = &mut stat.cpus;
    cpus.clear();
    // One bit per possible CPU number, on the stack: finds duplicated lines
    // without a second vector.
    let mut present = [0u64; MAX_CPU_INDEX / 64];

    // One pass over the bytes: a `cpu` line is scanned field by field up to
    // its newline (no separate search for the line end), any other line is
    // skipped with one memchr.
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at..].starts_with(b"cpu") {
            match text[at..].find('\n') {
                Some(newline) => at += newline + 1,
                None => break,
            }
            continue;
        }
        let line_start = at;
        let label_start = at + 3;
        let mut label_end = label_start;
        while label_end < bytes.len() && !bytes[label_end].is_ascii_whitespace() {
            label_end += 1;
        }
        // Both ends are next to ASCII bytes, so they are char boundaries.
        let label = &text[label_start..label_end];
        if label.is_empty() {
            let (times, next) = parse_times(text, label_end, line_start)?;
            if total.replace(times).is_some() {
                return Err(ParseError::new(
                    FILE,
                    "more than one aggregate \"cpu\" line",
                ));
            }
            at = next;
            continue;
        }
        if !label.bytes().all(|b| b.is_ascii_digit()) {
            at = line_end(text, label_end) + 1;
            continue;
        }
        let index = parse_u64(label)
            .and_then(|number| usize::try_from(number).ok())
            .filter(|&i| i < MAX_CPU_INDEX)
            .ok_or_else(|| {
                ParseError::new(
                    FILE,
                    format!(
                        "CPU number {} is not below the limit of {MAX_CPU_INDEX}",
                        excerpt(label)
                    ),
                )
            })?;
        let (times, next) = parse_times(text, label_end, line_start)?;
        at = next;
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if present[word] & bit != 0 {
            return Err(ParseError::new(
                FILE,
                format!("more than one line for cpu{index}"),
            ));
        }
        present[word] |= bit;
        if index >= cpus.len() {
            cpus.resize(index + 1, beostat_stat_cpu::default());
        }
        cpus[index] = times;
    }

    let total = total.ok_or_else(|| ParseError::new(FILE, "no aggregate \"cpu\" line"))?;
    if cpus.is_empty() {
        cpus.push(total);
    }
    stat.cpu_count = cpus.len();
    stat.total = total;
    Ok(())
}

/// Index of the newline that ends the line containing `from` (or the text's
/// length).
fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |n| from + n)
}

/// The time columns of the cpu line that starts at `line_start`, scanned
/// from `from` to the end of the line. Returns the times and where the next
/// line starts.
///
/// Fields are separated by ASCII whitespace, as `split_ascii_whitespace`
/// would split the line; each must be a decimal `u64` ([`scan_u64`]).
fn parse_times(
    text: &str,
    from: usize,
    line_start: usize,
) -> Result<(beostat_stat_cpu, usize), ParseError> {
    let bytes = text.as_bytes();
    // user nice system idle iowait irq softirq steal
    let mut known = [0u64; 8];
    let mut count = 0;
    let mut at = from;
    loop {
        while at < bytes.len() && bytes[at] != b'\n' && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at == bytes.len() || bytes[at] == b'\n' {
            break;
        }
        let start = at;
        let (value, end) = scan_u64(bytes, at);
        at = end;
        // Both ends are next to ASCII bytes (or the text's ends).
        let field = &text[start..at];
        let value = value.ok_or_else(|| {
            let line = &text[line_start..line_end(text, line_start)];
            ParseError::new(
                FILE,
                format!("not a number {:?} in {:?}", excerpt(field), excerpt(line)),
            )
        })?;
        if let Some(slot) = known.get_mut(count) {
            *slot = value;
        }
        count += 1;
    }
    if count < 4 {
        let line = &text[line_start..line_end(text, line_start)];
        return Err(ParseError::new(
            FILE,
            format!(
                "{count} time columns where at least 4 are needed: {:?}",
                excerpt(line)
            ),
        ));
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = known;
    let times = beostat_stat_cpu {
        user: wrap(user),
        system: wrap(
            system
                .wrapping_add(irq)
                .wrapping_add(softirq)
                .wrapping_add(steal),
        ),
        nice: wrap(nice),
        idle: wrap(idle.wrapping_add(iowait)),
    };
    Ok((times, at + 1))
}

/// Tick counters wrap into the C `long` (see the module doc).
fn wrap(ticks: u64) -> c_long {
    ticks as c_long
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::test_support::hostile_texts;

    fn parsed(text: &str) -> Stat {
        parse(text).expect("sample parses")
    }

    /// Builds the expected struct in the C field order: user, system, nice, idle.
    fn times(user: c_long, system: c_long, nice: c_long, idle: c_long) -> beostat_stat_cpu {
        beostat_stat_cpu {
            user,
            system,
            nice,
            idle,
        }
    }

    #[test]
    fn x86_64_8cpu() {
        let stat = parsed(sample_text!("x86_64-8cpu/stat"));
        // cpu  301854 612 111922 8979004 3552 2 3944 0 0 0
        assert_eq!(
            stat.total,
            times(301854, 111922 + 2 + 3944, 612, 8979004 + 3552)
        );
        assert_eq!(stat.cpu_count, 8);
        assert_eq!(stat.cpus.len(), 8);
        // cpu0 44490 19 21045 1087069 220 1 3410 0 0 0
        assert_eq!(stat.cpus[0], times(44490, 24456, 19, 1087289));
        // cpu7 29098 268 10164 1139282 555 0 31 0 0 0
        assert_eq!(stat.cpus[7], times(29098, 10195, 268, 1139837));
    }

    #[test]
    fn x86_64_vm_2cpu_steal_counts_as_system() {
        let stat = parsed(sample_text!("x86_64-vm-2cpu/stat"));
        // cpu  2330 0 7751 119815 160 0 2595 57 0 0
        assert_eq!(stat.total, times(2330, 7751 + 2595 + 57, 0, 119815 + 160));
        assert_eq!(stat.cpu_count, 2);
        // cpu1 1218 0 4996 58273 142 0 2587 14 0 0
        assert_eq!(stat.cpus[1], times(1218, 7597, 0, 58415));
    }

    #[test]
    fn this_host_x86_64() {
        let stat = parsed(sample_text!("this-host-x86_64/stat"));
        // cpu  12870 0 3542 98273 275 0 32 8 0 0
        assert_eq!(stat.total, times(12870, 3582, 0, 98548));
        assert_eq!(stat.cpu_count, 2);
        // cpu0 6316 0 1615 49505 33 0 10 2 0 0
        assert_eq!(stat.cpus[0], times(6316, 1627, 0, 49538));
    }

    #[test]
    fn linux_2_4_four_columns() {
        let stat = parsed(sample_text!("stat-linux-2.4-4fields"));
        assert_eq!(stat.total, times(3357, 4313, 0, 1362393));
        assert_eq!(
            stat.cpus,
            [times(1786, 2244, 0, 680883), times(1571, 2069, 0, 681510)]
        );
        assert_eq!(stat.cpu_count, 2);
    }

    #[test]
    fn linux_2_6_9_seven_columns() {
        let stat = parsed(sample_text!("stat-linux-2.6.9-7fields"));
        // cpu  2255 34 2290 22625563 6290 127 456
        assert_eq!(stat.total, times(2255, 2873, 34, 22631853));
        // cpu1 1123 0 849 11313845 2615 0 18
        assert_eq!(stat.cpus[1], times(1123, 867, 0, 11316460));
    }

    #[test]
    fn offline_cpus_leave_zeroed_gaps_and_the_aggregate_is_taken_as_printed() {
        let stat = parsed(sample_text!("stat-offline-cpu-gap"));
        // cpu  120443 2011 40977 3312010 1893 0 911 17 0 0 (includes the
        // offline CPUs' past time, so it is not the sum of the lines below).
        assert_eq!(stat.total, times(120443, 41905, 2011, 3313903));
        // Online: 0 1 3 4 6; the highest is 6.
        assert_eq!(stat.cpu_count, 7);
        assert_eq!(stat.cpus.len(), 7);
        for offline in [2, 5] {
            assert_eq!(stat.cpus[offline], beostat_stat_cpu::default());
        }
        // cpu3 28012 610 9687 643301 401 0 151 2 0 0
        assert_eq!(stat.cpus[3], times(28012, 9840, 610, 643702));
        // cpu6 12101 200 4011 662011 150 0 60 1 0 0
        assert_eq!(stat.cpus[6], times(12101, 4072, 200, 662161));
    }

    #[test]
    fn many_cpus_and_an_intr_line_longer_than_70_kib() {
        let text = sample_text!("stat-256cpu-long-intr");
        let intr = text.lines().find(|l| l.starts_with("intr ")).unwrap();
        assert!(intr.len() > 70 * 1024);
        let stat = parsed(text);
        assert_eq!(stat.cpu_count, 256);
        // Values picked out of the file with awk: user, nice,
        // system+irq+softirq+steal, idle+iowait.
        // cpu  1152824740 6169234 245205921 12677363235 26712077 4000711 10720271 602844 ...
        assert_eq!(
            stat.total,
            times(1152824740, 260529747, 6169234, 12704075312)
        );
        // cpu0 8301549 20338 916513 59123740 98316 26452 5227 3745 809358 885
        assert_eq!(stat.cpus[0], times(8301549, 951937, 20338, 59222056));
        // cpu255 3204694 13333 1342362 49919585 40048 7267 68656 840 229923 768
        assert_eq!(stat.cpus[255], times(3204694, 1419125, 13333, 49959633));
        // The aggregate equals the column sums (the generator's invariant).
        let user_sum: c_long = stat.cpus.iter().map(|c| c.user).sum();
        assert_eq!(user_sum, stat.total.user);
    }

    #[test]
    fn aggregate_only_is_one_cpu() {
        let stat = parsed("cpu  100 2 30 400\nctxt 5\n");
        assert_eq!(stat.total, times(100, 30, 2, 400));
        assert_eq!(stat.cpus, [stat.total]);
        assert_eq!(stat.cpu_count, 1);
    }

    #[test]
    fn counters_beyond_long_wrap() {
        // 2^63 user ticks wraps to LONG_MIN; system + irq overflows u64 and wraps.
        let text = format!(
            "cpu  9223372036854775808 0 {} 0 0 2 0 0\ncpu0 1 2 3 4\n",
            u64::MAX
        );
        let stat = parsed(&text);
        assert_eq!(stat.total.user, c_long::MIN);
        assert_eq!(stat.total.system, 1);
        assert_eq!(stat.cpus[0], times(1, 3, 2, 4));
    }

    #[test]
    fn extra_future_columns_are_ignored() {
        let stat = parsed("cpu  1 2 3 4 5 6 7 8 9 10 11 12\ncpu0 1 2 3 4 5 6 7 8 9 10 11 12\n");
        assert_eq!(stat.total, times(1, 3 + 6 + 7 + 8, 2, 4 + 5));
    }

    #[test]
    fn cpu_number_limit() {
        let last = format!("cpu  1 1 1 1\ncpu{} 1 1 1 1\n", MAX_CPU_INDEX - 1);
        assert_eq!(parsed(&last).cpu_count, MAX_CPU_INDEX);
        for number in [
            MAX_CPU_INDEX.to_string(),
            "18446744073709551615".into(),
            "99999999999999999999999".into(),
        ] {
            let text = format!("cpu  1 1 1 1\ncpu{number} 1 1 1 1\n");
            let error = parse(&text).expect_err(&text);
            assert!(error.message().contains("8192"), "{error}");
        }
    }

    #[test]
    fn malformed_cpu_lines_are_errors() {
        for text in [
            "",
            "\n",
            "intr 1 2 3\nctxt 4\n",
            "cpu0 1 2 3 4\n",
            "cpu  1 2 3\ncpu0 1 2 3 4\n",
            "cpu  1 2 3 4\ncpu0 1 2 3\n",
            "cpu\n",
            "cpu  1 2 x 4\n",
            "cpu  1 2 3 4\ncpu0 1 2 3 -4\n",
            "cpu  1 2 3 4\ncpu0 1 2 3 4.5\n",
            "cpu  1 2 3 99999999999999999999999\n",
            "cpu  1 2 3 4\ncpu  1 2 3 4\n",
            "cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu0 1 2 3 4\n",
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.file(), "/proc/stat");
        }
    }

    #[test]
    fn lines_that_only_start_with_cpu_are_ignored() {
        let stat = parsed("cpu  1 2 3 4\ncpufreq whatever\ncpu0 1 2 3 4\ncpu_x 1\n");
        assert_eq!(stat.cpu_count, 1);
    }

    #[test]
    fn parse_into_reuses_its_vector_and_forgets_the_previous_text() {
        let mut stat = parse(sample_text!("stat-256cpu-long-intr")).unwrap();
        let capacity = stat.cpus.capacity();
        parse_into(sample_text!("x86_64-8cpu/stat"), &mut stat).unwrap();
        assert_eq!(stat, parse(sample_text!("x86_64-8cpu/stat")).unwrap());
        assert_eq!(stat.cpus.capacity(), capacity, "no reallocation");
        // Gaps of the new text are zeroed, not left from the previous one.
        parse_into(sample_text!("stat-offline-cpu-gap"), &mut stat).unwrap();
        assert_eq!(stat, parse(sample_text!("stat-offline-cpu-gap")).unwrap());
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in hostile_texts() {
            let _ = parse(&text);
        }
    }
}
