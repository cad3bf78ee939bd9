//! The RPMs `make rpm` builds: what each package holds and declares.
#![allow(dead_code)]

use super::{assert_success, built_programs, header_functions, man_pages_expected};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One line of `rpm -qlvp`: mode string, and link target for symlinks.
#[derive(Debug)]
struct Listed {
    mode: String,
    link: Option<String>,
}

pub fn rpm_query(args: &[&str], package: &Path) -> String {
    let output = Command::new("rpm")
        .args(args)
        .arg(package)
        .output()
        .unwrap();
    assert_success(&format!("rpm {}", args.join(" ")), &output);
    String::from_utf8(output.stdout).unwrap()
}

/// `rpm -qlvp`, by path, without the directories rpm adds (docs, build-id
/// links) and with man pages' compression suffix removed.
fn listing(package: &Path) -> BTreeMap<String, Listed> {
    let mut files = BTreeMap::new();
    for line in rpm_query(&["-qlvp"], package).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let mode = fields[0].to_string();
        let path_at = fields.iter().position(|f| f.starts_with('/')).unwrap();
        let path = fields[path_at];
        if mode.starts_with('d')
            || path.starts_with("/usr/share/doc/")
            || path.starts_with("/usr/share/licenses/")
            || path.starts_with("/usr/lib/.build-id/")
        {
            continue;
        }
        let link =
            (fields.get(path_at + 1) == Some(&"->")).then(|| fields[path_at + 2].to_string());
        let path = path.strip_suffix(".gz").unwrap_or(path).to_string();
        files.insert(path, Listed { mode, link });
    }
    files
}

pub fn find_rpm(dir: &Path, name: &str) -> PathBuf {
    let prefix = format!("{name}-{}-", env!("CARGO_PKG_VERSION"));
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let file = p.file_name().unwrap().to_string_lossy();
            file.starts_with(&prefix) && file.ends_with(".rpm")
        })
        .unwrap_or_else(|| panic!("no {prefix}*.rpm in {}", dir.display()))
}

fn assert_files(package: &str, files: &BTreeMap<String, Listed>, expected: &[(String, &str)]) {
    for (path, mode) in expected {
        let listed = files
            .get(path)
            .unwrap_or_else(|| panic!("{package} lacks {path}; it holds {:#?}", files.keys()));
        assert_eq!(&listed.mode, mode, "{package}: mode of {path}");
    }
    let unexpected: Vec<&String> = files
        .keys()
        .filter(|path| !expected.iter().any(|(p, _)| p == *path))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{package} holds unexpected files {unexpected:?}"
    );
}

