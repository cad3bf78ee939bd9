//! `/proc/cpuinfo`: how many CPUs a node has, their model and clock speed.
//!
//! This is the static part of a node's status, taken once when it joins.
//! Every architecture prints its own keys, so this module owns the table of
//! which key means what; it never does I/O.
//!
//! Lines are `key : value`, split at the first `':'`, both sides trimmed.
//!
//! CPU count, first rule that applies:
//! 1. s390 and s390x: the value of `# processors`;
//! 2. the number of `processor : N` lines (x86, ARM, arm64, POWER, MIPS,
//!    RISC-V, LoongArch...; `N` must be a number);
//! 3. the number of `processor N: ...` lines (s390 without `# processors`);
//! 4. 1, if there is a `Processor : <model>` line (old uniprocessor ARM
//!    kernels print that and no numbered entry).
//!
//! No processor recognized at all, or a count of 0, is an error.
//!
//! Model, first key present wins (from the first CPU that has it):
//! `model name` (any case: x86, ARM, LoongArch `Model Name`), `Processor`
//! (old ARM), `cpu model` (MIPS), `cpu` (POWER), `uarch` (RISC-V),
//! `vendor_id` (s390, whose only name is `IBM/S390`). `None` if none is there,
//! as on arm64, which prints no model line.
//!
//! MHz, first key present wins (from the first CPU that has it):
//! `cpu MHz` (any case: x86, LoongArch), `cpu MHz static` (s390 nominal
//! speed, preferred because the snapshot is static), `cpu MHz dynamic`,
//! `clock` (POWER, `3425.000000MHz`). `None` where the kernel reports no
//! clock (ARM, arm64, MIPS, RISC-V, older s390). A value that is not a plain
//! positive decimal number (`nan`, `-1`, `1e9`) is ignored, not an error: the
//! speed is informational and the count is still right.

use super::{excerpt, parse_u64, ParseError};

const FILE: &str = "/proc/cpuinfo";

/// What /proc/cpuinfo says about a node's processors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CpuInfo {
    /// Number of processors listed (logical CPUs), at least 1.
    pub cpu_count: u32,
    /// Clock speed of the first CPU that reports one, in MHz.
    pub mhz: Option<f32>,
    /// Model name of the first CPU that reports one.
    pub model: Option<String>,
}

/// The first value seen for each key of interest; borrowed from the text so
/// only the chosen model is ever copied.
#[derive(Default)]
struct Seen<'a> {
    processor_entries: u64,
    s390_declared: Option<&'a str>,
    s390_processor_lines: u64,
    arm_processor_lines: u64,
    model_name: Option<&'a str>,
    arm_processor: Option<&'a str>,
    mips_cpu_model: Option<&'a str>,
    power_cpu: Option<&'a str>,
    riscv_uarch: Option<&'a str>,
    vendor_id: Option<&'a str>,
    mhz: Option<f32>,
    mhz_static: Option<f32>,
    mhz_dynamic: Option<f32>,
    power_clock: Option<f32>,
}

/// Parses the text of /proc/cpuinfo.
pub fn parse(text: &str) -> Result<CpuInfo, ParseError> {
    let mut seen = Seen::default();
    for line in text.split('\n') {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => {
                if parse_u64(value).is_some() {
                    seen.processor_entries += 1;
                }
            }
            "Processor" => {
                if is_name(value) {
                    seen.arm_processor_lines += 1;
                }
                first_text(&mut seen.arm_processor, value);
            }
            "# processors" => {
                seen.s390_declared.get_or_insert(value);
            }
            "cpu model" => first_text(&mut seen.mips_cpu_model, value),
            "cpu" => first_text(&mut seen.power_cpu, value),
            "uarch" => first_text(&mut seen.riscv_uarch, value),
            "vendor_id" => first_text(&mut seen.vendor_id, value),
            "cpu MHz static" => first_mhz(&mut seen.mhz_static, value),
            "cpu MHz dynamic" => first_mhz(&mut seen.mhz_dynamic, value),
            "clock" => first_mhz(&mut seen.power_clock, value),
            _ if key.eq_ignore_ascii_case("model name") => first_text(&mut seen.model_name, value),
            _ if key.eq_ignore_ascii_case("cpu MHz") => first_mhz(&mut seen.mhz, value),
            _ => {
                if key.strip_prefix("processor ").and_then(parse_u64).is_some() {
                    seen.s390_processor_lines += 1;
                }
            }
        }
    }

    let count = cpu_count(&seen)?;
    let model = seen
        .model_name
        .or(seen.arm_processor)
        .or(seen.mips_cpu_model)
        .or(seen.power_cpu)
        .or(seen.riscv_uarch)
        .or(seen.vendor_id)
        .map(str::to_owned);
    let mhz = seen
        .mhz
        .or(seen.mhz_static)
        .or(seen.mhz_dynamic)
        .or(seen.power_clock);
    Ok(CpuInfo {
        cpu_count: count,
        mhz,
        model,
    })
}

