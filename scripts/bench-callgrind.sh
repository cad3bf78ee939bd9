#!/usr/bin/env bash
# Instructions per datagram of recvstats' receive path under callgrind, at
# 1,000 nodes x 1,000/s and 10,000 nodes x 10,000/s of 8-CPU, 4-interface
# nodes, compared with the committed baseline (benches/callgrind-baseline.tsv).
#
#     scripts/bench-callgrind.sh            # measure and print, compare
#     scripts/bench-callgrind.sh --check    # the same, exit 1 on a regression
#     scripts/bench-callgrind.sh --update   # measure and rewrite the baseline
#
# What is counted (src/loadgen/replay.rs): `beostat-loadgen replay` queues
# each wakeup's datagrams on a loopback socket (as many as recvstats'
# gathering window collects at that rate: 5 at 1,000/s, 10 at 10,000/s),
# then drains them with recvstats' BatchReceiver and Ingest::datagram; once
# a simulated second, the expiry scan. Only those two functions are
# counted (--toggle-collect), so the pool, the warm-up and the sends are
# not, and the count does not depend on timing: reruns agree within a
# fraction of a percent. The kernel's part of a receive is never counted
# by callgrind (docs/PERFORMANCE.md, "Instruction counts").
#
# A regression is more than 10 % (BENCH_CALLGRIND_TOLERANCE=10) above the
# baseline. Counts depend on the compiler: after a toolchain update, rerun
# with --update and commit the new baseline with the reason.
set -euo pipefail

mode=${1:-}
case $mode in
"" | --check | --update) ;;
*)
    echo "bench-callgrind.sh: unknown option $mode (usage: scripts/bench-callgrind.sh [--check|--update])" >&2
    exit 2
    ;;
esac
tolerance=${BENCH_CALLGRIND_TOLERANCE:-10}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
baseline=benches/callgrind-baseline.tsv

if ! command -v valgrind >/dev/null; then
    echo "bench-callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
fi

echo "== building (release)" >&2
cargo build --release --bin beostat-loadgen >&2
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
loadgen="$target/release/beostat-loadgen"
work=/dev/shm
[ -d "$work" ] || work=${TMPDIR:-/tmp}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# nodes rate seconds (simulated); 8 CPUs, 4 interfaces.
cases=("1000 1000 5" "10000 10000 2")
results=()
for case in "${cases[@]}"; do
    read -r nodes rate seconds <<<"$case"
    out="$scratch/callgrind.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        --toggle-collect='*replay_wakeup*' --toggle-collect='*replay_second*' \
        "$loadgen" replay --cpus 8 --interfaces 4 --nodes "$nodes" --rate "$rate" \
        --seconds "$seconds" --work-dir "$work" >"$scratch/stdout" 2>"$scratch/stderr" || {
        cat "$scratch/stderr" >&2
        exit 1
    }
    datagrams=$(sed -n 's/^datagrams \([0-9]*\) .*/\1/p' "$scratch/stdout")
    per_wakeup=$(sed -n 's/.* per_wakeup \([0-9]*\)$/\1/p' "$scratch/stdout")
    total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")
    if [ -z "$datagrams" ] || [ -z "$total" ] || [ "$datagrams" = 0 ]; then
        echo "bench-callgrind.sh: no count for $nodes nodes at $rate/s" >&2
        cat "$scratch/stdout" "$scratch/stderr" >&2
        exit 1
    fi
    per=$((total / datagrams))
    results+=("$nodes	$rate	8	4	$per")
    echo "$nodes nodes at $rate/s (8 CPUs, 4 interfaces; $per_wakeup datagrams a wakeup): $per instructions per datagram ($total for $datagrams)"
done

if [ "$mode" = --update ]; then
    {
        echo "# Instructions per datagram of recvstats' receive path (scripts/bench-callgrind.sh)."
        echo "# $(rustc --version); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "# nodes	rate	cpus	interfaces	instructions_per_datagram"
        printf '%s\n' "${results[@]}"
    } >"$baseline"
    echo "baseline written to $baseline"
    exit 0
fi

status=0
for line in "${results[@]}"; do
    read -r nodes rate cpus interfaces per <<<"$line"
    base=$(awk -v n="$nodes" -v r="$rate" -v c="$cpus" -v i="$interfaces" \
        '!/^#/ && $1 == n && $2 == r && $3 == c && $4 == i { print $5 }' "$baseline")
    if [ -z "$base" ]; then
        echo "no baseline for $nodes nodes at $rate/s in $baseline" >&2
        status=1
        continue
    fi
    change=$(awk -v now="$per" -v base="$base" 'BEGIN { printf "%+.1f", 100 * (now - base) / base }')
    if awk -v now="$per" -v base="$base" -v t="$tolerance" 'BEGIN { exit !(now > base * (1 + t / 100)) }'; then
        echo "REGRESSION: $nodes nodes at $rate/s: $per instructions per datagram, baseline $base ($change %, more than $tolerance %)"
        status=1
    else
        echo "ok: $nodes nodes at $rate/s: $per instructions per datagram, baseline $base ($change %)"
    fi
done
if [ "$mode" = --check ]; then
    exit $status
fi
