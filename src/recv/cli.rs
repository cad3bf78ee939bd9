//! The recvstats command line: the clap definition and what it means.
//!
//! It lives in the library, not in the binary, so that the man page
//! generator (`src/bin/beostat-mangen.rs`) renders recvstats(8) from the
//! same definition `--help` prints: [`command`] is that definition. It never
//! opens files or sockets: [`Args::options`] only translates.

use super::batch::DEFAULT_BATCH_DELAY;
use super::Options;
use crate::collect::Source;
use crate::protocol::{DEFAULT_GROUP_V4, DEFAULT_GROUP_V6};
use crate::shm::layout::{
    DEFAULT_MAX_CPUS, DEFAULT_MAX_NODES, DEFAULT_MAX_SHM_BYTES, DEFAULT_NODE_CAPACITY,
    DEFAULT_SHM_DIR,
};
use clap::{ArgAction, CommandFactory, Parser};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Receive status from the cluster's nodes (multicast or unicast UDP) and
/// publish it in shared memory for libbeostat.
#[derive(Parser, Debug)]
#[command(
    name = "recvstats",
    version,
    disable_version_flag = true,
    args_override_self = true,
    after_help = "Started at boot by the beowulf init script as `recvstats -i $IF`.\n\
                  Files: SHM-DIR/beostat and SHM-DIR/beostat.nodes (mode 0644)."
)]
pub struct Args {
    /// Debug mode: do not fork, log to stderr with debug detail.
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// Stay in the foreground (do not fork); log to stderr.
    #[arg(short = 'f', long = "foreground")]
    pub foreground: bool,
    /// Network interface to join the multicast group on and multicast update
    /// requests from (without it: unicast only, nothing multicast).
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    pub interface: Option<String>,
    /// UDP port [default: the config file's `server beostats`, else 3040].
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// Nodes the index starts with room for (a hint: it grows as nodes report).
    #[arg(short = 'N', long = "nodes", value_name = "N", default_value_t = DEFAULT_NODE_CAPACITY)]
    pub nodes: u32,
    /// Print the version and exit.
    #[arg(short = 'v', short_alias = 'V', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
    /// Directory of the shared-memory files.
    #[arg(long = "shm-dir", value_name = "DIR", default_value = DEFAULT_SHM_DIR)]
    pub shm_dir: PathBuf,
    /// IPv4 multicast group.
    #[arg(long = "group", value_name = "ADDR", default_value_t = DEFAULT_GROUP_V4)]
    pub group: Ipv4Addr,
    /// IPv6 multicast group (joined on the -i interface).
    #[arg(long = "group6", value_name = "ADDR", default_value_t = DEFAULT_GROUP_V6)]
    pub group6: Ipv6Addr,
    /// Seconds between update requests multicast to the nodes.
    #[arg(long = "update-interval", value_name = "SECS", default_value_t = 60.0, value_parser = positive_seconds)]
    pub update_interval: f64,
    /// Seconds without a report after which a node is marked down.
    #[arg(long = "expiry", value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub expiry: u32,
    /// Seconds between samples of the master's own /proc (node -1).
    #[arg(long = "master-interval", value_name = "SECS", default_value_t = 5.0, value_parser = positive_seconds)]
    pub master_interval: f64,
    /// Milliseconds datagrams may gather before they are taken off the
    /// socket while traffic flows: fewer wakeups. At low rates the wait
    /// stretches to at most 5 times this (and at most 5 ms, unless this is
    /// longer), so that each wakeup still takes several datagrams (0: wake
    /// for each datagram).
    #[arg(long = "batch-delay", value_name = "MS", default_value_t = DEFAULT_BATCH_DELAY.as_secs_f64() * 1000.0, value_parser = batch_delay)]
    pub batch_delay: f64,
    /// Hold at most N distinct nodes (records); reports of further nodes
    /// are refused and counted (dropped_node_limit). Node numbers
    /// themselves cost nothing: any number from 0 to 2^31-1 is accepted.
    #[arg(long = "max-nodes", value_name = "N", default_value_t = DEFAULT_MAX_NODES, value_parser = clap::value_parser!(u32).range(1..=4_194_304))]
    pub max_nodes: u32,
    /// Record at most N CPUs per node; a report's CPUs past N are not
    /// recorded (counted as cpus_truncated).
    #[arg(long = "max-cpus", value_name = "N", default_value_t = DEFAULT_MAX_CPUS, value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub max_cpus: u32,
    /// Let the node file in the shm directory grow to at most this many
    /// MiB; new nodes past it are refused (dropped_shm_limit).
    #[arg(long = "max-shm-mib", value_name = "MIB", default_value_t = DEFAULT_MAX_SHM_BYTES >> 20, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_shm_mib: u64,
    /// ClusterWare configuration (iprange and `server beostats` lines).
    #[arg(
        long = "config",
        value_name = "FILE",
        default_value = "/etc/beowulf/config"
    )]
    pub config: PathBuf,
    /// Accept only datagrams signed with the shared key in FILE (HMAC-SHA-256),
    /// not replayed, and sign update requests. FILE must not be readable by
    /// group or others.
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// With --key-file: keep the replay windows (which datagrams of each
    /// node were accepted) in DIR/beostat.replay, so a restarted recvstats
    /// still refuses them [default: the shm directory; give a directory on
    /// a disk for the windows to survive a reboot of the master].
    #[arg(long = "state-dir", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Once the files and sockets are open, run as USER (a name or a uid)
    /// and its primary group, for good. The files are given to USER, and
    /// the shm directory must be writable by it (chown USER DIR) so the
    /// node file can still grow.
    #[arg(long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Accept a shm directory that its group or others can write to, or
    /// that a stranger owns. Refused by default: whoever can write there
    /// could plant links or files under the names every reader trusts.
    #[arg(long = "allow-insecure-dir")]
    pub allow_insecure_dir: bool,
    /// Write the daemon's pid here [default when forking: /run/recvstats.pid].
    #[arg(long = "pidfile", value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Read the master's own status from DIR instead of /proc.
    #[arg(long = "proc-root", value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// Report statfs of this path as the master's root filesystem.
    #[arg(long = "statfs-path", value_name = "PATH", default_value = "/")]
    pub statfs_path: PathBuf,
}

