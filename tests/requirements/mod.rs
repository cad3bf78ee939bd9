//! What a test that needs root or an optional tool checks first.
//!
//! Such a test is marked `#[ignore = "needs root"]` (or `"needs tmux"`, ...),
//! so a plain `cargo test` lists it as ignored in its summary instead of
//! passing it without running it. `cargo test -- --include-ignored` (what
//! CI runs, as root, with every tool installed) runs it; then a missing
//! requirement is a failure that says what to install, never a silent pass.
#![allow(dead_code)]

use std::process::Command;

/// Fails the test unless it runs as root.
pub fn root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (it is #[ignore]d for that: run it as root, or leave out --include-ignored)"
    );
}

/// Fails the test unless `tool arg` can be run (whatever it exits with:
/// not every tool has a version flag); `package` is the Debian package to
/// install.
pub fn tool(tool: &str, arg: &str, package: &str) {
    let runs = Command::new(tool).arg(arg).output().is_ok();
    assert!(
        runs,
        "this test needs {tool}, which does not run: apt-get install {package}"
    );
}