fn cpu_count(seen: &Seen<'_>) -> Result<u32, ParseError> {
    let count = if let Some(declared) = seen.s390_declared {
        parse_u64(declared).ok_or_else(|| {
            ParseError::new(
                FILE,
                format!("\"# processors\" is not a number: {:?}", excerpt(declared)),
            )
        })?
    } else if seen.processor_entries > 0 {
        seen.processor_entries
    } else if seen.s390_processor_lines > 0 {
        seen.s390_processor_lines
    } else {
        seen.arm_processor_lines.min(1)
    };
    match u32::try_from(count) {
        Ok(0) => Err(ParseError::new(FILE, "no processor listed")),
        Ok(count) => Ok(count),
        Err(_) => Err(ParseError::new(
            FILE,
            format!("processor count {count} is out of range"),
        )),
    }
}

/// Keeps the first non-empty, non-numeric value: `Processor : 0` is an entry
/// number, not a model.
fn first_text<'a>(slot: &mut Option<&'a str>, value: &'a str) {
    if slot.is_none() && is_name(value) {
        *slot = Some(value);
    }
}

fn is_name(value: &str) -> bool {
    !value.is_empty() && parse_u64(value).is_none()
}

/// Keeps the first valid clock speed.
fn first_mhz(slot: &mut Option<f32>, value: &str) {
    if slot.is_none() {
        *slot = parse_mhz(value);
    }
}

