//! The sendstats command line: the clap definition and its checked meaning.
//!
//! This module owns both documented synopses and every rule about what a
//! valid command line is. [`Args`] is what clap parses (options and the raw
//! positional words); [`Config::from_args`] turns it into a [`Config`] with
//! pure functions ([`parse_rate`], [`parse_address`], [`parse_port`]) that
//! fail with [`Error::Usage`] (exit status 2) and one readable line. It never
//! touches the network or the file system: host names are resolved, and
//! interfaces looked up, when the sockets are built.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, Parser};

use super::{
    Error, DEFAULT_FULL_INTERVAL, DEFAULT_GROUP_V4, DEFAULT_PORT, DEFAULT_RATE, MAX_RATE, MIN_RATE,
};
use crate::protocol::NODE_FROM_ADDRESS;

const AFTER_HELP: &str = "\
Destinations:
  Each master named by a positional ADDRESS[:PORT] or by -a gets every report.
  ADDRESS is an IPv4 address, an IPv6 address ([v6]:PORT with a port), or a
  host name (resolved once at start). Without a port, -p applies.
  With no address at all, reports go to the multicast group 239.255.30.40
  (port -p, TTL 1) on the interface named by -i. A multicast ADDRESS (for
  example ff02::be0, the IPv6 group) is sent to the same way. Multicast needs
  -i: it never leaves on an interface the routing table picks. -i only
  selects the multicast interface; unicast follows the routing table.

Node number:
  A first positional word that is an integer (0 or more) is the node number.
  Without one, reports ask the master to derive the number from the sender's
  IP address. Machines outside the cluster should use a number outside its
  range.

Reports:
  A report is the node's /proc/loadavg, meminfo, net/dev and stat (condensed),
  the statfs of --statfs-path, and the host name; every --rate seconds. A full
  report adds /proc/cpuinfo: at start, on an update request from recvstats,
  on SIGHUP, when the set of online CPUs changes, and every --full-interval
  seconds. recvstats may change the rate (clamped to 0.1..3600 s).

Running:
  Without -d, -f or --once, sendstats detaches and logs to syslog; the command
  returns once the daemon has its sockets. SIGTERM or SIGINT stops it.

Exit status: 0 ok, 1 runtime error (network, interface, files), 2 usage error.";

/// What clap parses. Values that need checking are kept as text and checked
/// by [`Config::from_args`], so that every bad value gives the same one-line
/// `sendstats: ...` error.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sendstats",
    version,
    about = "Send this node's status to the cluster's master(s) (recvstats).",
    override_usage = "sendstats [OPTIONS] [nodenumber] [ADDRESS[:PORT] ...]",
    after_help = AFTER_HELP,
    disable_version_flag = true
)]
pub struct Args {
    /// Node number (first word, if it is an integer), then master addresses.
    #[arg(value_name = "nodenumber] [ADDRESS[:PORT]")]
    pub positional: Vec<String>,

    /// Send to this master (repeatable); multicast if a multicast address.
    #[arg(short = 'a', long = "address", value_name = "ADDRESS[:PORT]")]
    pub address: Vec<String>,

    /// Network interface for multicast (sending and listening).
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    pub interface: Option<String>,

    /// Port for addresses given without one, and for multicast [default: 3040].
    #[arg(
        short = 'p',
        long = "port",
        value_name = "PORT",
        allow_negative_numbers = true
    )]
    pub port: Option<String>,

    /// Seconds between reports, fractions allowed (0.1..3600) [default: 5].
    #[arg(
        short = 'r',
        long = "rate",
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub rate: Option<String>,

    /// Stay in the foreground and log debug messages to stderr.
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,

    /// Stay in the foreground and log to stderr (for service managers).
    #[arg(short = 'f', long = "foreground")]
    pub foreground: bool,

    /// Send one full report, then exit (never detaches).
    #[arg(long = "once")]
    pub once: bool,

    /// Write the daemon's pid to this file (removed at exit).
    #[arg(long = "pidfile", value_name = "PATH")]
    pub pidfile: Option<PathBuf>,

    /// Read cpuinfo, meminfo, loadavg, stat and net/dev under DIR.
    #[arg(long = "proc-root", value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,

    /// Report the statfs(2) of the filesystem holding PATH.
    #[arg(long = "statfs-path", value_name = "PATH", default_value = "/")]
    pub statfs_path: PathBuf,

    /// Sign every datagram with the shared key in FILE (HMAC-SHA-256) and obey
    /// only signed requests. FILE must not be readable by group or others.
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Seconds between full reports (with cpuinfo) [default: 600].
    #[arg(
        long = "full-interval",
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub full_interval: Option<String>,

    /// Print the version.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    pub version: (),
}

