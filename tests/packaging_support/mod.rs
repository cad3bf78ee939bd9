//! Helpers shared by the packaging tests (install, man pages, systemd
//! units, RPMs): optional tools, the artifacts this test run built laid out
//! the way the Makefile expects them, and running make.
#![allow(dead_code)]

pub mod rpm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The programs this test run built that the Makefile installs: the
/// daemons, and the commands once they exist (`option_env!` sees a
/// `CARGO_BIN_EXE_*` only for binaries the package has).
pub fn built_programs() -> Vec<(&'static str, &'static str)> {
    let mut programs = vec![
        ("recvstats", env!("CARGO_BIN_EXE_recvstats")),
        ("sendstats", env!("CARGO_BIN_EXE_sendstats")),
    ];
    for (name, path) in [
        ("beostat", option_env!("CARGO_BIN_EXE_beostat")),
        ("beostatus", option_env!("CARGO_BIN_EXE_beostatus")),
        (
            "beostat-exporter",
            option_env!("CARGO_BIN_EXE_beostat-exporter"),
        ),
    ] {
        if let Some(path) = path {
            programs.push((name, path));
        }
    }
    programs
}

/// The cdylib cargo built for this test run (target/<profile>/deps: cargo
/// test does not copy it up to target/<profile>, which may be stale).
pub fn built_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let library = exe.parent().unwrap().join("libbeostat.so");
    assert!(library.exists(), "{} is missing", library.display());
    library
}

/// A directory laid out like target/release after `make`: the programs and
/// libbeostat.so (links to this test run's builds), for `make install
/// NO_BUILD=1 BUILT=...`.
pub fn built_dir(scratch: &Path) -> PathBuf {
    let dir = scratch.join("built");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, path) in built_programs() {
        std::os::unix::fs::symlink(path, dir.join(name)).unwrap();
    }
    std::os::unix::fs::symlink(built_library(), dir.join("libbeostat.so")).unwrap();
    dir
}

/// The man pages beostat-mangen writes, in `scratch/man`.
pub fn generated_man_pages(scratch: &Path) -> PathBuf {
    let dir = scratch.join("man");
    let output = Command::new(env!("CARGO_BIN_EXE_beostat-mangen"))
        .arg(&dir)
        .output()
        .unwrap();
    assert_success("beostat-mangen", &output);
    dir
}

/// `make ARGS` at the repository root, with the environment of an outer
/// make or cargo that would confuse it removed.
pub fn make(args: &[&str]) -> Output {
    let mut command = Command::new("make");
    command
        .current_dir(root())
        .arg("--no-print-directory")
        .args(args);
    for var in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    command
        .output()
        .expect("make must be installed (apt-get install make)")
}

/// Installs this test run's build into `destdir` with `make install
/// NO_BUILD=1` and the given extra variables.
pub fn make_install(scratch: &Path, destdir: &Path, extra: &[&str]) -> Output {
    let built = built_dir(scratch);
    let man = generated_man_pages(scratch);
    let mut args = vec![
        "install".to_string(),
        "NO_BUILD=1".to_string(),
        format!("DESTDIR={}", destdir.display()),
        format!("BUILT={}", built.display()),
        format!("MANBUILD={}", man.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = make(&args);
    assert_success("make install", &output);
    output
}

pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what}: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The functions `include/sys/beostat.h` declares.
pub fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(root().join("include/sys/beostat.h")).unwrap();
    let mut functions: Vec<String> = header
        .match_indices("beostat_")
        .filter(|(at, _)| {
            // A name, not the tail of a longer one (BEOSTAT_..., x_beostat_).
            !header[..*at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
        .filter_map(|(at, _)| {
            let rest = &header[at..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            rest[end..]
                .starts_with('(')
                .then(|| rest[..end].to_string())
        })
        .collect();
    functions.sort();
    functions.dedup();
    assert!(functions.len() >= 19, "{functions:?}");
    functions
}

/// The commands that have a man page, with its section: the daemons, and
/// the commands once they exist.
pub fn man_pages_expected() -> Vec<String> {
    built_programs()
        .into_iter()
        .map(|(name, _)| match name {
            "beostat" | "beostatus" => format!("{name}.1"),
            _ => format!("{name}.8"),
        })
        .collect()
}
