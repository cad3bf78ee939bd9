//! Packing one node report into as few datagrams as the size limit allows.
//!
//! This module owns the sender's layout decisions (docs/PROTOCOL.md, "Sender
//! layout"): which section goes in which datagram, and when a text is cut
//! into parts. It is deterministic and does no I/O: each finished datagram
//! is handed to the caller's `emit`, which sends it. It must never emit a
//! datagram over the encoder's limit, and never split a text that fits a
//! datagram of its own (parts cost the receiver work).

use super::{
    decode::Part, split_lines, EncodeError, Encoder, Header, MacSigner, MessageType, SectionTag,
    AUTH_TRAILER_LEN, FLAG_AUTH, HEADER_LEN, MAC_LEN, PART_HEADER_LEN, SECTION_HEADER_LEN,
};

/// What a node sends in one report. Texts should already be condensed
/// (see [`super::condense`]); `None` leaves a section out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Report<'a> {
    /// The host name (1..=255 bytes).
    pub hostname: Option<&'a [u8]>,
    /// /proc/loadavg.
    pub loadavg: Option<&'a [u8]>,
    /// /proc/meminfo, condensed.
    pub meminfo: Option<&'a [u8]>,
    /// /proc/net/dev, condensed.
    pub net_dev: Option<&'a [u8]>,
    /// `statfs("/")`.
    pub statfs: Option<&'a libc::statfs>,
    /// /proc/stat, condensed to its `cpu` lines.
    pub stat: Option<&'a [u8]>,
    /// /proc/cpuinfo, condensed: only in full reports (at start, on change,
    /// on request, at the slow interval).
    pub cpuinfo: Option<&'a [u8]>,
}

/// Encodes `report` as STATUS datagrams no longer than `encoder.limit()`
/// and passes each to `emit`, in order. Returns how many were emitted.
///
/// The first datagram carries `header.sequence`, each next one 1 more; the
/// caller's next sequence number is `header.sequence + returned`. Parts of a
/// split text carry `header.sequence` as their snapshot. `signer` must be
/// given exactly when `header.flags` has [`FLAG_AUTH`].
///
/// Layout: the small dynamic sections first (hostname, loadavg, meminfo,
/// net/dev, statfs), then stat, then cpuinfo. A section that does not fit
/// the room left starts a new datagram. A text that does not fit even an
/// empty datagram is cut at line boundaries into parts: the first fills the
/// room left, each other one a datagram of its own.
pub fn encode_report(
    encoder: &mut Encoder,
    header: &Header,
    report: &Report<'_>,
    signer: Option<&dyn MacSigner>,
    mut emit: impl FnMut(&[u8]),
) -> Result<u64, EncodeError> {
    if header.message_type != MessageType::Status {
        return Err(EncodeError::Invalid("a report is a STATUS message"));
    }
    if signer.is_some() != (header.flags & FLAG_AUTH != 0) {
        return Err(EncodeError::Invalid(
            "signer given without FLAG_AUTH, or the reverse",
        ));
    }
    // A dry run finds how many parts each split text has, since every part
    // names the count; the layout does not depend on the counts because the
    // part header has a fixed size.
    let dry_signer = signer.map(|real| ZeroMac(real.key_id()));
    let mut dry = Packer::new(
        encoder,
        *header,
        dry_signer.as_ref().map(|s| s as &dyn MacSigner),
        PartCounts::MAX,
    );
    let counts = dry.pack(report, &mut |_| {})?;
    let mut real = Packer::new(encoder, *header, signer, counts);
    real.pack(report, &mut emit)?;
    Ok(real.datagrams)
}

/// Part counts of the two splittable texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartCounts {
    stat: u16,
    cpuinfo: u16,
}

impl PartCounts {
    /// Placeholder for the dry run: any index is below it.
    const MAX: PartCounts = PartCounts {
        stat: u16::MAX,
        cpuinfo: u16::MAX,
    };
}

/// Stands in for the real signer during the dry run.
struct ZeroMac(u32);

impl MacSigner for ZeroMac {
    fn key_id(&self) -> u32 {
        self.0
    }
    fn sign(&self, _covered: &[u8]) -> [u8; MAC_LEN] {
        [0; MAC_LEN]
    }
}

