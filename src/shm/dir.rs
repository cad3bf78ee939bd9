//! The shm directory and the files the writer opens in it: who may own
//! them, and opening them so that nobody else can redirect the writer.
//!
//! Every reader on the machine believes what the two files say, and the
//! writer usually runs as root, so only the writer may be able to create,
//! replace or redirect them. [`ShmDir`] owns that rule:
//!
//! - **The directory** must not be writable by its group or by others, and
//!   must belong to root, to the writer's own user, or to the user the files
//!   are given to (`recvstats --user`). Otherwise anyone who can write there
//!   could plant a symbolic link under a name the writer opens (as root),
//!   or swap in a file of their own that every reader would then trust.
//!   The check can be turned off explicitly (`--allow-insecure-dir`); the
//!   file checks below still apply then, and are what keeps it safe-ish.
//! - **A file** is opened without following symbolic links (`O_NOFOLLOW`),
//!   must be a regular file, and must belong to root, the writer, the files'
//!   user or the directory's owner.
//! - Files are mode 0644 whatever the umask (readers map them read-only),
//!   and are given (`fchown`) to the files' user when there is one, so that
//!   the writer can go on using them after it drops root.

use crate::error::{Error, Result};
use libc::{gid_t, uid_t};
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What the writer may do with a file it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Open an existing file only (a missing file is `NotFound`).
    No,
    /// Create it if it is missing.
    IfMissing,
    /// It must not exist yet (`O_EXCL`: temporary files).
    New,
}

/// A checked shm directory. See the module documentation.
#[derive(Debug, Clone)]
pub struct ShmDir {
    path: PathBuf,
    /// The user (and group) the files are given to, if not the writer's own.
    owner: Option<(uid_t, gid_t)>,
    /// Who owns the directory (trusted: they could replace the files anyway).
    dir_uid: uid_t,
    /// (device, inode) of the directory when it was checked, to notice it
    /// being deleted or replaced later.
    identity: (u64, u64),
}

impl ShmDir {
    /// Checks `path` as the shm directory. `owner` is the user the files
    /// are given to (`recvstats --user`); `allow_insecure` accepts a
    /// directory others can write to or that a stranger owns.
    pub fn open(path: &Path, owner: Option<(uid_t, gid_t)>, allow_insecure: bool) -> Result<Self> {
        let metadata = match fs::metadata(path) {
            Ok(m) if m.is_dir() => m,
            Ok(_) => {
                return Err(Error::InvalidArgument(format!(
                    "{} is not a directory",
                    path.display()
                )))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::io(
                    format!("shm directory {} (create it, mode 0755)", path.display()),
                    e,
                ))
            }
            Err(e) => return Err(Error::io(format!("shm directory {}", path.display()), e)),
        };
        let dir = ShmDir {
            path: path.to_owned(),
            owner,
            dir_uid: metadata.uid(),
            identity: (metadata.dev(), metadata.ino()),
        };
        if !allow_insecure {
            let mode = metadata.mode() & 0o7777;
            if mode & 0o022 != 0 {
                let who = if mode & 0o002 != 0 {
                    "every local user"
                } else {
                    "its group"
                };
                return Err(Error::Insecure {
                    path: path.to_owned(),
                    reason: format!(
                        "shm directory is writable by {who} (mode {mode:04o}), who could plant a \
                         link or a file of their own under the names every reader trusts; \
                         use `chmod go-w` or a directory of its own (--shm-dir), or accept \
                         the risk with --allow-insecure-dir"
                    ),
                });
            }
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            let uid = metadata.uid();
            if uid != 0 && uid != me && owner.is_none_or(|(o, _)| o != uid) {
                return Err(Error::Insecure {
                    path: path.to_owned(),
                    reason: format!(
                        "shm directory belongs to uid {}, who could replace the files every \
                         reader trusts; use a directory owned by root or by the daemon's user, \
                         or accept the risk with --allow-insecure-dir",
                        metadata.uid()
                    ),
                });
            }
        }
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// (device, inode) of the directory as it was checked.
    pub fn identity(&self) -> (u64, u64) {
        self.identity
    }

    /// The user the files are given to, if any.
    pub fn owner(&self) -> Option<(uid_t, gid_t)> {
        self.owner
    }

