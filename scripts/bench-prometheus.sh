#!/usr/bin/env bash
# What a real Prometheus makes of a 10,000-node cluster: writes the bench
# fixture (examples/bench_fixture.rs: NODES compute nodes + master, CPUS
# CPUs, 4 interfaces), starts the release beostat-exporter on it, measures
# one scrape's bytes with curl (text, gzip, OpenMetrics+gzip), then runs
# Debian's prometheus scraping it every INTERVAL seconds with the default
# 10 s timeout, SCRAPES times, and prints Prometheus's own figures: every
# scrape's duration (the first included), samples, and its peak RSS.
# Once as installed (CPU seconds summed per node), once with --per-cpu.
# A benchmark, not a test: nothing fails on a number.
#
#   scripts/bench-prometheus.sh                  # 10,000 nodes, 16 CPUs
#   BENCH_NODES=1000 BENCH_SCRAPES=4 scripts/bench-prometheus.sh
#
# Needs curl and prometheus. Everything listens on 127.0.0.1 and is
# removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${BENCH_NODES:-10000}
cpus=${BENCH_CPUS:-16}
interval=${BENCH_INTERVAL:-15}
scrapes=${BENCH_SCRAPES:-8}
for tool in curl prometheus python3; do
    command -v "$tool" >/dev/null || { echo "bench-prometheus: needs $tool" >&2; exit 1; }
done
cargo build --release --quiet --bin beostat-exporter --example bench_fixture
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -m 0755 "$work/shm"
"$target/examples/bench_fixture" "$work/shm" "$nodes" "$cpus" >&2
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

measure() {
    local label=$1
    shift
    "$target/beostat-exporter" --shm-dir "$work/shm" --listen 127.0.0.1:0 "$@" 2>"$work/exporter.log" &
    local exporter_pid=$!
    pids+=("$exporter_pid")
    local address=
    for _ in $(seq 100); do
        address=$(sed -n 's|^beostat-exporter: listening on http://\(.*\)/metrics$|\1|p' "$work/exporter.log")
        [ -n "$address" ] && break
        sleep 0.1
    done
    local url="http://$address/metrics"
    curl -sf -o /dev/null "$url"   # warm-up: maps the files
    local plain gzip open
    plain=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' "$url")
    gzip=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' -H 'Accept-Encoding: gzip' "$url")
    open=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' -H 'Accept-Encoding: gzip' \
        -H 'Accept: application/openmetrics-text;version=1.0.0' "$url")

    rm -rf "$work/tsdb"
    cat >"$work/prometheus.yml" <<CONFIG
global:
  scrape_interval: ${interval}s
  scrape_timeout: 10s
scrape_configs:
  - job_name: beostat
    sample_limit: 5000000
    static_configs:
      - targets: ["$address"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$prom_port"]
CONFIG
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
        --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
    local prom_pid=$!
    pids+=("$prom_pid")
    sleep $(( interval * scrapes + 5 ))
    python3 - "http://127.0.0.1:$prom_port" "$label" "$plain" "$gzip" "$open" <<'PY'
import json, statistics, sys, urllib.parse, urllib.request
base, label, plain, gzip, open_ = sys.argv[1:]
def q(expr):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    return json.load(urllib.request.urlopen(url, timeout=60))["data"]["result"]
durations = [float(v) for _, v in q('scrape_duration_seconds{job="beostat"}[1h]')[0]["values"]]
samples = int(float(q('scrape_samples_scraped{job="beostat"}')[0]["value"][1]))
ups = [float(v) for _, v in q('up{job="beostat"}[1h]')[0]["values"]]
rss = float(q('max_over_time(process_resident_memory_bytes{job="prometheus"}[1h])')[0]["value"][1])
def size(field):
    n, t = field.split()
    return f"{int(n) / 1e6:.1f} MB in {float(t) * 1000:.0f} ms"
print(f"{label}: {samples:,} samples/scrape; curl: text {size(plain)}, gzip {size(gzip)}, OpenMetrics+gzip {size(open_)}")
print(f"  Prometheus: {len(durations)} scrapes, {int(sum(ups))} up; first {durations[0]:.2f} s, "
      f"then median {statistics.median(durations[1:]):.2f} s (min {min(durations[1:]):.2f}, max {max(durations[1:]):.2f}); "
      f"peak RSS {rss / 1e9:.2f} GB")
print("  every scrape (s): " + " ".join(f"{d:.2f}" for d in durations))
PY
    kill "$prom_pid" "$exporter_pid"
    wait "$prom_pid" "$exporter_pid" 2>/dev/null || true
}

echo "# $nodes nodes + master, $cpus CPUs, 4 interfaces; Prometheus $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f3), scrape every ${interval}s, timeout 10 s, $scrapes scrapes"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "default (CPU seconds summed per node)"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "--per-cpu" --per-cpu
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
