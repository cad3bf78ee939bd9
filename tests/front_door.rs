//! Every command README.md and docs/PACKAGING.md show, as written, in a
//! fresh clone, as a new user or a packager would type them.
//!
//! The commands are read from the documents' `sh` blocks; each one must be
//! listed in [`DOCUMENTED`], either run or set aside with the reason, so a
//! command added to the documents fails here until it is tried. The runs go
//! in private mount and PID namespaces (`unshare`) where /usr, /etc, /var,
//! /opt, /srv, /home, /root, /tmp, /mnt and /run are overlays: what a
//! command writes there lands in the overlays' upper directories, which are
//! listed after each command, so a write outside the clone, its DESTDIR,
//! cargo's home and what the command documents (`sudo make install`
//! writes /usr and /etc) fails the test, and the machine is left untouched.
//! The daemons of the README run in network namespaces of their own: the
//! master's (`eth1` = 10.0.0.1) and a node's (`eth1` = 10.0.0.12, where the
//! README's "on each node" commands run), joined by a veth pair, so nothing
//! leaves the machine.
//! The top level of / and of the directory holding the clone are compared
//! before and after (they cannot be overlaid). When that directory is /tmp
//! (a clone under /tmp), writes below its top level go unseen, and the
//! README's `make install DESTDIR=/tmp/root` lands in the real /tmp/root,
//! which the test removes afterwards if it did not exist before.
//!
//! `make rpm RPMBUILD_FLAGS=--nodeps` (the README's Debian command) builds
//! the three RPMs there; they are checked (files, modes, scriptlets,
//! licences) and rpmlint must report no error. It needs root, git, sudo,
//! rpmbuild, rpmlint, curl, iproute2 and a few minutes (two release builds
//! from scratch: the clone's and the RPM's), so it is ignored by a plain
//! `cargo test`.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod packaging_support;
mod requirements;
use packaging_support::{root, rpm};

