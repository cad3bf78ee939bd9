//! Reading a machine's own status: the five /proc files, statfs of the root
//! filesystem and the host name.
//!
//! sendstats sends what this collects; recvstats publishes the master's own
//! status (node -1) from it. Texts are read raw into reused buffers (no
//! parsing here, no allocation once the buffers have grown). `proc_root`
//! replaces `/proc` (tests and containers point it at fixed sample files);
//! a file that cannot be read leaves its text empty, so the rest still goes out.

use crate::protocol::{
    condense_cpuinfo, condense_meminfo, condense_net_dev, condense_stat, Report,
};
use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where to read from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Directory holding cpuinfo, meminfo, loadavg, stat, net/dev and
    /// (optionally) sys/kernel/hostname: normally `/proc`.
    pub proc_root: PathBuf,
    /// Filesystem whose statfs is reported: normally `/`.
    pub statfs_path: PathBuf,
}

impl Default for Source {
    fn default() -> Self {
        Source {
            proc_root: PathBuf::from("/proc"),
            statfs_path: PathBuf::from("/"),
        }
    }
}

/// One reading, condensed as it goes on the wire. Buffers are reused.
#[derive(Debug, Default)]
pub struct Status {
    /// Condensed /proc/cpuinfo (empty unless asked for).
    pub cpuinfo: String,
    /// Condensed /proc/meminfo.
    pub meminfo: String,
    /// /proc/loadavg.
    pub loadavg: String,
    /// Condensed /proc/net/dev.
    pub net_dev: String,
    /// /proc/stat reduced to its `cpu` lines.
    pub stat: String,
    /// statfs of the root filesystem, if it could be taken.
    pub statfs: Option<libc::statfs>,
    /// The host name.
    pub hostname: Vec<u8>,
    /// Files that could not be read in this reading (for a log line).
    pub unreadable: Vec<PathBuf>,
    raw: String,
}

impl Status {
    /// What sendstats sends of this status: every text that was read (an
    /// empty one, unreadable, is left out rather than sent empty), cpuinfo
    /// only in a `full` report, under `hostname` (the caller checks that the
    /// protocol can carry it).
    pub fn report<'a>(&'a self, hostname: Option<&'a [u8]>, full: bool) -> Report<'a> {
        fn present(text: &str) -> Option<&[u8]> {
            (!text.is_empty()).then_some(text.as_bytes())
        }
        Report {
            hostname,
            loadavg: present(&self.loadavg),
            meminfo: present(&self.meminfo),
            net_dev: present(&self.net_dev),
            statfs: self.statfs.as_ref(),
            stat: present(&self.stat),
            cpuinfo: if full { present(&self.cpuinfo) } else { None },
        }
    }
}

impl Source {
    /// Reads everything into `status`; cpuinfo only if `with_cpuinfo`.
    pub fn read(&self, with_cpuinfo: bool, status: &mut Status) {
        status.unreadable.clear();
        let Status {
            cpuinfo,
            meminfo,
            loadavg,
            net_dev,
            stat,
            raw,
            unreadable,
            ..
        } = status;
        let mut condensed =
            |name: &str, out: &mut String, condense: Option<fn(&str, &mut String)>| {
                out.clear();
                let path = self.proc_root.join(name);
                raw.clear();
                if std::fs::File::open(&path)
                    .and_then(|mut f| f.read_to_string(raw))
                    .is_err()
                {
                    raw.clear();
                    unreadable.push(path);
                    return;
                }
                match condense {
                    Some(condense) => condense(raw, out),
                    None => out.push_str(raw),
                }
            };
        if with_cpuinfo {
            condensed("cpuinfo", cpuinfo, Some(condense_cpuinfo));
        } else {
            cpuinfo.clear();
        }
        condensed("meminfo", meminfo, Some(condense_meminfo));
        condensed("loadavg", loadavg, None);
        condensed("net/dev", net_dev, Some(condense_net_dev));
        condensed("stat", stat, Some(condense_stat));
        status.statfs = statfs(&self.statfs_path);
        status.hostname = self.hostname();
    }

    /// `<proc_root>/sys/kernel/hostname` if present, else gethostname(2).
    fn hostname(&self) -> Vec<u8> {
        if let Ok(name) = std::fs::read(self.proc_root.join("sys/kernel/hostname")) {
            let name = name.trim_ascii().to_vec();
            if !name.is_empty() {
                return name;
            }
        }
        let mut buffer = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
        // when the name fits, and we stop at the first NUL or the end.
        if unsafe { libc::gethostname(buffer.as_mut_ptr() as *mut libc::c_char, buffer.len()) } != 0
        {
            return Vec::new();
        }
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        buffer[..end].to_vec()
    }
}

/// statfs(2) of `path`.
pub fn statfs(path: &Path) -> Option<libc::statfs> {
    let path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut out = crate::types::statfs_zeroed();
    // SAFETY: path is NUL-terminated; out is a valid statfs to fill.
    (unsafe { libc::statfs(path.as_ptr(), &mut out) } == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sample_files_condensed_and_reports_missing_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/proc/x86_64-vm-2cpu");
        let source = Source {
            proc_root: root.clone(),
            statfs_path: PathBuf::from("/"),
        };
        let mut status = Status::default();
        source.read(true, &mut status);
        let loadavg = std::fs::read_to_string(root.join("loadavg")).unwrap();
        assert_eq!(status.loadavg, loadavg);
        assert!(status.stat.lines().all(|l| l.starts_with("cpu")));
        assert_eq!(status.stat.lines().count(), 3, "cpu, cpu0, cpu1");
        assert!(status.meminfo.contains("MemTotal:"));
        assert!(
            !status.meminfo.contains("Active"),
            "condensed to the keys the master parses"
        );
        assert!(status.cpuinfo.contains("processor"));
        assert!(status.unreadable.is_empty());
        assert!(status.statfs.is_some_and(|s| s.f_blocks > 0));

        source.read(false, &mut status);
        assert!(status.cpuinfo.is_empty());

        let empty = tempfile::tempdir().unwrap();
        let missing = Source {
            proc_root: empty.path().to_owned(),
            statfs_path: PathBuf::from("/"),
        };
        missing.read(true, &mut status);
        assert_eq!(status.unreadable.len(), 5);
        assert!(status.loadavg.is_empty() && status.stat.is_empty());
    }
}
