//! How a node joins its cluster: names, addresses, timings, partitions.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::ClusterError;

/// What a node does with partitions when another node joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rebalance {
    /// Nodes hand the partitions a newcomer should own (by rendezvous
    /// hashing, about 1/N of them) over to it, a few at a time.
    #[default]
    OnJoin,
    /// Partitions move only when their owner leaves or dies; a newcomer
    /// takes only partitions nobody owns.
    Never,
}

/// The settings of one node of a cluster, given to
/// [`Cluster::builder`](crate::Cluster::builder).
///
/// Only the name is required; every other setting has a default that suits
/// a cluster on one network.
///
/// ```
/// use std::time::Duration;
/// use acteur_cluster::{ClusterConfig, Rebalance};
///
/// let config = ClusterConfig::new("orders")
///     .etcd_endpoints(["http://127.0.0.1:2379"])
///     .listen("127.0.0.1:0".parse().unwrap())
///     .lease_ttl(Duration::from_secs(10))
///     .partitions(256)
///     .rebalance(Rebalance::OnJoin);
/// assert_eq!(config.name(), "orders");
/// ```
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub(crate) name: String,
    pub(crate) node_name: String,
    pub(crate) etcd_endpoints: Vec<String>,
    pub(crate) etcd_connect_timeout: Duration,
    pub(crate) listen: SocketAddr,
    pub(crate) advertise: Option<SocketAddr>,
    pub(crate) lease_ttl: Duration,
    pub(crate) fence_margin: Option<Duration>,
    pub(crate) partitions: u32,
    pub(crate) unavailable_wait: Option<Duration>,
    pub(crate) rebalance: Rebalance,
    pub(crate) max_message_bytes: usize,
}

/// The shortest lease accepted: etcd itself grants no less, and a shorter
/// one would leave too little time between keep-alives.
pub(crate) const MIN_LEASE_TTL: Duration = Duration::from_secs(2);

