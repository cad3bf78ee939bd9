//! Helpers shared by the integration tests that compile and run the C
//! programs in `c-tests/` against the library cargo built.
#![allow(dead_code)]

pub mod daemon;
pub mod exporter;

use beostat::shm::Reader;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A directory laid out like an installed libdir: `libbeostat.so` (for the
/// linker) and `libbeostat.so.1` (the soname, for the loader), both links to
/// the library cargo built for this test run.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps: `cargo test` rebuilds the cdylib there but does
    // not copy it up to target/<profile>, which may hold a stale build.
    let built = exe
        .parent()
        .expect("target/<profile>/deps")
        .join("libbeostat.so");
    assert!(
        built.exists(),
        "{} is missing; run `cargo build` first",
        built.display()
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libdir");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["libbeostat.so", "libbeostat.so.1"] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        // Tests run in parallel: another may have just made the same link.
        if let Err(e) = std::os::unix::fs::symlink(&built, &link) {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
        }
    }
    dir
}

/// Compiles `c-tests/<name>.c` once per test process (tests run in
/// parallel threads; recompiling a program another test is running fails
/// with "Text file busy").
pub fn compile(name: &str) -> PathBuf {
    static COMPILED: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = compiled.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let path = compile_now(name);
    compiled.push((name.to_string(), path.clone()));
    path
}

/// Compiles `c-tests/<name>.c` into the test's scratch directory.
fn compile_now(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let test_binary = std::env::current_exe()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c-{name}-{test_binary}"));
    let lib = library_dir();
    let output = Command::new("gcc")
        .current_dir(root)
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-D_DEFAULT_SOURCE",
            "-Iinclude",
            "-Ic-tests",
        ])
        .arg(format!("c-tests/{name}.c"))
        .arg("-o")
        .arg(&out)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lbeostat", "-lm"])
        .output()
        .expect("gcc must be installed to run the C harness");
    assert!(
        output.status.success(),
        "compiling c-tests/{name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

pub fn run(program: &Path, shm_dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("BEOSTAT_SHM_DIR", shm_dir)
        .output()
        .expect("run C harness program")
}

/// Asserts the program ran to completion and reported "N passed, 0 failed".
pub fn assert_all_passed(what: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout.lines().last().unwrap_or("");
    println!("{what}: {}", stdout.trim_end().replace('\n', " / "));
    assert!(
        output.status.success() && summary.ends_with(" passed, 0 failed"),
        "{what}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let passed: u32 = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 0, "{what} checked nothing");
}

/// A sample /proc directory under tests/data/proc.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/proc")
        .join(name)
}

/// Polls (a bounded number of times) until `node` has data.
pub fn wait_for_node(shm: &Path, node: i32) {
    let reader = Reader::new(shm);
    for _ in 0..500 {
        if reader.cpu_count(node).is_ok_and(|n| n > 0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("node {node} never appeared in {}", shm.display());
}

/// Expected `dump_node` lines for a sample directory, computed from the
/// files' text with the mapping documented in src/proc/stat.rs.
pub fn expected_lines(name: &str) -> Vec<String> {
    let dir = sample(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let mut lines = Vec::new();

    let loadavg = read("loadavg");
    let f: Vec<&str> = loadavg.split_whitespace().collect();
    let (active, total) = f[3].split_once('/').unwrap();
    lines.push(format!(
        "loadavg {} {} {} {active} {total} {}",
        f[0], f[1], f[2], f[4]
    ));

    let meminfo = read("meminfo");
    let kb = |key: &str| -> u64 {
        meminfo
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024)
            .unwrap_or(0)
    };
    lines.push(format!(
        "meminfo {} {} {} {} {} {} {}",
        kb("MemTotal") - kb("MemFree"),
        kb("MemFree"),
        kb("SwapTotal") - kb("SwapFree"),
        kb("SwapFree"),
        kb("Shmem"),
        kb("Buffers"),
        kb("Cached")
    ));

    let stat = read("stat");
    let cpu_lines: Vec<Vec<u64>> = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    lines.push(format!("cpus {}", cpu_lines.len()));
    let cpuinfo = read("cpuinfo");
    let mhz: f64 = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .map(|l| l.split(':').nth(1).unwrap().trim().parse().unwrap())
        .unwrap();
    lines.push(format!("mhz {mhz:.3}"));
    lines.push("name node-under-test".into());
    for (cpu, v) in cpu_lines.iter().enumerate() {
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        lines.push(format!(
            "stat {cpu} {} {} {} {}",
            at(0),
            at(2) + at(5) + at(6) + at(7),
            at(1),
            at(3) + at(4)
        ));
    }

    for line in read("net/dev").lines().skip(2) {
        let (name, counters) = line.rsplit_once(':').unwrap();
        lines.push(format!(
            "net {} {}",
            name.trim(),
            counters.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    lines
}

/// `dump_node` output minus the lines that do not come from /proc.
pub fn dump(shm: &Path, node: i32) -> Vec<String> {
    let output = run(&compile("dump_node"), shm, &[&node.to_string()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("time ") && !l.starts_with("statfs "))
        .map(String::from)
        .collect()
}

/// Waits (bounded) until recvstats' counters say `total` datagrams were
/// received, and returns the counters (as they are then, if never).
pub fn wait_for_received(reader: &Reader, total: u64) -> [u64; 64] {
    for _ in 0..3000 {
        let counters = reader.counters().unwrap();
        if counters[beostat::shm::Counter::DatagramsReceived as usize] >= total {
            return counters;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    reader.counters().unwrap()
}

/// Polls (a bounded number of times) until recvstats' `counter` reaches
/// `at_least`; panics if it never does.
pub fn wait_for_counter(shm: &Path, counter: beostat::shm::Counter, at_least: u64) {
    let reader = Reader::new(shm);
    for _ in 0..1000 {
        if reader
            .counters()
            .is_ok_and(|c| c[counter as usize] >= at_least)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} never reached {at_least}", counter.name());
}

/// Offset of `node`'s record in the node file's bytes, found through the
/// index as a C program that maps the file would (docs/SHM-LAYOUT.md).
pub fn record_offset(file: &[u8], node: i32) -> usize {
    use beostat::shm::layout::{entry_parts, index_home, index_parts};
    let word = |at: usize| u64::from_ne_bytes(file[at..at + 8].try_into().unwrap());
    let (index, bits) = index_parts(word(24));
    let mut slot = index_home(node, bits);
    loop {
        let (n, offset) =
            entry_parts(word(index as usize + 8 * slot)).expect("node is in the index");
        if n == node {
            return offset as usize;
        }
        slot = (slot + 1) % (1 << bits);
    }
}

/// Whether process `pid` still runs (exists and is not a zombie).
pub fn child_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.split_whitespace()
            .nth(2)
            .is_some_and(|state| state != "Z")
    })
}
