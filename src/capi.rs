//! The C API of libbeostat: every `beostat_*` function of `<sys/beostat.h>`.
//!
//! Each function is a thin shell ([`shell`]) around one call on the
//! process-wide [`Reader`]: it catches panics so none crosses into C, checks
//! pointers, and keeps the legacy convention (-1, -1.0 or `(unsigned long)-1`
//! on error, with `errno` set from [`Error::errno`]). Outputs are written
//! only on success. The shm files are mapped on the first call and reused;
//! a call in steady state makes no system call.
//!
//! The directory is `$BEOSTAT_SHM_DIR` if set when the first call is made,
//! else /var/shm.
#![allow(non_snake_case)]
// These are C entry points: the pointer contracts are stated in each doc
// comment for C callers, and every pointer is NULL-checked before use.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use crate::error::{Error, Result};
use crate::shm::Reader;
use crate::types::{
    beostat_loadavg, beostat_meminfo, beostat_net_dev, beostat_stat_cpu, node_time, MAX_NET_DEV,
};
use libc::{c_char, c_int, c_ulong, gid_t, time_t, uid_t};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

static READER: OnceLock<Reader> = OnceLock::new();

fn reader() -> &'static Reader {
    READER.get_or_init(Reader::from_env)
}

fn set_errno(value: c_int) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = value };
}

/// Runs `body`, turning an error or a panic into `failed` with errno set.
fn shell<T>(failed: T, body: impl FnOnce() -> Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            set_errno(error.errno());
            failed
        }
        Err(_) => {
            set_errno(libc::EIO);
            failed
        }
    }
}

/// Writes `value` through `out` (checked for NULL by the caller's shell).
fn write_out<T>(out: *mut T, value: T) -> Result<()> {
    if out.is_null() {
        return Err(Error::NullPointer);
    }
    // SAFETY: the C caller promises `out` points at a writable T; NULL was
    // rejected above. write_unaligned tolerates callers' packed structs.
    unsafe { out.write_unaligned(value) };
    Ok(())
}

/// The caller's groups as a slice (NULL is allowed with size 0).
fn groups<'a>(gid_list: *const gid_t, gid_size: c_int) -> Result<&'a [gid_t]> {
    match gid_size {
        n if n < 0 => Err(Error::InvalidArgument(format!("gid_size {n}"))),
        0 => Ok(&[]),
        _ if gid_list.is_null() => Err(Error::NullPointer),
        // SAFETY: the caller promises gid_list holds gid_size entries.
        n => Ok(unsafe { std::slice::from_raw_parts(gid_list, n as usize) }),
    }
}

/// The calling process's uid and groups.
pub(crate) fn caller_credentials() -> (uid_t, Vec<gid_t>) {
    // SAFETY: getuid/getgid/getgroups have no preconditions; getgroups is
    // given a buffer of the size it reported.
    unsafe {
        let uid = libc::getuid();
        let mut gids = vec![libc::getgid()];
        let n = libc::getgroups(0, std::ptr::null_mut());
        if n > 0 {
            let mut extra = vec![0 as gid_t; n as usize];
            let got = libc::getgroups(n, extra.as_mut_ptr());
            if got > 0 {
                extra.truncate(got as usize);
                gids.extend(extra);
            }
        }
        (uid, gids)
    }
}

/// malloc()s a copy of `items` the caller releases with free().
fn malloc_copy<T: Copy>(items: &[T]) -> Result<*mut T> {
    let bytes = std::mem::size_of_val(items).max(1);
    // SAFETY: malloc of a non-zero size; the result is checked for NULL.
    let p = unsafe { libc::malloc(bytes) } as *mut T;
    if p.is_null() {
        return Err(Error::io(
            "malloc",
            std::io::Error::from_raw_os_error(libc::ENOMEM),
        ));
    }
    // SAFETY: p has room for items.len() elements (malloc aligns for any type).
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), p, items.len()) };
    Ok(p)
}

/// Counts the CPUs, over the whole cluster, that the calling user may use
/// and whose use over the last interval is below `threshold` (a fraction:
/// 0.5 is 50%; pass 9999.0 to count every CPU the caller may use).
///
/// Compute nodes (0 and up) that are up and whose access rules admit the
/// caller count; the master (node -1) does not. Node numbers that never
/// reported (gaps) are skipped and down nodes count 0: neither makes the
/// call fail. Returns the count, or -1 with errno set (ENOENT: no shm files).
#[no_mangle]
pub extern "C" fn beostat_count_idle_cpus(threshold: f32) -> c_int {
    shell(-1, || {
        let (uid, gids) = caller_credentials();
        reader().count_idle_cpus(threshold, uid, &gids)
    })
}

