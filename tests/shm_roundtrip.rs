//! The Rust writer and reader agree: values, growth, resume, errors.

mod common;
use beostat::shm::layout::{Counter, CONTROL_FILE_NAME, NODES_FILE_NAME};
use beostat::shm::{
    monotonic_ns, now_ns, Access, NodeState, NodeUpdate, Reader, ShmWriter, WriterOptions,
};
use beostat::types::*;
use beostat::Error;
use std::os::unix::fs::PermissionsExt;

fn options(dir: &std::path::Path) -> WriterOptions {
    let mut o = WriterOptions::new(dir);
    o.node_capacity = 2;
    o
}

fn cpu(user: i64, system: i64, nice: i64, idle: i64) -> beostat_stat_cpu {
    beostat_stat_cpu {
        user,
        system,
        nice,
        idle,
    }
}

#[test]
fn values_written_are_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    let load = beostat_loadavg {
        load: [0.5, 1.25, 2.0],
        num_active_procs: 3,
        total_procs: 400,
        last_pid: 9999,
    };
    let mem = beostat_meminfo {
        mem: beostat_memusage {
            used: 3 << 30,
            free: 1 << 30,
        },
        swap: beostat_memusage {
            used: 0,
            free: 2 << 30,
        },
        shared: 4096,
        buffers: 8192,
        cached: 1 << 20,
    };
    let mut eth0 = beostat_net_dev::default();
    eth0.set_name(b"eth0");
    eth0.recv.bytes = 1000;
    eth0.trans.bytes = 500;
    let t0 = now_ns();
    writer
        .update(
            3,
            &NodeUpdate {
                time_ns: t0,
                name: Some(b"n3"),
                loadavg: Some(load),
                meminfo: Some(mem),
                net_dev: Some(&[eth0]),
                stat_cpu: Some(&[cpu(100, 50, 10, 840), cpu(0, 0, 0, 1000)]),
                mhz: Some(2400.5),
                ..Default::default()
            },
        )
        .unwrap();
    eth0.recv.bytes += 3000;
    writer
        .update(
            3,
            &NodeUpdate {
                time_ns: t0 + 2_000_000_000,
                net_dev: Some(&[eth0]),
                stat_cpu: Some(&[cpu(150, 100, 10, 890), cpu(0, 0, 0, 2000)]),
                ..Default::default()
            },
        )
        .unwrap();

    let reader = Reader::new(dir.path());
    assert_eq!(reader.loadavg(3).unwrap(), load);
    assert_eq!(reader.meminfo(3).unwrap(), mem);
    assert_eq!(reader.name(3).unwrap(), b"n3");
    assert_eq!(reader.mhz(3).unwrap(), 2400.5);
    assert_eq!(reader.cpu_count(3).unwrap(), 2);
    // Writer grew from 2 to at least 4 nodes for node 3.
    assert_eq!(
        reader.control().unwrap().records,
        1,
        "node 3 costs one record, not four"
    );
    assert_eq!(reader.node_count().unwrap(), 4);
    // 3000 bytes over 2 seconds.
    assert_eq!(reader.net_rate(3).unwrap(), 1500);
    // CPU 0: busy 100 of 150 ticks; CPU 1 idle.
    assert!((reader.cpu_percent(3, 0).unwrap() - 100.0 / 150.0).abs() < 1e-6);
    assert_eq!(reader.cpu_percent(3, 1).unwrap(), 0.0);
    assert_eq!(reader.stat_cpu(3, 0).unwrap(), cpu(150, 100, 10, 890));
    let devs = reader.net_dev(3).unwrap();
    assert_eq!(devs[0].name_bytes(), b"eth0");
    assert_eq!(devs[0].recv.bytes, 4000);
    assert_eq!(devs[1].name[0], 0);
    assert_eq!(
        reader.time(3).unwrap().time as u64,
        (t0 + 2_000_000_000) / 1_000_000_000
    );
    assert_eq!(reader.state(3).unwrap(), NodeState::Up);
    let all = reader.nodes().unwrap();
    assert_eq!(all.iter().map(|n| n.node).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn unknown_nodes_and_cpus_are_errors_with_the_legacy_errno() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    writer
        .update(
            0,
            &NodeUpdate {
                stat_cpu: Some(&[cpu(1, 1, 1, 1)]),
                ..Default::default()
            },
        )
        .unwrap();
    let reader = Reader::new(dir.path());
    assert_eq!(
        reader.loadavg(1).unwrap_err().errno(),
        libc::ESRCH,
        "never reported"
    );
    assert_eq!(reader.loadavg(-2).unwrap_err().errno(), libc::ESRCH);
    assert_eq!(reader.loadavg(1 << 30).unwrap_err().errno(), libc::ESRCH);
    assert_eq!(reader.stat_cpu(0, 1).unwrap_err().errno(), libc::EINVAL);
    assert_eq!(reader.stat_cpu(0, -1).unwrap_err().errno(), libc::EINVAL);
    let missing = Reader::new(dir.path().join("nope"));
    assert!(matches!(missing.loadavg(0), Err(Error::NoFiles(_))));
}