/// What the test does with a documented command.
#[derive(Debug, Clone, Copy)]
enum Way {
    /// Run as written (with the preparation of [`prepare`]).
    Run,
    /// Run as written by an unprivileged user (nobody, uid 65534): what the
    /// README says needs no root. The clone is lent to that user for the
    /// command, and the toolchain under /root made reachable (in the
    /// overlay of /root: the machine's /root is untouched).
    RunAsUser,
    /// Run as written on the node (`ip netns exec node ...`): the README
    /// runs it "on each node", not on the master.
    RunOnNode,
    /// Not run, for the reason given.
    NotRun(&'static str),
}

const CI_RUNS_IT: &str = ".ci/run runs it; this test is one of the tests it runs";
const BLESS: &str = "it rewrites a committed file; tests/header.rs and tests/layout.rs run the same generation and compare";

/// Every command of the documents' `sh` blocks, in the order they run.
const DOCUMENTED: &[(&str, Way)] = &[
    ("cargo build --release", Way::Run),
    ("scripts/demo.sh", Way::RunAsUser),
    ("make", Way::Run),
    ("make install DESTDIR=/tmp/root", Way::Run),
    ("make uninstall DESTDIR=/tmp/root", Way::Run),
    ("make dist", Way::Run),
    ("make rpm RPMBUILD_FLAGS=--nodeps", Way::Run),
    // Exits non-zero on any error (rpmlint's own exit status).
    (
        "rpmlint --ignore-unused-rpmlintrc -r rpm/beostat.rpmlintrc target/rpmbuild/RPMS/*/*.rpm target/rpmbuild/SRPMS/*.rpm",
        Way::Run,
    ),
    ("make && sudo make install", Way::Run),
    ("cc prog.c $(pkg-config --cflags --libs libbeostat)", Way::Run),
    ("cc prog.c -lbeostat", Way::Run),
    ("recvstats -i eth1", Way::Run),
    ("sendstats -i eth1 -r 5 12", Way::RunOnNode),
    ("sendstats 12 10.0.0.1", Way::RunOnNode),
    ("beostat --node 12 --loadavg --meminfo --disk", Way::Run),
    ("beostatus --once", Way::Run),
    ("beostat-exporter --listen 127.0.0.1:9304 &", Way::Run),
    ("curl -s http://127.0.0.1:9304/metrics | grep 'node_load1{'", Way::Run),
    ("curl -s http://127.0.0.1:9304/web | grep '<title>'", Way::Run),
    ("cargo test", Way::NotRun(CI_RUNS_IT)),
    ("cargo test -- --include-ignored", Way::NotRun(CI_RUNS_IT)),
    (
        "(cd tests/web && npm ci) && cargo test --test web -- --include-ignored",
        Way::NotRun(CI_RUNS_IT),
    ),
    ("BEOSTAT_BLESS=1 cargo test --test header", Way::NotRun(BLESS)),
    (
        "BEOSTAT_BLESS=1 cargo test --test layout legacy_bindings_are_current -- --include-ignored",
        Way::NotRun(BLESS),
    ),
    (
        "make rpm",
        Way::NotRun("on Debian rpmbuild refuses the Fedora build dependencies; the README's Debian variant (RPMBUILD_FLAGS=--nodeps) runs"),
    ),
    (
        "sudo dnf install target/rpmbuild/RPMS/x86_64/*beostat*-0.1.0-1*.x86_64.rpm",
        Way::NotRun("dnf is Fedora's; the RPMs are checked with rpm -qp and rpmlint instead"),
    ),
    (
        "make dist && rpmbuild -ta beostat-0.1.0.tar.gz --define \"_topdir $PWD/target/rpmbuild\"",
        Way::NotRun("what make rpm runs, spelled out; make rpm RPMBUILD_FLAGS=--nodeps runs it"),
    ),
    (
        "systemctl enable --now recvstats",
        Way::NotRun("no systemd runs as PID 1 here; tests/systemd_units.rs verifies the units and starts their ExecStart in a namespace"),
    ),
    (
        "systemctl enable --now sendstats",
        Way::NotRun("no systemd runs as PID 1 here; tests/systemd_units.rs verifies the units and starts their ExecStart in a namespace"),
    ),
];

/// The commands of the `sh` blocks of a Markdown text: comments removed,
/// one per line.
fn sh_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if !in_sh || trimmed.starts_with('#') {
            continue;
        }
        // A comment starts at a `#` after a blank.
        let command = match trimmed.find(" #") {
            Some(at) => trimmed[..at].trim_end(),
            None => trimmed,
        };
        if !command.is_empty() {
            commands.push(command.to_string());
        }
    }
    commands
}

#[test]
fn every_documented_command_is_run_or_set_aside_with_a_reason() {
    let mut documented = BTreeSet::new();
    for document in ["README.md", "docs/PACKAGING.md"] {
        let text = std::fs::read_to_string(root().join(document)).unwrap();
        documented.extend(sh_commands(&text));
    }
    let listed: BTreeSet<String> = DOCUMENTED.iter().map(|(c, _)| c.to_string()).collect();
    let new: Vec<&String> = documented.difference(&listed).collect();
    let gone: Vec<&String> = listed.difference(&documented).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "the documents show commands tests/front_door.rs does not know: {new:?}; \
         it knows commands they no longer show: {gone:?}"
    );
}

/// What runs before a command (in the clone, in the namespaces).
fn prepare(command: &str) -> &'static str {
    match command {
        // The README's C fragment, in a program.
        c if c.starts_with("cc prog.c") => {
            "cat > prog.c <<'EOF'\n#include <stdio.h>\n#include <sys/beostat.h>\n\nint main(void)\n{\n    struct beostat_loadavg load;\n    if (beostat_get_loadavg(3, &load) == 0)\n        printf(\"%.2f\\n\", load.load[0]);\n    return 0;\n}\nEOF"
        }
        // What the packages' tmpfiles.d entry does at boot.
        "recvstats -i eth1" => "install -d -m 0755 /var/shm",
        // The reports have arrived (bounded wait).
        "beostat --node 12 --loadavg --meminfo --disk" => {
            "for i in $(seq 300); do beostat --node 12 >/dev/null 2>&1 && break; sleep 0.1; done"
        }
        // The exporter serves (bounded wait).
        "curl -s http://127.0.0.1:9304/metrics | grep 'node_load1{'" => {
            "for i in $(seq 300); do curl -sf http://127.0.0.1:9304/metrics >/dev/null && break; sleep 0.1; done"
        }
        _ => ":",
    }
}

