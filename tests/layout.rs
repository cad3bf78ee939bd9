//! The documented structs have the legacy C layout.
//!
//! `tests/legacy_bindings.rs` is bindgen's reading of the hand-written legacy
//! header `c-tests/legacy/sys/beostat.h`, committed so this test runs without
//! libclang. For every documented struct, the macro below compares bindgen's
//! type with ours (`beostat::types`): size, alignment, and for each field its
//! offset, size and Rust type. Every field is named explicitly and the list is
//! checked for completeness at compile time, so a field added to, dropped from
//! or renamed in either side stops the build.
//!
//! `legacy_bindings_are_current` regenerates the bindings with libclang and
//! fails when the committed file is stale; `BEOSTAT_BLESS=1` rewrites it.

#[path = "legacy_bindings.rs"]
mod legacy;

use std::any::type_name;
use std::mem::{align_of, offset_of, size_of};
use std::path::Path;

const LEGACY_HEADER: &str = "c-tests/legacy/sys/beostat.h";
const BINDINGS_PATH: &str = "tests/legacy_bindings.rs";
const BLESS_COMMAND: &str =
    "BEOSTAT_BLESS=1 cargo test --test layout legacy_bindings_are_current -- --include-ignored";
/// What bindgen must pick out of the legacy header: the documented types and
/// MAX_NET_DEV, not the prototypes (ours are checked against the generated
/// header instead).
const ALLOWLIST: &str = "beostat_.*|node_time|meminfo_t|statfs_p_t|MAX_NET_DEV";

