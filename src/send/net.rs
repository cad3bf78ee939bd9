//! The sockets of sendstats, built in one place with socket2.
//!
//! This module owns how sendstats talks to the network: resolving the
//! destinations, looking up the `-i` interface (and refusing one that cannot
//! do multicast), the sending sockets and the multicast listeners, and the
//! `poll(2)` wait. It holds no policy about what to send or when; the
//! reporter does.
//!
//! - One sending socket per address family in use, bound to an ephemeral
//!   port. It sends to every destination of its family (unicast and
//!   multicast) and receives recvstats' unicast replies, which go to the
//!   source address of our reports. For multicast it has TTL / hop limit 1
//!   and, with `-i`, `IP_MULTICAST_IF` / `IPV6_MULTICAST_IF` set by interface
//!   index. Multicast loop-back stays on, so a recvstats on the same host
//!   hears us (our own reports come back to our listener and are ignored).
//! - One listener per multicast destination: bound to the group and its port
//!   with `SO_REUSEADDR` and joined to the group on the interface, so the
//!   UPDATE_REQUEST and RATE_CHANGE that recvstats multicasts reach us.
//!   `IP_MULTICAST_ALL` is turned off so that groups other processes join on
//!   the same port are not delivered to us.
//!
//! All sockets are non-blocking and close-on-exec.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6, ToSocketAddrs, UdpSocket};
use std::os::fd::RawFd;
use std::time::Duration;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use super::cli::Target;
use super::Error;
use crate::netif::{if_index, interface_flags};
pub use crate::netif::{set_multicast_if_v4_index, Interface};

impl Interface {
    /// Looks `name` up with getifaddrs(3). Fails if there is no such
    /// interface.
    pub fn find(name: &str) -> Result<Interface, Error> {
        let flags = interface_flags(name)
            .map_err(|e| Error::io("cannot list the network interfaces", e))?
            .ok_or_else(|| Error::Runtime(format!("interface {name} does not exist")))?;
        let index = if_index(name)
            .ok_or_else(|| Error::Runtime(format!("interface {name} does not exist")))?;
        Ok(Interface {
            name: name.to_owned(),
            index,
            multicast: flags & libc::IFF_MULTICAST as u32 != 0,
            up: flags & libc::IFF_UP as u32 != 0,
        })
    }

    /// Fails unless the interface can send and receive multicast.
    pub fn check_multicast(&self) -> Result<(), Error> {
        if !self.multicast {
            return Err(Error::Runtime(format!(
                "interface {} does not support multicast",
                self.name
            )));
        }
        Ok(())
    }
}

/// Resolves the command line's targets to socket addresses, in order and
/// without duplicates. A host name takes the first address getaddrinfo
/// gives (its order follows RFC 6724 and /etc/gai.conf).
pub fn resolve(targets: &[Target]) -> Result<Vec<SocketAddr>, Error> {
    let mut out = Vec::with_capacity(targets.len());
    for target in targets {
        let address = match target {
            Target::Ip(address) => *address,
            Target::Host(host, port) => (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(|e| Error::io(format!("cannot resolve {host}"), e))?
                .next()
                .ok_or_else(|| Error::Runtime(format!("{host} has no address")))?,
        };
        if !out.contains(&address) {
            out.push(address);
        }
    }
    Ok(out)
}

/// A multicast listener: receives what recvstats multicasts to the group.
#[derive(Debug)]
pub struct Listener {
    /// The group and port it listens on.
    pub group: SocketAddr,
    /// The socket.
    pub socket: UdpSocket,
}

/// Every socket sendstats uses.
#[derive(Debug, Default)]
pub struct Sockets {
    /// Sends to IPv4 destinations, receives replies.
    pub v4: Option<UdpSocket>,
    /// Sends to IPv6 destinations, receives replies.
    pub v6: Option<UdpSocket>,
    /// One per multicast destination.
    pub listeners: Vec<Listener>,
}

impl Sockets {
    /// Builds the sockets for `destinations`. With `listen`, a listener is
    /// opened for each multicast destination. `interface` must be given for
    /// IPv6 multicast, and must support multicast if any destination is
    /// multicast.
    pub fn open(
        destinations: &[SocketAddr],
        interface: Option<&Interface>,
        listen: bool,
    ) -> Result<Sockets, Error> {
        let multicast = destinations.iter().any(|d| d.ip().is_multicast());
        if let (true, Some(interface)) = (multicast, interface) {
            interface.check_multicast()?;
        }
        let index = interface.map(|i| i.index);
        let mut sockets = Sockets::default();
        if destinations.iter().any(SocketAddr::is_ipv4) {
            let v4_multicast = destinations
                .iter()
                .any(|d| d.is_ipv4() && d.ip().is_multicast());
            sockets.v4 = Some(
                sender_v4(v4_multicast, index)
                    .map_err(|e| Error::io("cannot open the IPv4 sending socket", e))?,
            );
        }
        if destinations.iter().any(SocketAddr::is_ipv6) {
            let v6_multicast = destinations
                .iter()
                .any(|d| d.is_ipv6() && d.ip().is_multicast());
            sockets.v6 = Some(
                sender_v6(v6_multicast, index)
                    .map_err(|e| Error::io("cannot open the IPv6 sending socket", e))?,
            );
        }
        if listen {
            for group in destinations.iter().filter(|d| d.ip().is_multicast()) {
                let socket = listener(*group, index).map_err(|e| {
                    Error::io(format!("cannot listen to multicast group {group}"), e)
                })?;
                sockets.listeners.push(Listener {
                    group: *group,
                    socket,
                });
            }
        }
        Ok(sockets)
    }

    /// The sending socket for `destination`'s address family.
    pub fn sender_for(&self, destination: &SocketAddr) -> Option<&UdpSocket> {
        match destination {
            SocketAddr::V4(_) => self.v4.as_ref(),
            SocketAddr::V6(_) => self.v6.as_ref(),
        }
    }

    /// Every socket that can receive, sending sockets first.
    pub fn receivers(&self) -> impl Iterator<Item = &UdpSocket> {
        self.v4
            .iter()
            .chain(self.v6.iter())
            .chain(self.listeners.iter().map(|l| &l.socket))
    }
}

/// The address a datagram to `destination` leaves from, as the kernel
/// picks it (for multicast, on the interface of index `interface`): what a
/// connected socket is bound to. Nothing is sent.
pub fn source_address(destination: SocketAddr, interface: Option<u32>) -> io::Result<IpAddr> {
    let probe = udp(if destination.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    })?;
    if let (true, Some(index)) = (destination.ip().is_multicast(), interface) {
        if destination.is_ipv4() {
            set_multicast_if_v4_index(&probe, index)?;
        } else {
            probe.set_multicast_if_v6(index)?;
        }
    }
    probe.connect(&destination.into())?;
    probe
        .local_addr()?
        .as_socket()
        .map(|a| a.ip())
        .ok_or_else(|| io::Error::other("the probe socket has no IP address"))
}

