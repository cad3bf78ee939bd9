//! libbeostat.so exports exactly the functions its header declares, under
//! the soname libbeostat.so.1, and nothing else (src/libbeostat.map).

use std::collections::BTreeSet;
use std::process::Command;

fn library() -> std::path::PathBuf {
    // cargo test rebuilds the cdylib in target/<profile>/deps.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join("libbeostat.so")
}

fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (binutils) is needed: {e}"));
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn exported_symbols_are_exactly_the_header_functions() {
    let lib = library();
    let nm = tool("nm", &["-D", "--defined-only", lib.to_str().unwrap()]);
    let exported: BTreeSet<String> = nm
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .filter(|name| !name.starts_with("LIBBEOSTAT_"))
        .map(|name| name.split('@').next().unwrap().to_string())
        .collect();

    let header = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/sys/beostat.h"
    ))
    .unwrap();
    let declared: BTreeSet<String> = header
        .lines()
        .filter(|line| !line.trim_start().starts_with('*') && !line.trim_start().starts_with("/*"))
        .filter_map(|line| {
            let start = line.find("beostat_")?;
            let rest = &line[start..];
            let end = rest.find('(')?;
            let name = &rest[..end];
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                .then(|| name.to_string())
        })
        .collect();
    assert_eq!(declared.len(), 19, "header declares {declared:?}");
    assert_eq!(
        exported, declared,
        "exports differ from the header's functions"
    );
}

#[test]
fn soname_is_libbeostat_so_1() {
    let dynamic = tool("readelf", &["-d", library().to_str().unwrap()]);
    assert!(
        dynamic.contains("Library soname: [libbeostat.so.1]"),
        "{dynamic}"
    );
}

// Regression: src/libbeostat.map declared LIBBEOSTAT_1 but rustc's own
// version script left every symbol unversioned.
#[test]
fn every_exported_function_has_version_libbeostat_1() {
    let lib = library();
    let symbols = tool("readelf", &["--dyn-syms", "-W", lib.to_str().unwrap()]);
    let exported: Vec<&str> = symbols
        .lines()
        .filter(|line| line.contains(" FUNC ") && !line.contains(" UND "))
        .filter_map(|line| line.split_whitespace().nth(7))
        .filter(|name| name.starts_with("beostat_"))
        .collect();
    assert_eq!(exported.len(), 19, "{symbols}");
    for name in exported {
        assert!(
            name.ends_with("@@LIBBEOSTAT_1"),
            "{name} is not bound to LIBBEOSTAT_1 as its default version"
        );
    }
    let versions = tool("readelf", &["-V", "-W", lib.to_str().unwrap()]);
    assert!(
        versions.contains("Name: LIBBEOSTAT_1"),
        "no LIBBEOSTAT_1 version definition:\n{versions}"
    );
}

// rpmlint's missing-hash-section: loaders and tools that predate
// .gnu.hash read the SysV .hash table (build.rs links with both).
#[test]
fn both_symbol_hash_tables_are_present() {
    let sections = tool("readelf", &["-S", "-W", library().to_str().unwrap()]);
    let names: Vec<&str> = sections
        .lines()
        .filter_map(|line| line.split(']').nth(1)?.split_whitespace().next())
        .collect();
    for wanted in [".hash", ".gnu.hash"] {
        assert!(names.contains(&wanted), "no {wanted} section:\n{sections}");
    }
}
