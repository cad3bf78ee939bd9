//! `/proc/meminfo`: a node's memory and swap, as `struct beostat_meminfo`.
//!
//! This module owns the mapping from meminfo keys to the C struct; it never
//! does I/O. All values come out in **bytes** (the kernel prints kB, 1024
//! bytes), computed with saturating arithmetic so garbage can neither panic
//! nor wrap:
//!
//! | field        | from                                                     |
//! |--------------|----------------------------------------------------------|
//! | `mem.free`   | `MemFree`                                                |
//! | `mem.used`   | `MemTotal - MemFree` (0 if `MemFree` is larger)          |
//! | `swap.free`  | `SwapFree`                                               |
//! | `swap.used`  | `SwapTotal - SwapFree` (0 if `SwapFree` is larger)       |
//! | `shared`     | `Shmem`, else `MemShared` (2.2/2.4 kernels), else 0      |
//! | `buffers`    | `Buffers`                                                |
//! | `cached`     | `Cached`                                                 |
//!
//! `MemTotal` and `MemFree` are required; the other keys default to 0.
//! Unknown keys (and the 2.2/2.4 `Mem:`/`Swap:` byte table) are ignored
//! without being parsed, so lines without a unit such as `HugePages_Total`
//! do no harm. A key this module uses must hold one number followed by `kB`;
//! anything else (no unit, other unit, not a number, more than `u64`) is an
//! error rather than a silently wrong value. If a key repeats, the last wins.

use super::{excerpt, parse_u64, ParseError};
use crate::types::{beostat_meminfo, beostat_memusage};

const FILE: &str = "/proc/meminfo";

/// The keys this module reads, in kB as printed.
#[derive(Default)]
struct Kilobytes {
    mem_total: Option<u64>,
    mem_free: Option<u64>,
    swap_total: Option<u64>,
    swap_free: Option<u64>,
    shmem: Option<u64>,
    mem_shared: Option<u64>,
    buffers: Option<u64>,
    cached: Option<u64>,
}

/// Parses the text of /proc/meminfo into bytes.
pub fn parse(text: &str) -> Result<beostat_meminfo, ParseError> {
    let mut kb = Kilobytes::default();
    for line in text.split('\n') {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let slot = match key.trim() {
            "MemTotal" => &mut kb.mem_total,
            "MemFree" => &mut kb.mem_free,
            "SwapTotal" => &mut kb.swap_total,
            "SwapFree" => &mut kb.swap_free,
            "Shmem" => &mut kb.shmem,
            "MemShared" => &mut kb.mem_shared,
            "Buffers" => &mut kb.buffers,
            "Cached" => &mut kb.cached,
            _ => continue,
        };
        *slot = Some(parse_kilobytes(value).ok_or_else(|| {
            ParseError::new(
                FILE,
                format!(
                    "{}: expected \"<number> kB\", found {:?}",
                    key.trim(),
                    excerpt(value.trim())
                ),
            )
        })?);
    }

    let mem_total = kb
        .mem_total
        .ok_or_else(|| ParseError::new(FILE, "no MemTotal line"))?;
    let mem_free = kb
        .mem_free
        .ok_or_else(|| ParseError::new(FILE, "no MemFree line"))?;
    let swap_total = kb.swap_total.unwrap_or(0);
    let swap_free = kb.swap_free.unwrap_or(0);
    Ok(beostat_meminfo {
        mem: beostat_memusage {
            used: bytes(mem_total.saturating_sub(mem_free)),
            free: bytes(mem_free),
        },
        swap: beostat_memusage {
            used: bytes(swap_total.saturating_sub(swap_free)),
            free: bytes(swap_free),
        },
        shared: bytes(kb.shmem.or(kb.mem_shared).unwrap_or(0)),
        buffers: bytes(kb.buffers.unwrap_or(0)),
        cached: bytes(kb.cached.unwrap_or(0)),
    })
}

