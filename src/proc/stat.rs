//! `/proc/stat`: cumulative CPU time in every mode, total and per CPU, as
//! `struct beostat_cpu_times` (which folds into the legacy `struct
//! beostat_cpu_times` with [`beostat_cpu_times::legacy`]).
//!
//! This module owns the reading of the `cpu` lines and the mapping of the
//! kernel's time columns onto the four legacy fields; it never does I/O.
//!
//! **Columns.** The first 8 columns are kept as they are (missing ones 0).
//! The legacy four fields are derived from them with this **mapping**
//! (`beostat_cpu_times::legacy`). The kernel prints, in USER_HZ ticks, `user nice system idle
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
//!
//! Two paths read a cpu line. The **fast path** takes only the form
//! sendstats sends (`cpuN` or `cpu`, then numbers of 1 to 15 digits one
//! space apart, then a newline: the master parses one per CPU per report).
//! On x86_64 a line of up to 64 bytes is classified whole with SSE2 (where
//! its spaces, digits and newline are, 16 bytes an instruction), checked
//! with a few mask operations, and each field converted eight digits at a
//! time from where the mask puts it; longer lines, and every line on other
//! architectures, are read field after field with [`super::digits16`].
//! Anything else (runs of blanks or tabs as the kernel prints them, a last
//! line without newline, longer numbers, any error) goes to the **general
//! path**, byte by byte, which defines what is accepted: neither fast tier
//! accepts a line the general one would not read the same way (tested on
//! every sample, prefix and generated line, each tier on its own).
//! [`parse_bytes_into`] takes bytes off the network and checks UTF-8 only
//! where the general path reads: a line the fast path took is ASCII.

use super::{digits16, excerpt, parse_u64, scan_u64, ParseError};
use crate::shm::layout::beostat_cpu_times;

const FILE: &str = "/proc/stat";

/// CPU numbers must be below this: the largest `CONFIG_NR_CPUS` Linux allows.
pub const MAX_CPU_INDEX: usize = 8192;

/// The CPU times of one /proc/stat.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stat {
    /// The aggregate `cpu` line: all CPUs together.
    pub total: beostat_cpu_times,
    /// Per CPU, indexed by CPU number; zeroed where a CPU had no line.
    pub cpus: Vec<beostat_cpu_times>,
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
    parse_lines(text.as_bytes(), Some(text), stat, true)
}

/// [`parse_into`] on bytes that may not be UTF-8, for text off the network:
/// `Ok` exactly when the bytes are UTF-8 and [`parse_into`] accepts that
/// text, with the same result. Cheaper than checking the UTF-8 first: the
/// lines the fast path reads are ASCII by construction (it accepts nothing
/// but `cpu`, digits, spaces and a newline), so only the other lines are
/// checked.
pub fn parse_bytes_into(bytes: &[u8], stat: &mut Stat) -> Result<(), ParseError> {
    parse_lines(bytes, None, stat, true)
}

/// [`parse_into`] with the fast path turned off: every line goes through
/// the general, byte-at-a-time scan. The reference the fast path is tested
/// against (and benchmarked against).
#[doc(hidden)]
pub fn parse_into_general(text: &str, stat: &mut Stat) -> Result<(), ParseError> {
    parse_lines(text.as_bytes(), Some(text), stat, false)
}

/// What one line of /proc/stat is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Not a cpu line (or `cpu` + something other than digits): skipped.
    Other,
    /// The aggregate `cpu` line.
    Aggregate(beostat_cpu_times),
    /// `cpuN`.
    Cpu(usize, beostat_cpu_times),
}

