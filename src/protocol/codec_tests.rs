//! Codec tests: round trips, every decoder drop reason, hostile input, and
//! the worked examples of docs/PROTOCOL.md.

use super::*;

const LOADAVG: &[u8] = b"0.00 0.11 0.09 1/77 7199\n";
const TIME_NS: u64 = 1_700_000_000_000_000_000;

/// A MAC stand-in that depends on every covered byte.
struct TestMac;

impl MacSigner for TestMac {
    fn key_id(&self) -> u32 {
        0xA1B2_C3D4
    }
    fn sign(&self, covered: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = [0u8; MAC_LEN];
        for (i, &b) in covered.iter().enumerate() {
            mac[i % MAC_LEN] = mac[i % MAC_LEN].wrapping_mul(31).wrapping_add(b);
        }
        mac
    }
}

fn sample_statfs() -> libc::statfs {
    let mut s = crate::types::statfs_zeroed();
    s.f_type = 0xEF53;
    s.f_bsize = 4096;
    s.f_blocks = 26_214_400;
    s.f_bfree = 13_107_200;
    s.f_bavail = 11_796_480;
    s.f_files = 6_553_600;
    s.f_ffree = 6_000_000;
    s.f_namelen = 255;
    s.f_frsize = 4096;
    s
}

/// A STATUS datagram with every whole-text section and two binary ones.
fn full_status(encoder: &mut Encoder) -> Vec<u8> {
    encoder.begin(&Header::status(7, 42, TIME_NS)).unwrap();
    encoder.section(SectionTag::Hostname, b"node7").unwrap();
    encoder.section(SectionTag::Loadavg, LOADAVG).unwrap();
    encoder
        .section(SectionTag::Meminfo, b"MemTotal: 100 kB\nMemFree: 50 kB\n")
        .unwrap();
    encoder
        .section(
            SectionTag::NetDev,
            b"eth0: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n",
        )
        .unwrap();
    encoder.statfs(&sample_statfs()).unwrap();
    encoder
        .section(SectionTag::Stat, b"cpu 1 2 3 4\ncpu0 1 2 3 4\n")
        .unwrap();
    encoder
        .section(SectionTag::Cpuinfo, b"processor: 0\ncpu MHz: 2000.0\n\n")
        .unwrap();
    encoder.finish().unwrap().to_vec()
}

fn small_status() -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::status(3, 1, TIME_NS)).unwrap();
    encoder.section(SectionTag::Hostname, b"n3").unwrap();
    encoder.section(SectionTag::Loadavg, LOADAVG).unwrap();
    encoder.finish().unwrap().to_vec()
}

fn signed_status() -> Vec<u8> {
    let mut encoder = Encoder::new();
    let mut header = Header::status(3, 9, TIME_NS);
    header.flags = FLAG_AUTH;
    encoder.begin(&header).unwrap();
    encoder.section(SectionTag::Loadavg, LOADAVG).unwrap();
    encoder.finish_signed(&TestMac).unwrap().to_vec()
}

fn rate_change(interval_ms: u32) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::rate_change(5, TIME_NS)).unwrap();
    encoder.interval(interval_ms).unwrap();
    encoder.finish().unwrap().to_vec()
}

fn put_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

// Round trips.

#[test]
fn status_round_trips_every_section_in_order() {
    let bytes = full_status(&mut Encoder::new());
    let datagram = decode(&bytes).unwrap();
    assert_eq!(
        datagram.header,
        Header {
            message_type: MessageType::Status,
            flags: FLAG_FULL,
            node: 7,
            sequence: 42,
            time_ns: TIME_NS
        }
    );
    assert_eq!(datagram.section_count, 7);
    assert!(datagram.auth.is_none());
    let tags: Vec<SectionTag> = datagram.sections().map(|s| s.tag).collect();
    assert_eq!(
        tags,
        [
            SectionTag::Hostname,
            SectionTag::Loadavg,
            SectionTag::Meminfo,
            SectionTag::NetDev,
            SectionTag::Statfs,
            SectionTag::Stat,
            SectionTag::Cpuinfo
        ]
    );
    assert_eq!(datagram.hostname(), Some(&b"node7"[..]));
    assert_eq!(datagram.get(SectionTag::Loadavg), Some(LOADAVG));
    assert_eq!(
        datagram.get(SectionTag::Stat),
        Some(&b"cpu 1 2 3 4\ncpu0 1 2 3 4\n"[..])
    );
    let statfs = datagram.statfs().unwrap();
    assert_eq!(statfs.f_type, 0xEF53);
    assert_eq!(statfs.f_blocks, 26_214_400);
    assert_eq!(statfs.f_bavail, 11_796_480);
    assert_eq!(datagram.interval_ms(), None);
    assert_eq!(datagram.get(SectionTag::StatPart), None);
}