struct Packer<'e, 's> {
    encoder: &'e mut Encoder,
    header: Header,
    signer: Option<&'s dyn MacSigner>,
    counts: PartCounts,
    datagrams: u64,
}

impl<'e, 's> Packer<'e, 's> {
    fn new(
        encoder: &'e mut Encoder,
        header: Header,
        signer: Option<&'s dyn MacSigner>,
        counts: PartCounts,
    ) -> Self {
        Packer {
            encoder,
            header,
            signer,
            counts,
            datagrams: 0,
        }
    }

    fn pack(
        &mut self,
        report: &Report<'_>,
        emit: &mut dyn FnMut(&[u8]),
    ) -> Result<PartCounts, EncodeError> {
        self.begin()?;
        let plain = [
            (SectionTag::Hostname, report.hostname),
            (SectionTag::Loadavg, report.loadavg),
            (SectionTag::Meminfo, report.meminfo),
            (SectionTag::NetDev, report.net_dev),
        ];
        for (tag, body) in plain {
            if let Some(body) = body {
                self.whole(emit, |encoder| encoder.section(tag, body))?;
            }
        }
        if let Some(statfs) = report.statfs {
            self.whole(emit, |encoder| encoder.statfs(statfs))?;
        }
        let mut counts = PartCounts {
            stat: 1,
            cpuinfo: 1,
        };
        if let Some(stat) = report.stat {
            counts.stat = self.text(emit, SectionTag::Stat, SectionTag::StatPart, stat)?;
        }
        if let Some(cpuinfo) = report.cpuinfo {
            counts.cpuinfo =
                self.text(emit, SectionTag::Cpuinfo, SectionTag::CpuinfoPart, cpuinfo)?;
        }
        self.flush(emit)?;
        Ok(counts)
    }

    /// Starts the next datagram of the report.
    fn begin(&mut self) -> Result<(), EncodeError> {
        let mut header = self.header;
        header.sequence = header.sequence.wrapping_add(self.datagrams);
        self.encoder.begin(&header)
    }

    /// Finishes the current datagram and hands it to `emit`.
    fn flush(&mut self, emit: &mut dyn FnMut(&[u8])) -> Result<(), EncodeError> {
        let bytes = match self.signer {
            Some(signer) => self.encoder.finish_signed(signer)?,
            None => self.encoder.finish()?,
        };
        emit(bytes);
        self.datagrams += 1;
        Ok(())
    }

    /// Whether the current datagram has no section yet.
    fn current_is_empty(&self) -> bool {
        self.encoder.len() <= HEADER_LEN
    }

    /// Room for sections in an empty datagram.
    fn empty_capacity(&self) -> usize {
        let trailer = if self.signer.is_some() {
            AUTH_TRAILER_LEN
        } else {
            0
        };
        self.encoder.limit().saturating_sub(HEADER_LEN + trailer)
    }

    /// Writes a section that is never split, in a new datagram if needed.
    fn whole(
        &mut self,
        emit: &mut dyn FnMut(&[u8]),
        write: impl Fn(&mut Encoder) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        match write(self.encoder) {
            Err(EncodeError::TooLarge { .. }) if !self.current_is_empty() => {
                self.flush(emit)?;
                self.begin()?;
                write(self.encoder)
            }
            other => other,
        }
    }

