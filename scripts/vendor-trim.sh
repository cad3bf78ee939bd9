#!/bin/sh
# Empties, in a vendor/ directory made by `cargo vendor --versioned-dirs`,
# every crate that no Linux target uses (Windows import libraries and
# bindings, above all: about 100 MB of the 140 MB cargo vendors), so the
# release tarball carries only what a Linux build can compile.
#
#   scripts/vendor-trim.sh VENDOR_DIR
#
# Run from the package root (where Cargo.toml is). A trimmed crate keeps its
# Cargo.toml, which cargo reads to resolve Cargo.lock on every platform,
# and gets an empty src/lib.rs; its .cargo-checksum.json keeps the
# package's checksum (compared with Cargo.lock) and lists no files. The same
# thing `cargo vendor-filterer --platform=...` does, without a tool to
# install.
set -eu
vendor=$1
# The Linux targets a distribution builds for; what any of them uses stays.
targets=${LINUX_TARGETS:-"x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu \
powerpc64le-unknown-linux-gnu s390x-unknown-linux-gnu i686-unknown-linux-gnu \
armv7-unknown-linux-gnueabihf riscv64gc-unknown-linux-gnu"}

keep=$(mktemp)
trap 'rm -f "$keep"' EXIT
for target in $targets; do
    ${CARGO:-cargo} tree --offline --locked -e normal,build,dev --target "$target" \
        --prefix none --format '{p}'
done | sed -n 's/^\([^ ]*\) v\([^ ]*\).*/\1-\2/p' | sort -u > "$keep"
[ -s "$keep" ] || { echo "vendor-trim.sh: cargo tree listed no crate" >&2; exit 1; }

trimmed=0
for dir in "$vendor"/*/; do
    crate=$(basename "$dir")
    grep -qxF "$crate" "$keep" && continue
    package=$(sed -n 's/.*"package":"\([0-9a-f]*\)".*/\1/p' "$dir/.cargo-checksum.json")
    find "$dir" -mindepth 1 -maxdepth 1 ! -name Cargo.toml -exec rm -rf {} +
    mkdir "$dir/src"
    : > "$dir/src/lib.rs"
    printf '{"files":{},"package":"%s"}' "$package" > "$dir/.cargo-checksum.json"
    trimmed=$((trimmed + 1))
done
echo "vendor-trim.sh: emptied $trimmed crates no Linux target uses" >&2