#[test]
fn update_request_round_trips_as_a_bare_header() {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::update_request(77, TIME_NS)).unwrap();
    let bytes = encoder.finish().unwrap().to_vec();
    assert_eq!(bytes.len(), HEADER_LEN);
    let datagram = decode(&bytes).unwrap();
    assert_eq!(datagram.header, Header::update_request(77, TIME_NS));
    assert_eq!(datagram.header.node, NODE_MASTER);
    assert_eq!(datagram.sections().count(), 0);
}

#[test]
fn rate_change_round_trips_its_interval() {
    let datagram_bytes = rate_change(2500);
    let datagram = decode(&datagram_bytes).unwrap();
    assert_eq!(datagram.header.message_type, MessageType::RateChange);
    assert_eq!(datagram.header.sequence, 5);
    assert_eq!(datagram.interval_ms(), Some(2500));
    assert_eq!(
        datagram_bytes.len(),
        HEADER_LEN + SECTION_HEADER_LEN + INTERVAL_LEN
    );
}

#[test]
fn part_sections_round_trip_index_count_snapshot_and_text() {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::status(12, 100, TIME_NS)).unwrap();
    let stat = Part {
        index: 2,
        count: 5,
        snapshot: 98,
        text: b"cpu17 1 2 3 4\n",
    };
    encoder.part(SectionTag::StatPart, stat).unwrap();
    let cpuinfo = Part {
        index: 0,
        count: 3,
        snapshot: 98,
        text: b"processor: 0\n",
    };
    encoder.part(SectionTag::CpuinfoPart, cpuinfo).unwrap();
    let bytes = encoder.finish().unwrap().to_vec();
    let datagram = decode(&bytes).unwrap();
    assert_eq!(datagram.stat_part(), Some(stat));
    assert_eq!(datagram.cpuinfo_part(), Some(cpuinfo));
    assert!(datagram.header.is_full(), "a cpuinfo part is static data");
}

#[test]
fn node_from_address_and_negative_nodes_round_trip() {
    for node in [NODE_FROM_ADDRESS, NODE_MASTER, 0, i32::MAX] {
        let mut encoder = Encoder::new();
        encoder.begin(&Header::status(node, 1, 0)).unwrap();
        let bytes = encoder.finish().unwrap().to_vec();
        let header = decode(&bytes).unwrap().header;
        assert_eq!(header.node, node);
        assert_eq!(header.node_from_address(), node == NODE_FROM_ADDRESS);
    }
    let mut encoder = Encoder::new();
    encoder
        .begin(&Header::status(NODE_FROM_ADDRESS, 1, 0))
        .unwrap();
    assert_eq!(&encoder.finish().unwrap()[8..12], &[0x80, 0, 0, 0]);
}