/// Counts the CPUs of `node` whose use over the last interval is below
/// `cpu_idle_threshold` (a fraction, 0.0 to 1.0). A node that is down has
/// no idle CPUs (returns 0). Returns -1 with errno ESRCH for an unknown node.
#[no_mangle]
pub extern "C" fn beostat_count_idle_cpus_on_node(node: c_int, cpu_idle_threshold: f32) -> c_int {
    shell(-1, || {
        reader().count_idle_cpus_on_node(node, cpu_idle_threshold)
    })
}

/// Fraction (0.0 to 1.0) of the time CPU `cpu` of `node` was busy between
/// the node's last two reports. Returns -1.0 with errno set on error
/// (ESRCH unknown node, EINVAL unknown CPU).
#[no_mangle]
pub extern "C" fn beostat_get_cpu_percent(node: c_int, cpu: c_int) -> f32 {
    shell(-1.0, || reader().cpu_percent(node, cpu))
}

/// When recvstats last multicast a request for updates to the nodes, or
/// (time_t)-1 with errno set on error.
#[no_mangle]
pub extern "C" fn beostat_get_last_multicast() -> time_t {
    shell(-1, || reader().last_multicast())
}

/// Records `last` as the time of the last update request. Needs write
/// permission on the shm files (normally only recvstats has it). Returns 0,
/// or -1 with errno set (EACCES, ENOENT).
#[no_mangle]
pub extern "C" fn beostat_set_last_multicast(last: time_t) -> c_int {
    shell(-1, || {
        crate::shm::reader::set_last_multicast(reader().dir(), last).map(|()| 0)
    })
}

/// Copies the /proc/loadavg of `node` (-1 is the master) into `*loadavg`.
/// Returns 0, or -1 with errno set (EFAULT NULL pointer, ESRCH unknown node).
#[no_mangle]
pub extern "C" fn beostat_get_loadavg(node: c_int, loadavg: *mut beostat_loadavg) -> c_int {
    shell(-1, || {
        if loadavg.is_null() {
            return Err(Error::NullPointer);
        }
        write_out(loadavg, reader().loadavg(node)?).map(|()| 0)
    })
}

/// Copies the memory use of `node` into `*meminfo`. All values are in
/// bytes. Returns 0, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_meminfo(node: c_int, meminfo: *mut beostat_meminfo) -> c_int {
    shell(-1, || {
        if meminfo.is_null() {
            return Err(Error::NullPointer);
        }
        write_out(meminfo, reader().meminfo(node)?).map(|()| 0)
    })
}

/// Stores the clock of CPU 0 of `node`, in MHz, in `*MHz` (0.0 when the
/// node's architecture does not report it). Returns 0, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_MHz(node: c_int, MHz: *mut f32) -> c_int {
    shell(-1, || {
        if MHz.is_null() {
            return Err(Error::NullPointer);
        }
        write_out(MHz, reader().mhz(node)?).map(|()| 0)
    })
}

/// Fills `devs[0 .. min(MAX_NET_DEV, size)-1]` with the network interfaces
/// of `node` in /proc/net/dev order; entries past the node's interfaces
/// (up to `size`) are zeroed, so callers stop at the first `name[0] == 0`.
/// Returns 0, or -1 with errno set (EFAULT `devs` NULL with `size` > 0,
/// EINVAL negative `size`).
#[no_mangle]
pub extern "C" fn beostat_get_net_dev(
    node: c_int,
    devs: *mut beostat_net_dev,
    size: c_int,
) -> c_int {
    shell(-1, || {
        let size =
            usize::try_from(size).map_err(|_| Error::InvalidArgument(format!("size {size}")))?;
        if size > 0 && devs.is_null() {
            return Err(Error::NullPointer);
        }
        let mut table = [beostat_net_dev::default(); MAX_NET_DEV];
        reader().net_dev_into(node, &mut table)?;
        let filled = table
            .iter()
            .copied()
            .chain(std::iter::repeat(beostat_net_dev::default()));
        for (i, entry) in filled.take(size).enumerate() {
            // SAFETY: the caller promises devs holds `size` entries; i < size.
            unsafe { devs.add(i).write_unaligned(entry) };
        }
        Ok(0)
    })
}

/// Bytes per second sent and received by `node` over all its interfaces,
/// between its last two reports. Returns (unsigned long)-1 with errno set
/// on error.
#[no_mangle]
pub extern "C" fn beostat_get_net_rate(node: c_int) -> c_ulong {
    shell(c_ulong::MAX, || {
        reader().net_rate(node).map(|r| r as c_ulong)
    })
}

/// Copies the cumulative counters (clock ticks) of CPU `cpu` of `node` into
/// `*stat_cpu`. Returns 0, or -1 with errno set (EINVAL unknown CPU).
#[no_mangle]
pub extern "C" fn beostat_get_stat_cpu(
    node: c_int,
    cpu: c_int,
    stat_cpu: *mut beostat_stat_cpu,
) -> c_int {
    shell(-1, || {
        if stat_cpu.is_null() {
            return Err(Error::NullPointer);
        }
        write_out(stat_cpu, reader().stat_cpu(node, cpu)?).map(|()| 0)
    })
}

