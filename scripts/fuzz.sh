#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), starting from the
# committed seeds in fuzz/seeds/<target> (read-only) and writing what it
# discovers to fuzz/corpus/<target> (not committed). Stops at the first
# crash, leaving the input in fuzz/artifacts/<target>/. cargo-fuzz needs
# nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
# Prints one summary line per target: executions and result.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    log=$(mktemp)
    if cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]*')
        echo "$target: ${runs:-?} runs in ${seconds}s, no crash"
    else
        tail -40 "$log"
        echo "$target: CRASH (input in fuzz/artifacts/$target/)"
        exit 1
    fi
    rm -f "$log"
done