/// A type's name without module paths, so `legacy::beostat_memusage` and
/// `beostat::types::beostat_memusage` (or `[legacy::beostat_net_stat; 2]`)
/// compare equal while `i64` and `u64` do not.
fn c_type_name<T>() -> String {
    let full = type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

/// The path-free type name and size of a field, given an accessor for it.
fn field_type<S, F>(_field: fn(&S) -> &F) -> (String, usize) {
    (c_type_name::<F>(), size_of::<F>())
}

/// Compares `legacy::$name` with `beostat::types::$name`: size, alignment, and
/// offset, size and type of every listed field. The field list must be
/// complete for both structs (the exhaustive patterns fail to compile
/// otherwise), and each listed field must exist in both (`offset_of!`).
macro_rules! assert_same_layout {
    ($name:ident { $($field:ident),+ $(,)? }) => {{
        let c_name = concat!("struct ", stringify!($name));
        assert_eq!(
            size_of::<legacy::$name>(),
            size_of::<beostat::types::$name>(),
            "sizeof({c_name}) differs from the legacy header"
        );
        assert_eq!(
            align_of::<legacy::$name>(),
            align_of::<beostat::types::$name>(),
            "alignof({c_name}) differs from the legacy header"
        );
        $(
            assert_eq!(
                offset_of!(legacy::$name, $field),
                offset_of!(beostat::types::$name, $field),
                "offsetof({c_name}, {}) differs from the legacy header",
                stringify!($field)
            );
            assert_eq!(
                field_type(|s: &legacy::$name| &s.$field),
                field_type(|s: &beostat::types::$name| &s.$field),
                "type of {c_name}.{} differs from the legacy header",
                stringify!($field)
            );
        )+
        // Exhaustive patterns (no `..`): a field missing from the list above
        // is a compile error, whichever struct has it.
        let _every_field_listed = |legacy: legacy::$name, ours: beostat::types::$name| {
            let legacy::$name { $($field: _),+ } = legacy;
            let beostat::types::$name { $($field: _),+ } = ours;
        };
    }};
}

#[test]
fn documented_structs_match_the_legacy_header() {
    assert_same_layout!(beostat_stat_cpu {
        user,
        system,
        nice,
        idle
    });
    assert_same_layout!(node_time { time });
    assert_same_layout!(beostat_memusage { used, free });
    assert_same_layout!(beostat_meminfo {
        mem,
        swap,
        shared,
        buffers,
        cached
    });
    assert_same_layout!(beostat_loadavg {
        load,
        num_active_procs,
        total_procs,
        last_pid
    });
    assert_same_layout!(beostat_net_stat {
        bytes,
        packets,
        errs,
        drop,
        fifo,
        compressed
    });
    assert_same_layout!(beostat_net_dev {
        name,
        recv,
        frame,
        multicast,
        trans,
        colls,
        carrier,
    });
}

#[test]
fn max_net_dev_matches_the_legacy_header() {
    assert_eq!(
        usize::try_from(legacy::MAX_NET_DEV).unwrap(),
        beostat::types::MAX_NET_DEV
    );
}

#[test]
fn meminfo_t_names_struct_beostat_meminfo() {
    assert_eq!(c_type_name::<legacy::meminfo_t>(), "beostat_meminfo");
    assert_eq!(
        c_type_name::<beostat::types::meminfo_t>(),
        "beostat_meminfo"
    );
}

#[test]
fn statfs_p_t_is_the_system_struct_statfs() {
    // Ours is libc's `struct statfs`; the legacy one is what bindgen read from
    // the system's <sys/vfs.h>. libc hides the spare words, so compare what it
    // does expose, plus size and alignment.
    type Legacy = legacy::statfs_p_t;
    type Ours = beostat::types::statfs_p_t;
    assert_eq!(c_type_name::<Legacy>(), "statfs");
    assert_eq!(
        size_of::<Legacy>(),
        size_of::<Ours>(),
        "sizeof(struct statfs)"
    );
    assert_eq!(
        align_of::<Legacy>(),
        align_of::<Ours>(),
        "alignof(struct statfs)"
    );
    macro_rules! same_offset {
        ($($field:ident),+) => {$(
            assert_eq!(
                offset_of!(Legacy, $field),
                offset_of!(Ours, $field),
                "offsetof(struct statfs, {})",
                stringify!($field)
            );
            assert_eq!(
                field_type(|s: &Legacy| &s.$field).1,
                field_type(|s: &Ours| &s.$field).1,
                "sizeof(struct statfs.{})",
                stringify!($field)
            );
        )+};
    }
    same_offset!(
        f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_fsid, f_namelen, f_frsize
    );
}

#[test]
fn c_type_name_strips_paths_but_keeps_shapes() {
    assert_eq!(
        c_type_name::<[legacy::beostat_net_stat; 2]>(),
        "[beostat_net_stat; 2]"
    );
    assert_eq!(
        c_type_name::<beostat::types::beostat_net_stat>(),
        "beostat_net_stat"
    );
    assert_eq!(c_type_name::<std::os::raw::c_ulong>(), c_type_name::<u64>());
    assert_ne!(
        c_type_name::<std::os::raw::c_long>(),
        c_type_name::<std::os::raw::c_ulong>()
    );
}

/// bindgen's reading of the legacy header, as committed: no version banner
/// (it would make the comparison depend on the bindgen release), prettyplease
/// formatting (no rustfmt needed), and rustfmt told to keep its hands off.
fn generate_legacy_bindings() -> Result<String, String> {
    let header = Path::new(env!("CARGO_MANIFEST_DIR")).join(LEGACY_HEADER);
    let bindings = bindgen::Builder::default()
        .header(header.to_str().expect("the repository path should be UTF-8"))
        .disable_header_comment()
        .raw_line("// Generated by bindgen from c-tests/legacy/sys/beostat.h. Do not edit; regenerate with")
        .raw_line(format!("//     {BLESS_COMMAND}"))
        .raw_line("#![cfg_attr(rustfmt, rustfmt::skip)]")
        .raw_line("#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code)]")
        .allowlist_type(ALLOWLIST)
        .allowlist_var(ALLOWLIST)
        .derive_default(true)
        .derive_copy(true)
        .layout_tests(false)
        .formatter(bindgen::Formatter::Prettyplease)
        .generate()
        .map_err(|e| format!("bindgen failed on {LEGACY_HEADER}: {e}"))?;
    Ok(bindings.to_string())
}

#[test]
#[ignore = "needs libclang"]
fn legacy_bindings_are_current() {
    // Without libclang, bindgen panics saying so (apt-get install
    // libclang-dev, or set LIBCLANG_PATH).
    let generated = generate_legacy_bindings().unwrap_or_else(|e| panic!("{e}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);

    if std::env::var_os("BEOSTAT_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }

    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (c, g))| c != g)
            .map(|(i, (c, g))| {
                format!(
                    "first difference at line {}:\n  committed: {c}\n  generated: {g}",
                    i + 1
                )
            })
            .unwrap_or_else(|| "one file is a prefix of the other".to_owned());
        panic!(
            "{BINDINGS_PATH} is stale: bindgen reads {LEGACY_HEADER} differently now.\n{first_difference}\nRegenerate it with:\n    {BLESS_COMMAND}\nthen review and commit the diff."
        );
    }
}