#[test]
fn signed_datagram_exposes_the_covered_bytes_and_the_mac() {
    let bytes = signed_status();
    let datagram = decode(&bytes).unwrap();
    assert!(datagram.header.is_authenticated());
    let auth = datagram.auth.unwrap();
    assert_eq!(auth.key_id, 0xA1B2_C3D4);
    assert_eq!(auth.covered, &bytes[..bytes.len() - MAC_LEN]);
    assert_eq!(auth.mac, &TestMac.sign(auth.covered));
    // The covered bytes end with the trailer's tag, length and key id.
    assert_eq!(
        &auth.covered[auth.covered.len() - 8..],
        &[0xFF, 0xFF, 0, 36, 0xA1, 0xB2, 0xC3, 0xD4]
    );
    assert_eq!(
        bytes.len(),
        HEADER_LEN + SECTION_HEADER_LEN + LOADAVG.len() + AUTH_TRAILER_LEN
    );
    assert_eq!(
        datagram.section_count, 1,
        "the trailer is not a counted section"
    );
    assert_eq!(datagram.get(SectionTag::Loadavg), Some(LOADAVG));
}

// Every drop reason.

#[test]
fn every_truncation_of_a_valid_datagram_is_dropped_without_panic() {
    for bytes in [
        full_status(&mut Encoder::new()),
        signed_status(),
        rate_change(1000),
    ] {
        for len in 0..bytes.len() {
            let error = decode(&bytes[..len]).unwrap_err();
            if len < HEADER_LEN {
                assert_eq!(error, DecodeError::Truncated, "cut at {len}");
            } else {
                assert!(
                    matches!(error, DecodeError::Malformed(_)),
                    "cut at {len}: {error:?}"
                );
            }
        }
        assert!(decode(&bytes).is_ok());
    }
}

#[test]
fn section_length_past_the_end_is_malformed() {
    let mut bytes = small_status();
    // First section (Hostname "n3") starts at the header's end.
    put_u16(&mut bytes, HEADER_LEN + 2, u16::MAX);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("section length overruns the datagram")
    );
    let mut bytes = small_status();
    let second = HEADER_LEN + SECTION_HEADER_LEN + 2;
    put_u16(&mut bytes, second + 2, (LOADAVG.len() + 1) as u16);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("section length overruns the datagram")
    );
}

#[test]
fn wrong_magic_is_bad_magic() {
    let mut bytes = small_status();
    bytes[0..4].copy_from_slice(b"BEOT");
    assert_eq!(decode(&bytes).unwrap_err(), DecodeError::BadMagic);
    assert_eq!(
        decode(b"GET / HTTP/1.0\r\n").unwrap_err(),
        DecodeError::BadMagic
    );
}

#[test]
fn future_version_is_bad_version_even_when_shorter_than_our_header() {
    let mut bytes = small_status();
    bytes[4] = 2;
    assert_eq!(decode(&bytes).unwrap_err(), DecodeError::BadVersion(2));
    assert_eq!(decode(b"BEOS\x02").unwrap_err(), DecodeError::BadVersion(2));
    assert_eq!(
        decode(b"BEOS\x00whatever").unwrap_err(),
        DecodeError::BadVersion(0)
    );
    assert_eq!(decode(b"BEOS").unwrap_err(), DecodeError::Truncated);
}

#[test]
fn undefined_message_types_are_bad_type() {
    for byte in [0u8, 4, 0xFF] {
        let mut bytes = small_status();
        bytes[5] = byte;
        assert_eq!(decode(&bytes).unwrap_err(), DecodeError::BadType(byte));
    }
}

