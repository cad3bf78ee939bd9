//! Fuzz target: every /proc parser on arbitrary text. The first byte picks
//! the parser so one corpus covers all five; none may panic, and results
//! must respect their documented bounds. For /proc/stat the fast path
//! (SIMD/SWAR, on bytes that may not be UTF-8) must also agree exactly with
//! the general byte-at-a-time scan.
#![no_main]

use beostat::proc::{cpuinfo, loadavg, meminfo, netdev, stat};
use beostat::types::MAX_NET_DEV;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 5 == 4 {
        let mut fast = stat::Stat::default();
        let fast = stat::parse_bytes_into(rest, &mut fast).map(|()| fast);
        let general = std::str::from_utf8(rest).ok().and_then(|text| {
            let mut general = stat::Stat::default();
            stat::parse_into_general(text, &mut general).ok().map(|()| general)
        });
        assert_eq!(fast.as_ref().ok(), general.as_ref(), "fast and general paths differ");
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(info) = cpuinfo::parse(text) {
                assert!(info.cpu_count >= 1);
            }
        }
        1 => {
            let _ = meminfo::parse(text);
        }
        2 => {
            if let Ok(load) = loadavg::parse(text) {
                assert!(load.load.iter().all(|l| l.is_finite()));
            }
        }
        3 => {
            if let Ok(devs) = netdev::parse(text) {
                assert!(devs.devices.len() <= MAX_NET_DEV && devs.devices.len() <= devs.total);
            }
        }
        _ => {
            if let Ok(s) = stat::parse(text) {
                assert_eq!(s.cpus.len(), s.cpu_count);
                assert!(s.cpu_count <= stat::MAX_CPU_INDEX);
            }
        }
    }
});
