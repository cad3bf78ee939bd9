//! Sender-side shrinking and splitting of /proc text.
//!
//! This module owns what the node does to /proc text before it goes on the
//! wire: keep only the lines the master parses, squeeze runs of blanks to one
//! space, keep the 8 /proc/stat time columns the master records (dropping
//! guest and guest_nice), and cut a text that is still too long into parts at line
//! boundaries. The rule it must keep: a condensed text is itself a valid
//! /proc text for a parser that splits fields on whitespace and `key: value`
//! lines on the first colon (which every /proc parser must do anyway), so
//! the master parses raw and condensed text alike, to the same values. It
//! never reorders lines and never changes a field's characters.
//!
//! The key lists are part of the protocol: docs/PROTOCOL.md repeats them,
//! and a master parser that needs another line must add it here first.

use super::EncodeError;

/// The /proc/meminfo keys the master reads (the rest is dropped).
///
/// `MemShared` is what 2.4 kernels call `Shmem`.
pub const MEMINFO_KEYS: [&str; 9] = [
    "MemTotal",
    "MemFree",
    "MemAvailable",
    "Buffers",
    "Cached",
    "SwapTotal",
    "SwapFree",
    "Shmem",
    "MemShared",
];

/// The /proc/cpuinfo keys kept: what gives the CPU count, the model and the
/// clock on each architecture the samples cover.
///
/// - `processor`: one per CPU on x86, ARM, POWER, MIPS, RISC-V, LoongArch;
/// - `# processors`, `cpu number`: the count and per-CPU blocks on s390x;
/// - `model name` (x86, ARM), `Model Name` (LoongArch), `cpu model` (MIPS),
///   `cpu` (POWER), `Processor` (ARM before 3.8): the model;
/// - `cpu MHz` (x86), `CPU MHz` (LoongArch), `clock` (POWER, "3000.000000MHz"),
///   `cpu MHz static`, `cpu MHz dynamic` (s390x): the clock.
pub const CPUINFO_KEYS: [&str; 13] = [
    "processor",
    "# processors",
    "cpu number",
    "model name",
    "Model Name",
    "cpu model",
    "cpu",
    "Processor",
    "cpu MHz",
    "CPU MHz",
    "clock",
    "cpu MHz static",
    "cpu MHz dynamic",
];

/// Appends `line`'s fields to `out`, one space apart, and a newline.
fn push_squeezed(line: &str, out: &mut String) {
    for (i, word) in line.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push('\n');
}

/// The most time columns a condensed `cpu` line has: `user nice system
/// idle iowait irq softirq steal`, what the master records.
pub const STAT_COLUMNS: usize = 8;

/// Appends the `cpu` lines of a /proc/stat text to `out`, blanks squeezed,
/// each line cut after its [`STAT_COLUMNS`] time columns.
///
/// `intr`, `softirq`, `ctxt` and the rest are dropped: the master only
/// keeps per-CPU times, and `intr` alone can pass 64 KiB on a large node.
/// `guest` and `guest_nice` (and any later column) are dropped: the kernel
/// already counts them in `user` and `nice`. Every other mode goes as the
/// kernel printed it, so iowait and steal stay apart for the master (a
/// Linux 2.4 line of 4 columns stays 4 columns). Cutting changes nothing
/// the master reads from the line, readable or not.
pub fn condense_stat(text: &str, out: &mut String) {
    for line in text.lines().filter(|line| line.starts_with("cpu")) {
        let mut words = line.split_whitespace();
        out.push_str(words.next().unwrap_or_default());
        for word in words.take(STAT_COLUMNS) {
            out.push(' ');
            out.push_str(word);
        }
        out.push('\n');
    }
}

/// Appends the [`MEMINFO_KEYS`] lines of a /proc/meminfo text to `out`,
/// blanks squeezed (`MemTotal:       15666184 kB` becomes
/// `MemTotal: 15666184 kB`).
pub fn condense_meminfo(text: &str, out: &mut String) {
    for line in text.lines() {
        if let Some((key, _)) = line.split_once(':') {
            if MEMINFO_KEYS.contains(&key.trim()) {
                push_squeezed(line, out);
            }
        }
    }
}

