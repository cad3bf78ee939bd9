#!/usr/bin/env bash
# What the web view costs on a large cluster: builds the release exporter
# and the bench fixture (examples/bench_fixture.rs), starts the exporter on
# loopback, opens /web in Debian's headless chromium (tests/web/bench.mjs)
# and prints the time to the first drawn map, per-update fetch and draw
# times, and the bytes per update. A benchmark, not a test.
#
#   scripts/bench-web.sh                 # 10,000 nodes, 16 CPUs, 20 updates
#   BENCH_NODES=1000 BENCH_UPDATES=5 scripts/bench-web.sh
#   BENCH_EXPORTER=/other/beostat-exporter scripts/bench-web.sh   # another build
#   BENCH_SKIP_BROWSER=1 scripts/bench-web.sh    # the server's share only (curl)
#
# Last, the exporter's CPU time per /api/cluster request, read from its
# /proc/PID/stat (utime + stime, all threads) around 50 requests.
#
# Needs curl, /usr/bin/chromium and node with `npm ci` done in tests/web. Everything
# runs on 127.0.0.1; the exporter and the fixture are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${BENCH_NODES:-10000}
cpus=${BENCH_CPUS:-16}
export BENCH_UPDATES=${BENCH_UPDATES:-20}

[ -x /usr/bin/chromium ] || { echo "bench-web: needs /usr/bin/chromium (apt-get install chromium)" >&2; exit 1; }
[ -d tests/web/node_modules ] || { echo "bench-web: run (cd tests/web && npm ci) first" >&2; exit 1; }
cargo build --release --bin beostat-exporter --example bench_fixture >&2
work=$(mktemp -d)
exporter_pid=
cleanup() {
    [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null && wait "$exporter_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/bench_fixture "$work" "$nodes" "$cpus" >&2
"${BENCH_EXPORTER:-target/release/beostat-exporter}" --shm-dir "$work" --listen 127.0.0.1:0 2>"$work/log" &
exporter_pid=$!
url=
for _ in $(seq 100); do
    url=$(sed -n 's|^beostat-exporter: listening on \(.*\)/metrics$|\1|p' "$work/log")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$work/log" >&2; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ -n "${BENCH_SKIP_BROWSER:-}" ] || BEOSTAT_URL=$url node tests/web/bench.mjs
# The server's share of an update, without the browser: 10 fetches each.
for path in "api/cluster?metric=cpu" "api/node?node=$((nodes / 2))"; do
    for _ in $(seq 10); do
        curl -sf -o /dev/null -H 'Accept-Encoding: gzip' -w '%{time_total} %{size_download}\n' "$url/$path"
    done | sort -g | awk -v path="$path" '{ t[NR] = $1; b = $2 }
        END { printf "curl %s: median %.1f ms (fastest %.1f, slowest %.1f), %d bytes gzipped\n",
              path, 1000 * t[int((NR + 1) / 2)], 1000 * t[1], 1000 * t[NR], b }'
done
ticks() { awk '{ print $14 + $15 }' "/proc/$exporter_pid/stat"; }
before=$(ticks)
for _ in $(seq 50); do
    curl -sf -o /dev/null -H 'Accept-Encoding: gzip' "$url/api/cluster?metric=cpu"
done
after=$(ticks)
awk -v a="$before" -v b="$after" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    printf "exporter CPU per /api/cluster: %.1f ms (/proc/PID/stat, 50 requests)\n", 1000 * (b - a) / hz / 50 }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
