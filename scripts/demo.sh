#!/usr/bin/env bash
# The main job on one machine, without root: recvstats in the foreground with
# a private shm directory, a sendstats reporting this machine's /proc over
# loopback as node 0, then what `beostat` and `beostatus --once` show and what
# a C program linked with -lbeostat (scripts/demo_node.c) reads for the
# master (node -1) and node 0. Everything is stopped and removed at the end.
# It all runs in a network namespace of its own where user namespaces are
# allowed (`unshare -rn`, no root needed), so nothing it sends can leave the
# machine; elsewhere on loopback (no -i: recvstats and sendstats multicast
# nothing). Needs the Rust toolchain, gcc, bash, and for the namespace
# unshare (util-linux) and ip (iproute2).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BEOSTAT_DEMO_TARGET:-}" ]; then
    echo "== building (cargo build --release; the first build takes a few minutes)"
    cargo build --release
    target=$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
    if unshare -rn true 2>/dev/null; then
        BEOSTAT_DEMO_TARGET=$target BEOSTAT_DEMO_NETNS=1 exec unshare -rn "$0" "$@"
    fi
    # Some distributions forbid unprivileged user namespaces (Ubuntu 24.04's
    # AppArmor default). The demo passes no -i, so nothing is multicast
    # anyway: everything goes over loopback.
    echo "== no private network namespace here (unshare -rn refused): running on this machine's loopback; nothing is multicast without -i"
    BEOSTAT_DEMO_TARGET=$target
fi
target=$BEOSTAT_DEMO_TARGET
[ -z "${BEOSTAT_DEMO_NETNS:-}" ] || ip link set lo up
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
echo "== gcc scripts/demo_node.c -lbeostat"
gcc -std=c99 -O2 -Wall -Wextra -Werror -D_DEFAULT_SOURCE -Iinclude scripts/demo_node.c \
    -L"$work/lib" -Wl,-rpath,"$work/lib" -lbeostat -o "$work/demo_node"

# Port 0: the kernel picks a free port, and recvstats logs which.
echo "== recvstats -f --shm-dir $work/shm -p 0 --config /dev/null --master-interval 1"
: > "$work/recvstats.log"
"$target/recvstats" -f --shm-dir "$work/shm" -p 0 --config /dev/null --master-interval 1 \
    2> >(tee "$work/recvstats.log" >&2) &
pids+=($!)
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^recvstats: listening on UDP port \([0-9]*\).*/\1/p' "$work/recvstats.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "demo: recvstats did not start" >&2; exit 1; }
echo "== sendstats -f -r 1 0 127.0.0.1:$port"
"$target/sendstats" -f -r 1 0 "127.0.0.1:$port" &
pids+=($!)

for _ in $(seq 100); do
    if BEOSTAT_SHM_DIR="$work/shm" "$work/demo_node" 0 >/dev/null 2>&1; then break; fi
    sleep 0.1
done
sleep 1.5   # a second report, so CPU use has two samples
echo "== beostat --loadavg --meminfo --cpuinfo"
"$target/beostat" --shm-dir "$work/shm" --loadavg --meminfo --cpuinfo
echo "== beostatus --once"
"$target/beostatus" --shm-dir "$work/shm" --once
echo "== what a C program linked with -lbeostat reads (scripts/demo_node.c)"
echo "master (node -1):"
BEOSTAT_SHM_DIR="$work/shm" "$work/demo_node" -1
echo "node 0:"
BEOSTAT_SHM_DIR="$work/shm" "$work/demo_node" 0