    /// Writes a text whole if it fits a datagram, else in parts. Returns the
    /// number of parts (1 when whole).
    fn text(
        &mut self,
        emit: &mut dyn FnMut(&[u8]),
        whole_tag: SectionTag,
        part_tag: SectionTag,
        text: &[u8],
    ) -> Result<u16, EncodeError> {
        if SECTION_HEADER_LEN + text.len() <= self.empty_capacity() {
            self.whole(emit, |encoder| encoder.section(whole_tag, text))?;
            return Ok(1);
        }
        let overhead = SECTION_HEADER_LEN + PART_HEADER_LEN;
        let mut parts = split_lines(text, self.empty_capacity().saturating_sub(overhead))?;
        let count = if part_tag == SectionTag::StatPart {
            self.counts.stat
        } else {
            self.counts.cpuinfo
        };
        let mut index: u16 = 0;
        while !parts.is_empty() {
            let chunk = match parts.next_within(self.encoder.available().saturating_sub(overhead)) {
                Some(chunk) => chunk,
                None => {
                    self.flush(emit)?;
                    self.begin()?;
                    parts
                        .next_within(self.encoder.available().saturating_sub(overhead))
                        .ok_or(EncodeError::Invalid(
                            "a line does not fit an empty datagram",
                        ))?
                }
            };
            let part = Part {
                index,
                count,
                snapshot: self.header.sequence,
                text: chunk,
            };
            self.encoder.part(part_tag, part)?;
            index = index
                .checked_add(1)
                .ok_or(EncodeError::Invalid("more than 65535 parts"))?;
            if !parts.is_empty() {
                self.flush(emit)?;
                self.begin()?;
            }
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        condense_cpuinfo, condense_meminfo, condense_net_dev, condense_stat, decode, Datagram,
        FLAG_FULL, MAX_DATAGRAM, MTU_PAYLOAD_IPV4, MTU_PAYLOAD_IPV6,
    };

    /// A node's condensed texts, owned.
    struct Texts {
        loadavg: String,
        meminfo: String,
        net_dev: String,
        stat: String,
        cpuinfo: String,
    }

    fn condense(loadavg: &str, meminfo: &str, net_dev: &str, stat: &str, cpuinfo: &str) -> Texts {
        let run = |f: fn(&str, &mut String), text: &str| {
            let mut out = String::new();
            f(text, &mut out);
            out
        };
        Texts {
            loadavg: loadavg.to_owned(),
            meminfo: run(condense_meminfo, meminfo),
            net_dev: run(condense_net_dev, net_dev),
            stat: run(condense_stat, stat),
            cpuinfo: run(condense_cpuinfo, cpuinfo),
        }
    }

    fn vm_2cpu() -> Texts {
        condense(
            include_str!("../../tests/data/protocol/x86_64-vm-2cpu/loadavg"),
            include_str!("../../tests/data/protocol/x86_64-vm-2cpu/meminfo"),
            include_str!("../../tests/data/protocol/x86_64-vm-2cpu/net-dev"),
            include_str!("../../tests/data/protocol/x86_64-vm-2cpu/stat"),
            include_str!("../../tests/data/protocol/x86_64-vm-2cpu/cpuinfo"),
        )
    }

    fn host_8cpu() -> Texts {
        condense(
            include_str!("../../tests/data/protocol/x86_64-8cpu/loadavg"),
            include_str!("../../tests/data/protocol/x86_64-8cpu/meminfo"),
            include_str!("../../tests/data/protocol/x86_64-8cpu/net-dev"),
            include_str!("../../tests/data/protocol/x86_64-8cpu/stat"),
            include_str!("../../tests/data/protocol/x86_64-8cpu/cpuinfo"),
        )
    }

    /// A host name as long as a typical FQDN of a compute node.
    const HOSTNAME: &[u8] = b"node0123.hpc.example.edu";

    fn root_statfs() -> libc::statfs {
        let mut statfs = crate::types::statfs_zeroed();
        statfs.f_type = 0xEF53;
        statfs.f_bsize = 4096;
        statfs.f_blocks = 26_214_400;
        statfs.f_bfree = 13_107_200;
        statfs.f_bavail = 11_796_480;
        statfs.f_files = 6_553_600;
        statfs.f_ffree = 6_000_000;
        statfs.f_namelen = 255;
        statfs.f_frsize = 4096;
        statfs
    }

    fn dynamic_report<'a>(texts: &'a Texts, statfs: &'a libc::statfs) -> Report<'a> {
        Report {
            hostname: Some(HOSTNAME),
            loadavg: Some(texts.loadavg.as_bytes()),
            meminfo: Some(texts.meminfo.as_bytes()),
            net_dev: Some(texts.net_dev.as_bytes()),
            statfs: Some(statfs),
            stat: Some(texts.stat.as_bytes()),
            cpuinfo: None,
        }
    }

    struct TestMac;
    impl MacSigner for TestMac {
        fn key_id(&self) -> u32 {
            7
        }
        fn sign(&self, covered: &[u8]) -> [u8; MAC_LEN] {
            [covered.len() as u8; MAC_LEN]
        }
    }

    /// Encodes `report` and returns every datagram emitted.
    fn encode_all(
        limit: usize,
        header: &Header,
        report: &Report<'_>,
        signer: Option<&dyn MacSigner>,
    ) -> Vec<Vec<u8>> {
        let mut encoder = Encoder::new();
        encoder.set_limit(limit);
        let mut out = Vec::new();
        let count = encode_report(&mut encoder, header, report, signer, |d| {
            out.push(d.to_vec())
        })
        .unwrap();
        assert_eq!(count, out.len() as u64);
        out
    }

    /// Reassembles the parts (or the whole section) of one text.
    fn reassemble(datagrams: &[Datagram<'_>], whole: SectionTag, part: SectionTag) -> Vec<u8> {
        if let Some(body) = datagrams.iter().find_map(|d| d.get(whole)) {
            return body.to_vec();
        }
        let parts: Vec<Part<'_>> = datagrams
            .iter()
            .filter_map(|d| d.get(part).and_then(crate::protocol::decode::parse_part))
            .collect();
        let count = usize::from(parts[0].count);
        assert_eq!(parts.len(), count, "every part present");
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(usize::from(p.index), i, "parts in order");
            assert_eq!(usize::from(p.count), count);
            assert_eq!(p.snapshot, parts[0].snapshot);
        }
        parts.iter().flat_map(|p| p.text.iter().copied()).collect()
    }

    /// A /proc/stat of `cpus` CPUs with large counters and an `intr` line
    /// over 64 KiB, as a big node prints it.
    fn big_stat(cpus: usize) -> String {
        let mut text = String::from(
            "cpu  91234567890 1234567 41234567890 7912345678901 12345678 0 1234567 0 0 0\n",
        );
        for cpu in 0..cpus {
            let c = cpu as u64;
            text.push_str(&format!(
                "cpu{cpu} {} {} {} {} {} 0 {} 0 0 0\n",
                22_345_678 + c * 7,
                1_234 + c,
                10_234_567 + c * 3,
                1_931_234_567 + c * 11,
                3_456 + c,
                301 + c
            ));
        }
        text.push_str("intr 123456789");
        for irq in 0..30_000 {
            text.push_str(if irq % 3 == 0 { " 12" } else { " 0" });
        }
        text.push_str("\nctxt 38014093\nbtime 1418183276\n");
        text
    }

    fn big_cpuinfo(cpus: usize) -> String {
        let mut text = String::new();
        for cpu in 0..cpus {
            text.push_str(&format!(
                "processor\t: {cpu}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n\
                 cpu MHz\t\t: 2000.000\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep\n\n"
            ));
        }
        text
    }

    #[test]
    fn typical_dynamic_status_fits_one_ethernet_frame_over_ipv6() {
        let statfs = root_statfs();
        for (name, texts, expected_len) in [
            ("x86_64-vm-2cpu", vm_2cpu(), 657),
            ("x86_64-8cpu", host_8cpu(), 918),
        ] {
            let report = dynamic_report(&texts, &statfs);
            let datagrams = encode_all(MAX_DATAGRAM, &Header::status(5, 1000, 1), &report, None);
            assert_eq!(datagrams.len(), 1, "{name}: one datagram");
            let len = datagrams[0].len();
            eprintln!("{name}: dynamic status datagram {len} bytes");
            assert_eq!(len, expected_len, "{name}");
            assert!(len <= MTU_PAYLOAD_IPV6, "{name}: {len} bytes");

            let mut header = Header::status(5, 1000, 1);
            header.flags = FLAG_AUTH;
            let signed = encode_all(MAX_DATAGRAM, &header, &report, Some(&TestMac));
            assert_eq!(signed.len(), 1);
            assert_eq!(signed[0].len(), len + AUTH_TRAILER_LEN);
            assert!(
                signed[0].len() <= MTU_PAYLOAD_IPV6,
                "{name} signed: {}",
                signed[0].len()
            );

            let datagram = decode(&datagrams[0]).unwrap();
            assert_eq!(datagram.hostname(), Some(HOSTNAME));
            assert_eq!(datagram.get(SectionTag::Stat), Some(texts.stat.as_bytes()));
            assert_eq!(
                datagram.get(SectionTag::NetDev),
                Some(texts.net_dev.as_bytes())
            );
            assert_eq!(datagram.statfs().unwrap().f_blocks, 26_214_400);
            assert!(!datagram.header.is_full());
        }
    }

    #[test]
    fn raw_proc_text_would_not_fit_the_frame_budget() {
        // Why condensing is needed: the same report with raw text.
        let statfs = root_statfs();
        let raw = Texts {
            loadavg: include_str!("../../tests/data/protocol/x86_64-8cpu/loadavg").to_owned(),
            meminfo: include_str!("../../tests/data/protocol/x86_64-8cpu/meminfo").to_owned(),
            net_dev: include_str!("../../tests/data/protocol/x86_64-8cpu/net-dev").to_owned(),
            stat: host_8cpu().stat,
            cpuinfo: String::new(),
        };
        let datagrams = encode_all(
            MAX_DATAGRAM,
            &Header::status(5, 1, 1),
            &dynamic_report(&raw, &statfs),
            None,
        );
        assert!(
            datagrams[0].len() > MTU_PAYLOAD_IPV4,
            "{}",
            datagrams[0].len()
        );
    }

    #[test]
    fn full_report_under_the_frame_limit_puts_cpuinfo_whole_in_a_second_datagram() {
        let statfs = root_statfs();
        let texts = host_8cpu();
        let report = Report {
            cpuinfo: Some(texts.cpuinfo.as_bytes()),
            ..dynamic_report(&texts, &statfs)
        };
        let datagrams = encode_all(MTU_PAYLOAD_IPV4, &Header::status(5, 70, 1), &report, None);
        assert_eq!(datagrams.len(), 2);
        let decoded: Vec<Datagram<'_>> = datagrams.iter().map(|d| decode(d).unwrap()).collect();
        assert!(datagrams.iter().all(|d| d.len() <= MTU_PAYLOAD_IPV4));
        assert_eq!(decoded[0].header.sequence, 70);
        assert_eq!(decoded[1].header.sequence, 71);
        assert!(!decoded[0].header.is_full());
        assert_eq!(decoded[1].header.flags, FLAG_FULL);
        assert_eq!(
            decoded[1].get(SectionTag::Cpuinfo),
            Some(texts.cpuinfo.as_bytes())
        );
        assert_eq!(decoded[1].section_count, 1);

        // Without a limit, one datagram carries everything.
        let one = encode_all(MAX_DATAGRAM, &Header::status(5, 70, 1), &report, None);
        assert_eq!(one.len(), 1);
        assert!(decode(&one[0]).unwrap().header.is_full());
    }

    #[test]
    fn stat_of_4096_cpus_splits_into_max_size_datagrams_and_reassembles() {
        let raw = big_stat(4096);
        assert!(raw
            .lines()
            .any(|l| l.starts_with("intr") && l.len() > 65_536));
        let mut stat = String::new();
        condense_stat(&raw, &mut stat);
        assert_eq!(stat.lines().count(), 4097);
        assert!(stat.len() > MAX_DATAGRAM * 2, "{} bytes", stat.len());
        let statfs = root_statfs();
        let texts = Texts { stat, ..vm_2cpu() };
        let report = dynamic_report(&texts, &statfs);

        for limit in [MAX_DATAGRAM, MTU_PAYLOAD_IPV4] {
            let datagrams = encode_all(limit, &Header::status(9, 500, 1), &report, None);
            let sizes: Vec<usize> = datagrams.iter().map(Vec::len).collect();
            eprintln!(
                "4096-cpu stat, limit {limit}: {} datagrams, largest {}",
                sizes.len(),
                sizes.iter().max().unwrap()
            );
            assert!(sizes.iter().all(|&len| len <= limit), "{sizes:?}");
            let decoded: Vec<Datagram<'_>> = datagrams.iter().map(|d| decode(d).unwrap()).collect();
            for (i, d) in decoded.iter().enumerate() {
                assert_eq!(d.header.sequence, 500 + i as u64);
                assert_eq!(d.header.node, 9);
            }
            // The dynamic sections ride in the first datagram with part 0.
            assert_eq!(decoded[0].hostname(), Some(HOSTNAME));
            assert_eq!(decoded[0].stat_part().unwrap().index, 0);
            assert_eq!(decoded[0].stat_part().unwrap().snapshot, 500);
            let back = reassemble(&decoded, SectionTag::Stat, SectionTag::StatPart);
            assert_eq!(back, texts.stat.as_bytes());
            // Each part is whole lines, so it parses on its own.
            for d in &decoded {
                let text = d.stat_part().unwrap().text;
                assert!(text.ends_with(b"\n") && text.starts_with(b"cpu"));
            }
        }
        let at_max = encode_all(MAX_DATAGRAM, &Header::status(9, 500, 1), &report, None);
        assert_eq!(at_max.len(), texts.stat.len().div_ceil(MAX_DATAGRAM));
    }

    #[test]
    fn full_report_of_4096_cpus_splits_both_texts_and_signs_every_datagram() {
        let statfs = root_statfs();
        let mut texts = vm_2cpu();
        texts.stat.clear();
        condense_stat(&big_stat(4096), &mut texts.stat);
        texts.cpuinfo.clear();
        condense_cpuinfo(&big_cpuinfo(4096), &mut texts.cpuinfo);
        assert!(texts.cpuinfo.len() > MAX_DATAGRAM * 3);
        let report = Report {
            cpuinfo: Some(texts.cpuinfo.as_bytes()),
            ..dynamic_report(&texts, &statfs)
        };
        let mut header = Header::status(4000, 1, 1);
        header.flags = FLAG_AUTH;
        let datagrams = encode_all(MAX_DATAGRAM, &header, &report, Some(&TestMac));
        assert!(datagrams.iter().all(|d| d.len() <= MAX_DATAGRAM));
        let decoded: Vec<Datagram<'_>> = datagrams.iter().map(|d| decode(d).unwrap()).collect();
        assert!(decoded
            .iter()
            .all(|d| d.auth.is_some_and(|a| a.key_id == 7)));
        assert_eq!(
            reassemble(&decoded, SectionTag::Stat, SectionTag::StatPart),
            texts.stat.as_bytes()
        );
        assert_eq!(
            reassemble(&decoded, SectionTag::Cpuinfo, SectionTag::CpuinfoPart),
            texts.cpuinfo.as_bytes()
        );
        for d in &decoded {
            assert_eq!(d.header.is_full(), d.cpuinfo_part().is_some());
        }
    }

    #[test]
    fn a_line_longer_than_any_datagram_is_too_large() {
        let line = "cpu0".to_owned() + &" 1".repeat(40_000) + "\n";
        let report = Report {
            stat: Some(line.as_bytes()),
            ..Report::default()
        };
        let mut encoder = Encoder::new();
        let result = encode_report(
            &mut encoder,
            &Header::status(1, 1, 1),
            &report,
            None,
            |_| {},
        );
        assert!(
            matches!(result, Err(EncodeError::TooLarge { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn empty_report_is_one_bare_status() {
        let datagrams = encode_all(
            MAX_DATAGRAM,
            &Header::status(2, 3, 4),
            &Report::default(),
            None,
        );
        assert_eq!(datagrams.len(), 1);
        assert_eq!(datagrams[0].len(), HEADER_LEN);
    }

    #[test]
    fn report_rejects_other_types_and_a_signer_mismatch() {
        let mut encoder = Encoder::new();
        let report = Report::default();
        let update = Header::update_request(1, 1);
        assert!(encode_report(&mut encoder, &update, &report, None, |_| {}).is_err());
        let plain = Header::status(1, 1, 1);
        assert!(encode_report(&mut encoder, &plain, &report, Some(&TestMac), |_| {}).is_err());
    }
}
