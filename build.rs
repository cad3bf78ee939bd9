//! Build script: gives the C library its soname and limits its exports.
//!
//! `libbeostat.so` must carry the soname `libbeostat.so.1` (so programs record
//! the major version they were linked against) and export only the `beostat_*`
//! API (`src/libbeostat.map`), each function at version `LIBBEOSTAT_1`
//! (the `.symver` directives this script writes, which `src/capi.rs`
//! includes), with both the GNU and the SysV symbol hash table.
//! Header generation is not done here: the header is committed and a test
//! checks it is current (see `tests/header.rs`).

use std::fmt::Write;

/// The version node of `src/libbeostat.map` the functions belong to.
const VERSION_NODE: &str = "LIBBEOSTAT_1";

/// The functions the header declares: `TYPE [*]beostat_NAME(` at the start
/// of a line (what the Makefile's man page links use too).
fn header_functions(header: &str) -> Vec<&str> {
    let mut functions: Vec<&str> = header
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter(|line| !line.starts_with("static"))
        .filter_map(|line| {
            let at = line.find(" beostat_").or_else(|| line.find("*beostat_"))? + 1;
            let name = &line[at..];
            let end = name.find('(')?;
            let name = &name[..end];
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                .then_some(name)
        })
        .collect();
    functions.sort_unstable();
    functions.dedup();
    functions
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let map = format!("{root}/src/libbeostat.map");
    println!("cargo:rerun-if-changed=src/libbeostat.map");
    println!("cargo:rerun-if-changed=include/sys/beostat.h");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbeostat.so.1");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={map}");
    // Both symbol hash tables: .gnu.hash for today's ld.so, the SysV .hash
    // too, which older or non-GNU loaders and tools read (rpmlint's
    // missing-hash-section error without it).
    println!("cargo:rustc-cdylib-link-arg=-Wl,--hash-style=both");

    let header = std::fs::read_to_string(format!("{root}/include/sys/beostat.h"))
        .expect("include/sys/beostat.h");
    let functions = header_functions(&header);
    assert!(!functions.is_empty(), "no beostat_* function in the header");
    let mut code = String::from("std::arch::global_asm!(\n");
    for function in functions {
        writeln!(
            code,
            "    \".symver {function}, {function}@@{VERSION_NODE}\","
        )
        .unwrap();
    }
    code.push_str(");\n");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(format!("{out}/symbol_versions.rs"), code).expect("write symbol_versions.rs");
}
