#!/usr/bin/env bash
# no-multicast-leak.sh COMMAND [ARGS...]: runs COMMAND while tcpdump captures,
# on every real interface of this machine (all but loopback), the multicast,
# IGMP and MLD packets the machine sends; fails if there was any, listing
# them (needs iproute2). Tests, demos and benchmarks multicast only inside network namespaces
# they create (issue 14), so a full `cargo test` or scripts/demo.sh must send
# none. Neighbour discovery (ICMPv6 133-137) is not counted: the kernel sends
# it for any IPv6 traffic. Needs root (or CAP_NET_RAW) and tcpdump. Exits
# with COMMAND's status if it failed, else 1 on a leak, else 0.
set -uo pipefail

if ! command -v tcpdump >/dev/null; then
    echo "no-multicast-leak.sh: tcpdump is needed (apt-get install tcpdump)" >&2
    exit 2
fi
filter='(ip multicast or igmp or ip6 multicast) and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)'
work=$(mktemp -d)
pids=()
interfaces=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The interfaces that are up, from the kernel of this network namespace
# (/sys may show another one's).
for name in $(ip -o link show up | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
    [ "$name" = lo ] && continue
    tcpdump -i "$name" -Q out -n -U -w "$work/$name.pcap" "$filter" 2>"$work/$name.log" &
    pids+=($!)
    interfaces+=("$name")
done
# Start only once every capture is listening.
for name in "${interfaces[@]}"; do
    for _ in $(seq 100); do
        grep -q "listening on" "$work/$name.log" && break
        sleep 0.1
    done
    if ! grep -q "listening on" "$work/$name.log"; then
        echo "no-multicast-leak.sh: cannot capture on $name: $(cat "$work/$name.log")" >&2
        exit 2
    fi
done
echo "no-multicast-leak.sh: capturing outgoing multicast on ${interfaces[*]:-no interface} during: $*"

"$@"
status=$?

sleep 1   # let the last packets reach the capture files
for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
leaked=0
for name in "${interfaces[@]}"; do
    if ! packets=$(tcpdump -r "$work/$name.pcap" -n 2>"$work/$name.read"); then
        echo "no-multicast-leak.sh: cannot read the capture of $name: $(cat "$work/$name.read")" >&2
        exit 2
    fi
    count=$(printf '%s' "$packets" | grep -c . || true)
    echo "no-multicast-leak.sh: $name: $count multicast/IGMP/MLD packet(s) sent"
    if [ "$count" -gt 0 ]; then
        printf '%s\n' "$packets" | head -20 >&2
        leaked=1
    fi
done
if [ "$status" -ne 0 ]; then
    exit "$status"
fi
if [ "$leaked" -ne 0 ]; then
    echo "no-multicast-leak.sh: multicast left the machine during: $*" >&2
    exit 1
fi
