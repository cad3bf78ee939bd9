#!/usr/bin/env python3
"""Writes the generated /proc samples in this folder.

Run from anywhere: `python3 tests/data/proc/generate.py`. The output is
deterministic (fixed seeds), so re-running it reproduces the committed files
byte for byte; a diff after running it means someone edited a generated file.

The samples follow the kernel's own format strings, so they look like what a
real machine of that size prints:

- stat-256cpu-long-intr: /proc/stat of a 256-CPU machine (fs/proc/stat.c,
  kernel >= 2.6.33: ten time columns per cpu line). The aggregate "cpu" line is
  the column-wise sum of the cpuN lines, as the kernel computes it. The "intr"
  line lists 18000 interrupt counters (large machines with many MSI-X vectors
  do print thousands) so it is longer than 70 KiB: the parser must skip it
  without splitting it into fields.
- netdev-40-interfaces: /proc/net/dev with 40 interfaces, more than
  MAX_NET_DEV (32), printed with the format of net/core/net-procfs.c
  ("%6s:%8llu %7llu %4llu %4llu %4llu %5llu %10llu %9llu %8llu %7llu %4llu
  %4llu %4llu %5llu %7llu %10llu").
"""

import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="ascii", newline="\n") as f:
        f.write(text)


def stat_256cpu_long_intr():
    rng = random.Random(256)
    cpus = []
    for _ in range(256):
        user = rng.randint(100_000, 9_000_000)
        nice = rng.randint(0, 50_000)
        system = rng.randint(10_000, 2_000_000)
        idle = rng.randint(10_000_000, 90_000_000)
        iowait = rng.randint(0, 200_000)
        irq = rng.randint(0, 30_000)
        softirq = rng.randint(0, 80_000)
        steal = rng.randint(0, 5_000)
        guest = rng.randint(0, user // 10)  # already counted in user
        guest_nice = rng.randint(0, nice // 10)  # already counted in nice
        cpus.append([user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice])
    total = [sum(column) for column in zip(*cpus)]

    irqs = [0 if rng.random() < 0.7 else rng.randint(1, 2_000_000_000) for _ in range(18000)]
    softirqs = [rng.randint(0, 10**9) for _ in range(10)]

    lines = ["cpu  " + " ".join(map(str, total))]
    lines += [f"cpu{i} " + " ".join(map(str, times)) for i, times in enumerate(cpus)]
    intr = "intr " + str(sum(irqs)) + " " + " ".join(map(str, irqs))
    assert len(intr) > 70 * 1024, len(intr)
    lines.append(intr)
    lines += [
        "ctxt 98127365512",
        "btime 1718000000",
        "processes 73518288",
        "procs_running 97",
        "procs_blocked 3",
        "softirq " + str(sum(softirqs)) + " " + " ".join(map(str, softirqs)),
    ]
    write("stat-256cpu-long-intr", "\n".join(lines) + "\n")


def netdev_40_interfaces():
    rng = random.Random(40)
    names = ["lo"] + [f"eno{i}" for i in range(1, 5)] + ["ib0", "ib1", "bond0"]
    names += [f"bond0.{vlan}" for vlan in range(100, 108)]
    names += ["docker0"] + [f"veth{rng.getrandbits(28):07x}" for _ in range(40 - len(names) - 1)]
    assert len(names) == 40
    lines = [
        "Inter-|   Receive                                                |  Transmit",
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
    ]
    widths = [8, 7, 4, 4, 4, 5, 10, 9, 8, 7, 4, 4, 4, 5, 7, 10]
    for name in names:
        rx_packets = rng.randint(0, 10**9)
        tx_packets = rng.randint(0, 10**9)
        values = [
            rx_packets * rng.randint(60, 1500), rx_packets, rng.randint(0, 9), rng.randint(0, 99),
            0, rng.randint(0, 9), 0, rng.randint(0, 10**6),
            tx_packets * rng.randint(60, 1500), tx_packets, rng.randint(0, 9), rng.randint(0, 99),
            0, 0, 0, 0,
        ]
        counters = " ".join(f"{v:{w}d}" for v, w in zip(values, widths))
        lines.append(f"{name:>6}:{counters}")
    write("netdev-40-interfaces", "\n".join(lines) + "\n")


if __name__ == "__main__":
    stat_256cpu_long_intr()
    netdev_40_interfaces()
