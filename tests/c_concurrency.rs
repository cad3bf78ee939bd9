//! C readers against a live writer: no torn records, no crash when the
//! files grow, vanish, are replaced or truncated under them.

use beostat::shm::layout::{CONTROL_FILE_NAME, NODES_FILE_NAME};
use beostat::shm::{NodeUpdate, ShmWriter, WriterOptions};
use beostat::types::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod common;
use common::{assert_all_passed, compile};

/// meminfo and loadavg whose every field is `k`.
fn uniform(k: u64) -> NodeUpdate<'static> {
    let k32 = (k % (1 << 24)) as i32;
    NodeUpdate {
        meminfo: Some(beostat_meminfo {
            mem: beostat_memusage { used: k, free: k },
            swap: beostat_memusage { used: k, free: k },
            shared: k,
            buffers: k,
            cached: k,
        }),
        loadavg: Some(beostat_loadavg {
            load: [k32 as f32; 3],
            num_active_procs: k32,
            total_procs: k32,
            last_pid: k32,
        }),
        ..Default::default()
    }
}

#[test]
fn a_million_reads_against_a_busy_writer_find_no_torn_record() {
    let program = compile("torn_reader");
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShmWriter::open(&WriterOptions::new(dir.path())).unwrap();
    writer.update(0, &uniform(0)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut k = 1;
            while !stop.load(Ordering::Relaxed) {
                writer.update(0, &uniform(k)).unwrap();
                k += 1;
            }
            k
        })
    };
    let output = Command::new(&program)
        .arg("1000000")
        .env("BEOSTAT_SHM_DIR", dir.path())
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let writes = hammer.join().unwrap();
    println!("writer made {writes} updates");
    assert_all_passed("torn_reader", &output);
}

fn node(mhz: f32, cpus: usize) -> (f32, Vec<beostat_stat_cpu>) {
    (
        mhz,
        (0..cpus)
            .map(|i| beostat_stat_cpu {
                user: i as i64,
                system: 1,
                nice: 0,
                idle: 5,
            })
            .collect(),
    )
}

fn publish(writer: &mut ShmWriter, number: i32, mhz: f32, cpus: usize) {
    let (mhz, stat) = node(mhz, cpus);
    writer
        .update(
            number,
            &NodeUpdate {
                mhz: Some(mhz),
                stat_cpu: Some(&stat),
                name: Some(b"n"),
                ..Default::default()
            },
        )
        .unwrap();
}

fn pause() {
    thread::sleep(Duration::from_millis(30));
}

/// Longer than a reader's path revalidation interval (1 s), so a reader that
/// keeps calling has certainly switched to the files now at the path.
fn let_readers_follow() {
    thread::sleep(Duration::from_millis(1500));
}

#[test]
fn a_c_reader_survives_growth_deletion_replacement_and_truncation() {
    let program = compile("survivor");
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let done = scratch.path().join("done");
    let options = |d: &Path| {
        let mut o = WriterOptions::new(d);
        o.node_capacity = 2;
        o
    };
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    for n in -1..4 {
        publish(&mut writer, n, 100.0, 1);
    }
    let child = Command::new(&program)
        .arg(&done)
        .env("BEOSTAT_SHM_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Growth: more nodes and more CPUs, each a new generation.
    for step in 1..=12 {
        publish(&mut writer, step * 40, 200.0, step as usize * 3);
        publish(&mut writer, 0, 200.0, step as usize * 3);
        pause();
    }
    // Deleted, then recreated by a new writer.
    drop(writer);
    for name in [CONTROL_FILE_NAME, NODES_FILE_NAME] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    pause();
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    publish(&mut writer, 0, 300.0, 2);
    let_readers_follow();
    // Replaced by a copy (new inode, same bytes) behind the writer's back.
    for name in [NODES_FILE_NAME, CONTROL_FILE_NAME] {
        let path = dir.path().join(name);
        let copy = dir.path().join(format!("{name}.copy"));
        std::fs::copy(&path, &copy).unwrap();
        std::fs::rename(&copy, &path).unwrap();
    }
    let_readers_follow();
    // Truncated under everyone: readers fault, the guard catches it.
    for name in [NODES_FILE_NAME, CONTROL_FILE_NAME] {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_len(0).unwrap();
        pause();
    }
    // The writer notices on its next update and rebuilds the files.
    drop(writer);
    let mut writer = ShmWriter::open(&options(dir.path())).unwrap();
    publish(&mut writer, 0, 777.0, 2);
    std::fs::write(&done, b"").unwrap();

    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.signal(),
        None,
        "the C reader was killed by a signal"
    );
    assert_all_passed("survivor", &output);
}