fn udp(domain: Domain) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if domain == Domain::IPV6 {
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}

fn sender_v4(multicast: bool, interface: Option<u32>) -> io::Result<UdpSocket> {
    let socket = udp(Domain::IPV4)?;
    if multicast {
        socket.set_multicast_ttl_v4(1)?;
        if let Some(index) = interface {
            set_multicast_if_v4_index(&socket, index)?;
        }
    }
    socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn sender_v6(multicast: bool, interface: Option<u32>) -> io::Result<UdpSocket> {
    let socket = udp(Domain::IPV6)?;
    if multicast {
        socket.set_multicast_hops_v6(1)?;
        if let Some(index) = interface {
            socket.set_multicast_if_v6(index)?;
        }
    }
    socket.bind(&SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)).into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn listener(group: SocketAddr, interface: Option<u32>) -> io::Result<UdpSocket> {
    let socket = match group.ip() {
        IpAddr::V4(ip) => {
            let socket = udp(Domain::IPV4)?;
            socket.set_reuse_address(true)?;
            // Bound to the group itself: unicast to this port is not ours.
            socket.bind(&group.into())?;
            let on = match interface {
                Some(index) => InterfaceIndexOrAddress::Index(index),
                None => InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED),
            };
            socket.join_multicast_v4_n(&ip, &on)?;
            // Old kernels lack the option; the bind to the group filters anyway.
            let _ = socket.set_multicast_all_v4(false);
            socket
        }
        IpAddr::V6(ip) => {
            let index = interface.unwrap_or(0);
            let socket = udp(Domain::IPV6)?;
            socket.set_reuse_address(true)?;
            socket.bind(&SocketAddrV6::new(ip, group.port(), 0, index).into())?;
            socket.join_multicast_v6(&ip, index)?;
            let _ = socket.set_multicast_all_v6(false);
            socket
        }
    };
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Waits until one of `fds` is readable or `timeout` passes; returns how
/// many are ready (0 on time-out or when a signal interrupted the wait).
pub fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    // Round up, so that a wait for 0.3 ms does not spin with a 0 timeout.
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    let millis = libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid, exclusively borrowed array of its length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    match rc {
        -1 => {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(error)
            }
        }
        ready => Ok(ready as usize),
    }
}

