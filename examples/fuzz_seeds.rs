//! Writes the fuzzers' seed corpora: valid datagrams of every message type
//! (from the /proc samples in tests/data/proc) for `decode_datagram`, and
//! every sample file, prefixed with its parser's selector byte, for
//! `parse_proc`. Run: `cargo run --example fuzz_seeds` (writes fuzz/seeds/).

use beostat::collect::{Source, Status};
use beostat::protocol::{encode_report, Encoder, Header, MTU_PAYLOAD_IPV4};
use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let samples = root.join("tests/data/proc");
    let corpus = root.join("fuzz/seeds");
    let decode_dir = corpus.join("decode_datagram");
    let parse_dir = corpus.join("parse_proc");
    // Start empty: seeds of an older encoding would otherwise stay behind.
    for dir in [&decode_dir, &parse_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
    }

    let mut encoder = Encoder::new();
    let mut count = 0;
    for name in ["x86_64-8cpu", "x86_64-vm-2cpu"] {
        let mut status = Status::default();
        Source {
            proc_root: samples.join(name),
            statfs_path: PathBuf::from("/"),
        }
        .read(true, &mut status);
        let report = status.report(Some(b"n1"), true);
        // Small limit: the 8-CPU sample then splits, giving part sections too.
        encoder.set_limit(MTU_PAYLOAD_IPV4);
        let mut datagrams = Vec::new();
        encode_report(&mut encoder, &Header::status(1, 1, 0), &report, None, |d| {
            datagrams.push(d.to_vec())
        })
        .expect("encode sample report");
        for d in datagrams {
            std::fs::write(decode_dir.join(format!("status-{name}-{count}")), d)?;
            count += 1;
        }
    }
    encoder
        .begin(&Header::update_request(2, 0))
        .expect("header");
    std::fs::write(
        decode_dir.join("update-request"),
        encoder.finish().expect("finish"),
    )?;
    encoder.begin(&Header::rate_change(3, 0)).expect("header");
    encoder.interval(5000).expect("interval");
    std::fs::write(
        decode_dir.join("rate-change"),
        encoder.finish().expect("finish"),
    )?;

    // Selector bytes of fuzz/fuzz_targets/parse_proc.rs.
    let selectors = [
        ("cpuinfo", 0u8),
        ("meminfo", 1),
        ("loadavg", 2),
        ("netdev", 3),
        ("dev", 3),
        ("stat", 4),
    ];
    let mut files = 0;
    for entry in walk(&samples)? {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let selector = selectors
            .iter()
            .find(|(key, _)| {
                name.starts_with(key) || name.contains(&format!("-{key}")) || name == *key
            })
            .map(|(_, s)| *s)
            .or_else(|| {
                entry
                    .parent()
                    .and_then(|p| p.file_name())
                    .filter(|p| *p == "cpuinfo-variants")
                    .map(|_| 0)
            });
        let Some(selector) = selector else { continue };
        let mut bytes = vec![selector];
        bytes.extend(std::fs::read(&entry)?);
        let flat = entry
            .strip_prefix(&samples)
            .unwrap()
            .to_string_lossy()
            .replace('/', "_");
        std::fs::write(parse_dir.join(flat), bytes)?;
        files += 1;
    }
    println!(
        "wrote {} datagrams and {files} /proc seeds under {}",
        count + 2,
        corpus.display()
    );
    Ok(())
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else if path.extension().is_none()
            || path.extension().is_some_and(|e| e != "md" && e != "py")
        {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