/// The parser. `text` is `bytes` as a `str` when the caller knows it is
/// UTF-8; otherwise the UTF-8 of whatever the fast path does not read is
/// checked here.
fn parse_lines(
    bytes: &[u8],
    text: Option<&str>,
    stat: &mut Stat,
    fast: bool,
) -> Result<(), ParseError> {
    let mut total = None;
    let cpus = &mut stat.cpus;
    cpus.clear();
    // One bit per possible CPU number, on the stack: finds duplicated lines
    // without a second vector.
    let mut present = [0u64; MAX_CPU_INDEX / 64];
    // The part of the text known to be UTF-8: `bytes[from..]` as a `str`.
    let mut checked: Option<(usize, &str)> = text.map(|text| (0, text));

    // Line by line. A `cpu` line in the condensed form (single spaces,
    // numbers of at most 15 digits) is read by the fast path; anything else
    // (blanks runs, tabs, a cut last line, other lines, errors) by the
    // general one, which is the definition of what is accepted.
    let mut at = 0;
    while at < bytes.len() {
        let found = if fast { fast_line(bytes, at) } else { None };
        let (line, next) = match found {
            Some(found) => found,
            None => {
                // `at` follows a newline (or is 0): a character boundary.
                let (from, rest) = match checked {
                    Some(known) => known,
                    None => {
                        let rest = std::str::from_utf8(&bytes[at..])
                            .map_err(|_| ParseError::new(FILE, "not UTF-8 text"))?;
                        checked = Some((at, rest));
                        (at, rest)
                    }
                };
                let (line, next) = general_line(&rest[at - from..])?;
                (line, at + next)
            }
        };
        at = next;
        match line {
            Line::Other => {}
            Line::Aggregate(times) => {
                if total.replace(times).is_some() {
                    return Err(ParseError::new(
                        FILE,
                        "more than one aggregate \"cpu\" line",
                    ));
                }
            }
            Line::Cpu(index, times) => {
                let (word, bit) = (index / 64, 1u64 << (index % 64));
                if present[word] & bit != 0 {
                    return Err(ParseError::new(
                        FILE,
                        format!("more than one line for cpu{index}"),
                    ));
                }
                present[word] |= bit;
                if index >= cpus.len() {
                    cpus.resize(index + 1, beostat_cpu_times::default());
                }
                cpus[index] = times;
            }
        }
    }

    let total = total.ok_or_else(|| ParseError::new(FILE, "no aggregate \"cpu\" line"))?;
    if cpus.is_empty() {
        cpus.push(total);
    }
    stat.cpu_count = cpus.len();
    stat.total = total;
    Ok(())
}

/// The line at `bytes[at..]` if it is a cpu line in the form sendstats
/// sends: `cpu` or `cpuN` (N below [`MAX_CPU_INDEX`]), one space, then at
/// least 4 numbers of 1 to 15 digits, one space apart, and a newline. With
/// where the next line starts. `None` for anything else, including lines
/// the general path accepts (runs of blanks, tabs, no final newline):
/// those are left to it. Where this returns a line, [`general_line`]
/// returns the same (tests pin it).
#[inline]
fn fast_line(bytes: &[u8], at: usize) -> Option<(Line, usize)> {
    #[cfg(target_arch = "x86_64")]
    if let Some(found) = window_line(bytes, at) {
        return Some(found);
    }
    field_by_field_line(bytes, at)
}

/// [`fast_line`] for any line length: field after field with
/// [`digits16`]. Each field's start depends on the previous one's length,
/// so this runs at the speed of that chain (about 13 cycles a field).
#[inline]
fn field_by_field_line(bytes: &[u8], at: usize) -> Option<(Line, usize)> {
    if bytes.get(at..at + 3)? != b"cpu" {
        return None;
    }
    let (digits, number, next) = digits16(bytes, at + 3);
    if next != b' ' {
        return None;
    }
    let index = if digits == 0 {
        None
    } else if number < MAX_CPU_INDEX as u64 {
        Some(number as usize)
    } else {
        return None;
    };
    let mut at = at + 3 + digits + 1;
    // user nice system idle iowait irq softirq steal
    let mut known = [0u64; 8];
    let mut count = 0;
    loop {
        let (digits, value, next) = digits16(bytes, at);
        if digits == 0 {
            return None;
        }
        if let Some(slot) = known.get_mut(count) {
            *slot = value;
        }
        count += 1;
        at += digits + 1;
        if next == b'\n' {
            break;
        }
        if next != b' ' {
            return None;
        }
    }
    if count < 4 {
        return None;
    }
    let times = mapped(known);
    let line = match index {
        None => Line::Aggregate(times),
        Some(index) => Line::Cpu(index, times),
    };
    Some((line, at))
}

/// Bytes of a line [`window_line`] takes, newline included.
#[cfg(target_arch = "x86_64")]
const WINDOW: usize = 64;

