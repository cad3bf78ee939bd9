#!/usr/bin/env bash
# The Prometheus kit against the real thing: checks the alert rules
# (promtool check rules, promtool test rules) and the sample
# prometheus.yml, then runs recvstats fed by simulated nodes
# (beostat-loadgen; two of them stop and go down), beostat-exporter on
# that, and Debian's prometheus scraping it every second with the rules
# loaded, and runs scripts/prometheus_queries.py: a query per rule and per
# dashboard panel must return data, the scrape must have been OpenMetrics
# and gzip, and a down node must have no value series.
#
#   scripts/prometheus-check.sh          # needs prometheus and promtool
#
# Everything listens on 127.0.0.1 and is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in prometheus promtool python3; do
    command -v "$tool" >/dev/null || {
        echo "prometheus-check: needs $tool (apt-get install prometheus)" >&2
        exit 1
    }
done

kit=packaging/prometheus
promtool check rules "$kit/beostat.rules.yml"
promtool test rules "$kit/beostat.rules.test.yml"
promtool check config "$kit/prometheus.yml"

cargo build --quiet --bin recvstats --bin beostat-loadgen --bin beostat-exporter
bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
recv_port=$(free_port SOCK_DGRAM)
prom_port=$(free_port SOCK_STREAM)
mkdir -m 0755 "$work/shm"

echo "== recvstats on 127.0.0.1:$recv_port, nodes down after 5 s"
"$bin/recvstats" -f --shm-dir "$work/shm" -p "$recv_port" --config /dev/null \
    --master-interval 1 --expiry 5 2>"$work/recvstats.log" &
pids+=($!)
for _ in $(seq 100); do [ -e "$work/shm/beostat" ] && break; sleep 0.1; done

echo "== simulated nodes: 0-19 keep reporting, 20-21 stop after 2 s"
"$bin/beostat-loadgen" send -p "$recv_port" -n 20 -r 100 -s 600 >/dev/null &
pids+=($!)
"$bin/beostat-loadgen" send -p "$recv_port" --first-node 20 -n 2 -r 20 -s 2 >/dev/null
# A few datagrams of garbage, so a drop reason counts.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"not a beostat datagram", ("127.0.0.1", int(sys.argv[1]))) for _ in range(5)]' "$recv_port"

"$bin/beostat-exporter" --shm-dir "$work/shm" --listen 127.0.0.1:0 2>"$work/exporter.log" &
pids+=($!)
exporter=
for _ in $(seq 100); do
    exporter=$(sed -n 's|^beostat-exporter: listening on http://\(.*\)/metrics$|\1|p' "$work/exporter.log")
    [ -n "$exporter" ] && break
    sleep 0.1
done
[ -n "$exporter" ] || { cat "$work/exporter.log" >&2; exit 1; }
echo "== beostat-exporter on $exporter"

cat >"$work/prometheus.yml" <<CONFIG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/$kit/beostat.rules.yml
scrape_configs:
  - job_name: beostat
    static_configs:
      - targets: ["$exporter"]
CONFIG
echo "== prometheus $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f3) on 127.0.0.1:$prom_port"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

if ! python3 scripts/prometheus_queries.py "http://127.0.0.1:$prom_port" \
    packaging/grafana/beostat-dashboard.json; then
    echo "== prometheus log (last lines)" >&2
    tail -n 20 "$work/prometheus.log" >&2
    exit 1
fi
