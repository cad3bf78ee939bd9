//! Runs the C harness: programs in `c-tests/` compiled with
//! `-std=c99 -Wall -Wextra -Werror` against `include/sys/beostat.h`, linked
//! with `-lbeostat` against the library cargo just built, and run on files
//! the Rust writer made. Each prints "N passed, N failed"; any failure fails
//! the test with the program's output.

use beostat::shm::layout::{
    BEOSTAT_SHM_HEADER_BYTES, BEOSTAT_SHM_LAYOUT_VERSION, CONTROL_FILE_NAME, NODES_FILE_NAME,
};
use beostat::shm::{now_ns, Access, NodeUpdate, ShmWriter, WriterOptions};
use beostat::types::*;
use std::path::Path;

mod common;
use common::{assert_all_passed, compile, run};

fn cpu(user: i64, system: i64, nice: i64, idle: i64) -> beostat_stat_cpu {
    beostat_stat_cpu {
        user,
        system,
        nice,
        idle,
    }
}

fn net(name: &str, recv: u64, trans: u64) -> beostat_net_dev {
    let mut dev = beostat_net_dev::default();
    dev.set_name(name.as_bytes());
    dev.recv = beostat_net_stat {
        bytes: recv,
        packets: recv / 100,
        errs: 1,
        drop: 2,
        fifo: 3,
        compressed: 4,
    };
    dev.frame = 5;
    dev.multicast = 6;
    dev.trans = beostat_net_stat {
        bytes: trans,
        packets: trans / 100,
        ..Default::default()
    };
    dev.colls = 7;
    dev.carrier = 8;
    dev
}

/// The known values c-tests/api_values.c and manual_examples.c expect.
fn write_fixture(dir: &Path) -> ShmWriter {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    let mut options = WriterOptions::new(dir);
    options.node_capacity = 2;
    let mut w = ShmWriter::open(&options).unwrap();
    let now = now_ns();
    let mut statfs = statfs_zeroed();
    statfs.f_type = 0xEF53;
    statfs.f_bsize = 4096;
    statfs.f_frsize = 4096;
    statfs.f_blocks = 26_214_400;
    statfs.f_bfree = 13_107_200;
    statfs.f_bavail = 12_000_000;
    statfs.f_files = 1000;
    statfs.f_ffree = 500;
    statfs.f_namelen = 255;

    let master_load = beostat_loadavg {
        load: [0.25, 0.5, 0.75],
        num_active_procs: 2,
        total_procs: 300,
        last_pid: 4242,
    };
    w.update(
        -1,
        &NodeUpdate {
            name: Some(b"master"),
            loadavg: Some(master_load),
            stat_cpu: Some(&[cpu(1, 1, 0, 8), cpu(2, 2, 0, 6)]),
            mhz: Some(3000.0),
            ..Default::default()
        },
    )
    .unwrap();

    let first = [
        cpu(500, 500, 0, 1000),
        cpu(1000, 2000, 10, 4000),
        cpu(0, 0, 0, 0),
        cpu(10, 10, 10, 10),
    ];
    let second = [
        cpu(550, 550, 0, 1000),
        cpu(1015, 2010, 10, 4075),
        cpu(50, 0, 0, 50),
        cpu(10, 10, 10, 110),
    ];
    let devices_before = [
        net("eth0", 1000, 2000),
        net("lo", 77, 77),
        net("ib0", 123_456_789, 0),
    ];
    let devices_after = [
        net("eth0", 5000, 4000),
        net("lo", 77, 77),
        net("ib0", 123_456_789, 0),
    ];
    w.update(
        0,
        &NodeUpdate {
            time_ns: now - 2_000_000_000,
            name: Some(b"n0"),
            stat_cpu: Some(&first),
            net_dev: Some(&devices_before),
            ..Default::default()
        },
    )
    .unwrap();
    w.update(
        0,
        &NodeUpdate {
            time_ns: now,
            loadavg: Some(beostat_loadavg {
                load: [1.5, 1.25, 1.0],
                num_active_procs: 5,
                total_procs: 512,
                last_pid: 31337,
            }),
            meminfo: Some(beostat_meminfo {
                mem: beostat_memusage {
                    used: 3 * GIB,
                    free: GIB,
                },
                swap: beostat_memusage {
                    used: 256 * MIB,
                    free: 768 * MIB,
                },
                shared: 64 * MIB,
                buffers: 128 * MIB,
                cached: 512 * MIB,
            }),
            stat_cpu: Some(&second),
            net_dev: Some(&devices_after),
            mhz: Some(2400.0),
            statfs: Some(statfs),
            ..Default::default()
        },
    )
    .unwrap();
    w.update(
        1,
        &NodeUpdate {
            time_ns: now - 3600 * 1_000_000_000,
            monotonic_ns: Some(beostat::shm::monotonic_ns().saturating_sub(3600 * 1_000_000_000)),
            name: Some(b"n1"),
            stat_cpu: Some(&[cpu(0, 0, 0, 100), cpu(0, 0, 0, 100)]),
            ..Default::default()
        },
    )
    .unwrap();
    w.update(
        2,
        &NodeUpdate {
            name: Some(b"n2"),
            stat_cpu: Some(&[cpu(90, 0, 0, 10), cpu(10, 0, 0, 90)]),
            ..Default::default()
        },
    )
    .unwrap();
    w.set_access(
        2,
        Some(Access {
            uid: 1000,
            gid: 100,
            mode: 0o110,
        }),
    )
    .unwrap();
    let mut mem3 = beostat_meminfo::default();
    mem3.mem.free = 123_456_789;
    w.update(
        3,
        &NodeUpdate {
            name: Some(b"n3"),
            stat_cpu: Some(&[cpu(60, 0, 0, 40)]),
            loadavg: Some(beostat_loadavg {
                last_pid: 777,
                ..Default::default()
            }),
            meminfo: Some(mem3),
            ..Default::default()
        },
    )
    .unwrap();
    w.set_last_multicast(1_700_000_000);
    w
}