/// [`fast_line`] for lines of up to [`WINDOW`] bytes (every per-CPU line
/// of a condensed text unless its counters pass 10^13): the positions of
/// all the line's spaces, digits and its newline are found at once, 16
/// bytes per SSE2 instruction, and the line is checked as a whole; then
/// each field is converted from where the space mask says it is, so no
/// field waits for the previous one. `None` where [`field_by_field_line`]
/// must look (longer lines) or the general path (anything else).
#[cfg(target_arch = "x86_64")]
#[inline]
fn window_line(bytes: &[u8], at: usize) -> Option<(Line, usize)> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
    // The window, and 16 bytes more so that a field's two 8-byte loads
    // never leave it; zeros past the end of the text.
    let mut padded = [0u8; WINDOW + 16];
    let window: &[u8; WINDOW + 16] = match bytes.get(at..at + WINDOW + 16) {
        Some(window) => window.try_into().ok()?,
        None => {
            let tail = bytes.get(at..)?;
            padded[..tail.len()].copy_from_slice(tail);
            &padded
        }
    };
    if window[..3] != *b"cpu" {
        return None;
    }
    let (mut newlines, mut spaces, mut digits) = (0u64, 0u64, 0u64);
    for block in 0..WINDOW / 16 {
        // SAFETY: SSE2 is part of every x86_64 CPU; the load reads 16 bytes
        // at offset block * 16 <= 48 of an 80-byte array (unaligned load).
        let (newline, space, digit) = unsafe {
            let chunk = _mm_loadu_si128(window.as_ptr().add(block * 16).cast());
            // Bytes '0'..='9' become 0..=9, the rest something else; a
            // byte is a digit when min(it, 9) leaves it unchanged.
            let value = _mm_sub_epi8(chunk, _mm_set1_epi8(b'0' as i8));
            let digit = _mm_cmpeq_epi8(_mm_min_epu8(value, _mm_set1_epi8(9)), value);
            (
                _mm_movemask_epi8(_mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'\n' as i8))),
                _mm_movemask_epi8(_mm_cmpeq_epi8(chunk, _mm_set1_epi8(b' ' as i8))),
                _mm_movemask_epi8(digit),
            )
        };
        newlines |= u64::from(newline as u16) << (block * 16);
        spaces |= u64::from(space as u16) << (block * 16);
        digits |= u64::from(digit as u16) << (block * 16);
    }
    if newlines == 0 {
        return None;
    }
    // Bytes before the newline (3 to 63).
    let len = newlines.trailing_zeros() as usize;
    let line = (1u64 << len) - 1;
    let (spaces, digits) = (spaces & line, digits & line);
    // After `cpu`: digits and spaces only; no two spaces in a row, no
    // space last, at least one (after the label).
    if (digits | spaces | 0b111) != line
        || spaces & (spaces >> 1) != 0
        || spaces & (1 << (len - 1)) != 0
        || spaces == 0
    {
        return None;
    }
    // The label's digits are bytes 3 up to the first space.
    let label_end = spaces.trailing_zeros() as usize;
    let label_digits = label_end - 3;
    // Each field starts after a space and is at most 15 digits; the first
    // 8 are converted (8 digits at a time, from the field's first byte:
    // the bytes after it are shifted out).
    let field = |start: usize, digits: usize| -> u64 {
        let start = start & (WINDOW - 1);
        let load = |at: usize| {
            u64::from_le_bytes(window[at..at + 8].try_into().unwrap_or([0; 8])) ^ (ONES * 0x30)
        };
        if digits <= 8 {
            super::eight_digits(load(start) << (64 - 8 * digits))
        } else {
            let more = digits - 8;
            super::eight_digits(load(start)) * POW10[more & 7]
                + super::eight_digits(load(start + 8) << (64 - 8 * more))
        }
    };
    let index = match label_digits {
        0 => None,
        1..=4 => Some(Some(field(3, label_digits)).filter(|&i| i < MAX_CPU_INDEX as u64)?),
        _ => return None,
    };
    // The remaining spaces each start a field; the last ends at the newline.
    let mut rest = spaces & (spaces - 1);
    if rest.count_ones() < 3 {
        return None;
    }
    let mut known = [0u64; 8];
    let mut count = 0;
    let mut start = label_end + 1;
    loop {
        let end = if rest == 0 {
            len
        } else {
            rest.trailing_zeros() as usize
        };
        let digits = end - start;
        if digits > 15 {
            return None;
        }
        if let Some(slot) = known.get_mut(count) {
            *slot = field(start, digits);
        }
        count += 1;
        if rest == 0 {
            break;
        }
        rest &= rest - 1;
        start = end + 1;
    }
    let times = mapped(known);
    let line = match index {
        None => Line::Aggregate(times),
        Some(index) => Line::Cpu(index as usize, times),
    };
    Some((line, at + len + 1))
}