/// The clap definition of sendstats, for the man page generator
/// (`src/bin/beostat-mangen.rs`).
pub fn command() -> clap::Command {
    Args::command()
}

/// Sections of sendstats(8) beyond `--help` (which already explains
/// destinations, node numbers, reports and running), as (heading, text)
/// pairs.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "SERVICE",
        "sendstats.service runs `sendstats -f` with the options of \
         SENDSTATS_OPTIONS in /etc/sysconfig/sendstats. When \
         $NOTIFY_SOCKET is set (systemd Type=notify) sendstats sends READY=1 once \
         its sockets are open and STOPPING=1 when it stops. The shipped options \
         are empty and name no master: sendstats then exits 2, and the unit does \
         not restart it (RestartPreventExitStatus=2) until SENDSTATS_OPTIONS \
         names the masters (12 10.0.0.1) or an interface (-i eth1).",
    ),
    (
        "SIGNALS",
        "SIGTERM, SIGINT: stop. SIGHUP: send a full report (with cpuinfo) now.",
    ),
    (
        "FILES",
        "/proc/cpuinfo, /proc/meminfo, /proc/loadavg, /proc/stat, /proc/net/dev: \
         what is reported (under --proc-root).\n\
         /etc/sysconfig/sendstats: options of sendstats.service.",
    ),
    (
        "EXIT STATUS",
        "0 success (and clean shutdown), 1 runtime error (an interface or host \
         name that cannot be used, a socket that cannot be opened), 2 usage error.",
    ),
    (
        "SEE ALSO",
        "recvstats(8), libbeostat(3), beostat(1), beostatus(1), beostat-exporter(8), \
         systemd.service(5)",
    ),
];

/// A destination as written on the command line, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An IP address and port: nothing to resolve.
    Ip(SocketAddr),
    /// A host name and port, resolved when the sockets are built.
    Host(String, u16),
}

/// The checked command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The node number sent in every header ([`NODE_FROM_ADDRESS`] when not given).
    pub node: i32,
    /// Where reports go, in command-line order (positional first, then -a).
    /// Never empty: with no address it holds the default multicast group.
    pub targets: Vec<Target>,
    /// Whether `targets` is the default multicast group (no address given).
    pub default_group: bool,
    /// The multicast interface (-i).
    pub interface: Option<String>,
    /// Port for addresses without one, and of the default group.
    pub port: u16,
    /// Time between reports.
    pub rate: Duration,
    /// Time between full reports.
    pub full_interval: Duration,
    /// Log debug messages.
    pub debug: bool,
    /// Do not detach.
    pub foreground: bool,
    /// Send one full report and exit.
    pub once: bool,
    /// Pidfile to write.
    pub pidfile: Option<PathBuf>,
    /// Where the /proc files are.
    pub proc_root: PathBuf,
    /// Whose statfs is reported.
    pub statfs_path: PathBuf,
    /// The shared key, when `--key-file` is given.
    pub key: Option<crate::auth::Key>,
}