/// Appends the interface lines of a /proc/net/dev text to `out`, blanks
/// squeezed. The two column-title lines (the only lines without a colon)
/// are dropped; every kernel since 2.2 prints the same columns.
pub fn condense_net_dev(text: &str, out: &mut String) {
    for line in text.lines().filter(|line| line.contains(':')) {
        push_squeezed(line, out);
    }
}

/// Appends the [`CPUINFO_KEYS`] lines of a /proc/cpuinfo text to `out` as
/// `key: value`, keeping one blank line between CPU blocks.
///
/// Only the blanks around the key and the value are trimmed; the value's
/// inner spacing (model names) is kept as the kernel printed it.
pub fn condense_cpuinfo(text: &str, out: &mut String) {
    let mut block_open = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            if block_open {
                out.push('\n');
                block_open = false;
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        if !CPUINFO_KEYS.contains(&key) {
            continue;
        }
        out.push_str(key);
        out.push(':');
        let value = value.trim();
        if !value.is_empty() {
            out.push(' ');
            out.push_str(value);
        }
        out.push('\n');
        block_open = true;
    }
}

/// Cuts a text into parts of whole lines, each at most `max_len` bytes.
///
/// Fails with [`EncodeError::TooLarge`] if one line (newline included) is
/// longer than `max_len`, since a line is never cut. An empty text has no
/// parts. Concatenating the parts gives back the text.
pub fn split_lines(text: &[u8], max_len: usize) -> Result<SplitLines<'_>, EncodeError> {
    if let Some(longest) = text.split_inclusive(|&b| b == b'\n').map(<[u8]>::len).max() {
        if longest > max_len {
            return Err(EncodeError::TooLarge {
                needed: longest,
                available: max_len,
            });
        }
    }
    Ok(SplitLines {
        rest: text,
        max_len,
    })
}

/// The parts of a text, from [`split_lines`].
#[derive(Debug, Clone)]
pub struct SplitLines<'a> {
    rest: &'a [u8],
    max_len: usize,
}

impl<'a> SplitLines<'a> {
    /// Whether every part has been taken.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The bytes not yet taken.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Takes the next part with a one-off limit of `max_len` bytes (the
    /// planner uses this to fill the room left in a datagram). `None` if
    /// nothing is left or the next line does not fit `max_len`.
    pub fn next_within(&mut self, max_len: usize) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let cut = if self.rest.len() <= max_len {
            self.rest.len()
        } else {
            let window = self.rest.get(..max_len)?;
            window.iter().rposition(|&b| b == b'\n')? + 1
        };
        let (part, rest) = self.rest.split_at(cut);
        self.rest = rest;
        Some(part)
    }
}

