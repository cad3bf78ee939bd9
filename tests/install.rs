//! `make install` into a DESTDIR: every file, mode and link the RPM spec
//! packages; a C program (the example of libbeostat(3)) built with
//! `pkg-config --cflags --libs libbeostat` against that tree and run on
//! files the Rust writer made; and `make uninstall`.
//!
//! It installs this test run's build (`NO_BUILD=1`), so it costs seconds;
//! tests/packaging.rs runs the whole path, release build included, in the
//! RPM build.

use beostat::shm::{NodeUpdate, ShmWriter, WriterOptions};
use beostat::types::{beostat_loadavg, beostat_net_dev, beostat_stat_cpu};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

mod packaging_support;
use packaging_support::{
    assert_success, header_functions, make, make_install, man_pages_expected, root,
};
mod requirements;

/// What is at a path: a file with its mode, or a symlink with its target.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File(u32),
    Link(String),
}

/// Every non-directory under `dir`, by path relative to it.
fn tree(dir: &Path) -> BTreeMap<String, Entry> {
    fn walk(base: &Path, dir: &Path, entries: &mut BTreeMap<String, Entry>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            let name = format!("/{}", path.strip_prefix(base).unwrap().display());
            if metadata.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                entries.insert(name, Entry::Link(target.display().to_string()));
            } else if metadata.is_dir() {
                walk(base, &path, entries);
            } else {
                entries.insert(name, Entry::File(metadata.permissions().mode() & 0o7777));
            }
        }
    }
    let mut entries = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut entries);
    }
    entries
}

/// The Prometheus kit, under DATADIR/beostat.
const KIT: [&str; 4] = [
    "prometheus/prometheus.yml",
    "prometheus/beostat.rules.yml",
    "prometheus/beostat.rules.test.yml",
    "grafana/beostat-dashboard.json",
];

/// The files `make install PREFIX=/usr` must create, with their modes.
fn expected_tree() -> BTreeMap<String, Entry> {
    let mut expected = BTreeMap::new();
    let mut file = |path: String, mode: u32| expected.insert(path, Entry::File(mode));
    for (program, _) in packaging_support::built_programs() {
        file(format!("/usr/bin/{program}"), 0o755);
    }
    file("/usr/lib/libbeostat.so.1.0.0".into(), 0o755);
    file("/usr/include/sys/beostat.h".into(), 0o644);
    file("/usr/lib/pkgconfig/libbeostat.pc".into(), 0o644);
    for unit in [
        "recvstats.service",
        "sendstats.service",
        "beostat-exporter.service",
    ] {
        file(format!("/usr/lib/systemd/system/{unit}"), 0o644);
    }
    file("/etc/sysconfig/recvstats".into(), 0o644);
    file("/etc/sysconfig/sendstats".into(), 0o644);
    file("/etc/sysconfig/beostat-exporter".into(), 0o644);
    for kit in KIT {
        file(format!("/usr/share/beostat/{kit}"), 0o644);
    }
    file("/usr/lib/tmpfiles.d/beostat.conf".into(), 0o644);
    for doc in [
        "README.md",
        "COMMANDS.md",
        "RECVSTATS.md",
        "PROTOCOL.md",
        "SHM-LAYOUT.md",
    ] {
        file(format!("/usr/share/doc/beostat/{doc}"), 0o644);
    }
    for license in ["COPYING", "THIRD-PARTY-LICENSES.md"] {
        file(format!("/usr/share/licenses/beostat/{license}"), 0o644);
    }
    for page in man_pages_expected() {
        let section = page.rsplit('.').next().unwrap();
        file(format!("/usr/share/man/man{section}/{page}"), 0o644);
    }
    file("/usr/share/man/man3/libbeostat.3".into(), 0o644);
    for function in header_functions() {
        file(format!("/usr/share/man/man3/{function}.3"), 0o644);
    }
    expected.insert(
        "/usr/lib/libbeostat.so.1".into(),
        Entry::Link("libbeostat.so.1.0.0".into()),
    );
    expected.insert(
        "/usr/lib/libbeostat.so".into(),
        Entry::Link("libbeostat.so.1".into()),
    );
    expected
}

