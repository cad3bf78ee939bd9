//! The committed C header `include/sys/beostat.h` is what cbindgen makes of
//! the crate today.
//!
//! The header is committed so C users and reviewers see the API without
//! running cbindgen, and so ABI changes show up in diffs. This test generates
//! it in memory with the `cbindgen` crate and `cbindgen.toml`, and fails when
//! the committed file differs. With `BEOSTAT_BLESS=1` it writes the file
//! instead.

use std::path::Path;

const HEADER_PATH: &str = "include/sys/beostat.h";
const BLESS_COMMAND: &str = "BEOSTAT_BLESS=1 cargo test --test header";

fn generate_header() -> String {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(crate_dir).join("cbindgen.toml"))
        .expect("cbindgen.toml should parse");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen should generate the header from the crate");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen output should be UTF-8")
}

/// Shows the first differing line, which is usually enough to see what changed.
fn first_difference(committed: &str, generated: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut generated_lines = generated.lines();
    for line_number in 1.. {
        match (committed_lines.next(), generated_lines.next()) {
            (None, None) => break,
            (c, g) if c == g => continue,
            (c, g) => {
                return format!(
                    "first difference at line {line_number}:\n  committed: {}\n  generated: {}",
                    c.unwrap_or("<end of file>"),
                    g.unwrap_or("<end of file>")
                )
            }
        }
    }
    "files differ only in line endings or a trailing newline".to_owned()
}

#[test]
fn committed_header_is_current() {
    let generated = generate_header();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(HEADER_PATH);

    if std::env::var_os("BEOSTAT_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }

    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{HEADER_PATH} is stale (or missing).\n{}\nRegenerate it with:\n    {BLESS_COMMAND}\nthen review and commit the diff.",
        first_difference(&committed, &generated)
    );
}

#[test]
fn header_names_c_types_as_legacy_callers_expect() {
    // Guards the cbindgen.toml choices the file comparison alone would not
    // catch if someone re-blessed a bad header.
    let header = generate_header();
    for expected in [
        "#ifndef _SYS_BEOSTAT_H",
        "#include <time.h>",
        "#include <sys/types.h>",
        "#include <sys/vfs.h>",
        "struct beostat_loadavg {",
        "typedef struct beostat_meminfo meminfo_t;",
        "typedef struct statfs statfs_p_t;",
        "struct statfs statfs;",
        "#define BEOSTAT_NET_DEV_NAME_LEN 16",
        "char name[BEOSTAT_NET_DEV_NAME_LEN];",
        "time_t time;",
        "uid_t access_uid;",
        "gid_t access_gid;",
        "pid_t writer_pid;",
        "#define MAX_NET_DEV 32",
    ] {
        assert!(
            header.contains(expected),
            "generated header lacks `{expected}`:\n{header}"
        );
    }
    // Tag-only structs (no `typedef struct x {...} x;`), no Rust paths leaking
    // through, no Rust-only enum in callers' namespace.
    for forbidden in [
        "typedef struct beostat_loadavg",
        "} beostat_loadavg;",
        "libc::",
        "c_char",
        "enum Counter",
    ] {
        assert!(
            !header.contains(forbidden),
            "generated header contains `{forbidden}`:\n{header}"
        );
    }
}
