//! Parsers for the five /proc files a node reports: `cpuinfo`, `meminfo`,
//! `loadavg`, `net/dev` and `stat`.
//!
//! This module owns the translation of /proc text into the C structs of
//! [`crate::types`], and the decisions that go with it: which kernel and
//! architecture variants are understood, what is an error and what is
//! skipped. Each submodule documents its file's rules.
//!
//! Every parser is a pure function `&str -> Result<T, ParseError>` (stat
//! also takes bytes that may not be UTF-8, see [`stat::parse_bytes_into`]). It never
//! does I/O (the caller reads the file, or receives its text from a node), it
//! never panics whatever the input, and it allocates nothing per field: the
//! text may come over the network truncated, garbled or hostile, and the master
//! parses it for every node of the cluster. Lines are found with `str::split`
//! on `'\n'` (a memchr scan) and only the lines a parser needs are split into
//! fields.
//!
//! The two parsers whose result holds a vector (`stat`, `net/dev`) also have
//! a `parse_into` that fills a caller's value and reuses its vector, so the
//! master's steady state allocates nothing per report; `parse` is
//! `parse_into` on a fresh value. (loadavg and meminfo return plain structs;
//! cpuinfo, static data sent once per node, allocates its model name.)

/// The text of a sample under tests/data/proc (for the parsers' tests).
#[cfg(test)]
macro_rules! sample_text {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/proc/",
            $path
        ))
    };
}

pub mod cpuinfo;
pub mod loadavg;
pub mod meminfo;
pub mod netdev;
pub mod stat;

pub use cpuinfo::CpuInfo;
pub use netdev::NetDevs;
pub use stat::Stat;

use std::fmt;

/// Why a /proc text could not be parsed.
///
/// Carries which file was being parsed (`"/proc/stat"`...) and what was wrong
/// with it; `Display` prints both as `"/proc/stat: <message>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    file: &'static str,
    message: String,
}

impl ParseError {
    pub(crate) fn new(file: &'static str, message: impl Into<String>) -> Self {
        ParseError {
            file,
            message: message.into(),
        }
    }

