//! `/proc/net/dev`: per-interface traffic counters, as `struct beostat_net_dev`.
//!
//! This module owns the reading of interface lines and the rules below; it
//! never does I/O.
//!
//! **Layout.** Two header lines (recognized by their `'|'`, and only among the
//! first two non-blank lines), then one line per interface:
//! `name:` followed by 16 counters, receive `bytes packets errs drop fifo
//! frame compressed multicast` then transmit `bytes packets errs drop fifo
//! colls carrier compressed`. They map to `recv.*`, `frame`, `multicast`,
//! `trans.*`, `colls` and `carrier`.
//!
//! **The name/counters separator.** The kernel prints `"%6s:%8lu ..."`, so a
//! receive byte count of nine digits or more is glued to the colon
//! (`"  eth0:1234567890 ..."`), and interface names may themselves contain
//! colons (old alias devices such as `eth0:1`). Names never contain
//! whitespace, so the rule is: the first whitespace-separated token holds the
//! name, and the name ends at the *last* `':'` of that token. Whatever follows
//! that colon in the token (if anything) is the first counter. So
//! `"eth0:1: 512 ..."` is `eth0:1` with bytes 512, and `"eth0:12:123456789 ..."`
//! is `eth0:12` with bytes 123456789. Names longer than 15 bytes are
//! truncated (see `beostat_net_dev::set_name`).
//!
//! **Errors and skips.** A malformed interface line (no colon in its first
//! token, an empty name, not exactly 16 counters, a counter that is not a
//! decimal number or does not fit in a C `unsigned long`) is skipped and
//! counted in [`NetDevs::skipped`]; the other interfaces are still reported.
//! Blank lines are ignored. The parse fails only when no interface line parses
//! and the input is not exactly the two header lines (an interface-less
//! node): that covers empty input, garbage, and files whose every line is bad.
//! Interfaces after the first [`MAX_NET_DEV`] are counted in
//! [`NetDevs::total`] but not kept.

use libc::c_ulong;

use super::{scan_u64, ParseError};
use crate::types::{beostat_net_dev, beostat_net_stat, MAX_NET_DEV};

const FILE: &str = "/proc/net/dev";

/// Number of counters on an interface line.
const COUNTERS: usize = 16;

/// The interfaces of one /proc/net/dev, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetDevs {
    /// The first [`MAX_NET_DEV`] interfaces that parsed.
    pub devices: Vec<beostat_net_dev>,
    /// All interfaces that parsed, including those beyond [`MAX_NET_DEV`].
    pub total: usize,
    /// Interface lines that were malformed and skipped.
    pub skipped: usize,
}

/// Parses the text of /proc/net/dev.
pub fn parse(text: &str) -> Result<NetDevs, ParseError> {
    let mut devs = NetDevs::default();
    parse_into(text, &mut devs)?;
    Ok(devs)
}

/// Parses the text of /proc/net/dev into `devs`, reusing its `devices`
/// vector: once it has grown, parsing allocates nothing (recvstats parses
/// every report of every node this way). On error `devs` holds an
/// unspecified partial result.
pub fn parse_into(text: &str, devs: &mut NetDevs) -> Result<(), ParseError> {
    devs.devices.clear();
    devs.total = 0;
    devs.skipped = 0;
    let mut headers = 0;
    let mut lines_seen = 0;
    for line in text.split('\n') {
        if line.bytes().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        lines_seen += 1;
        if lines_seen <= 2 && line.contains('|') {
            headers += 1;
            continue;
        }
        match parse_device(line) {
            Some(device) => {
                devs.total += 1;
                if devs.devices.len() < MAX_NET_DEV {
                    devs.devices.push(device);
                }
            }
            None => devs.skipped += 1,
        }
    }

    if devs.total > 0 || (headers == 2 && devs.skipped == 0) {
        return Ok(());
    }
    let message = if devs.skipped > 0 {
        format!(
            "none of the {} interface lines could be parsed",
            devs.skipped
        )
    } else if headers == 0 {
        "no header and no interface lines".to_string()
    } else {
        "truncated after the first header line".to_string()
    };
    Err(ParseError::new(FILE, message))
}

/// One interface line, or `None` if it is malformed.
fn parse_device(line: &str) -> Option<beostat_net_dev> {
    let line = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let bytes = line.as_bytes();
    let token_end = bytes
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(bytes.len());
    let first_token = &line[..token_end];
    let colon = first_token.rfind(':')?;
    let name = &first_token[..colon];
    if name.is_empty() {
        return None;
    }

    // The counters start right after the colon (the first may be glued to
    // it) and are scanned in place, without splitting the line.
    let mut at = colon + 1;
    let mut counters: [c_ulong; COUNTERS] = [0; COUNTERS];
    for slot in &mut counters {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at == bytes.len() {
            return None;
        }
        let (value, end) = scan_u64(bytes, at);
        *slot = to_c_ulong(value?)?;
        at = end;
    }
    if !bytes[at..].iter().all(u8::is_ascii_whitespace) {
        return None;
    }

    let [rx_bytes, rx_packets, rx_errs, rx_drop, rx_fifo, frame, rx_compressed, multicast, tx_bytes, tx_packets, tx_errs, tx_drop, tx_fifo, colls, carrier, tx_compressed] =
        counters;
    let mut device = beostat_net_dev {
        recv: beostat_net_stat {
            bytes: rx_bytes,
            packets: rx_packets,
            errs: rx_errs,
            drop: rx_drop,
            fifo: rx_fifo,
            compressed: rx_compressed,
        },
        frame,
        multicast,
        trans: beostat_net_stat {
            bytes: tx_bytes,
            packets: tx_packets,
            errs: tx_errs,
            drop: tx_drop,
            fifo: tx_fifo,
            compressed: tx_compressed,
        },
        colls,
        carrier,
        ..Default::default()
    };
    device.set_name(name.as_bytes());
    Some(device)
}