/// The line at the start of `text`, read byte by byte, with where the next
/// line starts (past the end of `text` when it is the last line). The
/// definition of what a line means: every form /proc/stat has taken, blanks
/// of any kind and length between fields.
fn general_line(text: &str) -> Result<(Line, usize), ParseError> {
    let bytes = text.as_bytes();
    if !bytes.starts_with(b"cpu") {
        return Ok((Line::Other, line_end(text, 0) + 1));
    }
    let label_start = 3;
    let mut label_end = label_start;
    while label_end < bytes.len() && !bytes[label_end].is_ascii_whitespace() {
        label_end += 1;
    }
    // Both ends are next to ASCII bytes, so they are char boundaries.
    let label = &text[label_start..label_end];
    if label.is_empty() {
        let (times, next) = parse_times(text, label_end, 0)?;
        return Ok((Line::Aggregate(times), next));
    }
    if !label.bytes().all(|b| b.is_ascii_digit()) {
        return Ok((Line::Other, line_end(text, label_end) + 1));
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
    let (times, next) = parse_times(text, label_end, 0)?;
    Ok((Line::Cpu(index, times), next))
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
) -> Result<(beostat_cpu_times, usize), ParseError> {
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
    Ok((mapped(known), at + 1))
}

/// The mapping of the module doc, in the kernel's column order: the first
/// 8 time columns (missing ones 0) folded into `user nice system idle`, with
/// wrapping sums (what [`beostat_cpu_times::legacy`] computes).
pub fn fold_columns(known: [u64; 8]) -> [u64; 4] {
    let [user, nice, system, idle, iowait, irq, softirq, steal] = known;
    [
        user,
        nice,
        system
            .wrapping_add(irq)
            .wrapping_add(softirq)
            .wrapping_add(steal),
        idle.wrapping_add(iowait),
    ]
}

/// The first 8 columns, as they are.
fn mapped(known: [u64; 8]) -> beostat_cpu_times {
    let [user, nice, system, idle, iowait, irq, softirq, steal] = known;
    beostat_cpu_times {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::test_support::{below, hostile_texts};
    use crate::types::beostat_stat_cpu;
    use libc::c_long;

    /// A parsed text in the legacy four fields, which the expectations
    /// below are written in (the manuals' mapping).
    struct Legacy {
        total: beostat_stat_cpu,
        cpus: Vec<beostat_stat_cpu>,
        cpu_count: usize,
    }

    fn parsed(text: &str) -> Legacy {
        let stat = parse(text).expect("sample parses");
        Legacy {
            total: stat.total.legacy(),
            cpus: stat.cpus.iter().map(beostat_cpu_times::legacy).collect(),
            cpu_count: stat.cpu_count,
        }
    }

    #[test]
    fn every_mode_is_kept_as_the_kernel_prints_it() {
        // cpu  301854 612 111922 8979004 3552 2 3944 0 0 0
        let stat = parse(sample_text!("x86_64-8cpu/stat")).unwrap();
        assert_eq!(
            stat.total,
            beostat_cpu_times {
                user: 301854,
                nice: 612,
                system: 111922,
                idle: 8979004,
                iowait: 3552,
                irq: 2,
                softirq: 3944,
                steal: 0,
            }
        );
        // A Linux 2.4 line has 4 columns: the others are 0.
        let old = parse("cpu  1 2 3 4\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(
            (old.cpus[0].user, old.cpus[0].idle, old.cpus[0].iowait),
            (1, 4, 0)
        );
        // Steal is its own column (and busy time in the legacy fields).
        let cloud = parse("cpu 1 0 2 10 3 0 0 7 0 0\ncpu0 1 0 2 10 3 0 0 7 0 0\n").unwrap();
        assert_eq!((cloud.cpus[0].steal, cloud.cpus[0].iowait), (7, 3));
        assert_eq!(cloud.cpus[0].legacy().system, 9);
        assert_eq!(cloud.cpus[0].legacy().idle, 13);
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

    // The fast path against the general one. No expected numbers here: the
    // general path is the reference (the tests above pin it), and the fast
    // path must agree with it on every input, line by line and text by text.

    /// Every way of parsing `text`: the general path, the fast path on
    /// `str` and on bytes, into a fresh value and into one holding an
    /// earlier result. All must agree, errors included. Returns how many
    /// lines the fast path read.
    fn assert_paths_agree(text: &str) -> usize {
        let mut general = Stat::default();
        let reference = parse_into_general(text, &mut general).map(|()| general);
        let mut fast = Stat::default();
        let fast = parse_into(text, &mut fast).map(|()| fast);
        assert_eq!(fast, reference, "{text:?}");
        let mut bytes = Stat::default();
        let bytes = parse_bytes_into(text.as_bytes(), &mut bytes).map(|()| bytes);
        assert_eq!(bytes, reference, "{text:?}");
        // Into a vector that held a bigger and different result.
        let mut reused = parse(sample_text!("stat-256cpu-long-intr")).unwrap();
        let reused_result = parse_bytes_into(text.as_bytes(), &mut reused).map(|()| reused);
        assert_eq!(reused_result.is_ok(), reference.is_ok(), "{text:?}");
        if let (Ok(reused), Ok(reference)) = (reused_result, &reference) {
            assert_eq!(&reused, reference, "{text:?}");
        }
        // Line by line: where the fast path takes a line, the general one
        // reads the same line and ends it at the same place.
        // Each tier of the fast path on its own, too.
        let mut at = 0;
        let mut fast_lines = 0;
        while at < text.len() {
            let general_result = general_line(&text[at..]);
            #[cfg(target_arch = "x86_64")]
            let window = window_line(text.as_bytes(), at);
            #[cfg(not(target_arch = "x86_64"))]
            let window = None;
            for found in [
                fast_line(text.as_bytes(), at),
                window,
                field_by_field_line(text.as_bytes(), at),
            ]
            .into_iter()
            .flatten()
            {
                let (line, next) = found;
                assert_eq!(
                    general_result,
                    Ok((line, next - at)),
                    "line at {at} of {text:?}"
                );
            }
            if fast_line(text.as_bytes(), at).is_some() {
                fast_lines += 1;
            }
            at = match text[at..].find('\n') {
                Some(n) => at + n + 1,
                None => break,
            };
        }
        fast_lines
    }

    fn condensed(text: &str) -> String {
        let mut out = String::new();
        crate::protocol::condense_stat(text, &mut out);
        out
    }

    const STAT_SAMPLES: [&str; 7] = [
        sample_text!("x86_64-8cpu/stat"),
        sample_text!("x86_64-vm-2cpu/stat"),
        sample_text!("this-host-x86_64/stat"),
        sample_text!("stat-256cpu-long-intr"),
        sample_text!("stat-linux-2.4-4fields"),
        sample_text!("stat-linux-2.6.9-7fields"),
        sample_text!("stat-offline-cpu-gap"),
    ];

    #[test]
    fn fast_and_general_paths_agree_on_every_sample_raw_and_condensed() {
        for sample in STAT_SAMPLES {
            assert_paths_agree(sample);
            let small = condensed(sample);
            assert_paths_agree(&small);
            // sendstats' folded columns read as the kernel's do.
            assert_eq!(parse(&small).unwrap(), parse(sample).unwrap());
            // The fast path really is taken on condensed text: every line,
            // and every line both tiers can take (the window one: lines of
            // up to 64 bytes).
            let lines = small.lines().count();
            let mut at = 0;
            for _ in 0..lines {
                let (_, next) = fast_line(small.as_bytes(), at).expect(&small[at..]);
                assert!(field_by_field_line(small.as_bytes(), at).is_some());
                #[cfg(target_arch = "x86_64")]
                assert_eq!(
                    window_line(small.as_bytes(), at).is_some(),
                    next - at <= WINDOW,
                    "{:?}",
                    &small[at..next]
                );
                at = next;
            }
            assert_eq!(at, small.len());
        }
    }

    #[test]
    fn fast_and_general_paths_agree_on_every_prefix_of_the_samples() {
        for sample in STAT_SAMPLES {
            let small = condensed(sample);
            for end in 0..=small.len() {
                assert_paths_agree(&small[..end]);
            }
            if sample.len() <= 32 * 1024 {
                for prefix in crate::proc::test_support::prefixes(sample) {
                    assert_paths_agree(prefix);
                }
            }
        }
    }

    /// A cpu line or another line, built from pieces chosen by `next`:
    /// mostly the condensed form, with every kind of deviation the general
    /// path accepts or refuses (blank runs and kinds, numbers of 0 to 22
    /// digits, signs and letters, labels, missing columns, no newline).
    fn generated_line(next: &mut impl FnMut(u64) -> u64, out: &mut String) {
        const LABELS: [&str; 12] = [
            "cpu", "cpu", "cpu0", "cpu1", "cpu7", "cpu63", "cpu255", "cpu8191", "cpu8192",
            "cpu007", "cpufreq", "intr",
        ];
        const BLANKS: [&str; 8] = [" ", " ", " ", " ", "  ", "\t", " \r", "\x0c"];
        const ODD: [&str; 6] = ["-1", "+1", "1.5", "x", "1x", "\u{e9}"];
        out.push_str(LABELS[next(LABELS.len() as u64) as usize]);
        let columns = next(13);
        for _ in 0..columns {
            let blank = if next(8) == 0 {
                BLANKS[next(BLANKS.len() as u64) as usize]
            } else {
                " "
            };
            out.push_str(blank);
            if next(40) == 0 {
                out.push_str(ODD[next(ODD.len() as u64) as usize]);
                continue;
            }
            let digits = match next(10) {
                0 => 1 + next(22),
                1 => 1,
                _ => 1 + next(12),
            };
            for i in 0..digits {
                let digit = if i == 0 && digits > 1 && next(4) != 0 {
                    1 + next(9)
                } else {
                    next(10)
                };
                out.push(char::from(b'0' + digit as u8));
            }
        }
        if next(30) == 0 {
            out.push(' ');
        }
        out.push('\n');
    }

    /// sendstats' fold (`condense_stat`) keeps every value the master
    /// reads: whenever a generated text parses, its condensed form parses
    /// to the same times, through the fast path where it is condensed.
    #[test]
    fn folded_texts_parse_to_what_the_raw_texts_do() {
        let mut next = below(0x9e37_79b9_7f4a_7c15);
        let mut compared = 0;
        for _ in 0..20_000 {
            let mut text = String::from("cpu 1 2 3 4 5 6 7 8 9 10\n");
            for _ in 0..next(6) {
                generated_line(&mut next, &mut text);
            }
            let Ok(raw) = parse(&text) else {
                continue;
            };
            let small = condensed(&text);
            assert_eq!(parse(&small).as_ref(), Ok(&raw), "{text:?} -> {small:?}");
            assert_paths_agree(&small);
            compared += 1;
        }
        assert!(compared > 5_000, "only {compared} texts parsed");
    }

    #[test]
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut, unused_variables))]
    fn fast_and_general_paths_agree_on_generated_texts() {
        let mut next = below(0x2545_f491_4f6c_dd1d);
        let (mut lines, mut fast_lines, mut window_lines) = (0, 0, 0);
        for _ in 0..20_000 {
            let mut text = String::new();
            if next(3) != 0 {
                text.push_str("cpu 1 2 3 4 5 6 7 8\n");
            }
            for _ in 0..next(6) {
                generated_line(&mut next, &mut text);
            }
            if next(4) == 0 {
                text.pop();
            }
            lines += text.lines().count();
            fast_lines += assert_paths_agree(&text);
            #[cfg(target_arch = "x86_64")]
            {
                let mut at = 0;
                while let Some(n) = text[at..].find('\n') {
                    window_lines += usize::from(window_line(text.as_bytes(), at).is_some());
                    at += n + 1;
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        assert!(
            window_lines * 10 > lines && window_lines < fast_lines,
            "{window_lines} of {lines} ({fast_lines} fast)"
        );
        // Both paths are exercised: the fast one takes a good share of the
        // lines, the general one the rest.
        assert!(
            fast_lines * 5 > lines && fast_lines * 5 < lines * 4,
            "{fast_lines} of {lines}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error_wherever_they_are() {
        for sample in [
            sample_text!("x86_64-8cpu/stat"),
            sample_text!("stat-offline-cpu-gap"),
        ] {
            for text in [sample.to_string(), condensed(sample)] {
                let bytes = text.as_bytes();
                // A lone continuation byte or a cut two-byte sequence, put
                // at many places (inside numbers, labels, blanks, other
                // lines, the end).
                for at in (0..=bytes.len()).step_by(7) {
                    for bad in [&[0x80u8][..], &[0xC3], &[0xFF, b' ']] {
                        let mut corrupt = bytes[..at].to_vec();
                        corrupt.extend_from_slice(bad);
                        corrupt.extend_from_slice(&bytes[at..]);
                        let mut stat = Stat::default();
                        assert!(
                            parse_bytes_into(&corrupt, &mut stat).is_err(),
                            "{:?}",
                            String::from_utf8_lossy(&corrupt)
                        );
                    }
                }
                // Valid UTF-8 that is not ASCII, in a line that is skipped:
                // accepted by both.
                let with_other = format!("{text}btime \u{e9}\u{1F600}\n");
                assert_paths_agree(&with_other);
                assert!(parse(&with_other).is_ok());
            }
        }
    }
}
