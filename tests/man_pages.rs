//! The man pages: every command has one (rendered by beostat-mangen from
//! its clap definition), each names every long option its `--help` prints,
//! libbeostat(3) describes every function of the header and every errno
//! the library sets, and groff reads all of them without a warning.

use std::path::{Path, PathBuf};
use std::process::Command;

mod packaging_support;
mod requirements;
use packaging_support::{
    assert_success, built_programs, generated_man_pages, header_functions, man_pages_expected, root,
};

/// A page's text with the roff escapes that matter here undone.
fn page_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
        .replace("\\*(Aq", "'")
}

/// The `--long` options a `--help` text names (in any position).
fn long_options(help: &str) -> Vec<String> {
    let mut options: Vec<String> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.trim_end_matches('-').to_string())
        .collect();
    options.sort();
    options.dedup();
    options
}

#[test]
fn every_command_has_a_page_naming_every_long_option_of_its_help() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = generated_man_pages(scratch.path());
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected = man_pages_expected();
    expected.sort();
    assert_eq!(
        written, expected,
        "beostat-mangen must write one page per command (add the command to PAGES in \
         src/bin/beostat-mangen.rs)"
    );
    for (name, program) in built_programs() {
        let help = Command::new(program).arg("--help").output().unwrap();
        assert_success(&format!("{name} --help"), &help);
        let help = String::from_utf8(help.stdout).unwrap();
        let page_name = expected
            .iter()
            .find(|p| p.starts_with(&format!("{name}.")))
            .unwrap();
        let page = page_text(&dir.join(page_name));
        let options = long_options(&help);
        assert!(
            options.contains(&"--help".to_string()),
            "{name}: {options:?}"
        );
        for option in options {
            assert!(
                page.contains(&option),
                "{page_name} does not mention {option}, which `{name} --help` prints"
            );
        }
        let about = help.lines().next().unwrap().trim_end_matches('.');
        // Text lines are folded at 80 bytes: compare words, not lines.
        let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(&page).contains(&words(about)),
            "{page_name} lacks the summary {about:?}"
        );
    }
}

#[test]
fn recvstats_page_documents_the_service_and_the_files() {
    let scratch = tempfile::tempdir().unwrap();
    let page = page_text(&generated_man_pages(scratch.path()).join("recvstats.8"));
    for text in [
        ".TH RECVSTATS 8",
        "/var/shm/beostat.nodes",
        "/etc/sysconfig/recvstats",
        "READY=1",
        "daemon recvstats -i $IF",
        ".SH \"EXIT STATUS\"",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(page.contains(text), "recvstats.8 lacks {text:?}");
    }
}

#[test]
fn libbeostat_3_describes_every_function_errno_and_the_environment() {
    let page = page_text(&root().join("man/libbeostat.3"));
    for function in header_functions() {
        assert!(
            page.contains(&format!("{function}(")),
            "libbeostat.3 SYNOPSIS lacks {function}"
        );
        assert!(
            page.contains(&format!(".BR {function} ()")),
            "libbeostat.3 DESCRIPTION lacks {function}"
        );
        assert!(
            page.lines()
                .skip_while(|l| *l != ".SH NAME")
                .take_while(|l| *l != ".SH LIBRARY")
                .any(|l| l.contains(&function)),
            "libbeostat.3 NAME lacks {function} (apropos and the man3 links use it)"
        );
    }
    // Every errno src/error.rs maps an error to, and those of malloc and a panic.
    let errors = page
        .split(".SH ERRORS")
        .nth(1)
        .and_then(|rest| rest.split(".SH ").next())
        .expect("an ERRORS section");
    for errno in [
        "ENOENT", "ESRCH", "EINVAL", "EFAULT", "EAGAIN", "EPROTO", "EACCES", "ENOMEM", "EIO",
    ] {
        assert!(
            errors.contains(&format!(".B {errno}\n")),
            "ERRORS lacks {errno}"
        );
    }
    for text in [
        "BEOSTAT_SHM_DIR",
        "/var/shm/beostat\n",
        "/var/shm/beostat.nodes",
        &format!("is {}", beostat::types::MAX_NET_DEV),
        "pkg-config --cflags --libs libbeostat",
    ] {
        assert!(page.contains(text), "libbeostat.3 lacks {text:?}");
    }
}

/// Every page: the generated ones (in `scratch`) and libbeostat(3).
fn every_page(scratch: &Path) -> Vec<PathBuf> {
    let dir = generated_man_pages(scratch);
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.push(root().join("man/libbeostat.3"));
    pages
}

#[test]
#[ignore = "needs groff"]
fn groff_reads_every_page_without_a_warning() {
    requirements::tool("groff", "--version", "groff-base");
    let scratch = tempfile::tempdir().unwrap();
    let pages = every_page(scratch.path());
    for page in pages {
        let output = Command::new("groff")
            .args(["-man", "-ww", "-z", "-Tutf8"])
            .arg(&page)
            .output()
            .unwrap();
        assert_success(&format!("groff {}", page.display()), &output);
        assert!(
            output.stderr.is_empty(),
            "groff warns about {}:\n{}",
            page.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// Regression: the NAME line of the clap pages was a whole paragraph, lines
// ran past 80 bytes, and a paragraph macro followed every heading, so
// `mandoc -Tlint` warned two to six times a page.
#[test]
#[ignore = "needs mandoc"]
fn mandoc_lint_finds_nothing_on_any_page() {
    requirements::tool("mandoc", "-h", "mandoc");
    let scratch = tempfile::tempdir().unwrap();
    let pages = every_page(scratch.path());
    assert!(pages.len() >= 6, "{pages:?}");
    for page in pages {
        let output = Command::new("mandoc")
            .arg("-Tlint")
            .arg(&page)
            .output()
            .unwrap();
        let messages = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success() && messages.is_empty(),
            "mandoc -Tlint {}:\n{messages}",
            page.display()
        );
    }
}

#[test]
fn the_command_pages_have_environment_exit_status_and_see_also() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = generated_man_pages(scratch.path());
    for name in ["beostat.1", "beostatus.1", "beostat-exporter.8"] {
        let path = dir.join(name);
        let page = std::fs::read_to_string(&path).unwrap();
        for heading in ["ENVIRONMENT", "EXIT STATUS", "SEE ALSO"] {
            assert!(
                page.contains(&format!(".SH \"{heading}\""))
                    || page.contains(&format!(".SH {heading}\n")),
                "{} has no {heading}",
                path.display()
            );
        }
        assert!(
            page.contains("BEOSTAT_SHM_DIR"),
            "{name} does not name BEOSTAT_SHM_DIR"
        );
        let name_line = page
            .split(".SH NAME\n")
            .nth(1)
            .and_then(|rest| rest.split("\n.").next())
            .unwrap();
        assert!(
            name_line.len() < 200 && !name_line.contains(". "),
            "{name}: NAME is more than one short phrase: {name_line:?}"
        );
    }
}