/// `c_ulong` is `u64` on LP64 but `u32` on 32-bit targets, where a counter
/// that does not fit makes the line malformed.
fn to_c_ulong(value: u64) -> Option<c_ulong> {
    c_ulong::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::test_support::hostile_texts;

    fn parsed(text: &str) -> NetDevs {
        parse(text).expect("sample parses")
    }

    fn names(devs: &NetDevs) -> Vec<String> {
        devs.devices
            .iter()
            .map(|d| String::from_utf8_lossy(d.name_bytes()).into_owned())
            .collect()
    }

    /// The 16 counters of a device, in file order.
    fn counters(d: &beostat_net_dev) -> [c_ulong; 16] {
        [
            d.recv.bytes,
            d.recv.packets,
            d.recv.errs,
            d.recv.drop,
            d.recv.fifo,
            d.frame,
            d.recv.compressed,
            d.multicast,
            d.trans.bytes,
            d.trans.packets,
            d.trans.errs,
            d.trans.drop,
            d.trans.fifo,
            d.colls,
            d.carrier,
            d.trans.compressed,
        ]
    }

    #[test]
    fn x86_64_8cpu_long_name_glued_to_its_counter() {
        let devs = parsed(sample_text!("x86_64-8cpu/net/dev"));
        assert_eq!((devs.total, devs.skipped), (4, 0));
        assert_eq!(names(&devs), ["vethf345468", "lo", "docker0", "eth0"]);
        assert_eq!(
            counters(&devs.devices[0]),
            [648, 8, 0, 0, 0, 0, 0, 0, 438, 5, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(devs.devices[1].recv.bytes, 1664039048);
        assert_eq!(devs.devices[1].recv.packets, 1566805);
        assert_eq!(devs.devices[1].trans.bytes, 1664039048);
        assert_eq!(devs.devices[3].recv.bytes, 874354587);
        assert_eq!(devs.devices[3].recv.packets, 1036395);
        assert_eq!(devs.devices[3].trans.bytes, 563352563);
        assert_eq!(devs.devices[3].trans.packets, 732147);
    }

    #[test]
    fn x86_64_vm_2cpu_counters_beyond_32_bits() {
        let devs = parsed(sample_text!("x86_64-vm-2cpu/net/dev"));
        assert_eq!((devs.total, devs.skipped), (4, 0));
        assert_eq!(names(&devs), ["lo", "ifb0", "ifb1", "eth0"]);
        assert_eq!(devs.devices[0].recv.bytes, 105049913450);
        assert_eq!(devs.devices[0].recv.packets, 19315776);
        assert_eq!(devs.devices[0].trans.bytes, 105049913450);
        assert_eq!(devs.devices[0].trans.packets, 19315776);
        assert_eq!(counters(&devs.devices[1]), [0; 16]);
        assert_eq!(
            counters(&devs.devices[3]),
            [21600679, 735, 0, 0, 0, 0, 0, 0, 67358, 580, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn this_host_x86_64() {
        let devs = parsed(sample_text!("this-host-x86_64/net/dev"));
        assert_eq!((devs.total, devs.skipped), (4, 0));
        assert_eq!(names(&devs), ["lo", "ifb0", "ifb1", "eth0"]);
        assert_eq!(
            counters(&devs.devices[0]),
            [3193, 29, 0, 0, 0, 0, 0, 0, 3193, 29, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            counters(&devs.devices[3]),
            [93126872, 3327, 0, 0, 0, 0, 0, 0, 175823, 1932, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn alias_names_and_counters_glued_to_the_colon() {
        let devs = parsed(sample_text!("netdev-colon-names-glued"));
        assert_eq!((devs.total, devs.skipped), (5, 0));
        assert_eq!(names(&devs), ["lo", "eth0", "eth0:1", "eth0:12", "eth1"]);
        assert_eq!(
            counters(&devs.devices[0]),
            [12345678, 45678, 0, 0, 0, 0, 0, 0, 12345678, 45678, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            counters(&devs.devices[1]),
            [3091574133, 21733092, 0, 0, 0, 0, 0, 12345, 2415067299, 18772441, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            counters(&devs.devices[2]),
            [512, 4, 0, 0, 0, 0, 0, 0, 256, 2, 0, 0, 0, 0, 0, 0]
        );
        // Every counter distinct, so a field mapped to the wrong slot shows.
        let d = &devs.devices[3];
        assert_eq!(
            counters(d),
            [123456789, 98765, 1, 2, 3, 4, 5, 6, 987654321, 56789, 7, 8, 9, 10, 11, 12]
        );
        assert_eq!(
            (d.recv.errs, d.recv.drop, d.recv.fifo, d.frame),
            (1, 2, 3, 4)
        );
        assert_eq!((d.recv.compressed, d.multicast), (5, 6));
        assert_eq!((d.trans.errs, d.trans.drop, d.trans.fifo), (7, 8, 9));
        assert_eq!((d.colls, d.carrier, d.trans.compressed), (10, 11, 12));
    }

    #[test]
    fn names_longer_than_15_bytes_are_truncated() {
        let devs = parsed(sample_text!("netdev-long-names"));
        assert_eq!((devs.total, devs.skipped), (3, 0));
        assert_eq!(
            names(&devs),
            ["br-0123456789ab", "enp129s0f1np1", "veth-name-longe"]
        );
        assert_eq!(devs.devices[0].recv.bytes, 10584);
        assert_eq!(devs.devices[0].trans.drop, 4);
        assert_eq!(devs.devices[1].multicast, 17);
        assert_eq!(devs.devices[2].trans.packets, 1);
    }

    #[test]
    fn more_than_max_net_dev_keeps_the_first_32_and_counts_all_40() {
        let devs = parsed(sample_text!("netdev-40-interfaces"));
        assert_eq!(devs.total, 40);
        assert_eq!(devs.skipped, 0);
        assert_eq!(devs.devices.len(), MAX_NET_DEV);
        let names = names(&devs);
        assert_eq!(names[0], "lo");
        assert_eq!(names[7], "bond0");
        assert_eq!(names[8], "bond0.100");
        assert_eq!(names[16], "docker0");
        // The 32nd interface (line 34 of the file) is kept, the 33rd is not.
        assert_eq!(names[31], "veth5930096");
        assert!(!names.iter().any(|n| n == "veth46f1417"));
        let d = &devs.devices[0];
        assert_eq!(
            counters(d),
            [
                143163554203,
                790958863,
                3,
                79,
                0,
                7,
                0,
                891183,
                23427805968,
                139451226,
                2,
                77,
                0,
                0,
                0,
                0
            ]
        );
        let d = &devs.devices[31];
        assert_eq!((d.recv.bytes, d.recv.packets), (540641372110, 515387390));
        assert_eq!((d.recv.drop, d.frame, d.multicast), (38, 1, 732135));
        assert_eq!((d.trans.bytes, d.trans.packets), (18650741841, 214376343));
        assert_eq!((d.trans.errs, d.trans.drop), (2, 14));
    }

    #[test]
    fn malformed_lines_are_skipped_and_counted() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n\
            eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n\
            eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n\
            eth2: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16\n\
            eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616\n\
            eth4 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\
            :1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\
            eth5: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\
            \n\
            eth6: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551615\n";
        let devs = parsed(text);
        assert_eq!((devs.total, devs.skipped), (1, 7));
        assert_eq!(names(&devs), ["eth6"]);
        assert_eq!(devs.devices[0].trans.compressed, u64::MAX);
        assert_eq!(devs.devices[0].recv.bytes, 1);
    }

    #[test]
    fn truncated_last_line_is_skipped() {
        let text = sample_text!("x86_64-vm-2cpu/net/dev");
        let cut = text.rfind("  0").unwrap();
        let devs = parsed(&text[..cut]);
        assert_eq!((devs.total, devs.skipped), (3, 1));
        assert_eq!(names(&devs), ["lo", "ifb0", "ifb1"]);
    }

    #[test]
    fn headers_only_is_a_node_without_interfaces() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";
        assert_eq!(parsed(text), NetDevs::default());
    }

    #[test]
    fn nothing_parsed_is_an_error() {
        let one_header =
            "Inter-|   Receive                                                |  Transmit\n";
        let all_bad = "Inter-|\n face |\neth0: 1 2 3\n";
        for text in ["", "\n\n", "garbage", one_header, all_bad, "eth0 1 2 3"] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.file(), "/proc/net/dev");
        }
    }

    #[test]
    fn device_lines_without_headers_still_parse() {
        let devs = parsed("  eth0:1234567890 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16");
        assert_eq!(names(&devs), ["eth0"]);
        assert_eq!(devs.devices[0].recv.bytes, 1234567890);
        assert_eq!(devs.devices[0].trans.compressed, 16);
    }

    #[test]
    fn parse_into_reuses_its_vector_and_forgets_the_previous_text() {
        let mut devs = parsed(sample_text!("netdev-40-interfaces"));
        let capacity = devs.devices.capacity();
        parse_into(sample_text!("x86_64-8cpu/net/dev"), &mut devs).unwrap();
        assert_eq!(devs, parsed(sample_text!("x86_64-8cpu/net/dev")));
        assert_eq!(devs.devices.capacity(), capacity, "no reallocation");
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in hostile_texts() {
            let _ = parse(&text);
        }
    }
}
