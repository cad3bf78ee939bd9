//! recvstats' sockets: where status arrives and update requests leave.
//!
//! One IPv4 socket on `0.0.0.0:PORT` (unicast, and the IPv4 group joined on
//! the interface) and, when the host has IPv6, one IPv6-only socket on
//! `[::]:PORT` (unicast, and the IPv6 group joined on the interface). No
//! SO_REUSEADDR: a port already taken is an error, not a silent split of
//! the traffic. Port 0 picks a free port (the IPv6 socket then takes the
//! same number when it can). A large receive buffer is asked for (forced
//! past net.core.rmem_max when we may) and the size the kernel granted is
//! logged. Multicast is used only on the interface named with `-i`
//! (without it, unicast only); multicast that cannot be set up there (an
//! interface without the MULTICAST flag, no route) is a warning: unicast
//! still works.

use crate::error::{Error, Result};
use crate::netif;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::unix::io::AsRawFd;

/// Receive buffer asked for: room for about 4,000 typical reports (4 KB
/// of payload, 8 KB of kernel memory each), 20 ms of traffic at 200,000
/// datagrams a second, so a burst or a stall of the master does not lose
/// reports. Root gets it whatever net.core.rmem_max says (SO_RCVBUFFORCE);
/// others get at most rmem_max (the kernel doubles both for its overhead).
const RECEIVE_BUFFER: usize = 32 << 20;

/// What to bind and join.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// Port (0: any free port).
    pub port: u16,
    /// Interface to join the groups on (`-i`); `None`: no multicast.
    pub interface: Option<String>,
    /// IPv4 group.
    pub group_v4: Ipv4Addr,
    /// IPv6 group.
    pub group_v6: Ipv6Addr,
}

/// The open sockets.
#[derive(Debug)]
pub struct Sockets {
    /// IPv4 socket.
    pub v4: UdpSocket,
    /// IPv6 socket, when the host has IPv6.
    pub v6: Option<UdpSocket>,
    /// The port bound.
    pub port: u16,
    /// Where update requests are multicast, if multicast works.
    pub multicast_targets: Vec<SocketAddr>,
}

fn bind_error(port: u16, e: std::io::Error) -> Error {
    match e.kind() {
        ErrorKind::AddrInUse => Error::io(
            format!("UDP port {port} is already in use (is another recvstats running?)"),
            e,
        ),
        ErrorKind::PermissionDenied => Error::io(format!("UDP port {port} needs privileges"), e),
        _ => Error::io(format!("bind UDP port {port}"), e),
    }
}

fn udp(domain: Domain) -> std::io::Result<Socket> {
    let socket = Socket::new(domain, Type::DGRAM.cloexec(), Some(Protocol::UDP))?;
    let size = RECEIVE_BUFFER as libc::c_int;
    // SAFETY: setsockopt on our own descriptor with a c_int option value
    // of the right length.
    let forced = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const size).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    } == 0;
    if !forced {
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    }
    Ok(socket)
}