/// MemAvailable (Linux 3.14 and later) in bytes: the kernel's estimate of
/// memory available to new work without swapping. `None` when the text has
/// no such line or its value is not `<number> kB` (older kernels; the rest
/// of meminfo is still good, so this is not a parse error).
pub fn mem_available(text: &str) -> Option<u64> {
    text.split('\n')
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "MemAvailable").then_some(value)
        })
        .and_then(parse_kilobytes)
        .map(bytes)
}

/// `"   15666184 kB"` to 15666184; `None` unless exactly a number and `kB`.
fn parse_kilobytes(value: &str) -> Option<u64> {
    let mut fields = value.split_ascii_whitespace();
    let number = parse_u64(fields.next()?)?;
    match (fields.next(), fields.next()) {
        (Some("kB"), None) => Some(number),
        _ => None,
    }
}

fn bytes(kilobytes: u64) -> u64 {
    kilobytes.saturating_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::test_support::hostile_texts;

    const KIB: u64 = 1024;

    #[test]
    fn mem_available_is_read_where_the_kernel_has_it() {
        let text = "MemTotal:  1000 kB\nMemFree:  200 kB\nMemAvailable:   700 kB\n";
        assert_eq!(mem_available(text), Some(700 * 1024));
        assert_eq!(
            mem_available("MemTotal:  1000 kB\nMemFree:  200 kB\n"),
            None
        );
        assert_eq!(mem_available("MemAvailable: lots\n"), None);
    }

    fn parsed(text: &str) -> beostat_meminfo {
        parse(text).expect("sample parses")
    }

    #[test]
    fn x86_64_8cpu_in_bytes() {
        let info = parsed(sample_text!("x86_64-8cpu/meminfo"));
        // MemTotal 15666184, MemFree 440324, Shmem 1308, Buffers 1020128,
        // Cached 12007640, SwapTotal 0, SwapFree 0 (kB).
        assert_eq!(info.mem.free, 440324 * KIB);
        assert_eq!(info.mem.used, (15666184 - 440324) * KIB);
        assert_eq!(info.mem.used, 15225860 * KIB);
        assert_eq!(info.swap, beostat_memusage { used: 0, free: 0 });
        assert_eq!(info.shared, 1308 * KIB);
        assert_eq!(info.buffers, 1020128 * KIB);
        assert_eq!(info.cached, 12007640 * KIB);
    }

    #[test]
    fn x86_64_vm_2cpu_in_bytes() {
        let info = parsed(sample_text!("x86_64-vm-2cpu/meminfo"));
        // MemTotal 24684092, MemFree 24550856, Shmem 8856, Buffers 588,
        // Cached 35048 (kB); SwapCached and ShmemHugePages must not match.
        assert_eq!(info.mem.free, 25140076544);
        assert_eq!(info.mem.used, 136433664);
        assert_eq!(info.swap, beostat_memusage { used: 0, free: 0 });
        assert_eq!(info.shared, 9068544);
        assert_eq!(info.buffers, 602112);
        assert_eq!(info.cached, 35889152);
    }

    #[test]
    fn this_host_x86_64() {
        let info = parsed(sample_text!("this-host-x86_64/meminfo"));
        // MemTotal 24684092, MemFree 24163108, Shmem 8856, Buffers 1932,
        // Cached 370012 (kB).
        assert_eq!(info.mem.free, 24163108 * KIB);
        assert_eq!(info.mem.used, 520984 * KIB);
        assert_eq!(info.shared, 8856 * KIB);
        assert_eq!(info.buffers, 1932 * KIB);
        assert_eq!(info.cached, 370012 * KIB);
    }

    #[test]
    fn linux_2_4_agrees_with_its_own_byte_table() {
        // The 2.4 kernel prints the same numbers twice: a byte table
        // ("Mem:  total used free shared buffers cached", "Swap: total used
        // free") and kB lines. The parser reads only the kB lines, so
        // matching the table checks the units independently.
        let info = parsed(sample_text!("meminfo-linux-2.4"));
        assert_eq!(info.mem.used, 1039470592);
        assert_eq!(info.mem.free, 16281600);
        assert_eq!(info.swap.used, 8163328);
        assert_eq!(info.swap.free, 2138624000);
        assert_eq!(info.shared, 0);
        assert_eq!(info.buffers, 85307392);
        // The table's "cached" also counts SwapCached (688880 + 1436 kB).
        assert_eq!(info.cached, 688880 * KIB);
    }

    #[test]
    fn linux_2_2_mem_shared_is_shared() {
        let info = parsed(sample_text!("meminfo-linux-2.2"));
        assert_eq!(info.mem.used, 63041536);
        assert_eq!(info.mem.free, 1953792);
        assert_eq!(info.swap.used, 1163264);
        assert_eq!(info.swap.free, 138625024);
        assert_eq!(info.shared, 38862848);
        assert_eq!(info.buffers, 2854912);
        assert_eq!(info.cached, 34971648);
    }

    #[test]
    fn shmem_wins_over_mem_shared() {
        let text = "MemTotal: 10 kB\nMemFree: 5 kB\nMemShared: 1 kB\nShmem: 2 kB\n";
        assert_eq!(parsed(text).shared, 2 * KIB);
    }

    #[test]
    fn minimal_input_defaults_the_rest_to_zero() {
        let info = parsed(sample_text!("meminfo-minimal"));
        assert_eq!(
            info,
            beostat_meminfo {
                mem: beostat_memusage {
                    used: 1024000 * KIB,
                    free: 1024000 * KIB
                },
                ..Default::default()
            }
        );
    }

    #[test]
    fn missing_required_keys_are_errors() {
        for text in [
            "",
            "\n",
            "MemFree: 1 kB\n",
            "MemTotal: 1 kB\n",
            "Buffers: 1 kB\nCached: 2 kB\n",
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.file(), "/proc/meminfo");
        }
    }

    #[test]
    fn malformed_values_of_used_keys_are_errors() {
        for value in [
            "",
            "12",
            "12 MB",
            "12 kB extra",
            "-12 kB",
            "1.5 kB",
            "nan kB",
            "kB",
            "99999999999999999999999 kB",
        ] {
            let text = format!("MemTotal: 100 kB\nMemFree: 50 kB\nCached: {value}\n");
            assert!(parse(&text).is_err(), "{value:?}");
        }
    }

    #[test]
    fn unknown_keys_without_units_or_with_garbage_are_ignored() {
        let text = "MemTotal: 100 kB\nHugePages_Total:       0\nWeird: not a number\nno colon here\nMemFree: 40 kB\n";
        let info = parsed(text);
        assert_eq!(info.mem.used, 60 * KIB);
        assert_eq!(info.mem.free, 40 * KIB);
    }

    #[test]
    fn free_larger_than_total_saturates_to_zero_used() {
        let text = "MemTotal: 10 kB\nMemFree: 20 kB\nSwapTotal: 1 kB\nSwapFree: 7 kB\n";
        let info = parsed(text);
        assert_eq!(
            info.mem,
            beostat_memusage {
                used: 0,
                free: 20 * KIB
            }
        );
        assert_eq!(
            info.swap,
            beostat_memusage {
                used: 0,
                free: 7 * KIB
            }
        );
    }

    #[test]
    fn huge_kilobyte_counts_saturate_instead_of_overflowing() {
        let text = "MemTotal: 18446744073709551615 kB\nMemFree: 18014398509481984 kB\nBuffers: 18014398509481983 kB\n";
        let info = parsed(text);
        assert_eq!(info.mem.used, u64::MAX);
        // 2^54 kB is 2^64 bytes: one more than fits.
        assert_eq!(info.mem.free, u64::MAX);
        assert_eq!(info.buffers, 18014398509481983 * KIB);
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in hostile_texts() {
            let _ = parse(&text);
        }
    }
}
