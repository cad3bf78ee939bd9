#!/usr/bin/env bash
# Benchmarks recvstats (the numbers in docs/PERFORMANCE.md, "recvstats").
#
#     scripts/bench-ingest.sh
#
# Builds release, then runs with target/release/beostat-loadgen, over
# loopback, each measurement against the real recvstats (started in the
# foreground with a private shm directory, `-i lo --config /dev/null`) and,
# where it applies, against the bare receive loop (`beostat-loadgen sink`:
# recvstats' socket setup and recvmmsg, counting only):
#   ingest   highest lossless rate of each, swept alternately in one run
#   cost     CPU microseconds per node update, side by side with the plain
#            bare recvmmsg loop: 1,000 nodes at 1,000/s, 10,000 at 10,000/s
#   latency  send -> visible to a reader, p50/p99, at 1,000/s and 10,000/s
#   memory   shm bytes per node and recvstats' RSS at 10,000 and 50,000
# then the criterion benchmarks (parsers in MB/s, Ingest::datagram).
#
# As root, the receivers are pinned to the last CPU and the sender to the
# first, all at nice -10, so that other work on a shared machine decides
# less of the result (BENCH_PLACE="" turns that off). Knobs, with defaults:
#     BENCH_NODES=10000 BENCH_REPEATS=3 (ingest sweeps) BENCH_INGEST_START=150000
#     BENCH_INGEST_STEP=1.05 (the sweep's first rate and factor; 5 % steps
#     resolve the ratio to the bare loop to about 5 %) BENCH_COST_REPEATS=3
#     BENCH_COST_SECONDS=20 BENCH_LATENCY_SECONDS=30 BENCH_LATENCY_REPEATS=3
#     BENCH_MEMORY_NODES=10000,50000 BENCH_CRITERION=1 (0 skips it)
#     BENCH_SHAPE="--cpus 8 --interfaces 4" (every node an 8-CPU node with 4
#     interfaces, a 799-byte datagram as sendstats sends; "" for the mix of
#     1 to 256 CPUs; the memory run measures both)
#     BENCH_ONLY="ingest cost latency memory" (a subset)
# Scratch files go to /dev/shm (a tmpfs, as /var/shm is) and are removed.
# This is a benchmark, not a test: it fails only if something cannot run.
set -euo pipefail

nodes=${BENCH_NODES:-10000}
repeats=${BENCH_REPEATS:-3}
ingest_start=${BENCH_INGEST_START:-150000}
ingest_step=${BENCH_INGEST_STEP:-1.05}
cost_repeats=${BENCH_COST_REPEATS:-3}
cost_seconds=${BENCH_COST_SECONDS:-20}
latency_seconds=${BENCH_LATENCY_SECONDS:-30}
latency_repeats=${BENCH_LATENCY_REPEATS:-3}
memory_nodes=${BENCH_MEMORY_NODES:-10000,50000}
shape=${BENCH_SHAPE-"--cpus 8 --interfaces 4"}
criterion=${BENCH_CRITERION:-1}
only=${BENCH_ONLY:-ingest cost latency memory}
if [ -z "${BENCH_PLACE+set}" ]; then
    if [ "$(id -u)" = 0 ]; then place="--pin --nice -10"; else place=""; fi
else
    place=$BENCH_PLACE
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

echo "== building (release)" >&2
cargo build --release --bins
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
loadgen="$target/release/beostat-loadgen"
work=/dev/shm
[ -d "$work" ] || work=${TMPDIR:-/tmp}
common=(--recvstats "$target/release/recvstats" --work-dir "$work")
# shellcheck disable=SC2206 # $place is a list of options
common+=($place)
# shellcheck disable=SC2206 # $shape is a list of options
shaped=("${common[@]}" $shape)

model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "# cpu: ${model:-unknown}; cores: $(nproc); kernel: $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); placement: ${place:-none}"
echo "# command: BENCH_NODES=$nodes BENCH_REPEATS=$repeats BENCH_INGEST_START=$ingest_start BENCH_INGEST_STEP=$ingest_step BENCH_COST_REPEATS=$cost_repeats" \
    "BENCH_COST_SECONDS=$cost_seconds BENCH_LATENCY_SECONDS=$latency_seconds" \
    "BENCH_LATENCY_REPEATS=$latency_repeats BENCH_MEMORY_NODES=$memory_nodes BENCH_SHAPE=\"$shape\"" \
    "BENCH_CRITERION=$criterion BENCH_ONLY=\"$only\" scripts/bench-ingest.sh"

run() {
    echo "\$ beostat-loadgen $*" | sed "s|$target/release/|target/release/|g"
    "$loadgen" "$@" 2> >(grep -v '^beostat-loadgen: \(warning: interface\|listening\)' >&2)
    echo
}

for what in $only; do
    case $what in
    ingest)
        echo "## ingest: highest lossless rate, recvstats and the bare loop"
        run ingest "${shaped[@]}" --nodes "$nodes" --repeats "$repeats" \
            --start "$ingest_start" --step "$ingest_step"
        ;;
    cost)
        echo "## cost at the normal operating point: 1,000 nodes at 1,000/s, 10,000 at 10,000/s"
        run cost "${shaped[@]}" --nodes 1000 --rates 1000 --repeats "$cost_repeats" --seconds "$cost_seconds"
        run cost "${shaped[@]}" --nodes 10000 --rates 10000 --repeats "$cost_repeats" --seconds "$cost_seconds"
        ;;
    latency)
        echo "## latency, send -> visible in shared memory, 1,000/s (1,000 nodes) and 10,000/s (10,000 nodes)"
        for i in $(seq "$latency_repeats"); do
            run latency "${shaped[@]}" --nodes 1000 --rate 1000 --stride 2 --seconds "$latency_seconds"
            run latency "${shaped[@]}" --nodes 10000 --rate 10000 --seconds "$latency_seconds"
        done
        ;;
    memory)
        echo "## memory: 8-CPU nodes with 4 interfaces, then the mix of 1 to 256 CPUs"
        run memory "${common[@]}" --cpus 8 --interfaces 4 --nodes "$memory_nodes"
        # The mix at 50,000 nodes needs more than the default 256 MiB.
        run memory "${common[@]}" --recvstats-arg=--max-shm-mib=1024 --nodes "$memory_nodes"
        ;;
    *)
        echo "unknown measurement $what (BENCH_ONLY)" >&2
        exit 2
        ;;
    esac
done

if [ "$criterion" != 0 ]; then
    echo "## criterion: parsers (MiB/s) and Ingest::datagram"
    cargo bench --bench parsers --bench ingest -- --warm-up-time 1 --measurement-time 3 2>/dev/null |
        awk '/^[a-z_]+\// { name = $0; sub(/ *time:.*/, "", name) }
             /time:/ { t = $0; sub(/.*time: */, "", t) }
             /thrpt:/ && name { th = $0; sub(/.*thrpt: */, "", th); print name "\t" t "\t" th; name = "" }' |
        sed 's/  */ /g'
fi
