//! Fuzz target: every /proc parser on arbitrary text. The first byte picks
//! the parser so one corpus covers all five; none may panic, and results
//! must respect their documented bounds.
#![no_main]

use beostat::proc::{cpuinfo, loadavg, meminfo, netdev, stat};
use beostat::types::MAX_NET_DEV;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
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
