//! Acteur's virtual actors on several servers.
//!
//! The same program runs as N nodes. Each registered actor type has at most
//! one activation per ID in the whole cluster, on the node that owns the
//! ID's partition; every node reaches every actor with Acteur's usual
//! `send_to_actor` and `call_actor`. Consensus is etcd's: membership and
//! partition ownership live there on leases, and a partition's etcd
//! revision is the fencing epoch of its activations
//! ([`ActorAssistant::activation_epoch`](acteur::ActorAssistant::activation_epoch)).
//! Messages travel over one gRPC stream per pair of nodes, encoded with
//! postcard.
//!
//! Unregistered actor types stay local to each node, and every node runs its
//! own instances of each service.
//!
//! # Guarantees
//!
//! 1. **Fencing (always):** epochs of successive activations of an ID
//!    strictly increase; a store that checks the epoch ([`epoch_admits`])
//!    never accepts a write from an older activation after a newer one
//!    wrote.
//! 2. **Single activation (in time):** at most one activation of an ID
//!    handles messages at any instant, provided no process pause or
//!    clock-rate error exceeds `fence_margin` and handlers finish before
//!    their node's deadline. Under a longer pause (SIGSTOP, VM freeze) an
//!    in-flight handler may overlap the next owner; only (1) protects state
//!    then.
//! 3. **Delivery:** at most once. `send` returns `Ok` once the owner queued
//!    the message; if that owner then crashes or is fenced, the message may
//!    be lost. An `Ok` from `call` means it was handled once.
//!    [`Unavailable`](acteur::Error::Unavailable) means it was not
//!    delivered. `try_send_*` to an actor on another node returns once the
//!    message is queued for the network, without acknowledgment.
//! 4. **Partitions:** etcd decides (CP). A node cut off from etcd stops
//!    within its TTL; its partitions move after expiry. Between nodes that
//!    both reach etcd, callers on the other side get `Unavailable` or
//!    `Timeout` until it heals. Without etcd, no actor messages run;
//!    services keep running.
//! 5. **Recovery:** after kill -9 of a node, its actors answer again within
//!    2 x TTL (etcd expires a lease within TTL + about 0.5 s).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod cluster;
mod config;
mod delivery;
mod epoch;
mod error;
mod inbound;
mod membership;
mod node;
mod ownership;
mod partition;
mod remote;
mod rendezvous;
mod router;
mod transport;
mod wire;

pub use builder::{ActorRegistration, ClusterBuilder};
pub use cluster::{Cluster, Member};
pub use config::{ClusterConfig, Rebalance};
pub use epoch::epoch_admits;
pub use error::ClusterError;
pub use node::ClusterState;
pub use partition::partition_of;
pub use remote::{RemoteActor, RemoteMessage};