#[test]
fn files_are_0644_and_a_second_writer_is_refused_with_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = ShmWriter::open(&options(dir.path())).unwrap();
    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{name}");
    }
    // flock is per open file description, so a second open in this process conflicts too.
    match ShmWriter::open(&options(dir.path())) {
        Err(Error::WriterRunning { pid: Some(pid), .. }) => {
            assert_eq!(pid, std::process::id() as i32)
        }
        other => panic!("expected WriterRunning, got {other:?}"),
    }
}

#[test]
fn a_restarted_writer_resumes_the_same_files_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let load = beostat_loadavg {
        load: [1.0, 2.0, 3.0],
        num_active_procs: 1,
        total_procs: 2,
        last_pid: 3,
    };
    {
        let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
        writer
            .update(
                1,
                &NodeUpdate {
                    loadavg: Some(load),
                    ..Default::default()
                },
            )
            .unwrap();
        writer.add_counter(Counter::DatagramsReceived, 7);
    }
    let reader = Reader::new(dir.path());
    let before = reader.control().unwrap().generation;
    let writer = ShmWriter::open(&options(dir.path())).unwrap();
    assert_eq!(
        writer.generation(),
        before,
        "same capacity: the node file is resumed, not replaced"
    );
    assert_eq!(reader.loadavg(1).unwrap(), load);
    assert_eq!(
        reader.counters().unwrap()[Counter::DatagramsReceived as usize],
        7
    );
}

#[test]
fn growth_keeps_existing_data_and_readers_follow() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    writer
        .update(
            -1,
            &NodeUpdate {
                stat_cpu: Some(&[cpu(1, 2, 3, 4)]),
                ..Default::default()
            },
        )
        .unwrap();
    let reader = Reader::new(dir.path());
    let g0 = reader.control().unwrap().generation;
    let many: Vec<_> = (0..40).map(|i| cpu(i, i, i, i)).collect();
    writer
        .update(
            500,
            &NodeUpdate {
                stat_cpu: Some(&many),
                ..Default::default()
            },
        )
        .unwrap();
    let info = reader.control().unwrap();
    assert_eq!(
        info.generation, g0,
        "the file grows in place: no new generation"
    );
    assert_eq!(info.records, 2, "node 500 costs one record, not 500");
    assert_eq!(reader.stat_cpu(-1, 0).unwrap(), cpu(1, 2, 3, 4));
    assert_eq!(reader.stat_cpu(500, 39).unwrap(), cpu(39, 39, 39, 39));
}