impl Config {
    /// Checks `args` and gives them their meaning.
    pub fn from_args(args: Args) -> Result<Config, Error> {
        let port = match &args.port {
            Some(text) => parse_port(text).map_err(|why| usage(format!("-p {text}: {why}")))?,
            None => DEFAULT_PORT,
        };
        let rate = match &args.rate {
            Some(text) => parse_rate(text).map_err(|why| usage(format!("-r {text}: {why}")))?,
            None => DEFAULT_RATE,
        };
        let full_interval = match &args.full_interval {
            Some(text) => parse_seconds(text)
                .map_err(|why| usage(format!("--full-interval {text}: {why}")))?,
            None => DEFAULT_FULL_INTERVAL,
        };
        let (node, addresses) = split_positional(&args.positional)?;
        let mut targets = Vec::new();
        for text in addresses.iter().chain(&args.address) {
            let target = parse_address(text, port)
                .map_err(|why| usage(format!("bad address '{text}': {why}")))?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let default_group = targets.is_empty();
        if default_group {
            targets.push(Target::Ip(SocketAddr::new(DEFAULT_GROUP_V4.into(), port)));
        }
        if args.interface.as_deref() == Some("") {
            return Err(usage("-i needs an interface name".into()));
        }
        let needs_interface = targets.iter().find_map(|target| match target {
            Target::Ip(address) if address.ip().is_multicast() => Some(address.ip()),
            _ => None,
        });
        match (needs_interface, &args.interface) {
            (Some(IpAddr::V6(group)), None) => {
                return Err(usage(format!(
                    "IPv6 multicast to {group} needs an interface: give -i IF"
                )))
            }
            (Some(IpAddr::V4(_)), None) => return Err(usage(MULTICAST_NEEDS_INTERFACE.into())),
            _ => {}
        }
        Ok(Config {
            node,
            targets,
            default_group,
            interface: args.interface,
            port,
            rate,
            full_interval,
            debug: args.debug,
            foreground: args.debug || args.foreground || args.once,
            once: args.once,
            pidfile: args.pidfile,
            proc_root: args.proc_root,
            statfs_path: args.statfs_path,
            key: match &args.key_file {
                Some(path) => Some(
                    crate::auth::Key::from_file(path).map_err(|e| Error::Runtime(e.to_string()))?,
                ),
                None => None,
            },
        })
    }
}

/// Why multicast without `-i` is refused (and what to do instead).
pub const MULTICAST_NEEDS_INTERFACE: &str = "multicast needs -i IFACE, the cluster interface \
     (or give the masters' addresses); see sendstats --help";

fn usage(message: String) -> Error {
    Error::Usage(message)
}

/// Splits the positional words into the node number (the first word, if it
/// is an integer) and the addresses.
fn split_positional(words: &[String]) -> Result<(i32, &[String]), Error> {
    let Some(first) = words.first() else {
        return Ok((NODE_FROM_ADDRESS, words));
    };
    if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        let node = first
            .parse::<i32>()
            .map_err(|_| usage(format!("node number {first} is too large")))?;
        return Ok((node, &words[1..]));
    }
    if first.starts_with('-') && first[1..].bytes().all(|b| b.is_ascii_digit()) && first.len() > 1 {
        return Err(usage(format!("node number {first} is negative")));
    }
    Ok((NODE_FROM_ADDRESS, words))
}

/// A port number, 1..=65535 (0 cannot be sent to).
pub fn parse_port(text: &str) -> Result<u16, &'static str> {
    match text.parse::<u16>() {
        Ok(0) => Err("port must be between 1 and 65535"),
        Ok(port) => Ok(port),
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            Err("port must be between 1 and 65535")
        }
        Err(_) => Err("not a port number"),
    }
}

/// A positive, finite number of seconds, fractions allowed.
pub fn parse_seconds(text: &str) -> Result<Duration, &'static str> {
    let seconds: f64 = text.trim().parse().map_err(|_| "not a number of seconds")?;
    if !seconds.is_finite() {
        return Err("not a number of seconds");
    }
    if seconds <= 0.0 {
        return Err("must be more than 0 seconds");
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| "too many seconds")
}

/// The report interval: [`parse_seconds`] within [`MIN_RATE`]..=[`MAX_RATE`],
/// the bounds recvstats' rate changes are clamped to.
pub fn parse_rate(text: &str) -> Result<Duration, &'static str> {
    let rate = parse_seconds(text)?;
    if rate < MIN_RATE || rate > MAX_RATE {
        return Err("rate must be between 0.1 and 3600 seconds");
    }
    Ok(rate)
}