impl<'a> Iterator for SplitLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.next_within(self.max_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT_8CPU: &str = include_str!("../../tests/data/protocol/x86_64-8cpu/stat");
    const MEMINFO_8CPU: &str = include_str!("../../tests/data/protocol/x86_64-8cpu/meminfo");
    const NET_DEV_8CPU: &str = include_str!("../../tests/data/protocol/x86_64-8cpu/net-dev");
    const CPUINFO_8CPU: &str = include_str!("../../tests/data/protocol/x86_64-8cpu/cpuinfo");
    const CPUINFO_VM: &str = include_str!("../../tests/data/protocol/x86_64-vm-2cpu/cpuinfo");
    const CPUINFO_S390X: &str = include_str!("../../tests/data/protocol/cpuinfo-s390x");
    const CPUINFO_PPC64: &str = include_str!("../../tests/data/protocol/cpuinfo-ppc64");
    const CPUINFO_ARM7_LEGACY: &str = include_str!("../../tests/data/protocol/cpuinfo-arm7legacy");
    const CPUINFO_LOONG64: &str = include_str!("../../tests/data/protocol/cpuinfo-loong64");
    const CPUINFO_MIPS: &str = include_str!("../../tests/data/protocol/cpuinfo-mips");

    fn condensed(f: fn(&str, &mut String), text: &str) -> String {
        let mut out = String::new();
        f(text, &mut out);
        out
    }

    #[test]
    fn stat_keeps_only_cpu_lines_and_drops_the_huge_intr_line() {
        let out = condensed(condense_stat, STAT_8CPU);
        assert!(
            STAT_8CPU.len() > 100_000,
            "the sample's intr line is the point of this test"
        );
        assert_eq!(out.lines().count(), 9);
        // Raw: `cpu  301854 612 111922 8979004 3552 2 3944 0 0 0`: every
        // mode kept, guest and guest_nice dropped.
        assert_eq!(
            out.lines().next(),
            Some("cpu 301854 612 111922 8979004 3552 2 3944 0")
        );
        // Raw: `cpu7 29098 268 10164 1139282 555 0 31 0 0 0`.
        assert_eq!(
            out.lines().nth(8),
            Some("cpu7 29098 268 10164 1139282 555 0 31 0")
        );
        assert!(!out.contains("intr") && !out.contains("ctxt") && !out.contains("softirq"));
        assert!(out.len() < 400, "{} bytes", out.len());
    }

    #[test]
    fn stat_keeps_eight_time_columns_and_passes_unreadable_lines_on() {
        let text = "cpu  1 2 3 4 5 6 7 8 9 10 11\ncpu0 1 2 3 4\ncpu1\t1  2 3 4 5 6 7\n\
                    cpu2 1 2 3 4 5 6 7 8 9 x\ncpu3 1 2 3\ncpu4 1 x 3 4 5 6 7 8 9\nintr 5 6\n";
        assert_eq!(
            condensed(condense_stat, text),
            "cpu 1 2 3 4 5 6 7 8\ncpu0 1 2 3 4\ncpu1 1 2 3 4 5 6 7\ncpu2 1 2 3 4 5 6 7 8\n\
             cpu3 1 2 3\ncpu4 1 x 3 4 5 6 7 8\n"
        );
    }

    #[test]
    fn stat_condensed_parses_as_the_raw_text_does() {
        // Squeezing blanks and dropping guest and guest_nice lose nothing
        // the master keeps.
        for text in [
            STAT_8CPU,
            include_str!("../../tests/data/proc/stat-256cpu-long-intr"),
            include_str!("../../tests/data/proc/x86_64-vm-2cpu/stat"),
            include_str!("../../tests/data/proc/stat-linux-2.4-4fields"),
            include_str!("../../tests/data/proc/stat-offline-cpu-gap"),
        ] {
            let raw = crate::proc::stat::parse(text).unwrap();
            let out = condensed(condense_stat, text);
            assert_eq!(crate::proc::stat::parse(&out).unwrap(), raw);
            assert!(out
                .lines()
                .all(|l| l.split(' ').count() <= 1 + STAT_COLUMNS));
        }
    }

    #[test]
    fn meminfo_keeps_the_master_keys_with_values_untouched() {
        let out = condensed(condense_meminfo, MEMINFO_8CPU);
        assert_eq!(
            out,
            "MemTotal: 15666184 kB\nMemFree: 440324 kB\nBuffers: 1020128 kB\n\
             Cached: 12007640 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\nShmem: 1308 kB\n"
        );
    }

    #[test]
    fn net_dev_drops_column_titles_and_squeezes_blanks() {
        let out = condensed(condense_net_dev, NET_DEV_8CPU);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "vethf345468: 648 8 0 0 0 0 0 0 438 5 0 0 0 0 0 0");
        assert_eq!(
            lines[3],
            "eth0: 874354587 1036395 0 0 0 0 0 0 563352563 732147 0 0 0 0 0 0"
        );
    }

    #[test]
    fn net_dev_keeps_a_name_glued_to_its_first_counter() {
        // The kernel prints "%6s:%8llu", so big counters touch the colon.
        let text = "Inter-| Receive\n face |bytes\n  eth0:1874354587 1036395    0\n";
        assert_eq!(
            condensed(condense_net_dev, text),
            "eth0:1874354587 1036395 0\n"
        );
    }

    #[test]
    fn cpuinfo_x86_keeps_processor_model_and_clock_per_cpu() {
        let out = condensed(condense_cpuinfo, CPUINFO_VM);
        assert_eq!(
            out,
            "processor: 0\nmodel name: AMD EPYC\ncpu MHz: 2596.154\n\n\
             processor: 1\nmodel name: AMD EPYC\ncpu MHz: 2596.154\n\n"
        );
        let out = condensed(condense_cpuinfo, CPUINFO_8CPU);
        assert_eq!(out.matches("processor: ").count(), 8);
        assert!(out.starts_with(
            "processor: 0\nmodel name: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\ncpu MHz: 799.998\n\n"
        ));
        assert!(
            out.len() * 10 < CPUINFO_8CPU.len(),
            "{} of {}",
            out.len(),
            CPUINFO_8CPU.len()
        );
    }

    #[test]
    fn cpuinfo_other_architectures_keep_their_count_model_and_clock_lines() {
        let s390x = condensed(condense_cpuinfo, CPUINFO_S390X);
        assert!(s390x.starts_with("# processors: 4\n"), "{s390x}");
        assert_eq!(s390x.matches("cpu number: ").count(), 4);
        assert!(s390x.contains("cpu MHz static: 5000\n"));
        assert!(!s390x.contains("facilities"));

        let ppc64 = condensed(condense_cpuinfo, CPUINFO_PPC64);
        assert!(ppc64.starts_with(
            "processor: 0\ncpu: POWER7 (architected), altivec supported\nclock: 3000.000000MHz\n\n"
        ));
        assert_eq!(ppc64.matches("processor: ").count(), 6);

        let arm = condensed(condense_cpuinfo, CPUINFO_ARM7_LEGACY);
        assert!(arm.starts_with("Processor: ARMv7 Processor rev 5 (v7l)\nprocessor: 0\n\n"));

        let loong = condensed(condense_cpuinfo, CPUINFO_LOONG64);
        assert!(loong.contains("processor: 3\nModel Name: Loongson-3A5000\nCPU MHz: 2500.00\n"));

        let mips = condensed(condense_cpuinfo, CPUINFO_MIPS);
        assert!(mips.starts_with("processor: 0\ncpu model: Cavium Octeon+ V0.1\n\n"));
    }

    #[test]
    fn cpuinfo_of_256_cpus_fits_one_datagram_after_condensing() {
        let block = CPUINFO_8CPU.split("\n\n").next().unwrap();
        let mut raw = String::new();
        for cpu in 0..256 {
            raw.push_str(&block.replacen("processor\t: 0", &format!("processor\t: {cpu}"), 1));
            raw.push_str("\n\n");
        }
        let out = condensed(condense_cpuinfo, &raw);
        assert_eq!(out.matches("processor: ").count(), 256);
        assert!(raw.len() > super::super::MAX_DATAGRAM * 4);
        assert!(out.len() < 24_000, "{} bytes", out.len());
    }

    #[test]
    fn condensed_text_is_unchanged_by_condensing_again() {
        for (f, text) in [
            (condense_stat as fn(&str, &mut String), STAT_8CPU),
            (condense_meminfo, MEMINFO_8CPU),
            (condense_net_dev, NET_DEV_8CPU),
            (condense_cpuinfo, CPUINFO_8CPU),
            (condense_cpuinfo, CPUINFO_S390X),
        ] {
            let once = condensed(f, text);
            assert_eq!(condensed(f, &once), once);
        }
    }

    #[test]
    fn split_lines_cuts_at_newlines_within_the_limit_and_rejoins() {
        let text = b"aaa\nbb\ncccc\nd\n";
        let parts: Vec<&[u8]> = split_lines(text, 7).unwrap().collect();
        assert_eq!(parts, [&b"aaa\nbb\n"[..], b"cccc\nd\n"]);
        let parts: Vec<&[u8]> = split_lines(text, 5).unwrap().collect();
        assert_eq!(parts, [&b"aaa\n"[..], b"bb\n", b"cccc\n", b"d\n"]);
        assert_eq!(parts.concat(), text);
        assert_eq!(split_lines(b"", 5).unwrap().count(), 0);
        let unterminated: Vec<&[u8]> = split_lines(b"ab\ncd", 3).unwrap().collect();
        assert_eq!(unterminated, [&b"ab\n"[..], b"cd"]);
    }

    #[test]
    fn split_lines_refuses_a_line_longer_than_the_limit() {
        assert_eq!(
            split_lines(b"ok\ntoo long\n", 5).unwrap_err(),
            EncodeError::TooLarge {
                needed: 9,
                available: 5
            }
        );
    }

    #[test]
    fn next_within_returns_none_when_the_next_line_does_not_fit() {
        let mut parts = split_lines(b"abcdef\ngh\n", 10).unwrap();
        assert_eq!(parts.next_within(3), None);
        assert_eq!(parts.remaining(), b"abcdef\ngh\n");
        assert_eq!(parts.next_within(8), Some(&b"abcdef\n"[..]));
        assert_eq!(parts.next(), Some(&b"gh\n"[..]));
        assert!(parts.is_empty());
    }
}