/// `"2596.154"`, `"5000"` or POWER's `"3425.000000MHz"` to MHz; `None` unless
/// it is a plain positive decimal number (so no `nan`, `inf`, sign or
/// exponent gets through `f32::from_str`).
fn parse_mhz(value: &str) -> Option<f32> {
    let number = value.strip_suffix("MHz").unwrap_or(value).trim_end();
    let plain = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|&b| b == b'.').count() <= 1;
    if !plain {
        return None;
    }
    let mhz: f32 = number.parse().ok()?;
    (mhz.is_finite() && mhz > 0.0).then_some(mhz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::test_support::hostile_texts;

    fn parsed(text: &str) -> CpuInfo {
        parse(text).expect("sample parses")
    }

    #[test]
    fn x86_64_8cpu_counts_processors_and_takes_the_first_cpus_mhz() {
        let info = parsed(sample_text!("x86_64-8cpu/cpuinfo"));
        assert_eq!(info.cpu_count, 8);
        assert_eq!(info.mhz, Some(799.998));
        assert_eq!(
            info.model.as_deref(),
            Some("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz")
        );
    }

    #[test]
    fn x86_64_vm_2cpu() {
        let info = parsed(sample_text!("x86_64-vm-2cpu/cpuinfo"));
        assert_eq!(info.cpu_count, 2);
        assert_eq!(info.mhz, Some(2596.154));
        assert_eq!(info.model.as_deref(), Some("AMD EPYC"));
    }

    #[test]
    fn this_host_x86_64() {
        let info = parsed(sample_text!("this-host-x86_64/cpuinfo"));
        assert_eq!(info.cpu_count, 2);
        assert_eq!(info.mhz, Some(2596.096));
        assert_eq!(info.model.as_deref(), Some("AMD EPYC"));
    }

    #[test]
    fn arm7_uses_model_name_and_has_no_mhz() {
        let info = parsed(sample_text!("cpuinfo-variants/arm7"));
        assert_eq!(info.cpu_count, 4);
        assert_eq!(info.mhz, None);
        assert_eq!(info.model.as_deref(), Some("ARMv7 Processor rev 3 (v7l)"));
    }

    #[test]
    fn arm7_legacy_counts_lowercase_entries_and_takes_the_capital_processor_as_model() {
        let info = parsed(sample_text!("cpuinfo-variants/arm7legacy"));
        assert_eq!(info.cpu_count, 2);
        assert_eq!(info.mhz, None);
        assert_eq!(info.model.as_deref(), Some("ARMv7 Processor rev 5 (v7l)"));
    }

    #[test]
    fn arm_uniprocessor_with_only_a_capital_processor_line_is_one_cpu() {
        let info = parsed(sample_text!("cpuinfo-variants/arm7legacyv1"));
        assert_eq!(info.cpu_count, 1);
        assert_eq!(info.mhz, None);
        assert_eq!(
            info.model.as_deref(),
            Some("ARMv6-compatible processor rev 5 (v6l)")
        );
    }

    #[test]
    fn aarch64_has_no_model_and_no_mhz() {
        let info = parsed(sample_text!("cpuinfo-variants/aarch64"));
        assert_eq!(
            info,
            CpuInfo {
                cpu_count: 3,
                mhz: None,
                model: None
            }
        );
    }

    #[test]
    fn loongarch_capitalized_keys() {
        let info = parsed(sample_text!("cpuinfo-variants/loong64"));
        assert_eq!(info.cpu_count, 4);
        assert_eq!(info.mhz, Some(2500.0));
        assert_eq!(info.model.as_deref(), Some("Loongson-3A5000"));
    }

    #[test]
    fn mips_cpu_model() {
        let info = parsed(sample_text!("cpuinfo-variants/mips"));
        assert_eq!(info.cpu_count, 2);
        assert_eq!(info.mhz, None);
        assert_eq!(info.model.as_deref(), Some("Cavium Octeon+ V0.1"));
    }

    #[test]
    fn power_cpu_and_clock_with_mhz_suffix() {
        let info = parsed(sample_text!("cpuinfo-variants/ppc64"));
        assert_eq!(info.cpu_count, 6);
        assert_eq!(info.mhz, Some(3000.0));
        assert_eq!(
            info.model.as_deref(),
            Some("POWER7 (architected), altivec supported")
        );
    }

    #[test]
    fn riscv_without_uarch_has_no_model() {
        let info = parsed(sample_text!("cpuinfo-variants/riscv64"));
        assert_eq!(
            info,
            CpuInfo {
                cpu_count: 2,
                mhz: None,
                model: None
            }
        );
    }

    #[test]
    fn riscv_uarch_is_the_model() {
        let info = parsed(sample_text!("cpuinfo-variants/riscv64-uarch"));
        assert_eq!(info.cpu_count, 4);
        assert_eq!(info.mhz, None);
        assert_eq!(info.model.as_deref(), Some("sifive,u74-mc"));
    }

    #[test]
    fn s390x_declared_count_and_static_mhz() {
        let info = parsed(sample_text!("cpuinfo-variants/s390x"));
        assert_eq!(info.cpu_count, 4);
        assert_eq!(info.mhz, Some(5000.0));
        assert_eq!(info.model.as_deref(), Some("IBM/S390"));
    }

    #[test]
    fn s390x_without_mhz_lines() {
        let info = parsed(sample_text!("cpuinfo-variants/s390x-no-mhz"));
        assert_eq!(info.cpu_count, 2);
        assert_eq!(info.mhz, None);
        assert_eq!(info.model.as_deref(), Some("IBM/S390"));
    }

    #[test]
    fn s390_processor_lines_count_when_the_declared_count_is_missing() {
        let text = "vendor_id : IBM/S390\nprocessor 0: version = FF\nprocessor 1: version = FF\nprocessor 2: version = FF\n";
        assert_eq!(parsed(text).cpu_count, 3);
    }

    #[test]
    fn s390_prefers_static_mhz_over_dynamic() {
        let text = "# processors : 1\ncpu MHz dynamic : 4800\ncpu MHz static : 5200\n";
        assert_eq!(parsed(text).mhz, Some(5200.0));
        let text = "# processors : 1\ncpu MHz dynamic : 4800\n";
        assert_eq!(parsed(text).mhz, Some(4800.0));
    }

    #[test]
    fn invalid_mhz_values_are_ignored_and_the_next_valid_one_is_kept() {
        for bad in [
            "nan",
            "NaN",
            "inf",
            "-1",
            "0",
            "1e9",
            "",
            "1.2.3",
            "fast",
            "99999999999999999999999999999999999999999",
        ] {
            let text =
                format!("processor : 0\ncpu MHz : {bad}\n\nprocessor : 1\ncpu MHz : 1200.5\n");
            let info = parsed(&text);
            assert_eq!(info.cpu_count, 2, "{bad:?}");
            assert_eq!(info.mhz, Some(1200.5), "{bad:?}");
        }
    }

    #[test]
    fn zero_processors_is_an_error() {
        for text in [
            "",
            "\n",
            "vendor_id : GenuineIntel\nflags : fpu\n",
            "processor : \n",
            "processor : x\n",
            "# processors : 0\n",
            "Processor : 0\n",
            "Hardware : BCM2835\nRevision : c03111\n",
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.file(), "/proc/cpuinfo");
        }
    }

    #[test]
    fn bad_declared_s390_count_is_an_error() {
        assert!(parse("# processors : many\n").is_err());
        assert!(parse("# processors : 99999999999\n").is_err());
        assert!(parse("# processors : 99999999999999999999999\n").is_err());
        assert_eq!(parsed("# processors : 4294967295\n").cpu_count, u32::MAX);
    }

    #[test]
    fn truncated_last_entry_still_counts_complete_entries() {
        let text = sample_text!("x86_64-vm-2cpu/cpuinfo");
        let cut = text.find("processor\t: 1").unwrap() + "processor\t: ".len();
        assert_eq!(parsed(&text[..cut]).cpu_count, 1);
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in hostile_texts() {
            let _ = parse(&text);
        }
    }
}