    /// The /proc file whose text failed to parse, e.g. `"/proc/meminfo"`.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// What was wrong with the text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a non-empty run of ASCII digits; `None` for anything else
/// (sign, space, empty) and for values that do not fit in a `u64`.
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text.as_bytes() {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

/// Scans the whitespace-delimited field that starts at `bytes[at]` (not
/// whitespace): returns its value if it is a decimal `u64` (as
/// [`parse_u64`] would), and the index just past it (the next ASCII
/// whitespace or the end).
///
/// The general scan (net/dev, and the stat lines [`digits16`] does not
/// take): one pass finds the field's end and accumulates its value (19
/// digits or fewer cannot overflow); only longer fields go through the
/// checked [`parse_u64`].
#[inline]
pub(crate) fn scan_u64(bytes: &[u8], at: usize) -> (Option<u64>, usize) {
    let mut end = at;
    let mut value: u64 = 0;
    let mut digits_only = true;
    while end < bytes.len() && !bytes[end].is_ascii_whitespace() {
        let digit = bytes[end].wrapping_sub(b'0');
        digits_only &= digit <= 9;
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
        end += 1;
    }
    let value = match (digits_only, end - at) {
        (true, 1..=19) => Some(value),
        (true, 0) | (false, _) => None,
        // Only ASCII digits: valid UTF-8.
        (true, _) => std::str::from_utf8(&bytes[at..end])
            .ok()
            .and_then(parse_u64),
    };
    (value, end)
}

/// The 16 bytes at `bytes[at..]` as a little-endian `u128` (the byte at
/// `at` lowest), zero-padded past the end of `bytes`. A zero byte is neither
/// a digit nor a separator, so a field cut by the end of the text never
/// passes for a whole one.
#[inline(always)]
fn load16(bytes: &[u8], at: usize) -> u128 {
    match bytes.get(at..at + 16) {
        Some(chunk) => u128::from_le_bytes(chunk.try_into().unwrap_or([0; 16])),
        None => {
            let mut padded = [0u8; 16];
            let tail = bytes.get(at..).unwrap_or(&[]);
            padded[..tail.len()].copy_from_slice(tail);
            u128::from_le_bytes(padded)
        }
    }
}

/// The value of eight decimal digits, one per byte (0 to 9, the most
/// significant in the lowest byte), in three multiplications.
#[inline(always)]
pub(crate) fn eight_digits(v: u64) -> u64 {
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32
}

/// The run of ASCII digits that starts at `bytes[at]`, read 16 bytes at a
/// time without a branch per byte: returns `(digits, value, next)`, where
/// `digits` is the run's length (0 to 15), `value` its decimal value and
/// `next` the byte that ends it (0 past the end of `bytes`).
///
/// The fast path of the stat parser (and only valid as such): a run of 15
/// digits may continue past the 16 bytes read, in which case `next` is the
/// 16th digit, which no caller takes for a separator. Callers check `next`
/// and `digits` and hand anything unusual to the general, byte-at-a-time
/// scan ([`scan_u64`]), so a field whose value this returns is one for
/// which [`parse_u64`] gives the same value (15 digits cannot overflow).
///
/// Instead of a loop with a test and a branch per byte, the length comes
/// from the position of the first non-digit in a mask of eight bytes, and
/// the digits are converted eight at a time (SWAR): three multiplications.
/// Fields of 8 digits or more take a second group. Used field after field,
/// each field's start waits for the previous one's length; stat's SSE2
/// tier avoids that wait for lines of up to 64 bytes.
#[inline(always)]
pub(crate) fn digits16(bytes: &[u8], at: usize) -> (usize, u64, u8) {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    let chunk = load16(bytes, at);
    // A digit becomes its value 0..=9; any other byte something above 9.
    let low = (chunk as u64) ^ (ONES * 0x30);
    // High bit of each byte: set unless the byte is a digit. `& 0x7f` keeps
    // the addition from carrying into the next byte.
    let not_digit = (((low & (ONES * 0x7F)) + ONES * 0x76) | low) & (ONES * 0x80);
    if not_digit != 0 {
        // At most 7 digits (most fields): one group of eight.
        let digits = (not_digit.trailing_zeros() / 8) as usize;
        let next = (chunk >> (digits * 8)) as u8;
        // The digits, right-aligned to the top of the 8 bytes (the bytes
        // after them shifted out, zeros before them): leading zeros do not
        // change the value. (For 0 digits the shift wraps; the value is
        // then unused.)
        let value = eight_digits(low.wrapping_shl(64 - digits as u32 * 8));
        return (digits, value, next);
    }
    // 8 digits or more: the first eight, then up to 7 more.
    const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
    let high = ((chunk >> 64) as u64) ^ (ONES * 0x30);
    let not_digit = (((high & (ONES * 0x7F)) + ONES * 0x76) | high) & (ONES * 0x80);
    // Stop at 15 at most, so that `next` is always inside the chunk.
    let more = ((not_digit | (1 << 63)).trailing_zeros() / 8) as usize;
    let next = (chunk >> ((8 + more) * 8)) as u8;
    let tail = high
        .checked_shl(64 - more as u32 * 8)
        .map_or(0, eight_digits);
    let value = eight_digits(low) * POW10[more] + tail;
    (8 + more, value, next)
}

/// At most 40 bytes of `text`, cut at a character boundary, for error
/// messages: a hostile line must not turn into a huge error string.
pub(crate) fn excerpt(text: &str) -> &str {
    const MAX: usize = 40;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    #[test]
    fn scan_u64_agrees_with_parse_u64_on_every_length_and_ending() {
        let mut cases: Vec<String> = vec![
            "0".into(),
            "18446744073709551615".into(),
            "18446744073709551616".into(),
            "99999999999999999999".into(),
            "00000000000000000000000001".into(),
            "1234567890123456789".into(),
        ];
        for len in 1..=21 {
            cases.push("9".repeat(len));
            cases.push(
                (1..=len)
                    .map(|d| char::from(b'0' + (d % 10) as u8))
                    .collect(),
            );
        }
        for base in cases.clone() {
            for suffix in ["", " ", "\n", "\t7", "x", ":", "5x 1", "/"] {
                cases.push(format!("{base}{suffix}"));
            }
        }
        for prefix in ["x1", "-1", "+1", "1.5", "١"] {
            cases.push(prefix.into());
        }
        for case in cases {
            let end = case
                .bytes()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(case.len());
            let expected = parse_u64(&case[..end]);
            assert_eq!(scan_u64(case.as_bytes(), 0), (expected, end), "{case:?}");
            // Also from an offset, with text on both sides.
            let padded = format!("ab {case}");
            assert_eq!(
                scan_u64(padded.as_bytes(), 3),
                (expected, end + 3),
                "{case:?}"
            );
        }
    }
}

#[cfg(test)]
mod digits16_tests {
    use super::*;

    /// What `digits16` must say about `bytes[at..]`, from the general scan.
    fn expected(bytes: &[u8], at: usize) -> (usize, Option<u64>) {
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = std::str::from_utf8(&bytes[at..at + digits]).unwrap();
        (digits, parse_u64(text))
    }

    #[test]
    fn digits16_agrees_with_parse_u64_on_every_length_ending_and_offset() {
        let mut numbers: Vec<String> = vec!["0".into(), "00000000000000".into(), "1".into()];
        for len in 1..=17 {
            numbers.push("9".repeat(len));
            numbers.push(
                (1..=len)
                    .map(|d| char::from(b'0' + (d * 7 % 10) as u8))
                    .collect(),
            );
            numbers.push(format!("1{}", "0".repeat(len - 1)));
        }
        for number in &numbers {
            for ending in ["", " ", "\n", "\t", "x", "/", ":", "\u{e9}", "\0", "5 1"] {
                for pad in 0..3 {
                    let text = format!("{}{number}{ending}", "x".repeat(pad));
                    let bytes = text.as_bytes();
                    let (digits, value, next) = digits16(bytes, pad);
                    let (want_digits, want_value) = expected(bytes, pad);
                    if want_digits < 16 {
                        assert_eq!(digits, want_digits, "{text:?}");
                        assert_eq!(Some(value), want_value, "{text:?}");
                        assert_eq!(next, *bytes.get(pad + digits).unwrap_or(&0), "{text:?}");
                    } else {
                        // A run of 16 digits or more: 15, and the next byte
                        // is a digit (never taken for a separator).
                        assert_eq!(digits, 15, "{text:?}");
                        assert!(next.is_ascii_digit(), "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn digits16_never_reads_past_the_end() {
        let text = b"12345678901234";
        for end in 0..=text.len() {
            for at in 0..=end {
                let (digits, value, next) = digits16(&text[..end], at);
                assert_eq!(digits, end - at);
                assert_eq!(next, 0);
                if digits > 0 {
                    let field = std::str::from_utf8(&text[at..end]).unwrap();
                    assert_eq!(Some(value), parse_u64(field));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the parsers' tests.

    /// Every prefix of `text` that ends on a character boundary; for texts
    /// over 32 KiB (the two big stat samples) only the prefixes ending within
    /// 8 bytes of a line boundary, plus every 509th. Cuts inside a line
    /// differ only near its ends (a truncated label or last number), and the
    /// exhaustive sweep of those two files took 45 s in a debug build.
    pub fn prefixes(text: &str) -> impl Iterator<Item = &str> {
        let exhaustive = text.len() <= 32 * 1024;
        let bytes = text.as_bytes();
        (0..=text.len())
            .filter(move |&end| text.is_char_boundary(end))
            .filter(move |&end| {
                exhaustive
                    || end % 509 == 0
                    || bytes[end.saturating_sub(8)..(end + 8).min(bytes.len())].contains(&b'\n')
            })
            .map(move |end| &text[..end])
    }

    /// A deterministic pseudo-random sequence (xorshift64), so generated
    /// tests are reproducible without a dependency.
    pub fn xorshift64(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// [`xorshift64`] as numbers below the bound each call gives.
    pub fn below(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut next = xorshift64(seed);
        move |bound| next() % bound
    }

    /// Deterministic pseudo-random bytes, so garbage tests are
    /// reproducible.
    pub fn garbage(seed: u64, len: usize) -> Vec<u8> {
        let mut next = xorshift64(seed);
        (0..len).map(|_| (next() >> 24) as u8).collect()
    }

    /// Texts no parser can make sense of, each of which must give `Err`
    /// (or an empty result), never a panic.
    pub fn hostile_texts() -> Vec<String> {
        let mut texts = vec![
            String::new(),
            "\n".to_string(),
            "\n\n\n".to_string(),
            " ".to_string(),
            ":".to_string(),
            "::::".to_string(),
            "\0\0\0".to_string(),
            "nan nan nan nan/nan nan".to_string(),
            "inf -inf NaN 1/1 1".to_string(),
            "99999999999999999999999999999999999999999".to_string(),
            "cpu 99999999999999999999999 1 1 1".to_string(),
            "cpu18446744073709551616 1 2 3 4".to_string(),
            "MemTotal: 99999999999999999999999 kB\nMemFree: 1 kB".to_string(),
            "x:".repeat(1000),
            "é:ü\u{fffd}\u{1F600}:".repeat(50),
        ];
        for seed in 1..40 {
            texts.push(String::from_utf8_lossy(&garbage(seed, 64 * seed as usize)).into_owned());
        }
        texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_accepts_digits_only() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("0042"), Some(42));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("99999999999999999999999"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("+1"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64(" 1"), None);
        assert_eq!(parse_u64("1 "), None);
        assert_eq!(parse_u64("1.5"), None);
        assert_eq!(parse_u64("１"), None); // fullwidth digit one
    }

    #[test]
    fn error_display_names_the_file_and_the_problem() {
        let error = ParseError::new("/proc/stat", "no aggregate cpu line");
        assert_eq!(error.to_string(), "/proc/stat: no aggregate cpu line");
        assert_eq!(error.file(), "/proc/stat");
        assert_eq!(error.message(), "no aggregate cpu line");
        let boxed: Box<dyn std::error::Error> = Box::new(error);
        assert!(boxed.source().is_none());
    }

    #[test]
    fn excerpt_caps_length_at_a_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(100);
        let cut = excerpt(&long);
        assert!(cut.len() <= 40);
        assert_eq!(cut, "é".repeat(20));
    }

    #[test]
    fn prefixes_of_short_texts_are_exhaustive() {
        let all: Vec<&str> = test_support::prefixes("aé\nb").collect();
        assert_eq!(all, ["", "a", "aé", "aé\n", "aé\nb"]);
    }

    macro_rules! sample {
        ($path:literal) => {
            (
                $path,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/data/proc/",
                    $path
                )),
            )
        };
    }

    /// Every sample under tests/data/proc, whatever file it is a copy of.
    const ALL_SAMPLES: &[(&str, &str)] = &[
        sample!("cpuinfo-variants/aarch64"),
        sample!("cpuinfo-variants/arm7"),
        sample!("cpuinfo-variants/arm7legacy"),
        sample!("cpuinfo-variants/arm7legacyv1"),
        sample!("cpuinfo-variants/loong64"),
        sample!("cpuinfo-variants/mips"),
        sample!("cpuinfo-variants/ppc64"),
        sample!("cpuinfo-variants/riscv64"),
        sample!("cpuinfo-variants/riscv64-uarch"),
        sample!("cpuinfo-variants/s390x"),
        sample!("cpuinfo-variants/s390x-no-mhz"),
        sample!("loadavg-above-1000"),
        sample!("loadavg-busy-pid-max"),
        sample!("loadavg-idle-no-newline"),
        sample!("loadavg-linux-2.4"),
        sample!("meminfo-linux-2.2"),
        sample!("meminfo-linux-2.4"),
        sample!("meminfo-minimal"),
        sample!("netdev-40-interfaces"),
        sample!("netdev-colon-names-glued"),
        sample!("netdev-long-names"),
        sample!("stat-256cpu-long-intr"),
        sample!("stat-linux-2.4-4fields"),
        sample!("stat-linux-2.6.9-7fields"),
        sample!("stat-offline-cpu-gap"),
        sample!("this-host-x86_64/cpuinfo"),
        sample!("this-host-x86_64/loadavg"),
        sample!("this-host-x86_64/meminfo"),
        sample!("this-host-x86_64/net/dev"),
        sample!("this-host-x86_64/stat"),
        sample!("x86_64-8cpu/cpuinfo"),
        sample!("x86_64-8cpu/loadavg"),
        sample!("x86_64-8cpu/meminfo"),
        sample!("x86_64-8cpu/net/dev"),
        sample!("x86_64-8cpu/stat"),
        sample!("x86_64-vm-2cpu/cpuinfo"),
        sample!("x86_64-vm-2cpu/loadavg"),
        sample!("x86_64-vm-2cpu/meminfo"),
        sample!("x86_64-vm-2cpu/net/dev"),
        sample!("x86_64-vm-2cpu/stat"),
    ];

    #[test]
    fn all_samples_lists_every_sample_file() {
        // A sample added to the folder but not here would miss the sweeps below.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/proc");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("md" | "py")) {
                    on_disk.push(
                        path.strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        on_disk.sort();
        let listed: Vec<&str> = ALL_SAMPLES.iter().map(|(path, _)| *path).collect();
        assert_eq!(on_disk, listed);
    }

    /// Feeds every prefix of every sample (a transfer cut anywhere) to `parse`;
    /// the only acceptable outcomes are `Ok` and `Err`.
    fn sweep_prefixes<T>(parse: fn(&str) -> Result<T, ParseError>) {
        for (_, text) in ALL_SAMPLES {
            for prefix in test_support::prefixes(text) {
                let _ = parse(prefix);
            }
        }
    }

    #[test]
    fn every_prefix_of_every_sample_never_panics_cpuinfo() {
        sweep_prefixes(cpuinfo::parse);
    }

    #[test]
    fn every_prefix_of_every_sample_never_panics_meminfo() {
        sweep_prefixes(meminfo::parse);
    }

    #[test]
    fn every_prefix_of_every_sample_never_panics_loadavg() {
        sweep_prefixes(loadavg::parse);
    }

    #[test]
    fn every_prefix_of_every_sample_never_panics_netdev() {
        sweep_prefixes(netdev::parse);
    }

    #[test]
    fn every_prefix_of_every_sample_never_panics_stat() {
        sweep_prefixes(stat::parse);
    }

    #[test]
    fn every_sample_parses_as_its_own_file_kind() {
        for (path, text) in ALL_SAMPLES {
            let name = path.rsplit('/').next().unwrap();
            let result = if path.contains("cpuinfo") {
                cpuinfo::parse(text).map(drop)
            } else if name.starts_with("meminfo") {
                meminfo::parse(text).map(drop)
            } else if name.starts_with("loadavg") {
                loadavg::parse(text).map(drop)
            } else if name.starts_with("netdev") || path.ends_with("net/dev") {
                netdev::parse(text).map(drop)
            } else {
                assert!(name.starts_with("stat"), "{path}: unknown kind");
                stat::parse(text).map(drop)
            };
            assert!(result.is_ok(), "{path}: {result:?}");
        }
    }
}