#[test]
fn nodes_expire_but_keep_their_data_and_access_rules_apply() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path());
    o.node_expiry_secs = 10;
    let mut writer = ShmWriter::open(&o).unwrap();
    let old = monotonic_ns().saturating_sub(60_000_000_000);
    writer
        .update(
            0,
            &NodeUpdate {
                monotonic_ns: Some(old),
                mhz: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap();
    writer
        .update(
            1,
            &NodeUpdate {
                mhz: Some(2.0),
                ..Default::default()
            },
        )
        .unwrap();
    writer
        .set_access(
            1,
            Some(Access {
                uid: 1000,
                gid: 100,
                mode: 0o110,
            }),
        )
        .unwrap();
    assert_eq!(writer.expire(), vec![0]);
    let reader = Reader::new(dir.path());
    assert_eq!(reader.state(0).unwrap(), NodeState::Down);
    assert_eq!(
        reader.mhz(0).unwrap(),
        1.0,
        "down nodes keep their last data"
    );
    assert!(
        !reader.is_available(0, 0, &[]).unwrap(),
        "down nodes are not available, even to root"
    );
    assert!(reader.is_available(1, 1000, &[]).unwrap(), "owner");
    assert!(reader.is_available(1, 2000, &[100]).unwrap(), "group");
    assert!(!reader.is_available(1, 2000, &[5]).unwrap(), "others");
    assert!(reader.is_available(1, 0, &[]).unwrap(), "root");
    assert_eq!(
        reader.available_nodes(2000, &[5]).unwrap(),
        Vec::<i32>::new()
    );
    assert_eq!(reader.available_nodes(1000, &[]).unwrap(), vec![1]);
}

/// The writer finds expired nodes through an index it keeps in memory;
/// nodes a previous writer published, and nodes whose record moved to a
/// larger one, must still expire, each once, and a node that reported
/// again must not.
#[test]
fn nodes_of_a_previous_writer_and_of_a_moved_record_still_expire_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path());
    o.node_expiry_secs = 10;
    let now = monotonic_ns();
    let at = |seconds_ago: u64| NodeUpdate {
        monotonic_ns: Some(now.saturating_sub(seconds_ago * 1_000_000_000)),
        ..Default::default()
    };
    {
        let mut first = ShmWriter::open(&o).unwrap();
        first.update(0, &at(60)).unwrap();
        first.update(1, &at(60)).unwrap();
        first.update(2, &at(0)).unwrap();
    }
    let mut writer = ShmWriter::open(&o).unwrap();
    // Node 1 reports again; node 0 stays silent.
    writer.update(1, &at(0)).unwrap();
    // A node far above the others, whose record then moves (more CPUs).
    writer.update(60_000, &at(60)).unwrap();
    let many: Vec<_> = (0..40).map(|i| cpu(i, i, i, i)).collect();
    writer
        .update(
            60_000,
            &NodeUpdate {
                stat_cpu: Some(&many),
                ..at(60)
            },
        )
        .unwrap();
    let mut down = writer.expire_at(now);
    down.sort();
    assert_eq!(down, vec![0, 60_000]);
    assert!(writer.expire_at(now).is_empty(), "each node goes down once");
    let reader = Reader::new(dir.path());
    assert_eq!(reader.state(0).unwrap(), NodeState::Down);
    assert_eq!(reader.state(1).unwrap(), NodeState::Up);
    assert_eq!(reader.state(2).unwrap(), NodeState::Up);
    assert_eq!(reader.stat_cpu(60_000, 39).unwrap(), cpu(39, 39, 39, 39));
    // Later, the others go down too; a down node reporting is up again.
    assert_eq!(writer.expire_at(now + 11_000_000_000).len(), 2);
    writer.update(0, &at(0)).unwrap();
    assert_eq!(reader.state(0).unwrap(), NodeState::Up);
    assert_eq!(writer.expire_at(now + 11_000_000_000), vec![0]);
}

