#!/usr/bin/env bash
# What the web view costs on a large cluster: builds the release exporter
# and the bench fixture (examples/bench_fixture.rs), starts the exporter on
# loopback, opens /web in Debian's headless chromium (tests/web/bench.mjs)
# and prints the time to the first drawn map, per-update fetch and draw
# times, and the bytes per update. A benchmark, not a test.
#
#   scripts/bench-web.sh                 # 10,000 nodes, 16 CPUs, 20 updates
#   BENCH_NODES=1000 BENCH_UPDATES=5 scripts/bench-web.sh
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
target/release/beostat-exporter --shm-dir "$work" --listen 127.0.0.1:0 2>"$work/log" &
exporter_pid=$!
url=
for _ in $(seq 100); do
    url=$(sed -n 's|^beostat-exporter: listening on \(.*\)/metrics$|\1|p' "$work/log")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$work/log" >&2; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
BEOSTAT_URL=$url node tests/web/bench.mjs
# The server's share of an update, without the browser: 10 fetches each.
for path in "api/cluster?metric=cpu" "api/node?node=$((nodes / 2))"; do
    for _ in $(seq 10); do
        curl -sf -o /dev/null -H 'Accept-Encoding: gzip' -w '%{time_total} %{size_download}\n' "$url/$path"
    done | sort -g | awk -v path="$path" '{ t[NR] = $1; b = $2 }
        END { printf "curl %s: median %.1f ms (fastest %.1f, slowest %.1f), %d bytes gzipped\n",
              path, 1000 * t[int((NR + 1) / 2)], 1000 * t[1], 1000 * t[NR], b }'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