/// Copies statfs(2) of the root filesystem of `node` into `*statfs`.
/// Returns 0, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_statfs_p(node: c_int, statfs: *mut libc::statfs) -> c_int {
    shell(-1, || {
        if statfs.is_null() {
            return Err(Error::NullPointer);
        }
        write_out(statfs, reader().statfs(node)?).map(|()| 0)
    })
}

/// Stores when the last report of `node` arrived in `*node_time` (a plain
/// `time_t *` works too). Use it to skip stale data. Returns 0, or -1.
#[no_mangle]
pub extern "C" fn beostat_get_time(node: c_int, node_time: *mut node_time) -> c_int {
    shell(-1, || {
        if node_time.is_null() {
            return Err(Error::NullPointer);
        }
        write_out(node_time, reader().time(node)?).map(|()| 0)
    })
}

/// May user `uid`, member of the `gid_size` groups in `gid_list`, use
/// `node`? Returns 1 if the node is up and its access rules admit the user
/// (with no rules every user may use every up node; root always may),
/// 0 if not, -1 with errno set on error.
#[no_mangle]
pub extern "C" fn beostat_is_node_available(
    node: c_int,
    uid: uid_t,
    gid_list: *mut gid_t,
    gid_size: c_int,
) -> c_int {
    shell(-1, || {
        let gids = groups(gid_list, gid_size)?;
        reader().is_available(node, uid, gids).map(c_int::from)
    })
}

/// [Reconstructed prototype; the original page is lost.] Stores in `*name`
/// a newly malloc()ed, NUL-terminated copy of the host name `node`
/// reported; release it with free(). Returns 0, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_name(node: c_int, name: *mut *mut c_char) -> c_int {
    shell(-1, || {
        if name.is_null() {
            return Err(Error::NullPointer);
        }
        let mut bytes = reader().name(node)?;
        bytes.push(0);
        let copy = malloc_copy(&bytes)? as *mut c_char;
        write_out(name, copy).map(|()| 0)
    })
}

/// [Reconstructed prototype.] Stores the size (`*max`) and used space
/// (`*curr`) of the root filesystem of `node`, in MiB (1048576 bytes),
/// clamped to INT_MAX. Returns 0, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_disk_usage(node: c_int, max: *mut c_int, curr: *mut c_int) -> c_int {
    shell(-1, || {
        if max.is_null() || curr.is_null() {
            return Err(Error::NullPointer);
        }
        let fs = reader().statfs(node)?;
        let unit = if fs.f_frsize > 0 {
            fs.f_frsize
        } else {
            fs.f_bsize
        }
        .max(0) as u128;
        let mib =
            |blocks: u64| (blocks as u128 * unit / (1 << 20)).min(c_int::MAX as u128) as c_int;
        write_out(max, mib(fs.f_blocks))?;
        write_out(curr, mib(fs.f_blocks.saturating_sub(fs.f_bfree)))?;
        Ok(0)
    })
}

/// [Reconstructed prototype.] Stores in `*node_list` a newly malloc()ed
/// array of the compute nodes user `uid` (member of `gid_list`) may use,
/// in increasing order; release it with free(). Node numbers that never
/// reported are skipped and down nodes are not available; neither makes
/// the call fail. Returns the number of entries, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_avail_nodes_by_id(
    node_list: *mut *mut c_int,
    uid: uid_t,
    gid_list: *mut gid_t,
    gid_size: c_int,
) -> c_int {
    shell(-1, || {
        if node_list.is_null() {
            return Err(Error::NullPointer);
        }
        let gids = groups(gid_list, gid_size)?;
        let nodes = reader().available_nodes(uid, gids)?;
        let copy = malloc_copy(&nodes)?;
        write_out(node_list, copy)?;
        Ok(nodes.len() as c_int)
    })
}

/// [Reconstructed prototype.] Number of CPUs of `node`, or -1 with errno set.
#[no_mangle]
pub extern "C" fn beostat_get_cpu_count(node: c_int) -> c_int {
    shell(-1, || reader().cpu_count(node))
}

/// [Reconstructed prototype.] One more than the highest node number that
/// has reported (nodes are 0 .. count-1; the master is -1), or -1 with
/// errno set. Numbers below it that never reported are gaps: calls on them
/// fail with ESRCH, and the whole-cluster calls skip them.
#[no_mangle]
pub extern "C" fn beostat_get_node_count() -> c_int {
    shell(-1, || reader().node_count())
}

// Binds each function above to version LIBBEOSTAT_1 (`.symver` directives
// build.rs writes from the header). The version script alone versions
// nothing: rustc's own script lists every export by exact name, which
// outranks src/libbeostat.map's pattern. The directives must sit in this
// module, in the same codegen unit as the functions they name (the
// assembler rejects a default version of a symbol it does not define);
// tests/exports.rs checks the result.
include!(concat!(env!("OUT_DIR"), "/symbol_versions.rs"));
