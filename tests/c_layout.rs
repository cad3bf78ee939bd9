//! The C side of the layout pins: `c-tests/layout.c` must compile.
//!
//! That file `_Static_assert`s, with both the hand-written legacy header and
//! the generated `include/sys/beostat.h` in view, that every documented struct
//! has the legacy size, alignment and field offsets, and that the shm structs
//! sit at their published offsets. Compiling it is the test. gcc is required
//! (the C harness needs it too); the C++ check needs g++ and is ignored by a
//! plain `cargo test` (`--include-ignored` runs it).

use std::path::Path;
use std::process::{Command, Output};

const GCC: &str = "gcc";
const GXX: &str = "g++";

/// Runs a compiler from the crate root.
fn compiler(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("could not run {program} (apt-get install {program}): {e}"))
}

fn assert_compiled(what: &str, program: &str, args: &[&str], output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed to compile ({program} {}): {}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn c_layout_static_asserts_hold() {
    let object = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-tests-layout.o");
    let object = object
        .to_str()
        .expect("the target directory path should be UTF-8");
    let args = [
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-c",
        "c-tests/layout.c",
        "-o",
        object,
    ];
    let output = compiler(GCC, &args);
    assert_compiled("c-tests/layout.c", GCC, &args, &output);
    assert!(
        Path::new(object).is_file(),
        "{GCC} reported success but wrote no {object}"
    );
}

#[test]
fn generated_header_compiles_alone_as_c() {
    // Legacy programs are built with whatever -std their makefiles say;
    // gnu89 was gcc's default until gcc 5. Not strict -std=c89: the documented
    // structs need `long long`, and cbindgen's cpp_compat guards end in `//`
    // comments that strict C89 warns about.
    for std in ["-std=gnu89", "-std=c99", "-std=c11"] {
        let args = [
            std,
            "-Wall",
            "-Wextra",
            "-Wundef",
            "-Werror",
            "-fsyntax-only",
            "-x",
            "c",
            "include/sys/beostat.h",
        ];
        let output = compiler(GCC, &args);
        assert_compiled("include/sys/beostat.h", GCC, &args, &output);
    }
}

#[test]
#[ignore = "needs g++"]
fn generated_header_compiles_alone_as_cpp() {
    // C++ callers rely on cpp_compat's extern "C" block.
    let args = [
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsyntax-only",
        "-x",
        "c++",
        "include/sys/beostat.h",
    ];
    let output = compiler(GXX, &args);
    assert_compiled("include/sys/beostat.h (as C++)", GXX, &args, &output);
}