/// `ADDRESS[:PORT]`: `1.2.3.4`, `1.2.3.4:5545`, `::1`, `[::1]:5545`,
/// `master`, `master.cluster:5545`. `default_port` applies when none is given.
pub fn parse_address(text: &str, default_port: u16) -> Result<Target, &'static str> {
    if text.is_empty() {
        return Err("empty address");
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or("missing ']'")?;
        let ip: Ipv6Addr = ip.parse().map_err(|_| "not an IPv6 address in [...]")?;
        let port = match after {
            "" => default_port,
            _ => parse_port(
                after
                    .strip_prefix(':')
                    .ok_or("expected ':PORT' after ']'")?,
            )?,
        };
        return Ok(Target::Ip(SocketAddr::new(IpAddr::V6(ip), port)));
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return match address.port() {
            0 => Err("port must be between 1 and 65535"),
            _ => Ok(Target::Ip(address)),
        };
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Target::Ip(SocketAddr::new(ip, default_port)));
    }
    let (host, port) = match text.split_once(':') {
        Some((_, rest)) if rest.contains(':') => {
            return Err("IPv6 address with a port must be written [ADDRESS]:PORT")
        }
        Some((host, port)) => (host, parse_port(port)?),
        None => (text, default_port),
    };
    check_host_name(host)?;
    // "1.2.3" or "300.1.1.1" would reach getaddrinfo, which reads some of
    // them as IPv4 numbers in odd notations: refuse what looks numeric.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("not a valid IPv4 address");
    }
    Ok(Target::Host(host.to_owned(), port))
}