/// Checks the three RPMs `make rpm` wrote under `topdir`: each package's
/// files and modes, %config files, scriptlets, the library's soname
/// provide, and -devel's dependency on it.
pub fn check_rpms(topdir: &Path) {
    let rpms = topdir.join("RPMS").join(std::env::consts::ARCH);
    let libdir = rpm_eval("%{_libdir}");
    let executable = "-rwxr-xr-x";
    let plain = "-rw-r--r--";

    let beostat = find_rpm(&rpms, "beostat");
    let mut expected: Vec<(String, &str)> = built_programs()
        .into_iter()
        .map(|(name, _)| (format!("/usr/bin/{name}"), executable))
        .collect();
    for path in [
        "/usr/lib/systemd/system/recvstats.service",
        "/usr/lib/systemd/system/sendstats.service",
        "/usr/lib/systemd/system/beostat-exporter.service",
        "/etc/sysconfig/recvstats",
        "/etc/sysconfig/sendstats",
        "/etc/sysconfig/beostat-exporter",
        "/usr/lib/tmpfiles.d/beostat.conf",
        "/usr/share/beostat/prometheus/prometheus.yml",
        "/usr/share/beostat/prometheus/beostat.rules.yml",
        "/usr/share/beostat/prometheus/beostat.rules.test.yml",
        "/usr/share/beostat/grafana/beostat-dashboard.json",
    ] {
        expected.push((path.to_string(), plain));
    }
    for page in man_pages_expected() {
        let section = page.rsplit('.').next().unwrap();
        expected.push((format!("/usr/share/man/man{section}/{page}"), plain));
    }
    assert_files("beostat", &listing(&beostat), &expected);
    let config = rpm_query(&["-qcp"], &beostat);
    for file in [
        "/etc/sysconfig/recvstats",
        "/etc/sysconfig/sendstats",
        "/etc/sysconfig/beostat-exporter",
    ] {
        assert!(
            config.lines().any(|l| l == file),
            "{file} is not %config: {config}"
        );
    }
    let scripts = rpm_query(&["-qp", "--scripts"], &beostat);
    for (what, text) in [
        ("%post applies the systemd presets", "preset"),
        ("%post creates /var/shm", "beostat.conf"),
        ("%preun stops and disables the units", "disable"),
        ("%postun restarts them after an upgrade", "restart"),
    ] {
        assert!(scripts.contains(text), "{what}: no {text:?} in\n{scripts}");
    }

    for package in [&beostat, &find_rpm(&rpms, "libbeostat")] {
        let licenses = rpm_query(&["-qLp"], package);
        for file in ["COPYING", "THIRD-PARTY-LICENSES.md"] {
            assert!(
                licenses.lines().any(|l| l.ends_with(&format!("/{file}"))),
                "{} does not ship {file} as %license:\n{licenses}",
                package.display()
            );
        }
    }
    let docs = rpm_query(&["-qdp"], &beostat);
    assert!(
        docs.lines()
            .any(|l| l == "/usr/share/doc/beostat/COMMANDS.md"),
        "beostat lacks COMMANDS.md, which --help points at:\n{docs}"
    );
    // Debug information goes to -debuginfo packages, as for any C program,
    // where the distribution's macros make them (Fedora's do; Debian's rpm
    // defines no _enable_debug_packages).
    if rpm_eval("%{?_enable_debug_packages}") == "1" {
        find_rpm(&rpms, "beostat-debuginfo");
    }

    let library = find_rpm(&rpms, "libbeostat");
    let files = listing(&library);
    assert_files(
        "libbeostat",
        &files,
        &[
            (format!("{libdir}/libbeostat.so.1.0.0"), executable),
            (format!("{libdir}/libbeostat.so.1"), "lrwxrwxrwx"),
        ],
    );
    assert_eq!(
        files[&format!("{libdir}/libbeostat.so.1")].link.as_deref(),
        Some("libbeostat.so.1.0.0")
    );
    let provides = rpm_query(&["-qp", "--provides"], &library);
    assert!(
        provides.lines().any(|l| l == "libbeostat.so.1()(64bit)"),
        "libbeostat does not provide its soname:\n{provides}"
    );
    let scripts = rpm_query(&["-qp", "--scripts"], &library);
    assert!(
        scripts.contains("ldconfig"),
        "libbeostat runs no ldconfig:\n{scripts}"
    );

    let devel = find_rpm(&rpms, "libbeostat-devel");
    let files = listing(&devel);
    let mut expected = vec![
        ("/usr/include/sys/beostat.h".to_string(), plain),
        (format!("{libdir}/libbeostat.so"), "lrwxrwxrwx"),
        (format!("{libdir}/pkgconfig/libbeostat.pc"), plain),
        ("/usr/share/man/man3/libbeostat.3".to_string(), plain),
    ];
    for function in header_functions() {
        expected.push((format!("/usr/share/man/man3/{function}.3"), plain));
    }
    assert_files("libbeostat-devel", &files, &expected);
    assert_eq!(
        files[&format!("{libdir}/libbeostat.so")].link.as_deref(),
        Some("libbeostat.so.1")
    );
    let requires = rpm_query(&["-qp", "--requires"], &devel);
    assert!(
        requires.contains(&format!("libbeostat = {}", env!("CARGO_PKG_VERSION")))
            || requires.contains(&format!(
                "libbeostat(x86-64) = {}",
                env!("CARGO_PKG_VERSION")
            )),
        "libbeostat-devel does not require its library:\n{requires}"
    );
}

pub fn rpm_eval(expression: &str) -> String {
    let output = Command::new("rpm")
        .args(["--eval", expression])
        .output()
        .unwrap();
    assert_success("rpm --eval", &output);
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}