#[test]
fn huge_section_count_is_malformed_without_reading_past_the_end() {
    let mut bytes = small_status();
    put_u16(&mut bytes, 28, u16::MAX);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("section count larger than the sections present")
    );
    // A bare header claiming 65535 sections.
    let mut header_only = bytes[..HEADER_LEN].to_vec();
    put_u16(&mut header_only, 28, u16::MAX);
    assert!(matches!(
        decode(&header_only),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn section_count_smaller_than_the_sections_present_is_malformed() {
    let mut bytes = small_status();
    put_u16(&mut bytes, 28, 1);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("bytes after the last section")
    );
}

#[test]
fn longer_than_max_datagram_is_truncated() {
    let mut bytes = small_status();
    bytes.resize(RECV_BUFFER_LEN, 0);
    assert_eq!(decode(&bytes).unwrap_err(), DecodeError::Truncated);
}

#[test]
fn unknown_sections_are_returned_as_unknown_and_skipped() {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    encoder
        .section(SectionTag::Unknown(0x4242), b"from the future")
        .unwrap();
    encoder.section(SectionTag::Loadavg, LOADAVG).unwrap();
    encoder
        .section(SectionTag::Unknown(0x4242), b"again")
        .unwrap();
    encoder.section(SectionTag::Unknown(0x0300), b"").unwrap();
    let bytes = encoder.finish().unwrap().to_vec();
    let datagram = decode(&bytes).unwrap();
    assert_eq!(datagram.section_count, 4);
    assert_eq!(datagram.get(SectionTag::Loadavg), Some(LOADAVG));
    let unknown: Vec<Section> = datagram
        .sections()
        .filter(|s| matches!(s.tag, SectionTag::Unknown(_)))
        .collect();
    assert_eq!(unknown.len(), 3);
    assert_eq!(
        unknown[0],
        Section {
            tag: SectionTag::Unknown(0x4242),
            body: b"from the future"
        }
    );

    // Unknown sections are allowed in every message type.
    encoder.begin(&Header::update_request(1, 0)).unwrap();
    encoder
        .section(SectionTag::Unknown(0x0999), b"hint")
        .unwrap();
    let bytes = encoder.finish().unwrap().to_vec();
    assert_eq!(decode(&bytes).unwrap().sections().count(), 1);
}

#[test]
fn duplicate_known_sections_are_malformed_and_refused_by_the_encoder() {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    encoder.section(SectionTag::Loadavg, LOADAVG).unwrap();
    let before = encoder.len();
    assert_eq!(
        encoder.section(SectionTag::Loadavg, LOADAVG),
        Err(EncodeError::Invalid("duplicate section"))
    );
    assert_eq!(
        encoder.len(),
        before,
        "a refused section leaves the datagram as it was"
    );
    // Forge the duplicate by hand.
    let mut bytes = encoder.finish().unwrap().to_vec();
    bytes.extend_from_slice(&[0, 3, 0, 1, b'x']);
    put_u16(&mut bytes, 28, 2);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("duplicate section")
    );
}

#[test]
fn whole_text_and_part_together_are_refused() {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    encoder.section(SectionTag::Stat, b"cpu 1 2 3 4\n").unwrap();
    let part = Part {
        index: 0,
        count: 2,
        snapshot: 1,
        text: b"cpu0 1 2 3 4\n",
    };
    assert!(matches!(
        encoder.part(SectionTag::StatPart, part),
        Err(EncodeError::Invalid(_))
    ));
}

#[test]
fn part_headers_that_break_the_rules_are_malformed() {
    let good = Part {
        index: 0,
        count: 1,
        snapshot: 0,
        text: b"cpu0 1\n",
    };
    for (index, count) in [(0u16, 0u16), (3, 3), (9, 2)] {
        let mut encoder = Encoder::new();
        encoder.begin(&Header::status(1, 1, 0)).unwrap();
        let bad = Part {
            index,
            count,
            ..good
        };
        assert!(matches!(
            encoder.part(SectionTag::StatPart, bad),
            Err(EncodeError::Invalid(_))
        ));
        encoder.part(SectionTag::StatPart, good).unwrap();
        let mut bytes = encoder.finish().unwrap().to_vec();
        let part_header = HEADER_LEN + SECTION_HEADER_LEN;
        put_u16(&mut bytes, part_header, index);
        put_u16(&mut bytes, part_header + 2, count);
        assert!(
            matches!(decode(&bytes), Err(DecodeError::Malformed(_))),
            "{index} of {count}"
        );
    }
    // A part body shorter than the part header.
    let mut encoder = Encoder::new();
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    encoder
        .section(SectionTag::Unknown(0x1105), &[0; 4])
        .unwrap();
    let mut bytes = encoder.finish().unwrap().to_vec();
    put_u16(&mut bytes, HEADER_LEN, SectionTag::StatPart.to_u16());
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("part section shorter than its part header")
    );
}

