#!/usr/bin/env bash
# Benchmarks the cost of libbeostat calls (the numbers in docs/PERFORMANCE.md).
#
#     scripts/bench-calls.sh
#
# Builds the release library, writes a fixture of BENCH_NODES nodes with
# BENCH_CPUS CPUs each (examples/bench_fixture.rs) in a temporary directory,
# compiles c-tests/bench_calls.c against include/ and the built
# libbeostat.so, and runs it: steady-state cost per call, a sweep of every
# call over every node, the cluster-wide calls. Then, if strace is installed,
# checks that a loop of calls in steady state makes no system call other than
# the reader's once-a-second stat of the two shm paths.
#
# Needs only Rust, gcc and python3 (strace is optional). Knobs, with defaults:
#     BENCH_NODES=10000 BENCH_CPUS=16 BENCH_ITERATIONS=10000000 BENCH_REPEATS=7
#     BENCH_SYSCALL_SECONDS=5 (0 skips the syscall check)
# This is a benchmark, not a test: it fails only if a build fails, a call
# returns an error, or the syscall check finds an unexpected system call.
set -euo pipefail

nodes=${BENCH_NODES:-10000}
cpus=${BENCH_CPUS:-16}
iterations=${BENCH_ITERATIONS:-10000000}
repeats=${BENCH_REPEATS:-7}
syscall_seconds=${BENCH_SYSCALL_SECONDS:-5}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-calls.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== building (release)" >&2
cargo build --release
cargo build --release --example bench_fixture
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
library="$target/release/libbeostat.so"

# A libdir laid out like an installed one: the linker wants libbeostat.so,
# the loader the soname libbeostat.so.1.
mkdir "$work/lib" "$work/shm"
ln -s "$library" "$work/lib/libbeostat.so"
ln -s "$library" "$work/lib/libbeostat.so.1"
gcc -O2 -std=c99 -Wall -Wextra -Werror -D_DEFAULT_SOURCE -Iinclude \
    c-tests/bench_calls.c -o "$work/bench_calls" \
    -L"$work/lib" -Wl,-rpath,"$work/lib" -lbeostat

echo "== fixture" >&2
"$target/release/examples/bench_fixture" "$work/shm" "$nodes" "$cpus" >&2
export BEOSTAT_SHM_DIR="$work/shm"

echo "== machine" >&2
model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "# cpu: ${model:-unknown}; cores: $(nproc); kernel: $(uname -r)"
echo "# library: $library"
echo "# command: BENCH_NODES=$nodes BENCH_CPUS=$cpus BENCH_ITERATIONS=$iterations" \
    "BENCH_REPEATS=$repeats scripts/bench-calls.sh"

echo "== calls (ns per call; sweep rows: per call over all nodes)" >&2
"$work/bench_calls" -n "$iterations" -r "$repeats"

if [ "$syscall_seconds" = 0 ]; then
    exit 0
fi
if ! command -v strace >/dev/null; then
    echo "# syscall check skipped: strace is not installed"
    exit 0
fi
echo "== syscall check (${syscall_seconds} s of steady-state calls under strace -f)" >&2
if ! strace -f -qq -o "$work/trace" "$work/bench_calls" -s "$syscall_seconds" \
    >"$work/syscall.out" 2>&1; then
    echo "# syscall check skipped: strace could not trace (ptrace not permitted?)"
    cat "$work/syscall.out" >&2
    exit 0
fi
sed -e '/steady state/d' -e 's/^/# /' "$work/syscall.out"
# Count the system calls made between the program's two marker writes, by
# name. The reader re-stats the two shm paths at most once a second (statx,
# or newfstatat/stat on older C libraries); anything else is unexpected.
awk -v seconds="$syscall_seconds" '
    /steady state begins/ { inside = 1; next }
    /steady state ends/ { inside = 0 }
    inside {
        name = $2
        sub(/\(.*/, "", name)
        count[name]++
        total++
        if (name !~ /^(statx|newfstatat|stat|fstatat64|stat64)$/) unexpected++
    }
    END {
        printf "# syscalls in steady state: %d in %d s", total, seconds
        for (name in count) printf "; %s %d", name, count[name]
        printf "\n"
        limit = 2 * (seconds + 1)
        if (unexpected) {
            print "# UNEXPECTED: a call in steady state made a system call other than stat"
            exit 1
        }
        if (total > limit) {
            printf "# UNEXPECTED: more than %d stat calls (2 paths, once a second)\n", limit
            exit 1
        }
        print "# ok: only the once-a-second stat of the two shm paths"
    }' "$work/trace"
