//! The licences shipped with the programs and libbeostat.so: the notices in
//! THIRD-PARTY-LICENSES.md (made by cargo-about from Cargo.lock) name every
//! crate linked in, at its locked version and no other, and the spec's
//! License tag names every licence those crates are under.

use std::collections::BTreeSet;
use std::process::Command;

mod packaging_support;
use packaging_support::{assert_success, root};

/// The Linux targets about.toml names.
const TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// `(name version, licence)` of every crate linked into the programs and
/// the library (normal dependencies of the Linux targets), beostat excluded.
fn linked_crates() -> BTreeSet<(String, String)> {
    let mut crates = BTreeSet::new();
    for target in TARGETS {
        let output = Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "tree",
                "--locked",
                "--offline",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(["--target", target, "--format", "{p}|{l}"])
            .output()
            .unwrap();
        assert_success("cargo tree", &output);
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            // "(*)" marks a crate cargo tree printed before.
            let line = line.trim_end().trim_end_matches("(*)").trim_end();
            let (package, license) = line.split_once('|').unwrap();
            let mut words = package.split_whitespace();
            let (name, version) = (words.next().unwrap(), words.next().unwrap());
            if name != "beostat" {
                let version = version.trim_start_matches('v');
                crates.insert((format!("{name} {version}"), license.trim().to_string()));
            }
        }
    }
    assert!(crates.len() > 50, "{crates:?}");
    crates
}

const REGENERATE: &str = "cargo about generate --locked about.hbs -o THIRD-PARTY-LICENSES.md";

#[test]
fn third_party_notices_cover_exactly_the_linked_crates() {
    let text = std::fs::read_to_string(root().join("THIRD-PARTY-LICENSES.md"))
        .expect("THIRD-PARTY-LICENSES.md");
    assert!(
        text.contains(REGENERATE),
        "the file should say how it is made"
    );
    // The "- NAME VERSION" lines after each "Used by:", up to a blank line.
    let mut listed = BTreeSet::new();
    let mut in_list = false;
    for line in text.lines() {
        if line == "Used by:" {
            in_list = true;
        } else if line.trim().is_empty() {
            in_list = false;
        } else if let Some(package) = line.strip_prefix("- ").filter(|_| in_list) {
            // beostat's own entry (GPL-2.0-or-later, COPYING).
            if !package.starts_with("beostat ") {
                listed.insert(package.to_string());
            }
        }
    }
    let linked: BTreeSet<String> = linked_crates().into_iter().map(|(c, _)| c).collect();
    let missing: Vec<&String> = linked.difference(&listed).collect();
    let stale: Vec<&String> = listed.difference(&linked).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "THIRD-PARTY-LICENSES.md is stale: missing {missing:?}, not linked {stale:?}; regenerate with\n    {REGENERATE}"
    );
    // Each crate's notice is there in full, not just its name.
    assert!(text.matches("~~~~text").count() >= 5, "no licence texts");
    assert!(text.contains("Permission is hereby granted, free of charge"));
}

/// A licence expression as a set of AND-terms, each a sorted set of
/// OR-alternatives: "MIT/Apache-2.0", "Apache-2.0 OR MIT" and
/// "(MIT OR Apache-2.0)" are one term.
fn terms(expression: &str) -> BTreeSet<BTreeSet<String>> {
    let expression = expression.replace('/', " OR ");
    let mut out = BTreeSet::new();
    let mut depth = 0;
    let mut current = String::new();
    let mut parts = Vec::new();
    // Split on AND at the top level only.
    for word in expression.split_whitespace() {
        depth += word.matches('(').count() as i32;
        depth -= word.matches(')').count() as i32;
        if word == "AND" && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push_str(word);
            current.push(' ');
        }
    }
    parts.push(current);
    for part in parts {
        let part = part.trim();
        let inner = part
            .strip_prefix('(')
            .and_then(|p| p.strip_suffix(')'))
            .unwrap_or(part);
        if inner.contains(" AND ") {
            out.extend(terms(inner));
            continue;
        }
        let alternatives: BTreeSet<String> = inner
            .split(" OR ")
            .map(|a| a.trim().trim_matches(|c| c == '(' || c == ')').to_string())
            .collect();
        out.insert(alternatives);
    }
    out
}

#[test]
fn the_spec_license_names_every_linked_licence() {
    let spec = std::fs::read_to_string(root().join("rpm/beostat.spec")).unwrap();
    let tag = spec
        .lines()
        .find_map(|l| l.strip_prefix("License:"))
        .unwrap()
        .trim();
    let declared = terms(tag);
    assert!(declared.contains(&BTreeSet::from([env!("CARGO_PKG_LICENSE").to_string()])));
    for (package, license) in linked_crates() {
        for term in terms(&license) {
            assert!(
                declared.contains(&term),
                "{package} is under {license}: the spec's License lacks {term:?}"
            );
        }
    }
}

#[test]
fn licence_expressions_are_compared_as_sets() {
    assert_eq!(terms("MIT/Apache-2.0"), terms("Apache-2.0 OR MIT"));
    assert_eq!(
        terms("(MIT OR Apache-2.0) AND Unicode-3.0"),
        terms("Unicode-3.0 AND (Apache-2.0 OR MIT)")
    );
    assert_ne!(terms("MIT"), terms("MIT OR Apache-2.0"));
}
