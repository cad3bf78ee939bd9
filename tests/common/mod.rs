//! Helpers shared by the integration tests that compile and run the C
//! programs in `c-tests/` against the library cargo built.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
