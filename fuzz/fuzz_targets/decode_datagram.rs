//! Fuzz target: the datagram decoder must never panic, and what it accepts
//! must stay within the input (every section body is a slice of it).
#![no_main]

use beostat::protocol::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(datagram) = decode(data) {
        let start = data.as_ptr() as usize;
        for section in datagram.sections() {
            let at = section.body.as_ptr() as usize;
            assert!(at >= start && at + section.body.len() <= start + data.len());
        }
        let _ = (
            datagram.statfs(),
            datagram.hostname(),
            datagram.stat_part(),
            datagram.cpuinfo_part(),
        );
    }
});
