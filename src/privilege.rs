//! Giving up root: looking up the user a daemon should run as, and
//! switching to it for good.
//!
//! recvstats starts as root (to force a large receive buffer, read a
//! root-only key file and create the shm files), then calls [`drop_to`].
//! The switch sets the supplementary groups to the user's primary group
//! only, then the real, effective and saved group and user ids, in that
//! order (the group ids can no longer be changed once the user id is not
//! root), and then checks that root cannot be regained. Linux clears every
//! capability when all user ids leave 0, so nothing privileged is left.
//! The user database is read through `nix` (`getpwnam_r`/`getpwuid_r` with
//! their buffer-size dance), not by hand.

use crate::error::{Error, Result};
use nix::unistd::{self, Gid, Uid, User};

/// Who to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The user's name (or its number when it has no entry).
    pub name: String,
    /// User id.
    pub uid: libc::uid_t,
    /// The user's primary group.
    pub gid: libc::gid_t,
}

/// Finds `spec`, a user name or a numeric user id, in the user database.
/// The error is a sentence for the command line.
pub fn lookup(spec: &str) -> std::result::Result<Target, String> {
    let found = match spec.parse::<libc::uid_t>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(spec),
    };
    match found {
        Ok(Some(user)) => Ok(Target {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        }),
        Ok(None) => Err(format!("--user {spec}: no such user")),
        Err(e) => Err(format!("--user {spec}: cannot read the user database: {e}")),
    }
}

/// Checks, before anything is opened, that this process will be able to
/// become `target`: it is root, or it already is `target`.
pub fn check_can_become(target: &Target) -> Result<()> {
    let uid = Uid::from_raw(target.uid);
    if Uid::effective().is_root() || (Uid::current() == uid && Uid::effective() == uid) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "--user {}: only root can switch users (this is uid {})",
        target.name,
        Uid::effective()
    )))
}

/// Becomes `target` for good: supplementary groups, group ids, user ids.
///
/// Already being `target` is not an error (nothing changes). Anyone else
/// but root gets a clear error: only root can switch users.
pub fn drop_to(target: &Target) -> Result<()> {
    let uid = Uid::from_raw(target.uid);
    let gid = Gid::from_raw(target.gid);
    let fail = |what: &str, e: nix::Error| {
        let hint = if e == nix::Error::EPERM {
            "; only root can switch users (under systemd, use User= instead)"
        } else {
            ""
        };
        Error::io(
            format!(
                "cannot run as {} (uid {}{hint}): {what}",
                target.name, target.uid
            ),
            e.into(),
        )
    };
    if Uid::current() == uid && Uid::effective() == uid {
        return Ok(());
    }
    unistd::setgroups(&[gid]).map_err(|e| fail("setgroups", e))?;
    unistd::setresgid(gid, gid, gid).map_err(|e| fail("setresgid", e))?;
    unistd::setresuid(uid, uid, uid).map_err(|e| fail("setresuid", e))?;
    if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(Error::InvalidArgument(format!(
            "dropped to uid {} but could become root again: refusing to go on",
            target.uid
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_found_by_name_and_by_number_and_strangers_are_named() {
        let root = lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(lookup("0").unwrap().name, "root");
        let error = lookup("no-such-user-beostat").unwrap_err();
        assert_eq!(error, "--user no-such-user-beostat: no such user");
        assert!(lookup("4294967").is_err(), "a uid without an entry");
    }

    #[test]
    fn becoming_who_one_already_is_changes_nothing() {
        let me = Uid::current();
        let target = Target {
            name: "me".into(),
            uid: me.as_raw(),
            gid: Gid::current().as_raw(),
        };
        check_can_become(&target).unwrap();
        drop_to(&target).unwrap();
        assert_eq!(Uid::current(), me);
    }
}
