//! Build script: gives the C library its soname and limits its exports.
//!
//! `libbeostat.so` must carry the soname `libbeostat.so.1` (so programs record
//! the major version they were linked against) and export only the `beostat_*`
//! API (`src/libbeostat.map`). Header generation is not done here: the header is
//! committed and a test checks it is current (see `tests/header.rs`).

fn main() {
    let map = format!("{}/src/libbeostat.map", env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src/libbeostat.map");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbeostat.so.1");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={map}");
}
