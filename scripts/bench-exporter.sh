#!/usr/bin/env bash
# What one scrape of beostat-exporter costs on a large cluster: builds the
# release exporter and the bench fixture (examples/bench_fixture.rs), starts
# the exporter on loopback, scrapes /metrics SCRAPES times with curl, and
# prints per-scrape times, the body size and the sample count, with and
# with --per-cpu. A benchmark, not a test: nothing fails on a number.
#
#   scripts/bench-exporter.sh            # 10,000 nodes, 16 CPUs, 20 scrapes
#   BENCH_NODES=1000 BENCH_CPUS=8 BENCH_SCRAPES=5 scripts/bench-exporter.sh
#
# Needs curl. Everything runs on 127.0.0.1; the exporter and the fixture
# are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${BENCH_NODES:-10000}
cpus=${BENCH_CPUS:-16}
scrapes=${BENCH_SCRAPES:-20}

command -v curl >/dev/null || { echo "bench-exporter: needs curl" >&2; exit 1; }
cargo build --release --bin beostat-exporter --example bench_fixture >&2
work=$(mktemp -d)
exporter_pid=
cleanup() {
    [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null && wait "$exporter_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/bench_fixture "$work" "$nodes" "$cpus" >&2

measure() {
    local label=$1
    shift
    target/release/beostat-exporter --shm-dir "$work" --listen 127.0.0.1:0 "$@" 2>"$work/log" &
    exporter_pid=$!
    local url=
    for _ in $(seq 100); do
        url=$(sed -n 's/^beostat-exporter: listening on //p' "$work/log")
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { cat "$work/log" >&2; exit 1; }
    curl -sf -o "$work/body" "$url"   # warm-up: maps the files
    local times=()
    for _ in $(seq "$scrapes"); do
        times+=("$(curl -sf -o "$work/body" -w '%{time_total}' "$url")")
    done
    local bytes samples own rss
    bytes=$(stat -c %s "$work/body")
    samples=$(grep -vc '^#' "$work/body")
    own=$(sed -n 's/^beostat_exporter_scrape_duration_seconds //p' "$work/body")
    rss=$(ps -o rss= -p "$exporter_pid")
    printf '%s\n' "${times[@]}" | sort -g | awk -v label="$label" -v bytes="$bytes" \
        -v samples="$samples" -v own="$own" -v rss="$rss" '
        { t[NR] = $1 }
        END {
            printf "%s\tmedian %.1f ms\tfastest %.1f ms\tslowest %.1f ms\t", label,
                1000 * t[int((NR + 1) / 2)], 1000 * t[1], 1000 * t[NR]
            printf "read+format (last scrape) %.1f ms\t%.1f MB\t%d samples\tRSS %.0f MB\n",
                1000 * own, bytes / 1e6, samples, rss / 1024
        }'
    kill "$exporter_pid"
    wait "$exporter_pid" 2>/dev/null || true
    exporter_pid=
}

echo "# $nodes nodes + master, $cpus CPUs, 4 interfaces; $scrapes scrapes each (curl time_total)"
measure "summed (default)"
measure "per-cpu" --per-cpu
