//! `/proc/loadavg`: load averages and process counts, as `struct beostat_loadavg`.
//!
//! This module owns the one-line format `"0.52 0.58 0.59 2/1024 12345"`
//! (unchanged since Linux 2.0): the 1, 5 and 15 minute load averages,
//! runnable/existing scheduling entities, and the last pid created. It never
//! does I/O.
//!
//! The line must have exactly these five whitespace-separated fields; anything
//! else is an error. Loads must be plain non-negative decimals (the kernel
//! prints `%lu.%02lu`), so `nan`, `inf`, signs and exponents are rejected
//! before `f32` parsing can accept them, and a value too large for `f32` is
//! rejected too. The three integers must fit in a C `int`.

use libc::c_int;

use super::{excerpt, parse_u64, ParseError};
use crate::types::beostat_loadavg;

const FILE: &str = "/proc/loadavg";

/// Parses the text of /proc/loadavg.
pub fn parse(text: &str) -> Result<beostat_loadavg, ParseError> {
    let mut fields = text.split_ascii_whitespace();
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| ParseError::new(FILE, format!("missing {what}")))
    };

    let mut load = [0.0f32; 3];
    for (slot, what) in load
        .iter_mut()
        .zip(["1-minute load", "5-minute load", "15-minute load"])
    {
        let field = next(what)?;
        *slot = parse_load(field).ok_or_else(|| {
            ParseError::new(FILE, format!("{what} is not a load: {:?}", excerpt(field)))
        })?;
    }

    let procs = next("running/total processes")?;
    let (active, total) = procs.split_once('/').ok_or_else(|| {
        ParseError::new(
            FILE,
            format!(
                "expected running/total processes, found {:?}",
                excerpt(procs)
            ),
        )
    })?;
    let num_active_procs = parse_int(active, "running processes")?;
    let total_procs = parse_int(total, "total processes")?;
    let last_pid = parse_int(next("last pid")?, "last pid")?;

    if let Some(extra) = fields.next() {
        return Err(ParseError::new(
            FILE,
            format!("unexpected extra field {:?}", excerpt(extra)),
        ));
    }
    Ok(beostat_loadavg {
        load,
        num_active_procs,
        total_procs,
        last_pid,
    })
}

/// A plain non-negative decimal (`"0.52"`, `"1024"`) as a finite `f32`.
fn parse_load(field: &str) -> Option<f32> {
    let plain = field.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && field.bytes().filter(|&b| b == b'.').count() <= 1
        && field.bytes().any(|b| b.is_ascii_digit());
    if !plain {
        return None;
    }
    let load: f32 = field.parse().ok()?;
    load.is_finite().then_some(load)
}

fn parse_int(field: &str, what: &str) -> Result<c_int, ParseError> {
    parse_u64(field)
        .and_then(|value| c_int::try_from(value).ok())
        .ok_or_else(|| {
            ParseError::new(
                FILE,
                format!("{what} is not a number in range: {:?}", excerpt(field)),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::test_support::hostile_texts;

    fn loadavg(load: [f32; 3], active: c_int, total: c_int, last_pid: c_int) -> beostat_loadavg {
        beostat_loadavg {
            load,
            num_active_procs: active,
            total_procs: total,
            last_pid,
        }
    }

    #[test]
    fn x86_64_8cpu() {
        assert_eq!(
            parse(sample_text!("x86_64-8cpu/loadavg")),
            Ok(loadavg([0.02, 0.04, 0.05], 1, 497, 11947))
        );
    }

    #[test]
    fn x86_64_vm_2cpu() {
        assert_eq!(
            parse(sample_text!("x86_64-vm-2cpu/loadavg")),
            Ok(loadavg([0.00, 0.11, 0.09], 1, 77, 7199))
        );
    }

    #[test]
    fn this_host_x86_64() {
        assert_eq!(
            parse(sample_text!("this-host-x86_64/loadavg")),
            Ok(loadavg([0.37, 0.50, 0.24], 1, 85, 8200))
        );
    }

    #[test]
    fn linux_2_4() {
        assert_eq!(
            parse(sample_text!("loadavg-linux-2.4")),
            Ok(loadavg([0.08, 0.03, 0.01], 1, 45, 1102))
        );
    }

    #[test]
    fn idle_without_trailing_newline() {
        assert_eq!(
            parse(sample_text!("loadavg-idle-no-newline")),
            Ok(loadavg([0.0; 3], 1, 63, 310))
        );
    }

    #[test]
    fn busy_machine_at_pid_max() {
        assert_eq!(
            parse(sample_text!("loadavg-busy-pid-max")),
            Ok(loadavg([97.31, 88.20, 71.04], 129, 4182, 4194303))
        );
    }

    #[test]
    fn loads_above_1000() {
        assert_eq!(
            parse(sample_text!("loadavg-above-1000")),
            Ok(loadavg([1024.53, 1001.02, 876.90], 1042, 31731, 98765))
        );
    }

    #[test]
    fn non_finite_and_signed_loads_are_errors() {
        for load in [
            "nan", "NaN", "inf", "-inf", "infinity", "-0.5", "+0.5", "1e3", "1.2.3", ".", "", "0x1",
        ] {
            let text = format!("{load} 0.58 0.59 2/1024 12345\n");
            let error = parse(&text).expect_err(&text);
            assert_eq!(error.file(), "/proc/loadavg");
        }
        // 1e39 written out overflows f32 to infinity.
        let huge = format!("1{} 0.58 0.59 2/1024 12345\n", "0".repeat(39));
        assert!(parse(&huge).is_err());
    }

    #[test]
    fn out_of_range_integers_are_errors() {
        for procs in [
            "2147483648/1",
            "1/2147483648",
            "1/99999999999999999999999",
            "-1/5",
            "1/",
            "/1",
            "1",
            "1/2/3",
            "a/b",
        ] {
            let text = format!("0.52 0.58 0.59 {procs} 12345\n");
            assert!(parse(&text).is_err(), "{text:?}");
        }
        assert!(parse("0.52 0.58 0.59 2/1024 2147483648\n").is_err());
        assert_eq!(
            parse("0.52 0.58 0.59 2147483647/2147483647 2147483647\n"),
            Ok(loadavg(
                [0.52, 0.58, 0.59],
                c_int::MAX,
                c_int::MAX,
                c_int::MAX
            ))
        );
    }

    #[test]
    fn wrong_field_counts_are_errors() {
        for text in [
            "",
            "\n",
            "0.52",
            "0.52 0.58 0.59",
            "0.52 0.58 0.59 2/1024",
            "0.52 0.58 0.59 2/1024 12345 extra",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in hostile_texts() {
            let _ = parse(&text);
        }
    }
}
