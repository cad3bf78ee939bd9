#!/usr/bin/env bash
# Instructions per libbeostat call, repeatable on a noisy machine: runs
# benches/call_instructions.c under valgrind --tool=callgrind against a
# fixture of 10,000 nodes of 16 CPUs (examples/bench_fixture.rs), with N=0
# and N=K calls, and prints the difference divided by K.
#
#     scripts/call-instructions.sh            # the numbers in docs/PERFORMANCE.md
#
# Needs valgrind and gcc. A benchmark, not a test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/call-instructions.XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo build --release --lib --example bench_fixture >&2
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p "$work/lib" "$work/shm"
cp "$target/release/libbeostat.so" "$work/lib/libbeostat.so"
ln -s libbeostat.so "$work/lib/libbeostat.so.1"
"$target/release/examples/bench_fixture" "$work/shm" 10000 16 >&2
gcc -O2 -Iinclude -o "$work/calls" benches/call_instructions.c -L"$work/lib" -lbeostat \
    -Wl,-rpath,"$work/lib"
count() {
    BEOSTAT_SHM_DIR="$work/shm" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$work/calls" "$1" "$2" 2>&1 | awk '/Collected/ { print $4 }'
}
printf '| call | instructions per call |\n| --- | ---: |\n'
for what in l p s i; do
    calls=20000
    [ "$what" = i ] && calls=5
    base=$(count 0 "$what")
    total=$(count "$calls" "$what")
    case $what in
        l) name='`beostat_get_loadavg` (node 5000)' ;;
        p) name='`beostat_get_cpu_percent` (node 5000, CPUs 0-15)' ;;
        s) name='`beostat_get_loadavg` sweeping nodes 0-9999' ;;
        i) name='`beostat_count_idle_cpus` (10,000 nodes x 16 CPUs)' ;;
    esac
    printf '| %s | %d |\n' "$name" $(((total - base) / calls))
done