    /// Users whose files the writer may use: root, itself, the files' user
    /// and the directory's owner.
    fn trusted(&self, uid: uid_t) -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        uid == 0 || uid == me || uid == self.dir_uid || self.owner.is_some_and(|(o, _)| o == uid)
    }

    /// Opens `name` in the directory for reading and writing, never through
    /// a symbolic link; checks the file's type and owner, makes it mode
    /// 0644 and gives it to the files' user.
    pub fn open_file(&self, name: &str, create: Create) -> Result<File> {
        let path = self.path.join(name);
        let mut options = OpenOptions::new();
        options
            .read(true)
            .write(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW);
        match create {
            Create::No => {}
            Create::IfMissing => {
                options.create(true);
            }
            Create::New => {
                options.create_new(true);
            }
        }
        let file = options.open(&path).map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::Insecure {
                    path: path.clone(),
                    reason: "is a symbolic link; refusing to follow it (remove it: the \
                             writer creates the file itself)"
                        .into(),
                }
            } else {
                Error::io(format!("open {} for writing", path.display()), e)
            }
        })?;
        let metadata = check_opened_file(&file, &path, |uid| self.trusted(uid))?;
        if let Some((uid, gid)) = self.owner {
            if (metadata.uid(), metadata.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                    .map_err(|e| Error::io(format!("give {} to uid {uid}", path.display()), e))?;
            }
        }
        if metadata.mode() & 0o7777 != 0o644 {
            file.set_permissions(fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(format!("chmod 0644 {}", path.display()), e))?;
        }
        Ok(file)
    }

    /// Whether this process (by its real uid, so call it after dropping
    /// privileges) can create and rename files in the directory, which
    /// growing the node file needs. The error says what to change.
    pub fn check_writable(&self) -> Result<()> {
        let path = CString::new(self.path.as_os_str().as_bytes())
            .map_err(|_| Error::InvalidArgument("shm directory name contains NUL".into()))?;
        // SAFETY: `path` is a valid NUL-terminated string for the call.
        if unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        // SAFETY: getuid has no preconditions and cannot fail.
        let me = unsafe { libc::getuid() };
        Err(Error::Insecure {
            path: self.path.clone(),
            reason: format!(
                "uid {me} cannot create files here ({error}), so the node file could not \
                 grow; give the directory to that user (chown {me} {})",
                self.path.display()
            ),
        })
    }
}