#[test]
fn a_reader_whose_file_is_truncated_gets_an_error_not_sigbus_then_fresh_data() {
    // Regression: the SIGBUS guard is what keeps this process alive.
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    writer
        .update(
            0,
            &NodeUpdate {
                mhz: Some(5.0),
                ..Default::default()
            },
        )
        .unwrap();
    let reader = Reader::new(dir.path());
    assert_eq!(reader.mhz(0).unwrap(), 5.0);
    let nodes = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(NODES_FILE_NAME))
        .unwrap();
    nodes.set_len(0).unwrap();
    let error = reader.mhz(0).unwrap_err();
    assert_eq!(error.errno(), libc::EPROTO, "{error}");
    // The writer rebuilds the file on its next update; the reader follows.
    writer
        .update(
            0,
            &NodeUpdate {
                mhz: Some(6.0),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(reader.mhz(0).unwrap(), 6.0);
}

/// Regression (issue 11, item 5): facing a file with many unbacked pages,
/// the SIGBUS guard mapped one page per fault until `vm.max_map_count` ran
/// out, and the reader then died of SIGBUS. Now the first fault replaces
/// the whole mapping: the reader's mapping count stays flat.
#[test]
fn a_file_truncated_under_thousands_of_records_costs_the_reader_one_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let many: Vec<_> = (0..16).map(|i| cpu(i, i, i, i)).collect();
    {
        let mut writer = ShmWriter::open(&options(&path)).unwrap();
        for node in 0..3000 {
            writer
                .update(
                    node,
                    &NodeUpdate {
                        stat_cpu: Some(&many),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
    }
    let maps = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count()
    };
    let reader = Reader::new(&path);
    assert_eq!(reader.cpu_count(2999).unwrap(), 16);
    let before = maps();
    // Every page past the header loses its backing.
    let nodes = std::fs::OpenOptions::new()
        .write(true)
        .open(path.join(NODES_FILE_NAME))
        .unwrap();
    nodes.set_len(4096).unwrap();
    let mut errors = 0;
    for node in 0..3000 {
        // Each read touches another page of the lost part.
        errors += usize::from(reader.cpu_percent(node, 0).is_err());
    }
    assert_eq!(errors, 3000, "every read fails cleanly");
    let after = maps();
    println!("{before} mappings before, {after} after 3000 faulting reads");
    assert!(
        after <= before + 4,
        "{before} mappings before, {after} after"
    );
}

#[test]
fn fewer_interfaces_than_last_time_leave_zeroed_entries_in_the_file() {
    // The writer stores only the entries a report uses and zeroes the ones
    // the previous report used beyond them; programs that map the file see
    // the table as if written whole.
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    let device = |name: &[u8], bytes: u64| {
        let mut d = beostat_net_dev::default();
        d.set_name(name);
        d.recv.bytes = bytes;
        d
    };
    let three = [device(b"lo", 1), device(b"eth0", 2), device(b"ib0", 3)];
    for devices in [&three[..], &three[..1]] {
        writer
            .update(
                1,
                &NodeUpdate {
                    net_dev: Some(devices),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let reader = Reader::new(dir.path());
    let file = std::fs::read(dir.path().join(NODES_FILE_NAME)).unwrap();
    let table = common::record_offset(&file, 1)
        + std::mem::size_of::<beostat::shm::layout::beostat_node_record>();
    let entry = std::mem::size_of::<beostat_net_dev>();
    assert!(file[table..table + entry].iter().any(|&b| b != 0));
    assert!(
        file[table + entry..table + 3 * entry]
            .iter()
            .all(|&b| b == 0),
        "entries 1 and 2 of the first report are zeroed"
    );
    assert_eq!(reader.net_dev(1).unwrap()[0].name_bytes(), b"lo");
    assert_eq!(reader.net_dev(1).unwrap()[1], beostat_net_dev::default());
}

/// `Reader::summaries` (the web view's one-pass read) gives what
/// `nodes()`, `count_idle_cpus` and `count_idle_cpus_on_node` give, node by
/// node: down nodes, access rules, a node without a stat sample, a gap and
/// a number far above the rest.
#[test]
fn summaries_agree_with_the_full_reads_and_the_idle_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    let now = monotonic_ns();
    let stale = now.saturating_sub(60_000_000_000);
    let first: Vec<_> = (0..4).map(|i| cpu(100 * i, 50, 0, 1000)).collect();
    let second: Vec<_> = (0..4)
        .map(|i| cpu(100 * i + 300 * i, 50 + 20 * i, 10, 1000 + 400))
        .collect();
    for (node, arrived, samples) in [
        (-1, now, 2),
        (0, stale, 2),
        (1, now, 2),
        (2, now, 0),
        (60_000, now, 2),
    ] {
        // No stat sample: one report without /proc/stat.
        let reports: Vec<Option<&[beostat_stat_cpu]>> = match samples {
            0 => vec![None],
            n => [&first, &second]
                .into_iter()
                .take(n)
                .map(|v| Some(v.as_slice()))
                .collect(),
        };
        for sample in reports {
            writer
                .update(
                    node,
                    &NodeUpdate {
                        monotonic_ns: Some(arrived),
                        cpu_count: Some(4),
                        stat_cpu: sample,
                        loadavg: Some(beostat_loadavg {
                            load: [node as f32 + 0.5, 1.0, 2.0],
                            ..Default::default()
                        }),
                        meminfo: Some(beostat_meminfo {
                            mem: beostat_memusage {
                                used: 3 << 30,
                                free: (node.max(0) as u64 + 1) << 20,
                            },
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
    }
    writer
        .set_access(
            1,
            Some(Access {
                uid: 1000,
                gid: 100,
                mode: 0o100,
            }),
        )
        .unwrap();
    writer.expire();
    let reader = Reader::new(dir.path());
    let full = reader.nodes().unwrap();
    for (uid, gids, threshold) in [
        (0, vec![], 0.5f32),
        (1000, vec![], 0.9),
        (2000, vec![5], 0.9),
        (2000, vec![], 2.0),
    ] {
        let summaries = reader.summaries(threshold, uid, &gids).unwrap();
        let numbers: Vec<i32> = summaries.iter().map(|s| s.node).collect();
        assert_eq!(numbers, vec![-1, 0, 1, 2, 60_000]);
        for (s, n) in summaries.iter().zip(&full) {
            assert_eq!(s.node, n.node);
            assert_eq!(s.state, n.state, "node {}", n.node);
            assert_eq!(s.cpu_count, n.cpu_count);
            assert_eq!(s.load1, n.loadavg.load[0]);
            assert_eq!(s.meminfo.mem.free, n.meminfo.mem.free);
            assert_eq!(s.net_rate, n.net_rate);
            let sampled = n.stat_cpu.len().min(n.stat_cpu_previous.len());
            let mean = (sampled > 0).then(|| {
                (0..sampled).filter_map(|c| n.cpu_percent(c)).sum::<f32>() / sampled as f32
            });
            assert_eq!(s.cpu_busy, mean, "node {}", n.node);
            let admitted = n.node != 1 || uid == 0 || uid == 1000;
            let idle = if s.state == NodeState::Up && admitted {
                reader.count_idle_cpus_on_node(n.node, threshold).unwrap()
            } else {
                0
            };
            assert_eq!(s.idle_cpus, idle, "node {} uid {uid}", n.node);
        }
        let total: i32 = summaries
            .iter()
            .filter(|s| s.node >= 0)
            .map(|s| s.idle_cpus)
            .sum();
        assert_eq!(
            total,
            reader.count_idle_cpus(threshold, uid, &gids).unwrap()
        );
    }
    // The cases above are not vacuous.
    let root = reader.summaries(0.5, 0, &[]).unwrap();
    assert_eq!(root[1].state, NodeState::Down);
    assert_eq!(root[3].cpu_busy, None, "no stat sample: no CPU use");
    assert!(root[2].cpu_busy.is_some_and(|b| b > 0.0 && b < 1.0));
    let idle_for = |uid| reader.summaries(2.0, uid, &[]).unwrap()[2].idle_cpus;
    assert_eq!((idle_for(0), idle_for(1000), idle_for(2000)), (4, 4, 0));
}