#[test]
fn full_flag_must_match_the_static_sections() {
    let mut bytes = small_status();
    bytes[7] |= FLAG_FULL as u8;
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("FULL flag disagrees with the static sections present")
    );
    let mut bytes = full_status(&mut Encoder::new());
    bytes[7] &= !(FLAG_FULL as u8);
    assert!(matches!(decode(&bytes), Err(DecodeError::Malformed(_))));
    let mut bytes = rate_change(1000);
    bytes[7] |= FLAG_FULL as u8;
    assert!(matches!(decode(&bytes), Err(DecodeError::Malformed(_))));
}

#[test]
fn encoder_sets_full_itself_whatever_the_caller_says() {
    let mut encoder = Encoder::new();
    let mut header = Header::status(1, 1, 0);
    header.flags = FLAG_FULL | 0x8000;
    encoder.begin(&header).unwrap();
    let bytes = encoder.finish().unwrap().to_vec();
    assert_eq!(decode(&bytes).unwrap().header.flags, 0);
}

#[test]
fn undefined_flags_and_reserved_bytes_are_ignored_by_the_decoder() {
    let mut bytes = small_status();
    bytes[6] |= 0x80;
    bytes[30] = 0xAB;
    bytes[31] = 0xCD;
    let datagram = decode(&bytes).unwrap();
    assert_eq!(datagram.header.flags, 0x8000);
    assert_eq!(datagram.hostname(), Some(&b"n3"[..]));
}

#[test]
fn trailer_rules() {
    // AUTH flag without a trailer.
    let mut bytes = small_status();
    bytes[7] |= FLAG_AUTH as u8;
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("AUTH flag set but no whole trailer follows")
    );
    // A trailer without the AUTH flag.
    let mut bytes = signed_status();
    bytes[7] &= !(FLAG_AUTH as u8);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("bytes after the last section")
    );
    // A trailer with another tag.
    let mut bytes = signed_status();
    let trailer = bytes.len() - AUTH_TRAILER_LEN;
    put_u16(&mut bytes, trailer, 0xFFFE);
    assert!(matches!(decode(&bytes), Err(DecodeError::Malformed(_))));
    // A trailer of the wrong length, and bytes after the trailer.
    let mut bytes = signed_status();
    bytes.push(0);
    put_u16(&mut bytes, trailer + 2, 37);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("trailer body is not 36 bytes")
    );
    let mut bytes = signed_status();
    bytes.push(0);
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("bytes after the trailer")
    );
}

#[test]
fn reserved_tags_are_malformed() {
    for tag in [0u16, AUTH_TRAILER_TAG] {
        let mut bytes = small_status();
        put_u16(&mut bytes, HEADER_LEN, tag);
        assert!(
            matches!(decode(&bytes), Err(DecodeError::Malformed(_))),
            "tag {tag:#x}"
        );
    }
}

#[test]
fn sections_not_allowed_in_a_message_type_are_malformed() {
    // Turn a STATUS with a Loadavg section into an UPDATE_REQUEST.
    let mut bytes = small_status();
    bytes[5] = MessageType::UpdateRequest.to_u8();
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("section not allowed in this message type")
    );
    let mut encoder = Encoder::new();
    encoder.begin(&Header::rate_change(1, 0)).unwrap();
    assert!(matches!(
        encoder.section(SectionTag::Loadavg, LOADAVG),
        Err(EncodeError::Invalid(_))
    ));
    assert_eq!(
        encoder.finish().unwrap_err(),
        EncodeError::Invalid("rate change without an interval section")
    );
    // An interval of 0 on the wire.
    let mut bytes = rate_change(1);
    let last = bytes.len() - 1;
    bytes[last] = 0;
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::Malformed("interval of 0 ms")
    );
}

// The encoder's own rules.

#[test]
fn too_large_leaves_the_datagram_intact_and_finishable() {
    let mut encoder = Encoder::new();
    encoder.set_limit(100);
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    encoder.section(SectionTag::Loadavg, LOADAVG).unwrap();
    let len = encoder.len();
    assert_eq!(encoder.available(), 100 - len);
    assert_eq!(
        encoder.section(SectionTag::Stat, &[b'x'; 60]),
        Err(EncodeError::TooLarge {
            needed: 64,
            available: 100 - len
        })
    );
    assert_eq!(encoder.len(), len);
    let bytes = encoder.finish().unwrap().to_vec();
    assert_eq!(bytes.len(), len);
    assert_eq!(decode(&bytes).unwrap().section_count, 1);
}