/// Checks, on the descriptor just opened (so nothing can be swapped in
/// between), that `file` is one the writer may give away, chmod and trust:
/// a regular file, of an owner `trusted` accepts, with exactly one link. A
/// second link means someone else's name for the same inode: a file planted
/// as a hard link (which `O_NOFOLLOW` does not stop) would otherwise be
/// chowned and made 0644 for whoever planted it. Returns its metadata.
fn check_opened_file(
    file: &File,
    path: &Path,
    trusted: impl Fn(uid_t) -> bool,
) -> Result<fs::Metadata> {
    let metadata = file
        .metadata()
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
    let refuse = |reason: String| Error::Insecure {
        path: path.to_owned(),
        reason,
    };
    if !metadata.is_file() {
        return Err(refuse(
            "is not a regular file (remove it: the writer creates the file itself)".into(),
        ));
    }
    if !trusted(metadata.uid()) {
        return Err(refuse(format!(
            "belongs to uid {}, not to root or the daemon's user; refusing to use \
             a file a stranger controls (remove it)",
            metadata.uid()
        )));
    }
    if metadata.nlink() != 1 {
        return Err(refuse(format!(
            "has {} hard links; refusing a file that may be another file's planted \
             link, which would be chowned and made readable (remove it: the writer \
             creates the file itself)",
            metadata.nlink()
        )));
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::symlink;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn a_directory_others_can_write_is_refused_with_the_reason_unless_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        for (mode, who) in [
            (0o777, "every local user"),
            (0o1777, "every local user"),
            (0o775, "its group"),
        ] {
            chmod(tmp.path(), mode);
            let error = ShmDir::open(tmp.path(), None, false).unwrap_err();
            assert_eq!(error.errno(), libc::EPERM);
            let message = error.to_string();
            assert!(message.contains(who), "{mode:o}: {message}");
            assert!(message.contains(&format!("{mode:04o}")), "{message}");
            assert!(message.contains("--allow-insecure-dir"), "{message}");
            ShmDir::open(tmp.path(), None, true).unwrap();
        }
        chmod(tmp.path(), 0o755);
        ShmDir::open(tmp.path(), None, false).unwrap();
    }

    #[test]
    fn a_planted_symbolic_link_is_not_followed_and_its_target_is_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("secret");
        fs::write(&secret, b"do not touch").unwrap();
        chmod(&secret, 0o600);
        let dir_path = tmp.path().join("shm");
        fs::create_dir(&dir_path).unwrap();
        symlink(&secret, dir_path.join("beostat")).unwrap();
        // Even in a directory explicitly allowed to be insecure.
        let dir = ShmDir::open(&dir_path, None, true).unwrap();
        for create in [Create::No, Create::IfMissing] {
            let error = dir.open_file("beostat", create).unwrap_err();
            assert!(error.to_string().contains("symbolic link"), "{error}");
        }
        assert_eq!(fs::read(&secret).unwrap(), b"do not touch");
        assert_eq!(fs::metadata(&secret).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_planted_hard_link_is_refused_before_any_chmod_and_its_target_is_untouched() {
        // Regression: O_NOFOLLOW does not stop hard links; the target was
        // made 0644 (and chowned with --user).
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("secret");
        fs::write(&secret, b"do not touch").unwrap();
        chmod(&secret, 0o600);
        let dir_path = tmp.path().join("shm");
        fs::create_dir(&dir_path).unwrap();
        fs::hard_link(&secret, dir_path.join("beostat")).unwrap();
        let dir = ShmDir::open(&dir_path, None, true).unwrap();
        for create in [Create::No, Create::IfMissing] {
            let error = dir.open_file("beostat", create).unwrap_err();
            assert_eq!(error.errno(), libc::EPERM);
            assert!(error.to_string().contains("has 2 hard links"), "{error}");
        }
        assert_eq!(fs::read(&secret).unwrap(), b"do not touch");
        assert_eq!(fs::metadata(&secret).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn files_are_created_0644_whatever_the_umask_and_a_fifo_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ShmDir::open(tmp.path(), None, false).unwrap();
        let mut file = dir.open_file("a", Create::New).unwrap();
        file.write_all(b"x").unwrap();
        assert_eq!(
            fs::metadata(tmp.path().join("a")).unwrap().mode() & 0o7777,
            0o644
        );
        chmod(&tmp.path().join("a"), 0o666);
        let mut again = dir.open_file("a", Create::No).unwrap();
        let mut text = String::new();
        again.read_to_string(&mut text).unwrap();
        assert_eq!(text, "x");
        assert_eq!(
            fs::metadata(tmp.path().join("a")).unwrap().mode() & 0o7777,
            0o644
        );
        assert!(dir.open_file("a", Create::New).is_err(), "O_EXCL");
        let fifo = CString::new(tmp.path().join("f").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        // O_RDWR on a FIFO does not block; the type check refuses it.
        let error = dir.open_file("f", Create::No).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }

    /// Needs root (chown to other users).
    #[test]
    #[ignore = "needs root"]
    fn strangers_files_are_refused_and_the_files_user_gets_the_files() {
        assert!(is_root(), "this test needs root");
        let tmp = tempfile::tempdir().unwrap();
        let stranger = tmp.path().join("beostat");
        fs::write(&stranger, b"planted").unwrap();
        std::os::unix::fs::chown(&stranger, Some(4242), Some(4242)).unwrap();
        chmod(tmp.path(), 0o1777);
        let dir = ShmDir::open(tmp.path(), None, true).unwrap();
        let error = dir.open_file("beostat", Create::IfMissing).unwrap_err();
        assert!(error.to_string().contains("uid 4242"), "{error}");
        // A directory owned by a stranger is refused unless allowed.
        chmod(tmp.path(), 0o755);
        std::os::unix::fs::chown(tmp.path(), Some(4242), None).unwrap();
        let error = ShmDir::open(tmp.path(), None, false).unwrap_err();
        assert!(error.to_string().contains("belongs to uid 4242"), "{error}");
        // The same directory and file are fine for that user's writer.
        let theirs = ShmDir::open(tmp.path(), Some((4242, 4343)), false).unwrap();
        theirs.open_file("beostat", Create::No).unwrap();
        let made = theirs
            .open_file("beostat.nodes", Create::IfMissing)
            .unwrap();
        let metadata = made.metadata().unwrap();
        assert_eq!((metadata.uid(), metadata.gid()), (4242, 4343));
        let given = fs::metadata(&stranger).unwrap();
        assert_eq!((given.uid(), given.gid()), (4242, 4343));
    }
}
