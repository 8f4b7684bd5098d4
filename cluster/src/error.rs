//! What can go wrong when a node joins or leaves a cluster.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Why [`ClusterBuilder::join`](crate::ClusterBuilder::join) or
/// [`Cluster::leave`](crate::Cluster::leave) failed.
///
/// Messages between actors never return it: they return
/// [`acteur::Error`] (`Unavailable`, `Timeout`, `Remote`, ...). The enum
/// is `#[non_exhaustive]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClusterError {
    /// A value of the [`ClusterConfig`](crate::ClusterConfig) is refused.
    InvalidConfig {
        /// The setting at fault, e.g. `lease_ttl`.
        field: &'static str,
        /// Why, and what is accepted.
        reason: String,
    },
    /// A type was registered twice, or a name is used by two types.
    Registration {
        /// Which type or name, and what to change.
        detail: String,
    },
    /// No etcd endpoint answered within `etcd_connect_timeout`.
    EtcdUnreachable {
        /// The endpoints tried.
        endpoints: Vec<String>,
        /// How long the node tried.
        waited: Duration,
        /// The last error seen.
        detail: String,
    },
    /// etcd answered a request with an error.
    Etcd {
        /// What the node was doing, e.g. `granting the lease`.
        operation: &'static str,
        /// etcd's error.
        detail: String,
    },
    /// The cluster was created with another partition count: a cluster's
    /// partitions are fixed for its life.
    PartitionsMismatch {
        /// The cluster's name.
        cluster: String,
        /// The count stored by the cluster's first node.
        stored: u32,
        /// The count this node was configured with.
        configured: u32,
    },
    /// The node-to-node server could not listen.
    Listen {
        /// The address it tried.
        address: SocketAddr,
        /// The system's error.
        detail: String,
    },
    /// The actor system was stopped, or the node already left.
    Stopped,
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::InvalidConfig { field, reason } => write!(
                f,
                "invalid cluster configuration: `{field}` {reason}; correct it in the ClusterConfig"
            ),
            ClusterError::Registration { detail } => write!(f, "invalid registration: {detail}"),
            ClusterError::EtcdUnreachable {
                endpoints,
                waited,
                detail,
            } => write!(
                f,
                "no etcd endpoint of {endpoints:?} answered within {waited:?} ({detail}); start \
                 etcd, check the endpoints, or raise `etcd_connect_timeout`"
            ),
            ClusterError::Etcd { operation, detail } => {
                write!(f, "etcd refused {operation}: {detail}")
            }
            ClusterError::PartitionsMismatch {
                cluster,
                stored,
                configured,
            } => write!(
                f,
                "cluster `{cluster}` has {stored} partitions, fixed when its first node joined, \
                 but this node is configured with {configured}; configure {stored}, or use a new \
                 cluster name"
            ),
            ClusterError::Listen { address, detail } => write!(
                f,
                "the node could not listen on {address} ({detail}); choose a free address with \
                 `ClusterConfig::listen`"
            ),
            ClusterError::Stopped => write!(
                f,
                "the actor system is stopped or the node left the cluster; build a new system \
                 and join again"
            ),
        }
    }
}

impl std::error::Error for ClusterError {}