/// A `pollfd` waiting for input on `fd`.
pub fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode, Encoder, Header, MessageType};

    /// Environment variable set in the copy of a test run inside its own
    /// network namespace.
    const IN_NETNS: &str = "BEOSTAT_UNIT_TEST_IN_NETNS";

    /// Multicast must never leave the machine: runs the test `name` again
    /// in a network namespace of its own (`unshare -rn`) with a veth pair
    /// `mc0`/`mc1`, and returns `None` in the calling process once that run
    /// passed. Inside, it sets the pair up and returns `mc0`.
    fn in_private_network(name: &str) -> Option<Interface> {
        use std::process::Command;
        if std::env::var_os(IN_NETNS).is_some() {
            let script = "ip link set lo up && ip link add mc0 type veth peer name mc1 && \
                          ip link set mc0 up && ip link set mc1 up && \
                          ip addr add 10.199.96.1/24 dev mc0";
            let output = Command::new("sh").args(["-c", script]).output().unwrap();
            assert!(output.status.success(), "{script}: {output:?}");
            return Some(Interface::find("mc0").unwrap());
        }
        let output = Command::new("unshare")
            .arg("-rn")
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", name, "--include-ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(IN_NETNS, "1")
            .output()
            .expect("unshare (util-linux)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "in its own network namespace (needs unshare -rn and iproute2): {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        None
    }

    #[test]
    fn loopback_is_refused_for_multicast() {
        let lo = Interface::find("lo").unwrap();
        assert!(lo.index > 0);
        assert!(!lo.multicast, "lo has no IFF_MULTICAST");
        let group = SocketAddr::from((super::super::DEFAULT_GROUP_V4, 3040));
        match Sockets::open(&[group], Some(&lo), true) {
            Err(e) => assert_eq!(e.to_string(), "interface lo does not support multicast"),
            Ok(_) => panic!("multicast sockets on lo"),
        }
        // Unicast does not care about the interface's flags.
        let unicast = SocketAddr::from((Ipv4Addr::LOCALHOST, 3040));
        let sockets = Sockets::open(&[unicast], Some(&lo), true).unwrap();
        assert!(sockets.v4.is_some() && sockets.v6.is_none());
        assert!(sockets.listeners.is_empty());
    }

    #[test]
    fn a_missing_interface_is_named_in_the_error() {
        let e = Interface::find("nosuchif0").unwrap_err();
        assert_eq!(e.to_string(), "interface nosuchif0 does not exist");
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn resolve_keeps_order_and_drops_duplicates() {
        let targets = [
            Target::Ip("10.0.0.2:5".parse().unwrap()),
            Target::Host("localhost".into(), 5),
            Target::Ip("10.0.0.2:5".parse().unwrap()),
        ];
        let resolved = resolve(&targets).unwrap();
        assert_eq!(resolved.len(), 2);
        assert_eq!(resolved[0], "10.0.0.2:5".parse().unwrap());
        assert!(resolved[1].ip().is_loopback() && resolved[1].port() == 5);
    }

    #[test]
    #[ignore = "needs network namespaces (unshare -rn) and iproute2"]
    fn multicast_sockets_are_built_and_hear_the_group_on_an_interface() {
        let Some(interface) = in_private_network(
            "send::net::tests::multicast_sockets_are_built_and_hear_the_group_on_an_interface",
        ) else {
            return;
        };
        // Port 0: the listener gets an ephemeral port, which the test then
        // sends to, so parallel tests do not collide.
        let group = SocketAddr::from((super::super::DEFAULT_GROUP_V4, 0));
        let sockets = Sockets::open(&[group], Some(&interface), true).unwrap();
        let sender = sockets.v4.as_ref().unwrap();
        let sender2: &Socket = &socket2::SockRef::from(sender);
        assert_eq!(sender2.multicast_ttl_v4().unwrap(), 1);
        assert_eq!(sockets.listeners.len(), 1);
        let listener = &sockets.listeners[0].socket;
        let bound = listener.local_addr().unwrap();
        assert_eq!(bound.ip(), IpAddr::from(super::super::DEFAULT_GROUP_V4));
        assert_ne!(bound.port(), 0);

        // What recvstats would multicast: an update request to the group,
        // looped back by the kernel to our own listener.
        let mut encoder = Encoder::new();
        encoder.begin(&Header::update_request(1, 2)).unwrap();
        let request = encoder.finish().unwrap();
        sender.send_to(request, bound).unwrap();
        listener.set_nonblocking(false).unwrap();
        listener
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 64];
        let (len, _) = listener.recv_from(&mut buf).unwrap();
        let datagram = decode(&buf[..len]).unwrap();
        assert_eq!(datagram.header.message_type, MessageType::UpdateRequest);
    }

    #[test]
    #[ignore = "needs network namespaces (unshare -rn) and iproute2"]
    fn ipv6_multicast_sockets_use_the_interface_index() {
        let Some(interface) =
            in_private_network("send::net::tests::ipv6_multicast_sockets_use_the_interface_index")
        else {
            return;
        };
        let group = SocketAddr::from((super::super::DEFAULT_GROUP_V6, 0));
        let sockets = Sockets::open(&[group], Some(&interface), true).unwrap();
        let sender: &Socket = &socket2::SockRef::from(sockets.v6.as_ref().unwrap());
        assert_eq!(sender.multicast_hops_v6().unwrap(), 1);
        assert_eq!(sender.multicast_if_v6().unwrap(), interface.index);
        assert_eq!(sockets.listeners.len(), 1);
        assert!(sockets.v4.is_none());
    }
}
