#!/usr/bin/env bash
# The main job on one machine, without root: recvstats in the foreground with
# a private shm directory, a sendstats reporting this machine's /proc over
# loopback as node 0, then what `beostat` and `beostatus --once` show and what
# a C program linked with -lbeostat reads (c-tests/dump_node.c) for node 0.
# Everything is removed at the end. It all runs in a network namespace of
# its own (`unshare -rn`, no root needed where user namespaces are allowed):
# recvstats joins its multicast group and multicasts update requests, and
# none of that may leave the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BEOSTAT_DEMO_TARGET:-}" ]; then
    cargo build --release --quiet
    target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
    if ! unshare -rn true 2>/dev/null; then
        echo "demo.sh: cannot make a network namespace (unshare -rn): enable user namespaces or run as root" >&2
        exit 1
    fi
    BEOSTAT_DEMO_TARGET=$target exec unshare -rn "$0" "$@"
fi
target=$BEOSTAT_DEMO_TARGET
ip link set lo up
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/shm" "$work/lib"
ln -s "$target/libbeostat.so" "$work/lib/libbeostat.so"
ln -s "$target/libbeostat.so" "$work/lib/libbeostat.so.1"
gcc -std=c99 -O2 -Wall -Wextra -Werror -Iinclude c-tests/dump_node.c \
    -L"$work/lib" -Wl,-rpath,"$work/lib" -lbeostat -o "$work/dump_node"

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== recvstats -f --shm-dir $work/shm -p $port --config /dev/null"
"$target/recvstats" -f --shm-dir "$work/shm" -p "$port" --config /dev/null --master-interval 1 &
pids+=($!)
echo "== sendstats -f -r 1 0 127.0.0.1:$port"
"$target/sendstats" -f -r 1 0 "127.0.0.1:$port" &
pids+=($!)

for _ in $(seq 100); do
    if BEOSTAT_SHM_DIR="$work/shm" "$work/dump_node" 0 >/dev/null 2>&1; then break; fi
    sleep 0.1
done
sleep 1.5   # a second report, so CPU use has two samples
echo "== beostat --loadavg --meminfo --cpuinfo"
"$target/beostat" --shm-dir "$work/shm" --loadavg --meminfo --cpuinfo
echo "== beostatus --once"
"$target/beostatus" --shm-dir "$work/shm" --once
echo "== what a C program linked with -lbeostat reads for node 0"
BEOSTAT_SHM_DIR="$work/shm" "$work/dump_node" 0 | grep -v '^stat [4-9]\|^stat [1-9][0-9]'
