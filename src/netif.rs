//! Network interfaces and the socket options both daemons set on them.
//!
//! Owns looking up an interface named with `-i` (index, MULTICAST and UP
//! flags) and choosing the interface for outgoing IPv4 multicast by index.
//! No policy: callers decide what a missing flag means.

use socket2::Socket;
use std::ffi::CStr;
use std::io;
use std::os::unix::io::AsRawFd;

/// A network interface named with `-i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name, as given.
    pub name: String,
    /// Its index (`if_nametoindex`).
    pub index: u32,
    /// Whether it has `IFF_MULTICAST`.
    pub multicast: bool,
    /// Whether it has `IFF_UP`.
    pub up: bool,
}

/// The `ifa_flags` of interface `name`, or `None` if it does not exist.
pub fn interface_flags(name: &str) -> io::Result<Option<u32>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = None;
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned, which
        // stays valid until freeifaddrs; ifa_name is a NUL-terminated string.
        let (entry_name, flags, next) = unsafe {
            let node = &*entry;
            (CStr::from_ptr(node.ifa_name), node.ifa_flags, node.ifa_next)
        };
        if entry_name.to_bytes() == name.as_bytes() {
            found = Some(flags);
            break;
        }
        entry = next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    Ok(found)
}

/// The index of interface `name`, or `None` if it does not exist.
pub fn if_index(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// `IP_MULTICAST_IF` by interface index (`struct ip_mreqn`), which socket2
/// only offers by address; an index works on an interface with no IPv4
/// address of its own and cannot pick the wrong one of several. (recvstats
/// needs the same to multicast its requests on `-i`.)
pub fn set_multicast_if_v4_index(socket: &Socket, index: u32) -> io::Result<()> {
    let request = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: i32::try_from(index)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
    };
    // SAFETY: the option value points at a live ip_mreqn of the given size,
    // which is what Linux reads for IP_MULTICAST_IF.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&request as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