/// Opens and joins everything.
pub fn open(options: &NetOptions) -> Result<Sockets> {
    let interface = match &options.interface {
        Some(name) => Some(
            netif::interface_flags(name)
                .ok()
                .flatten()
                .zip(netif::if_index(name))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("interface {name} does not exist"))
                })?,
        ),
        None => None,
    };
    let index = interface.map_or(0, |(_, index)| index);
    // Multicast only on the interface named: left to the routing table, the
    // join and the update requests would go out of whatever interface the
    // default route uses, often not the cluster's (issue 14).
    let multicast_capable =
        interface.is_some_and(|(flags, _)| flags & libc::IFF_MULTICAST as u32 != 0);
    if options.interface.is_none() {
        log::info!(
            "no -i: receiving unicast only, no multicast group joined and no update \
             requests multicast (give -i IFACE, the cluster interface, for multicast)"
        );
    }
    if let (Some(name), false) = (&options.interface, multicast_capable) {
        log::warn!("interface {name} has no MULTICAST flag: receiving unicast only");
    }

    let v4 = udp(Domain::IPV4).map_err(|e| Error::io("create IPv4 UDP socket", e))?;
    v4.bind(&SockAddr::from(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        options.port,
    )))
    .map_err(|e| bind_error(options.port, e))?;
    let port = v4
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map_or(options.port, |a| a.port());
    let granted = v4.recv_buffer_size().unwrap_or(0);
    if granted < RECEIVE_BUFFER {
        log::info!(
            "listening on UDP port {port}; receive buffer {granted} bytes granted of {RECEIVE_BUFFER} asked (for more: sysctl -w net.core.rmem_max={RECEIVE_BUFFER}, kept in /etc/sysctl.d/; SO_RCVBUFFORCE needs CAP_NET_ADMIN, which the systemd unit does not grant)"
        );
    } else {
        log::info!("listening on UDP port {port}; receive buffer {granted} bytes granted");
    }

    let mut multicast_targets = Vec::new();
    if multicast_capable {
        let joined = v4
            .join_multicast_v4_n(&options.group_v4, &InterfaceIndexOrAddress::Index(index))
            .and_then(|()| netif::set_multicast_if_v4_index(&v4, index))
            .and_then(|()| v4.set_multicast_loop_v4(false))
            .and_then(|()| v4.set_multicast_ttl_v4(1));
        match joined {
            Ok(()) => {
                log::info!(
                    "joined multicast group {} on {}",
                    options.group_v4,
                    interface_label(options)
                );
                multicast_targets.push(SocketAddr::from((options.group_v4, port)));
            }
            Err(e) => log::warn!(
                "cannot join {} ({e}): receiving unicast only over IPv4",
                options.group_v4
            ),
        }
    }

    let v6 = match udp(Domain::IPV6).and_then(|s| {
        s.set_only_v6(true)?;
        s.bind(&SockAddr::from(SocketAddrV6::new(
            Ipv6Addr::UNSPECIFIED,
            port,
            0,
            0,
        )))?;
        Ok(s)
    }) {
        Ok(socket) => {
            if multicast_capable && index != 0 {
                let joined = socket
                    .join_multicast_v6(&options.group_v6, index)
                    .and_then(|()| socket.set_multicast_if_v6(index))
                    .and_then(|()| socket.set_multicast_loop_v6(false));
                match joined {
                    Ok(()) => multicast_targets.push(SocketAddr::V6(SocketAddrV6::new(
                        options.group_v6,
                        port,
                        0,
                        index,
                    ))),
                    Err(e) => {
                        log::warn!("cannot join {} ({e}): IPv6 unicast only", options.group_v6)
                    }
                }
            }
            Some(socket)
        }
        Err(e) if e.kind() == ErrorKind::AddrInUse => return Err(bind_error(port, e)),
        Err(e) => {
            log::info!("no IPv6 socket ({e}); IPv4 only");
            None
        }
    };

    let finish = |s: Socket| -> Result<UdpSocket> {
        s.set_nonblocking(true)
            .map_err(|e| Error::io("set non-blocking", e))?;
        Ok(s.into())
    };
    Ok(Sockets {
        v4: finish(v4)?,
        v6: v6.map(finish).transpose()?,
        port,
        multicast_targets,
    })
}

fn interface_label(options: &NetOptions) -> String {
    options
        .interface
        .clone()
        .unwrap_or_else(|| "the default interface".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interface_is_a_clear_error() {
        let options = NetOptions {
            port: 0,
            interface: Some("nosuchif0".into()),
            group_v4: crate::protocol::DEFAULT_GROUP_V4,
            group_v6: crate::protocol::DEFAULT_GROUP_V6,
        };
        let error = open(&options).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid argument: interface nosuchif0 does not exist"
        );
    }

    #[test]
    fn a_taken_port_is_a_clear_error_and_port_zero_picks_one() {
        let options = NetOptions {
            port: 0,
            interface: Some("lo".into()),
            group_v4: crate::protocol::DEFAULT_GROUP_V4,
            group_v6: crate::protocol::DEFAULT_GROUP_V6,
        };
        let first = open(&options).unwrap();
        assert_ne!(first.port, 0);
        assert!(
            first.multicast_targets.is_empty(),
            "lo has no MULTICAST flag"
        );
        let again = NetOptions {
            port: first.port,
            ..options
        };
        let error = open(&again).unwrap_err().to_string();
        assert!(error.contains("already in use"), "{error}");
    }
}