#[test]
fn encoder_limits_are_clamped_and_respected() {
    let mut encoder = Encoder::new();
    encoder.set_limit(1 << 20);
    assert_eq!(encoder.limit(), MAX_DATAGRAM);
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    let biggest = vec![b'a'; MAX_SECTION_BODY];
    encoder
        .section(SectionTag::Unknown(0x0400), &biggest)
        .unwrap();
    let bytes = encoder.finish().unwrap().to_vec();
    assert_eq!(bytes.len(), MAX_DATAGRAM);
    assert!(decode(&bytes).is_ok());
    // A signed datagram keeps room for its trailer.
    encoder.set_limit(200);
    let mut header = Header::status(1, 1, 0);
    header.flags = FLAG_AUTH;
    encoder.begin(&header).unwrap();
    assert_eq!(encoder.available(), 200 - HEADER_LEN - AUTH_TRAILER_LEN);
    encoder.set_limit(HEADER_LEN + AUTH_TRAILER_LEN - 1);
    assert!(matches!(
        encoder.begin(&header),
        Err(EncodeError::TooLarge { .. })
    ));
}

#[test]
fn encoder_state_errors() {
    let mut encoder = Encoder::new();
    assert_eq!(
        encoder.finish().unwrap_err(),
        EncodeError::Invalid("no datagram begun")
    );
    assert!(encoder.section(SectionTag::Loadavg, LOADAVG).is_err());
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    assert!(encoder.finish_signed(&TestMac).is_err());
    encoder.begin(&Header::status(1, 1, 0)).unwrap();
    encoder.finish().unwrap();
    assert!(encoder.finish().is_err(), "finish ends the datagram");
    let mut header = Header::status(1, 1, 0);
    header.flags = FLAG_AUTH;
    encoder.begin(&header).unwrap();
    assert!(
        encoder.finish().is_err(),
        "a signed datagram needs finish_signed"
    );
    assert!(encoder
        .part(
            SectionTag::Stat,
            Part {
                index: 0,
                count: 1,
                snapshot: 0,
                text: b""
            }
        )
        .is_err());
}

#[test]
fn encoder_reuses_its_buffer_without_growing() {
    let capacity = Encoder::new().into_buffer().capacity();
    assert!(capacity >= MAX_DATAGRAM);
    let mut encoder = Encoder::new();
    for sequence in 0..100 {
        full_status(&mut encoder);
        encoder.begin(&Header::status(1, sequence, 0)).unwrap();
    }
    assert_eq!(encoder.into_buffer().capacity(), capacity);
}

// statfs.

#[test]
fn statfs_round_trips_every_field_including_fsid_and_flags() {
    let mut statfs = sample_statfs();
    // f_fsid's ints are private in libc; set them through the wire form.
    let mut body = encode_statfs(&statfs);
    body[56..64].copy_from_slice(&(-2i64 as u64).to_be_bytes());
    body[64..72].copy_from_slice(&0x1234_5678u64.to_be_bytes());
    body[88..96].copy_from_slice(&0x1026u64.to_be_bytes()); // ST_RELATIME|ST_NODEV|ST_NOSUID
    statfs = decode_statfs(&body).unwrap();
    let again = encode_statfs(&statfs);
    assert_eq!(again, body);
    assert_eq!(&again[0..8], &0xEF53u64.to_be_bytes());
    assert_eq!(&again[8..16], &4096u64.to_be_bytes());
    assert_eq!(&again[72..80], &255u64.to_be_bytes());
    assert_eq!(statfs.f_ffree, 6_000_000);
    assert_eq!(statfs.f_frsize, 4096);
}