/// The top-level entries of a directory.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Where a command may write, besides the clone: its documented places.
fn may_write(command: &str, path: &str, cargo_home: &str, rustup_home: &str) -> bool {
    if path.starts_with(&format!("{cargo_home}/")) || path.starts_with(&format!("{rustup_home}/")) {
        return true;
    }
    // The test's own node namespace (in the overlay of /run).
    if path == "/run/netns/node" {
        return true;
    }
    match command {
        "make install DESTDIR=/tmp/root" => path.starts_with("/tmp/root/"),
        "make && sudo make install" => {
            path.starts_with("/usr/")
                || path.starts_with("/etc/sysconfig/")
                // sudo's own records (lecture, time stamps).
                || path.starts_with("/var/lib/sudo/")
                || path.starts_with("/run/sudo/")
        }
        "recvstats -i eth1" => path.starts_with("/var/shm/") || path == "/run/recvstats.pid",
        // rpmlint's own per-user state in root's home: the spell checker's
        // word lists and the rpm database it opens.
        c if c.starts_with("rpmlint ") => {
            path.starts_with("/root/.config/enchant/") || path.starts_with("/root/.rpmdb/")
        }
        _ => false,
    }
}

#[test]
#[ignore = "needs root, git, sudo, rpmbuild, rpmlint, curl and iproute2; builds twice from scratch"]
fn every_documented_command_works_as_written_in_a_fresh_clone() {
    requirements::root();
    for (tool, arg, package) in [
        ("git", "--version", "git"),
        ("sudo", "--version", "sudo"),
        ("rpmbuild", "--version", "rpm"),
        ("rpmlint", "--version", "rpmlint"),
        ("curl", "--version", "curl"),
        ("ip", "-V", "iproute2"),
        ("unshare", "--version", "util-linux"),
    ] {
        requirements::tool(tool, arg, package);
    }
    let scratch_parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let scratch = tempfile::tempdir_in(scratch_parent).unwrap();
    // The unprivileged user of Way::RunAsUser reaches the clone by its path.
    std::fs::set_permissions(scratch.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let clone = scratch.path().join("beostat");
    let status = Command::new("git")
        .args(["clone", "--quiet"])
        .arg(root())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success(), "git clone");
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root())
        .output()
        .unwrap();
    if !dirty.stdout.is_empty() {
        println!("note: the clone has the last commit, not the uncommitted changes");
    }

    // Overlay every top-level directory a command could write to, except
    // the one holding the clone (an overlay cannot contain its own upper
    // directory), which is compared before and after instead.
    let top = scratch
        .path()
        .components()
        .nth(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap();
    let overlays: Vec<&str> = [
        "usr", "etc", "var", "opt", "srv", "home", "root", "tmp", "mnt", "run",
    ]
    .into_iter()
    .filter(|d| *d != top && Path::new("/").join(d).is_dir())
    .collect();
    let layers = scratch.path().join("layers");
    let before = (names(Path::new("/")), names(&Path::new("/").join(&top)));
    // The README's DESTDIR. When the clone lives under /tmp, /tmp cannot be
    // overlaid and `make install DESTDIR=/tmp/root` writes the real one
    // (its documented place): removed after the run if the test made it.
    let destdir = Path::new("/tmp/root");
    let destdir_existed = destdir.exists();

    let mut script = String::from(
        "set -euo pipefail\n\
         for dir in $OVERLAYS; do\n\
         \x20   mkdir -p \"$LAYERS/upper/$dir\" \"$LAYERS/work/$dir\"\n\
         \x20   chmod --reference=\"/$dir\" \"$LAYERS/upper/$dir\"\n\
         \x20   mount -t overlay overlay -o \"lowerdir=/$dir,upperdir=$LAYERS/upper/$dir,workdir=$LAYERS/work/$dir\" \"/$dir\"\n\
         done\n\
         written() { echo \"== written by: $1\"; (cd \"$LAYERS/upper\" && find . -mindepth 2 ! -type d -printf '/%P\\n' | sort); echo '== end'; }\n\
         cd \"$CLONE\"\n",
    );
    let mut in_network = false;
    for (command, way) in DOCUMENTED {
        let run = match way {
            Way::NotRun(reason) => {
                println!("not run: {command}: {reason}");
                continue;
            }
            Way::Run => command.to_string(),
            Way::RunAsUser => format!(
                "root_mode=$(stat -c %a /root)\n\
                 chmod 0711 /root\n\
                 chown -R 65534:65534 \"$CLONE\"\n\
                 status=0\n\
                 setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME=/tmp \
                 CARGO_HOME=\"${{CARGO_HOME:-/root/.cargo}}\" RUSTUP_HOME=\"${{RUSTUP_HOME:-/root/.rustup}}\" \
                 bash -c '{command}' || status=$?\n\
                 chown -R 0:0 \"$CLONE\"\n\
                 chmod \"$root_mode\" /root\n\
                 [ \"$status\" = 0 ]"
            ),
            Way::RunOnNode => format!("ip netns exec node {command}"),
        };
        // From the daemons on: the master's network namespace (lo, eth1 =
        // 10.0.0.1) in a shell of its own, and the node's (eth1 =
        // 10.0.0.12) at the other end of the veth.
        if command.starts_with("recvstats") && !in_network {
            in_network = true;
            script.push_str(
                "unshare --net bash -euo pipefail <<'NETWORK'\n\
                 written() { echo \"== written by: $1\"; (cd \"$LAYERS/upper\" && find . -mindepth 2 ! -type d -printf '/%P\\n' | sort); echo '== end'; }\n\
                 ip netns add node\n\
                 ip link add eth1 type veth peer name eth1 netns node\n\
                 ip link set lo up\n\
                 ip addr add 10.0.0.1/24 dev eth1\n\
                 ip link set eth1 multicast on up\n\
                 ip -n node link set lo up\n\
                 ip -n node addr add 10.0.0.12/24 dev eth1\n\
                 ip -n node link set eth1 multicast on up\n",
            );
        }
        script.push_str(&format!(
            "echo '== running: {}'\n{}\n{run}\nwritten '{}'\n",
            command.replace('\'', ""),
            prepare(command),
            command.replace('\'', "")
        ));
    }
    if in_network {
        script.push_str("NETWORK\n");
    }
    let script_path = scratch.path().join("front-door.sh");
    std::fs::write(&script_path, &script).unwrap();

    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--pid", "--fork"])
        .args(["--mount-proc", "bash"])
        .arg(&script_path)
        .env("OVERLAYS", overlays.join(" "))
        .env("LAYERS", &layers)
        .env("CLONE", &clone)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail = |text: &str| {
        text.lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        output.status.success(),
        "a documented command failed ({}); the script was {}\nstdout (end):\n{}\nstderr (end):\n{}",
        output.status,
        script_path.display(),
        tail(&stdout),
        tail(&stderr)
    );

    // What each command wrote outside the clone.
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{home}/.rustup"));
    let mut seen = BTreeSet::new();
    let mut command = String::new();
    let mut misplaced = Vec::new();
    let mut listing = false;
    for line in stdout.lines() {
        if let Some(c) = line.strip_prefix("== written by: ") {
            command = c.to_string();
            listing = true;
        } else if line == "== end" {
            listing = false;
        } else if listing
            && seen.insert(line.to_string())
            && !may_write(&command, line, &cargo_home, &rustup_home)
        {
            misplaced.push(format!("{command}: {line}"));
        }
    }
    assert!(
        misplaced.is_empty(),
        "commands wrote outside the clone and their documented places:\n{}",
        misplaced.join("\n")
    );
    for installed in [
        "/usr/bin/recvstats",
        "/usr/bin/beostat",
        "/usr/lib/libbeostat.so.1.0.0",
        "/usr/include/sys/beostat.h",
        "/usr/lib/pkgconfig/libbeostat.pc",
        "/usr/share/licenses/beostat/COPYING",
        "/etc/sysconfig/recvstats",
    ] {
        assert!(
            seen.contains(installed),
            "sudo make install did not write {installed}"
        );
    }
    // Stripped: no symbol table or debug sections left in the programs.
    let installed = layers.join("upper/usr/bin/recvstats");
    let sections = Command::new("readelf")
        .arg("-S")
        .arg(&installed)
        .output()
        .unwrap();
    let sections = String::from_utf8_lossy(&sections.stdout);
    assert!(
        // (.debug_gdb_scripts is loaded data, not debug information.)
        !sections.contains(".debug_info") && !sections.contains(".symtab"),
        "make install left debug information in recvstats:\n{sections}"
    );
    if !destdir_existed && destdir.exists() {
        std::fs::remove_dir_all(destdir).unwrap();
    }
    let after = (names(Path::new("/")), names(&Path::new("/").join(&top)));
    assert_eq!(
        before, after,
        "something was created or removed at / or /{top}"
    );
    // The daemons and commands said what the README shows.
    for expected in [
        "node 12 (",
        "Node    Up",
        "beostat_node_load1{node=\"12\"}",
        "<title>beostat: cluster</title>",
    ] {
        assert!(
            stdout.contains(expected),
            "no {expected:?} in the output:\n{}",
            tail(&stdout)
        );
    }

    let topdir = clone.join("target/rpmbuild");
    rpm::check_rpms(&topdir);
    let rpms: Vec<PathBuf> = ["RPMS", "SRPMS"]
        .iter()
        .flat_map(|d| walk(&topdir.join(d)))
        .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
        .filter(|p| !p.to_string_lossy().contains("-debug"))
        .collect();
    // The command docs/PACKAGING.md shows (its globs expanded here).
    let lint = Command::new("rpmlint")
        .args(["--ignore-unused-rpmlintrc", "-r"])
        .arg(clone.join("rpm/beostat.rpmlintrc"))
        .args(&rpms)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&lint.stdout);
    println!("rpmlint:\n{report}");
    let summary = report
        .lines()
        .find(|l| l.contains(" errors, "))
        .unwrap_or_else(|| panic!("no rpmlint summary:\n{report}"));
    println!("rpmlint summary: {summary}");
    assert!(
        summary.contains("4 packages") && summary.contains(" 0 errors"),
        "rpmlint: {summary}\n{report}"
    );
    // Every warning left is one docs/PACKAGING.md explains.
    let warnings: BTreeSet<&str> = report
        .lines()
        .filter_map(|l| l.split(": W: ").nth(1)?.split_whitespace().next())
        .collect();
    let unexplained: Vec<&&str> = warnings
        .iter()
        .filter(|w| !RPMLINT_WARNINGS_EXPLAINED.contains(w))
        .collect();
    assert!(
        unexplained.is_empty(),
        "rpmlint warnings docs/PACKAGING.md does not explain: {unexplained:?}\n{report}"
    );
}

/// The rpmlint warnings docs/PACKAGING.md lists with their reasons (under
/// "rpmlint"), which stay on Debian's rpmlint.
const RPMLINT_WARNINGS_EXPLAINED: &[&str] = &[
    "no-url-tag",
    "invalid-license",
    "invalid-license-exception",
    "manpage-not-compressed",
    "no-manual-page-for-binary",
    "files-duplicate",
    "requires-on-release",
    "no-major-in-name",
    "no-buildroot-tag",
    "invalid-url",
];

#[test]
fn packaging_explains_every_rpmlint_warning_the_fresh_clone_test_allows() {
    let text = std::fs::read_to_string(root().join("docs/PACKAGING.md")).unwrap();
    for warning in RPMLINT_WARNINGS_EXPLAINED {
        assert!(
            text.contains(&format!("`{warning}`")),
            "docs/PACKAGING.md does not explain rpmlint's {warning}"
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}
