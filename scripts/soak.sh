#!/usr/bin/env bash
# Soak test: recvstats under N simulated nodes (beostat-loadgen, over
# loopback) for M minutes, sampling its resident memory, open file
# descriptors and the size of its shm files every INTERVAL seconds. Prints one
# row per sample and a verdict: flat means the last sample is within SLACK
# percent (RSS) of the sample taken once every node had reported, and the fd
# count and file sizes did not change.
#
#   scripts/soak.sh [NODES] [MINUTES] [RATE]       (defaults: 5000 10 5000)
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${1:-5000}
minutes=${2:-10}
rate=${3:-5000}
interval=${SOAK_INTERVAL:-10}
slack=${SOAK_SLACK:-10}

cargo build --release --quiet --bin recvstats --bin beostat-loadgen
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$target/recvstats" -f --shm-dir "$work" -p "$port" --config /dev/null -i lo \
    -N "$nodes" --max-nodes $((nodes * 2)) 2>"$work/recvstats.log" &
daemon=$!
pids+=("$daemon")
sleep 1
seconds=$((minutes * 60))
"$target/beostat-loadgen" send -p "$port" -n "$nodes" -r "$rate" -s "$seconds" >"$work/loadgen.out" 2>&1 &
pids+=($!)

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status"; }
fds() { find "/proc/$daemon/fd" -mindepth 1 -maxdepth 1 | wc -l; }
files() { stat -c %s "$work/beostat" "$work/beostat.nodes" | awk '{ total += $1 } END { print total }'; }

echo "# recvstats soak: $nodes nodes, $rate datagrams/s, $minutes min, sample every ${interval}s"
printf '%8s %10s %5s %14s\n' seconds rss_kib fds shm_bytes
first_rss='' first_fds='' first_files=''
elapsed=0
while [ "$elapsed" -le "$seconds" ]; do
    r=$(rss) f=$(fds) s=$(files)
    printf '%8d %10d %5d %14d\n' "$elapsed" "$r" "$f" "$s"
    # The baseline is the first sample after every node has reported once.
    if [ -z "$first_rss" ] && [ "$elapsed" -ge $((nodes / rate + 2 * interval)) ]; then
        first_rss=$r first_fds=$f first_files=$s
    fi
    last_rss=$r last_fds=$f last_files=$s
    sleep "$interval"
    elapsed=$((elapsed + interval))
done
kill -0 "$daemon" || { echo "recvstats died"; cat "$work/recvstats.log"; exit 1; }
growth=$(( (last_rss - first_rss) * 100 / first_rss ))
echo "# baseline rss ${first_rss} KiB, last ${last_rss} KiB (${growth}%); fds ${first_fds} -> ${last_fds}; shm ${first_files} -> ${last_files} bytes"
if [ "$growth" -le "$slack" ] && [ "$first_fds" -eq "$last_fds" ] && [ "$first_files" -eq "$last_files" ]; then
    echo "# flat"
else
    echo "# NOT flat"
    exit 1
fi