#[test]
fn statfs_of_the_wrong_size_or_out_of_range_is_refused() {
    assert!(decode_statfs(&[0; 95]).is_none());
    assert!(decode_statfs(&[0; 97]).is_none());
    let mut body = encode_statfs(&sample_statfs());
    body[56..64].copy_from_slice(&u64::MAX.to_be_bytes()); // -1 sign-extended: fits
    assert!(decode_statfs(&body).is_some());
    body[56..64].copy_from_slice(&(1u64 << 40).to_be_bytes()); // no int holds it
    assert!(decode_statfs(&body).is_none());
}

#[test]
fn statfs_of_the_real_root_filesystem_round_trips() {
    let mut statfs = crate::types::statfs_zeroed();
    // SAFETY: the path is a NUL-terminated literal and `statfs` is a valid,
    // writable struct statfs.
    let rc = unsafe { libc::statfs(c"/".as_ptr(), &mut statfs) };
    assert_eq!(rc, 0);
    let body = encode_statfs(&statfs);
    let back = decode_statfs(&body).unwrap();
    assert_eq!(encode_statfs(&back), body);
    assert_eq!(back.f_blocks, statfs.f_blocks);
    assert_eq!(back.f_bsize, statfs.f_bsize);
}

// Hostile input.

/// xorshift64: reproducible pseudo-random bytes without a crate.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_mutations_of_valid_datagrams_never_panic() {
    let seeds = [
        full_status(&mut Encoder::new()),
        signed_status(),
        rate_change(10),
        small_status(),
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut accepted = 0;
    for round in 0..20_000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        for _ in 0..1 + next_random(&mut state) % 4 {
            let at = (next_random(&mut state) % bytes.len() as u64) as usize;
            bytes[at] = next_random(&mut state) as u8;
        }
        if round % 7 == 0 {
            let len = (next_random(&mut state) % bytes.len() as u64) as usize;
            bytes.truncate(len);
        }
        if let Ok(datagram) = decode(&bytes) {
            accepted += 1;
            // Whatever was accepted can be walked in full.
            assert_eq!(
                datagram.sections().count(),
                usize::from(datagram.section_count)
            );
        }
    }
    assert!(
        accepted > 0,
        "some mutations (of text bytes) must stay valid"
    );
}

#[test]
fn random_bytes_behind_a_valid_header_never_panic() {
    let mut state = 0x0123_4567_89AB_CDEFu64;
    for _ in 0..5_000 {
        let mut bytes = small_status()[..HEADER_LEN].to_vec();
        let extra = next_random(&mut state) % 200;
        for _ in 0..extra {
            bytes.push(next_random(&mut state) as u8);
        }
        put_u16(&mut bytes, 28, (next_random(&mut state) % 8) as u16);
        let _ = decode(&bytes);
    }
}

// The worked examples in docs/PROTOCOL.md.

/// The bytes of the `hex` block after the line `marker` in PROTOCOL.md:
/// on each line, the hex pairs before the first double space.
fn spec_example(marker: &str) -> Vec<u8> {
    let spec = include_str!("../../docs/PROTOCOL.md");
    let after = &spec[spec.find(marker).expect("marker in PROTOCOL.md")..];
    let block = after
        .split("```hex\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let mut bytes = Vec::new();
    for line in block.lines() {
        let hex = line.split("  ").next().unwrap();
        for pair in hex.split_whitespace() {
            bytes.push(u8::from_str_radix(pair, 16).expect("hex pair"));
        }
    }
    bytes
}

#[test]
fn protocol_md_status_example_is_what_the_encoder_writes() {
    let bytes = small_status();
    assert_eq!(spec_example("<!-- example: status -->"), bytes);
    assert_eq!(bytes.len(), 67);
}

#[test]
fn protocol_md_rate_change_example_is_what_the_encoder_writes() {
    let mut encoder = Encoder::new();
    encoder.begin(&Header::rate_change(8, TIME_NS)).unwrap();
    encoder.interval(5000).unwrap();
    assert_eq!(
        spec_example("<!-- example: rate-change -->"),
        encoder.finish().unwrap()
    );
}