fn readelf_dynamic(path: &Path) -> String {
    let output = Command::new("readelf")
        .arg("-d")
        .arg(path)
        .output()
        .expect("readelf (binutils)");
    assert_success("readelf -d", &output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn make_install_lays_out_every_file_with_its_mode_and_uninstall_removes_them() {
    let scratch = tempfile::tempdir().unwrap();
    let destdir = scratch.path().join("root");
    make_install(scratch.path(), &destdir, &["PREFIX=/usr"]);

    assert_eq!(tree(&destdir), expected_tree());
    assert!(
        readelf_dynamic(&destdir.join("usr/lib/libbeostat.so.1.0.0"))
            .contains("Library soname: [libbeostat.so.1]"),
        "the installed library's soname is not libbeostat.so.1"
    );
    let pc = std::fs::read_to_string(destdir.join("usr/lib/pkgconfig/libbeostat.pc")).unwrap();
    for line in [
        // Relative to the file (RELOCATABLE_PC=yes), so a DESTDIR tree works.
        "prefix=${pcfiledir}/../..",
        "libdir=${pcfiledir}/..",
        "includedir=${pcfiledir}/../../include",
        &format!("Version: {}", env!("CARGO_PKG_VERSION")),
        "Libs: -L${libdir} -lbeostat",
        "Cflags: -I${includedir}",
    ] {
        assert!(
            pc.lines().any(|l| l == line),
            "libbeostat.pc lacks {line:?}:\n{pc}"
        );
    }
    let unit =
        std::fs::read_to_string(destdir.join("usr/lib/systemd/system/recvstats.service")).unwrap();
    // Regression: `-i ${RECVSTATS_INTERFACE}` (eth0) failed on hosts with
    // predictable interface names.
    assert!(unit.contains("ExecStart=/usr/bin/recvstats -f $RECVSTATS_OPTIONS\n"));
    assert!(unit.contains("EnvironmentFile=-/etc/sysconfig/recvstats"));
    for variable in ["@SBINDIR@", "@BINDIR@", "@SYSCONFDIR@"] {
        assert!(
            !unit.contains(variable),
            "{variable} left in the unit:\n{unit}"
        );
    }

    // An administrator's setting survives reinstalling and uninstalling.
    let config = destdir.join("etc/sysconfig/recvstats");
    std::fs::write(&config, "RECVSTATS_OPTIONS=\"-i ib0\"\n").unwrap();
    make_install(scratch.path(), &destdir, &["PREFIX=/usr"]);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "RECVSTATS_OPTIONS=\"-i ib0\"\n"
    );

    let uninstall = make(&["uninstall", &format!("DESTDIR={}", destdir.display())]);
    assert_success("make uninstall", &uninstall);
    let left: Vec<String> = tree(&destdir).into_keys().collect();
    assert_eq!(
        left,
        ["/etc/sysconfig/recvstats"],
        "make uninstall left files"
    );
}

#[test]
fn libdir_and_prefix_reach_the_pkg_config_file_and_the_units() {
    let scratch = tempfile::tempdir().unwrap();
    let destdir = scratch.path().join("root");
    make_install(
        scratch.path(),
        &destdir,
        &[
            "PREFIX=/opt/beostat",
            "LIBDIR=/opt/beostat/lib64",
            "SBINDIR=/opt/beostat/sbin",
        ],
    );
    let files = tree(&destdir);
    for path in [
        "/opt/beostat/lib64/libbeostat.so.1.0.0",
        "/opt/beostat/lib64/pkgconfig/libbeostat.pc",
        "/opt/beostat/sbin/recvstats",
        "/opt/beostat/include/sys/beostat.h",
        "/opt/beostat/etc/sysconfig/recvstats",
        "/opt/beostat/lib/systemd/system/recvstats.service",
        "/opt/beostat/share/man/man8/recvstats.8",
    ] {
        assert!(files.contains_key(path), "{path} not installed: {files:#?}");
    }
    let pc =
        std::fs::read_to_string(destdir.join("opt/beostat/lib64/pkgconfig/libbeostat.pc")).unwrap();
    assert!(pc.contains("libdir=${pcfiledir}/..\n"), "{pc}");
    assert!(
        pc.contains("includedir=${pcfiledir}/../../include\n"),
        "{pc}"
    );
    // RELOCATABLE_PC=no (the spec): absolute paths.
    make_install(
        scratch.path(),
        &destdir,
        &[
            "PREFIX=/opt/beostat",
            "LIBDIR=/opt/beostat/lib64",
            "SBINDIR=/opt/beostat/sbin",
            "RELOCATABLE_PC=no",
        ],
    );
    let pc =
        std::fs::read_to_string(destdir.join("opt/beostat/lib64/pkgconfig/libbeostat.pc")).unwrap();
    assert!(pc.contains("libdir=/opt/beostat/lib64\n"), "{pc}");
    assert!(pc.contains("includedir=/opt/beostat/include\n"), "{pc}");
    let unit =
        std::fs::read_to_string(destdir.join("opt/beostat/lib/systemd/system/recvstats.service"))
            .unwrap();
    assert!(
        unit.contains("ExecStart=/opt/beostat/sbin/recvstats "),
        "{unit}"
    );
    assert!(unit.contains("EnvironmentFile=-/opt/beostat/etc/sysconfig/recvstats"));
}

/// The program of the EXAMPLES section of man/libbeostat.3, as C.
fn man_page_example() -> String {
    let page = std::fs::read_to_string(root().join("man/libbeostat.3")).unwrap();
    let start = page.find("\n.EX\n").expect(".EX in libbeostat.3") + 5;
    let end = start + page[start..].find("\n.EE\n").expect(".EE in libbeostat.3");
    page[start..end].replace("\\e", "\\").replace("\\-", "-")
}

/// Shm files holding node 3 with known values (what the example prints).
fn write_fixture(dir: &Path) -> ShmWriter {
    let mut options = WriterOptions::new(dir);
    options.node_capacity = 4;
    let mut writer = ShmWriter::open(&options).unwrap();
    let mut eth0 = beostat_net_dev::default();
    eth0.set_name(b"eth0");
    eth0.recv.bytes = 5000;
    let idle = beostat_stat_cpu {
        user: 0,
        system: 0,
        nice: 0,
        idle: 100,
    };
    writer
        .update(
            3,
            &NodeUpdate {
                name: Some(b"n3"),
                loadavg: Some(beostat_loadavg {
                    load: [1.5, 1.25, 1.0],
                    num_active_procs: 2,
                    total_procs: 300,
                    last_pid: 4242,
                }),
                net_dev: Some(&[eth0]),
                stat_cpu: Some(&[idle, idle]),
                ..Default::default()
            },
        )
        .unwrap();
    writer
}

#[test]
#[ignore = "needs pkg-config"]
fn a_c_program_builds_with_pkg_config_against_the_installed_tree_and_runs() {
    requirements::tool("pkg-config", "--version", "pkg-config");
    let scratch = tempfile::tempdir().unwrap();
    let destdir = scratch.path().join("root");
    make_install(scratch.path(), &destdir, &["PREFIX=/usr"]);

    // Regression: with absolute paths in the .pc this printed only
    // -lbeostat (pkg-config drops -I/usr/include), so the header was not found.
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libbeostat"])
        .env("PKG_CONFIG_PATH", destdir.join("usr/lib/pkgconfig"))
        .output()
        .unwrap();
    assert_success("pkg-config --cflags --libs libbeostat", &flags);
    let flags = String::from_utf8(flags.stdout).unwrap();
    let flags: Vec<&str> = flags.split_whitespace().collect();
    let include = flags
        .iter()
        .find_map(|f| f.strip_prefix("-I"))
        .unwrap_or_else(|| panic!("no -I in {flags:?}"));
    assert_eq!(
        std::fs::canonicalize(include).unwrap(),
        std::fs::canonicalize(destdir.join("usr/include")).unwrap(),
        "{flags:?}"
    );
    assert!(flags.contains(&"-lbeostat"), "{flags:?}");

    let source = scratch.path().join("example.c");
    std::fs::write(&source, man_page_example()).unwrap();
    let program = scratch.path().join("example");
    let compile = Command::new("gcc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror"])
        .arg(&source)
        .args(&flags)
        .arg("-o")
        .arg(&program)
        .output()
        .expect("gcc");
    assert_success(
        "gcc example.c $(pkg-config --cflags --libs libbeostat)",
        &compile,
    );
    assert!(
        readelf_dynamic(&program).contains("Shared library: [libbeostat.so.1]"),
        "the program does not record the soname libbeostat.so.1"
    );

    let shm = scratch.path().join("shm");
    std::fs::create_dir(&shm).unwrap();
    let _writer = write_fixture(&shm);
    let run = Command::new(&program)
        .env("LD_LIBRARY_PATH", destdir.join("usr/lib"))
        .env("BEOSTAT_SHM_DIR", &shm)
        .output()
        .unwrap();
    assert_success("the libbeostat(3) example", &run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    for expected in [
        "load 1.50, last pid 4242\n",
        "reported ",
        "eth0 5000 bytes in\n",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
}