#[test]
fn every_api_function_returns_the_fixture_values() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_fixture(dir.path());
    let program = compile("api_values");
    assert_all_passed("api_values", &run(&program, dir.path(), &[]));
}

#[test]
fn the_manuals_examples_compile_unchanged_and_read_right_values() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_fixture(dir.path());
    let program = compile("manual_examples");
    assert_all_passed("manual_examples", &run(&program, dir.path(), &[]));
}

#[test]
fn error_paths_return_minus_one_with_errno() {
    let program = compile("api_errors");

    let empty = tempfile::tempdir().unwrap();
    assert_all_passed(
        "api_errors nofiles",
        &run(&program, empty.path(), &["nofiles"]),
    );
    let missing = empty.path().join("does-not-exist");
    assert_all_passed(
        "api_errors nofiles (no directory)",
        &run(&program, &missing, &["nofiles"]),
    );

    let fixture = tempfile::tempdir().unwrap();
    let _writer = write_fixture(fixture.path());
    assert_all_passed(
        "api_errors arguments",
        &run(&program, fixture.path(), &["arguments"]),
    );

    // A record left mid-write: the first 8 bytes of node 0's record are
    // the sequence counter. The writer stays alive (holding the lock) but
    // idle, as if it had stopped between the odd and the even store.
    let busy = tempfile::tempdir().unwrap();
    let writer = write_fixture(busy.path());
    let nodes = busy.path().join(NODES_FILE_NAME);
    let mut bytes = std::fs::read(&nodes).unwrap();
    let seq_at = common::record_offset(&bytes, 0);
    let seq = u64::from_ne_bytes(bytes[seq_at..seq_at + 8].try_into().unwrap());
    bytes[seq_at..seq_at + 8].copy_from_slice(&(seq | 1).to_ne_bytes());
    std::fs::write(&nodes, bytes).unwrap();
    assert_all_passed("api_errors busy", &run(&program, busy.path(), &["busy"]));
    drop(writer);

    let foreign = tempfile::tempdir().unwrap();
    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        std::fs::write(
            foreign.path().join(name),
            vec![0x5a; 2 * BEOSTAT_SHM_HEADER_BYTES],
        )
        .unwrap();
    }
    assert_all_passed(
        "api_errors badmagic",
        &run(&program, foreign.path(), &["badmagic"]),
    );

    let newer = tempfile::tempdir().unwrap();
    drop(write_fixture(newer.path()));
    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        let path = newer.path().join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&(BEOSTAT_SHM_LAYOUT_VERSION + 1).to_ne_bytes());
        std::fs::write(&path, bytes).unwrap();
    }
    assert_all_passed("api_errors newer", &run(&program, newer.path(), &["newer"]));
}