/// A DNS-style host name: labels of letters, digits, '-' and '_' (1..=63
/// bytes each, not starting or ending with '-'), at most 253 bytes.
fn check_host_name(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("empty host name");
    }
    if host.len() > 253 {
        return Err("host name longer than 253 bytes");
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    for label in host.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err("not an IP address or a valid host name");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn config(words: &[&str]) -> Result<Config, Error> {
        let args = Args::try_parse_from(std::iter::once("sendstats").chain(words.iter().copied()))
            .expect("clap accepts the words");
        Config::from_args(args)
    }

    fn ip(text: &str) -> Target {
        Target::Ip(text.parse().unwrap())
    }

    #[test]
    fn positional_synopsis_gives_node_and_every_master() {
        let c = config(&["7", "10.0.0.1", "[fd00::2]:6000", "master.example:5545"]).unwrap();
        assert_eq!(c.node, 7);
        assert_eq!(
            c.targets,
            vec![
                ip("10.0.0.1:3040"),
                ip("[fd00::2]:6000"),
                Target::Host("master.example".into(), 5545)
            ]
        );
        assert!(!c.default_group);
        assert_eq!(c.rate, Duration::from_secs(5));
        assert_eq!(c.full_interval, Duration::from_secs(600));
        assert!(!c.foreground);
    }

    #[test]
    fn option_synopsis_and_port_default() {
        let c = config(&[
            "-a",
            "10.0.0.1",
            "-a",
            "10.0.0.2:99",
            "-p",
            "5545",
            "-r",
            "0.5",
        ])
        .unwrap();
        assert_eq!(c.node, NODE_FROM_ADDRESS);
        assert_eq!(c.targets, vec![ip("10.0.0.1:5545"), ip("10.0.0.2:99")]);
        assert_eq!(c.port, 5545);
        assert_eq!(c.rate, Duration::from_millis(500));
    }

    #[test]
    fn no_address_means_the_default_group_on_the_port() {
        let c = config(&["-i", "eth0", "-p", "4000", "3"]).unwrap();
        assert_eq!(c.node, 3);
        assert!(c.default_group);
        assert_eq!(
            c.targets,
            vec![Target::Ip(SocketAddr::new(
                Ipv4Addr::new(239, 255, 30, 40).into(),
                4000
            ))]
        );
        assert_eq!(c.interface.as_deref(), Some("eth0"));
    }

    #[test]
    fn duplicate_addresses_are_sent_to_once() {
        let c = config(&["1", "10.0.0.1", "-a", "10.0.0.1:3040"]).unwrap();
        assert_eq!(c.targets, vec![ip("10.0.0.1:3040")]);
    }

    #[test]
    fn debug_and_once_imply_foreground() {
        assert!(config(&["-d", "10.0.0.1"]).unwrap().foreground);
        assert!(config(&["--once", "10.0.0.1"]).unwrap().foreground);
        assert!(config(&["-f", "10.0.0.1"]).unwrap().foreground);
        assert!(!config(&["-f", "10.0.0.1"]).unwrap().debug);
    }

    #[test]
    fn bad_values_are_usage_errors_with_the_option_named() {
        for (words, expected) in [
            (&["-r", "0"][..], "-r 0: must be more than 0 seconds"),
            (&["-r", "abc"], "-r abc: not a number of seconds"),
            (&["-r", "nan"], "-r nan: not a number of seconds"),
            (
                &["-r", "0.01"],
                "-r 0.01: rate must be between 0.1 and 3600 seconds",
            ),
            (&["-p", "0"], "-p 0: port must be between 1 and 65535"),
            (
                &["-p", "70000"],
                "-p 70000: port must be between 1 and 65535",
            ),
            (
                &["--full-interval", "-1"],
                "--full-interval -1: must be more than 0 seconds",
            ),
            (&["99999999999"], "node number 99999999999 is too large"),
            (&["--", "-3"], "node number -3 is negative"),
            (
                &["1", "1.2.3.4:0"],
                "bad address '1.2.3.4:0': port must be between 1 and 65535",
            ),
            (
                &["1", "a b"],
                "bad address 'a b': not an IP address or a valid host name",
            ),
            (
                &["1", "ff02::be0"],
                "IPv6 multicast to ff02::be0 needs an interface: give -i IF",
            ),
            (&["3"], MULTICAST_NEEDS_INTERFACE),
            (&["3", "239.1.2.3"], MULTICAST_NEEDS_INTERFACE),
            (&["-i", ""], "-i needs an interface name"),
        ] {
            match config(words) {
                Err(Error::Usage(message)) => assert_eq!(message, expected, "{words:?}"),
                other => panic!("{words:?}: expected a usage error, got {other:?}"),
            }
        }
    }

    #[test]
    fn addresses_parse_in_every_documented_form() {
        assert_eq!(parse_address("10.1.2.3", 7), Ok(ip("10.1.2.3:7")));
        assert_eq!(parse_address("10.1.2.3:8", 7), Ok(ip("10.1.2.3:8")));
        assert_eq!(parse_address("::1", 7), Ok(ip("[::1]:7")));
        assert_eq!(parse_address("[::1]", 7), Ok(ip("[::1]:7")));
        assert_eq!(parse_address("[::1]:9", 7), Ok(ip("[::1]:9")));
        assert_eq!(parse_address("ff02::be0", 7), Ok(ip("[ff02::be0]:7")));
        assert_eq!(
            parse_address("head-node.cluster.", 7),
            Ok(Target::Host("head-node.cluster.".into(), 7))
        );
        assert_eq!(
            parse_address("master:1", 7),
            Ok(Target::Host("master".into(), 1))
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for (text, why) in [
            ("", "empty address"),
            ("[::1", "missing ']'"),
            ("[10.0.0.1]:5", "not an IPv6 address in [...]"),
            ("[::1]5", "expected ':PORT' after ']'"),
            ("10.0.0.1:", "not a port number"),
            ("10.0.0.1:http", "not a port number"),
            ("10.0.0.1:99999", "port must be between 1 and 65535"),
            ("300.1.1.1", "not a valid IPv4 address"),
            ("1.2.3", "not a valid IPv4 address"),
            (
                "fe80::1:99:zz",
                "IPv6 address with a port must be written [ADDRESS]:PORT",
            ),
            ("-master", "not an IP address or a valid host name"),
            ("mas ter", "not an IP address or a valid host name"),
            ("a..b", "not an IP address or a valid host name"),
        ] {
            assert_eq!(parse_address(text, 3040), Err(why), "{text:?}");
        }
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_the_rest() {
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("600"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_seconds("inf"), Err("not a number of seconds"));
        assert_eq!(parse_seconds("-0.5"), Err("must be more than 0 seconds"));
        assert_eq!(parse_seconds("1e30"), Err("too many seconds"));
        assert_eq!(parse_rate("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_rate("0.1"), Ok(Duration::from_millis(100)));
        assert!(parse_rate("3600.5").is_err());
    }
}