impl Args {
    /// True with -d or -f: do not fork.
    pub fn foreground(&self) -> bool {
        self.debug || self.foreground
    }

    /// What [`super::run`] is configured with.
    pub fn options(&self) -> Options {
        Options {
            shm_dir: self.shm_dir.clone(),
            node_capacity: self.nodes,
            max_nodes: self.max_nodes,
            max_cpus: self.max_cpus,
            max_shm_bytes: self.max_shm_mib << 20,
            node_expiry: Duration::from_secs(u64::from(self.expiry)),
            port: self.port,
            interface: self.interface.clone(),
            group_v4: self.group,
            group_v6: self.group6,
            update_interval: Duration::from_secs_f64(self.update_interval),
            master_interval: Duration::from_secs_f64(self.master_interval),
            batch_delay: Duration::from_secs_f64(self.batch_delay / 1000.0),
            config: self.config.clone(),
            key_file: self.key_file.clone(),
            state_dir: self.state_dir.clone(),
            user: self.user.clone(),
            allow_insecure_dir: self.allow_insecure_dir,
            source: Source {
                proc_root: self.proc_root.clone(),
                statfs_path: self.statfs_path.clone(),
            },
        }
    }
}

/// The clap definition of recvstats, for the man page generator.
pub fn command() -> clap::Command {
    Args::command()
}

/// Sections of recvstats(8) that `--help` has no room for, as
/// (heading, text) pairs; the generator renders the text as paragraphs.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "RUNNING",
        "Without -d or -f, recvstats forks: the command returns 0 once the daemon \
         has opened the shared-memory files and its sockets, or prints the daemon's \
         error and returns 1. So the init script line `daemon recvstats -i $IF` works \
         as written. Once forked it logs to syslog (facility daemon).\n\n\
         Under systemd (recvstats.service) it runs with -f: when $NOTIFY_SOCKET is set \
         it sends READY=1 once the files and sockets are ready, and STOPPING=1 when it \
         shuts down. Its options come from RECVSTATS_OPTIONS in /etc/sysconfig/recvstats \
         (none by default: unicast only; -i IF joins the multicast group on IF and \
         multicasts update requests there).",
    ),
    (
        "SIGNALS",
        "SIGTERM, SIGINT: finish the current batch of datagrams and exit 0; every \
         record is complete and the files stay in place for the next recvstats.\n\n\
         SIGHUP: reread the configuration file (a broken file keeps the old node map).",
    ),
    (
        "FILES",
        "/var/shm/beostat: the control file (header, writer pid, counters).\n\
         /var/shm/beostat.nodes: one record per node, the master (node -1) first.\n\
         Both are created mode 0644; the directory is --shm-dir. It must not be \
         writable by its group or others, and must belong to root, to recvstats' \
         user or to the --user USER (refused otherwise unless --allow-insecure-dir; \
         symbolic links are never followed). With --user, USER must be able to write \
         it (chown USER DIR): the node file grows by renaming a new file over it.\n\
         /etc/beowulf/config: iprange and `server beostats PORT` lines (--config).\n\
         /run/recvstats.pid: the daemon's pid when it forks (--pidfile).\n\
         /etc/sysconfig/recvstats: options of recvstats.service.",
    ),
    (
        "EXIT STATUS",
        "0 success (and clean shutdown), 1 runtime error, 2 usage error.",
    ),
    (
        "SEE ALSO",
        "sendstats(8), libbeostat(3), beostat(1), beostatus(1), beostat-exporter(8), \
         systemd.service(5)",
    ),
];

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

fn batch_delay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ms) if ms.is_finite() && (0.0..=100.0).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "{text:?} is not a number of milliseconds between 0 and 100"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn legacy_init_script_line_parses() {
        let args = Args::try_parse_from(["recvstats", "-i", "eth1"]).unwrap();
        assert!(!args.foreground());
        assert_eq!(args.options().interface.as_deref(), Some("eth1"));
        assert_eq!(args.options().shm_dir, PathBuf::from("/var/shm"));
    }
}
