//! The packaging's declarations agree with each other: rpm/beostat.spec
//! with Cargo.toml, the Makefile and build.rs, and the declared minimum
//! Rust with what the locked dependencies need. The RPMs themselves are
//! built and checked by tests/front_door.rs (`make rpm` in a fresh clone).

use std::process::Command;

mod packaging_support;
use packaging_support::{assert_success, root};

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

/// The value of `Key:` (spec tag) or `%global key` in the spec.
fn spec_value(spec: &str, key: &str) -> String {
    spec.lines()
        .find_map(|line| {
            line.strip_prefix(&format!("{key}:"))
                .or_else(|| line.strip_prefix(&format!("%global {key} ")))
        })
        .unwrap_or_else(|| panic!("no {key} in the spec"))
        .trim()
        .to_string()
}

#[test]
fn spec_agrees_with_cargo_toml_the_makefile_and_build_rs() {
    let spec = read("rpm/beostat.spec");
    assert_eq!(spec_value(&spec, "Version"), env!("CARGO_PKG_VERSION"));
    // beostat's own licence first, then those of the crates linked in
    // (tests/licenses.rs checks that list is complete).
    assert!(
        spec_value(&spec, "License").starts_with(&format!("{} AND ", env!("CARGO_PKG_LICENSE"))),
        "the spec's License does not start with Cargo.toml's {}",
        env!("CARGO_PKG_LICENSE")
    );
    let makefile = read("Makefile");
    let abi = makefile
        .lines()
        .find_map(|l| l.strip_prefix("ABI_VERSION := "))
        .expect("ABI_VERSION in the Makefile");
    assert_eq!(spec_value(&spec, "abi_version"), abi);
    let major = abi.split('.').next().unwrap();
    assert!(
        read("build.rs").contains(&format!("-soname,libbeostat.so.{major}\"")),
        "build.rs gives a soname other than libbeostat.so.{major} (ABI_VERSION {abi})"
    );
    assert!(
        spec.contains("CARGO_FLAGS=\"--offline --frozen\""),
        "the spec must build offline from the vendored crates"
    );
}

/// "1.88" or "1.85.0" as comparable numbers.
fn rust_version(text: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = text.split('.').map(|p| p.parse().unwrap()).collect();
    parts.resize(3, 0);
    parts
}

// Regression: Cargo.toml declared 1.82 while ratatui's instability and
// darling needed 1.88, so the spec's `rust >= 1.82` admitted failing compilers.
#[test]
fn declared_rust_version_covers_every_locked_dependency() {
    let output = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", "x86_64-unknown-linux-gnu"])
        .output()
        .unwrap();
    assert_success("cargo metadata", &output);
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let resolved: Vec<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap())
        .collect();
    let (needed, by) = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] != "beostat" && resolved.contains(&p["id"].as_str().unwrap()))
        .filter_map(|p| {
            let version = p["rust_version"].as_str()?;
            Some((
                rust_version(version),
                format!("{} {}", p["name"], p["version"]),
            ))
        })
        .max()
        .expect("no dependency declares a rust-version");
    let declared = rust_version(env!("CARGO_PKG_RUST_VERSION"));
    assert!(
        declared >= needed,
        "Cargo.toml says rust-version {}, but {by} needs {needed:?}",
        env!("CARGO_PKG_RUST_VERSION")
    );
    let spec = read("rpm/beostat.spec");
    for tool in ["cargo", "rust"] {
        let line = format!(
            "BuildRequires:  {tool} >= {}",
            env!("CARGO_PKG_RUST_VERSION")
        );
        assert!(spec.contains(&line), "the spec lacks `{line}`");
    }
    let readme = format!("rustc {} or later", env!("CARGO_PKG_RUST_VERSION"));
    assert!(
        read("README.md").contains(&readme),
        "README.md lacks {readme:?}"
    );
}