impl ClusterConfig {
    /// The settings of a node of cluster `name` (the etcd key prefix
    /// `/acteur/{name}/`), with the defaults: etcd at
    /// `http://127.0.0.1:2379`, reached within 5 s; listening on
    /// `127.0.0.1:0` (a free port); a 10 s lease; fence margin = lease / 5;
    /// 256 partitions; callers wait 2 x lease for an owner; rebalance on
    /// join; messages up to 4 MiB.
    pub fn new(name: impl Into<String>) -> ClusterConfig {
        ClusterConfig {
            name: name.into(),
            node_name: "node".to_owned(),
            etcd_endpoints: vec!["http://127.0.0.1:2379".to_owned()],
            etcd_connect_timeout: Duration::from_secs(5),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            advertise: None,
            lease_ttl: Duration::from_secs(10),
            fence_margin: None,
            partitions: 256,
            unavailable_wait: None,
            rebalance: Rebalance::OnJoin,
            max_message_bytes: 4 << 20,
        }
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A readable prefix of this node's ID (default `node`); the ID adds a
    /// fresh UUID per process start, so a restarted node is a new member.
    pub fn node_name(mut self, name: impl Into<String>) -> ClusterConfig {
        self.node_name = name.into();
        self
    }

    /// The etcd cluster's client URLs, e.g. `http://10.0.0.5:2379`.
    pub fn etcd_endpoints<S: Into<String>>(
        mut self,
        endpoints: impl IntoIterator<Item = S>,
    ) -> ClusterConfig {
        self.etcd_endpoints = endpoints.into_iter().map(Into::into).collect();
        self
    }

    /// How long `join` tries to reach etcd before it fails with
    /// [`ClusterError::EtcdUnreachable`] (default 5 s).
    pub fn etcd_connect_timeout(mut self, timeout: Duration) -> ClusterConfig {
        self.etcd_connect_timeout = timeout;
        self
    }

    /// The address the node-to-node gRPC server listens on (default
    /// `127.0.0.1:0`: a free port on loopback). Listen on a routable
    /// address for a cluster of several machines.
    pub fn listen(mut self, address: SocketAddr) -> ClusterConfig {
        self.listen = address;
        self
    }

    /// The address other nodes connect to, if not the one it listens on
    /// (behind NAT, or when listening on `0.0.0.0`).
    pub fn advertise(mut self, address: SocketAddr) -> ClusterConfig {
        self.advertise = Some(address);
        self
    }

    /// The TTL asked for the node's etcd lease (default 10 s, at least 2 s,
    /// whole seconds: etcd counts in seconds, so a fraction is rounded up).
    /// The TTL etcd *grants* is the one the node's timings use. A node that
    /// cannot renew its lease stops handling messages before it expires, so
    /// that another node may take its actors after it.
    pub fn lease_ttl(mut self, ttl: Duration) -> ClusterConfig {
        self.lease_ttl = ttl;
        self
    }

    /// How long before its lease could expire a node stops handling
    /// messages (default TTL / 5). It must exceed the worst process pause
    /// and clock-rate error you expect: the single-activation guarantee
    /// holds only for pauses shorter than this.
    pub fn fence_margin(mut self, margin: Duration) -> ClusterConfig {
        self.fence_margin = Some(margin);
        self
    }

    /// How many partitions the actor IDs are hashed into (default 256),
    /// fixed when the cluster's first node joins: every node must use the
    /// same count. More partitions spread load more evenly; each costs one
    /// etcd key.
    pub fn partitions(mut self, partitions: u32) -> ClusterConfig {
        self.partitions = partitions;
        self
    }

    /// How long a send or call waits for an owner of its actor (during a
    /// hand-off or after a node died) before it returns
    /// [`acteur::Error::Unavailable`] (default 2 x TTL).
    pub fn unavailable_wait(mut self, wait: Duration) -> ClusterConfig {
        self.unavailable_wait = Some(wait);
        self
    }

    /// What happens to partitions when a node joins (default
    /// [`Rebalance::OnJoin`]).
    pub fn rebalance(mut self, rebalance: Rebalance) -> ClusterConfig {
        self.rebalance = rebalance;
        self
    }

    /// The largest encoded message or response a node sends or accepts
    /// (default 4 MiB); a larger one fails with
    /// [`acteur::RemoteErrorKind::TooLarge`].
    pub fn max_message_bytes(mut self, bytes: usize) -> ClusterConfig {
        self.max_message_bytes = bytes;
        self
    }

    /// Checks every setting, as `join` does first.
    pub(crate) fn validate(&self) -> Result<(), ClusterError> {
        let invalid = |field, reason: &str| {
            Err(ClusterError::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        let is_key_safe = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !is_key_safe(&self.name) {
            return invalid(
                "name",
                "must be non-empty ASCII letters, digits, '-', '_' or '.' (it is an etcd key prefix)",
            );
        }
        if !is_key_safe(&self.node_name) {
            return invalid(
                "node_name",
                "must be non-empty ASCII letters, digits, '-', '_' or '.'",
            );
        }
        if self.etcd_endpoints.is_empty() {
            return invalid("etcd_endpoints", "is empty: give at least one etcd URL");
        }
        if self.etcd_connect_timeout.is_zero() {
            return invalid("etcd_connect_timeout", "is zero");
        }
        if self.lease_ttl < MIN_LEASE_TTL {
            return Err(ClusterError::InvalidConfig {
                field: "lease_ttl",
                reason: format!(
                    "is {:?}, under the minimum of {MIN_LEASE_TTL:?} (etcd grants no shorter lease)",
                    self.lease_ttl
                ),
            });
        }
        if self.lease_ttl > Duration::from_secs(i64::MAX as u64 / 2) {
            return invalid("lease_ttl", "is too long for etcd");
        }
        if let Some(margin) = self.fence_margin {
            if margin.is_zero() || margin >= self.lease_ttl / 2 {
                return Err(ClusterError::InvalidConfig {
                    field: "fence_margin",
                    reason: format!(
                        "is {margin:?}; it must be above zero and under half the lease TTL ({:?})",
                        self.lease_ttl / 2
                    ),
                });
            }
        }
        if self.partitions == 0 {
            return invalid("partitions", "is 0: a cluster needs at least one partition");
        }
        if self.unavailable_wait.is_some_and(|wait| wait.is_zero()) {
            return invalid("unavailable_wait", "is zero");
        }
        if self.max_message_bytes < 1024 {
            return invalid("max_message_bytes", "is under 1 KiB");
        }
        Ok(())
    }

    /// The lease TTL to ask etcd for, in whole seconds (rounded up).
    pub(crate) fn lease_ttl_seconds(&self) -> i64 {
        let seconds = self.lease_ttl.as_secs() + u64::from(self.lease_ttl.subsec_nanos() > 0);
        i64::try_from(seconds).unwrap_or(i64::MAX)
    }

    /// The timings that follow from the TTL etcd granted.
    pub(crate) fn timings(&self, granted_ttl: Duration) -> Timings {
        // A margin set for the asked TTL is kept if it still fits the
        // granted one; otherwise TTL / 5.
        let margin = self
            .fence_margin
            .filter(|margin| *margin < granted_ttl / 2)
            .unwrap_or(granted_ttl / 5);
        Timings {
            ttl: granted_ttl,
            fence_margin: margin,
            keep_alive_every: granted_ttl / 5,
            stop_starting_after: granted_ttl / 2,
            unavailable_wait: self.unavailable_wait.unwrap_or(granted_ttl * 2),
        }
    }
}

/// A node's timings, from the lease TTL etcd granted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    pub(crate) ttl: Duration,
    /// Stop everything this long before the lease could expire.
    pub(crate) fence_margin: Duration,
    pub(crate) keep_alive_every: Duration,
    /// Without an acknowledged keep-alive for this long, stop starting
    /// messages and deactivate.
    pub(crate) stop_starting_after: Duration,
    pub(crate) unavailable_wait: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(config: ClusterConfig) -> Option<&'static str> {
        match config.validate() {
            Ok(()) => None,
            Err(ClusterError::InvalidConfig { field, .. }) => Some(field),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(field_of(ClusterConfig::new("orders")), None);
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let base = || ClusterConfig::new("orders");
        assert_eq!(field_of(ClusterConfig::new("")), Some("name"));
        assert_eq!(field_of(ClusterConfig::new("a/b")), Some("name"));
        assert_eq!(field_of(base().node_name("")), Some("node_name"));
        assert_eq!(
            field_of(base().etcd_endpoints(Vec::<String>::new())),
            Some("etcd_endpoints")
        );
        assert_eq!(
            field_of(base().lease_ttl(Duration::from_millis(1999))),
            Some("lease_ttl")
        );
        assert_eq!(
            field_of(base().fence_margin(Duration::from_secs(5))),
            Some("fence_margin")
        );
        assert_eq!(
            field_of(base().fence_margin(Duration::ZERO)),
            Some("fence_margin")
        );
        assert_eq!(field_of(base().partitions(0)), Some("partitions"));
        assert_eq!(
            field_of(base().unavailable_wait(Duration::ZERO)),
            Some("unavailable_wait")
        );
        assert_eq!(
            field_of(base().etcd_connect_timeout(Duration::ZERO)),
            Some("etcd_connect_timeout")
        );
        assert_eq!(
            field_of(base().max_message_bytes(10)),
            Some("max_message_bytes")
        );
    }

    #[test]
    fn a_two_second_lease_is_the_minimum() {
        assert_eq!(
            field_of(ClusterConfig::new("c").lease_ttl(Duration::from_secs(2))),
            None
        );
    }

    #[test]
    fn the_lease_is_asked_in_whole_seconds() {
        let config = ClusterConfig::new("c").lease_ttl(Duration::from_millis(2500));
        assert_eq!(config.lease_ttl_seconds(), 3);
    }

    #[test]
    fn timings_follow_the_granted_ttl() {
        let timings = ClusterConfig::new("c").timings(Duration::from_secs(10));
        assert_eq!(timings.fence_margin, Duration::from_secs(2));
        assert_eq!(timings.stop_starting_after, Duration::from_secs(5));
        assert_eq!(timings.unavailable_wait, Duration::from_secs(20));
        let kept = ClusterConfig::new("c")
            .fence_margin(Duration::from_secs(3))
            .timings(Duration::from_secs(10));
        assert_eq!(kept.fence_margin, Duration::from_secs(3));
        // A margin that no longer fits a shorter granted TTL falls back.
        let shorter = ClusterConfig::new("c")
            .fence_margin(Duration::from_secs(3))
            .timings(Duration::from_secs(4));
        assert_eq!(shorter.fence_margin, Duration::from_millis(800));
    }
}
