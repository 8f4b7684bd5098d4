//! One node's shared state: who it is, the cluster as it sees it (members
//! and partition owners, from etcd's watch), the partitions it holds, and
//! what it registered. Everything else (routing, the server, membership
//! and ownership tasks) reads or changes it here.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use acteur::{Acteur, DeactivationReason};
use tokio::sync::watch;

use crate::config::{ClusterConfig, Timings};
use crate::delivery::Lanes;
use crate::inbound::{BoxFuture, Inbound};
use crate::transport::peer::Peers;

/// Where a node stands in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClusterState {
    /// Joining: registering, claiming its first partitions.
    Joining,
    /// A member: handling the actors of the partitions it holds.
    Active,
    /// Its lease could not be renewed in time: it handles no actor message
    /// until it joins again, with a new lease and node ID.
    Fenced,
    /// It left the cluster ([`Cluster::leave`](crate::Cluster::leave)).
    Left,
}

impl ClusterState {
    fn from_u8(value: u8) -> ClusterState {
        match value {
            0 => ClusterState::Joining,
            1 => ClusterState::Active,
            2 => ClusterState::Fenced,
            _ => ClusterState::Left,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            ClusterState::Joining => 0,
            ClusterState::Active => 1,
            ClusterState::Fenced => 2,
            ClusterState::Left => 3,
        }
    }
}

/// The etcd keys of one cluster.
pub(crate) struct Keys {
    pub(crate) prefix: String,
}

impl Keys {
    pub(crate) fn new(cluster: &str) -> Keys {
        Keys {
            prefix: format!("/acteur/{cluster}/"),
        }
    }
    pub(crate) fn config(&self) -> String {
        format!("{}config", self.prefix)
    }
    pub(crate) fn member(&self, node: &str) -> String {
        format!("{}members/{node}", self.prefix)
    }
    pub(crate) fn partition(&self, partition: u32) -> String {
        format!("{}partitions/{partition}", self.prefix)
    }
}

/// A partition's owner, as etcd says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) node: Arc<str>,
    /// The partition key's `create_revision`.
    pub(crate) epoch: u64,
}

/// The cluster as the watch shows it.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Live members (their keys exist): node ID to address.
    pub(crate) members: BTreeMap<Arc<str>, SocketAddr>,
    /// Each partition's owner, if one holds its key.
    pub(crate) owners: Vec<Option<Owner>>,
}

/// What a partition is to this node, packed in one atomic: 0 if it does not
/// hold it; else its epoch, with the top bit set while it hands it off.
const HANDING_OFF: u64 = 1 << 63;
/// Set instead while its actors are discarded after the partition was lost
/// (its key went without a hand-off): neither served nor held, and not
/// claimed again until they are gone.
const LOST: u64 = 1 << 62;

/// Deactivates, for one registered actor type, the IDs of some partitions.
pub(crate) trait TypeAgent: Send + Sync {
    /// Deactivates with `reason`, or drops without `deactivate` if `None`.
    fn hand_off(
        &self,
        acteur: &Acteur,
        partitions: Arc<Vec<bool>>,
        reason: Option<DeactivationReason>,
    ) -> BoxFuture<()>;
}

pub(crate) struct Node {
    pub(crate) config: ClusterConfig,
    pub(crate) timings: Timings,
    pub(crate) keys: Keys,
    pub(crate) acteur: Acteur,
    /// This incarnation's ID and lease: a node that lost its lease joins
    /// again as a new incarnation.
    incarnation: RwLock<Incarnation>,
    pub(crate) address: SocketAddr,
    state: AtomicU8,
    pub(crate) table: RwLock<Table>,
    /// Bumped after every change of `table` or `held`: senders waiting for
    /// an owner, and the ownership task, wait on it.
    pub(crate) changes: watch::Sender<u64>,
    held: Vec<AtomicU64>,
    pub(crate) inbound: Inbound,
    /// The messages on their way to other nodes, per partition.
    pub(crate) lanes: Lanes,
    pub(crate) agents: RwLock<Vec<Arc<dyn TypeAgent>>>,
    pub(crate) peers: Peers,
    pub(crate) etcd: etcd_client::Client,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Set when the node left: its server stops.
    pub(crate) stop: watch::Sender<bool>,
    /// The reference instant of `deadline`.
    origin: Instant,
    /// The fencing deadline, in nanoseconds after `origin`: the send time
    /// of the last acknowledged lease renewal (the grant request first),
    /// plus the TTL, minus the fence margin. Atomic: every routed send
    /// reads it.
    deadline: AtomicU64,
}

/// One incarnation of the node: its ID (node name and a fresh UUID) and
/// its lease.
#[derive(Clone)]
pub(crate) struct Incarnation {
    pub(crate) id: Arc<str>,
    pub(crate) lease: i64,
}

/// Where a message for a partition should go now.
pub(crate) enum Target {
    /// This node holds it.
    Here,
    /// Another node does.
    Peer {
        node: Arc<str>,
        address: SocketAddr,
        /// The epoch it holds the partition under.
        epoch: u64,
    },
    /// Nobody holds it, or its owner is not a live member, or it moves.
    Nobody,
}

impl Node {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: ClusterConfig,
        timings: Timings,
        acteur: Acteur,
        id: Arc<str>,
        address: SocketAddr,
        lease: i64,
        inbound: Inbound,
        etcd: etcd_client::Client,
        runtime: tokio::runtime::Handle,
        granted_at: Instant,
    ) -> Node {
        let partitions = config.partitions as usize;
        let node = Node {
            keys: Keys::new(&config.name),
            timings,
            acteur,
            incarnation: RwLock::new(Incarnation { id, lease }),
            address,
            state: AtomicU8::new(ClusterState::Joining.as_u8()),
            table: RwLock::new(Table {
                members: BTreeMap::new(),
                owners: vec![None; partitions],
            }),
            changes: watch::Sender::new(0),
            held: (0..partitions).map(|_| AtomicU64::new(0)).collect(),
            inbound,
            lanes: Lanes::new(config.partitions),
            agents: RwLock::new(Vec::new()),
            peers: Peers::default(),
            etcd,
            runtime,
            config,
            stop: watch::Sender::new(false),
            origin: granted_at,
            deadline: AtomicU64::new(0),
        };
        node.renewed(granted_at);
        node
    }

    /// This incarnation's ID.
    pub(crate) fn id(&self) -> Arc<str> {
        self.incarnation
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .id
            .clone()
    }

    /// This incarnation's lease.
    pub(crate) fn lease(&self) -> i64 {
        self.incarnation
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .lease
    }

    /// Becomes a new incarnation, with a new lease granted at `granted_at`.
    pub(crate) fn reincarnate(&self, incarnation: Incarnation, granted_at: Instant) {
        *self.incarnation.write().unwrap_or_else(|p| p.into_inner()) = incarnation;
        self.renewed(granted_at);
    }

    /// A lease renewal sent at `sent` was acknowledged.
    pub(crate) fn renewed(&self, sent: Instant) {
        let deadline = sent + self.timings.ttl - self.timings.fence_margin;
        let nanos = deadline.saturating_duration_since(self.origin).as_nanos();
        self.deadline
            .fetch_max(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::AcqRel);
    }

    /// The send time of the last acknowledged renewal.
    pub(crate) fn last_renewal(&self) -> Instant {
        self.deadline() + self.timings.fence_margin - self.timings.ttl
    }

    /// True until the fencing deadline.
    #[inline]
    pub(crate) fn within_deadline(&self) -> bool {
        let now = Instant::now()
            .saturating_duration_since(self.origin)
            .as_nanos();
        u64::try_from(now).unwrap_or(u64::MAX) < self.deadline.load(Ordering::Acquire)
    }

    pub(crate) fn state(&self) -> ClusterState {
        ClusterState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Moves from `from` to `to` only if the node is in `from`; true if it
    /// did.
    pub(crate) fn transition(&self, from: ClusterState, to: ClusterState) -> bool {
        let moved = self
            .state
            .compare_exchange(
                from.as_u8(),
                to.as_u8(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if moved {
            self.changed();
        }
        moved
    }

    pub(crate) fn set_state(&self, state: ClusterState) {
        self.state.store(state.as_u8(), Ordering::Release);
        self.changed();
    }

    /// Wakes whoever waits for the table to change.
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|version| *version += 1);
    }

    /// The epoch under which this node holds `partition` and serves its
    /// actors, if it does: not while it hands it off, and never past its
    /// fencing deadline (even if the task that fences it has not run yet,
    /// as after the process was paused).
    #[inline]
    pub(crate) fn serving(&self, partition: u32) -> Option<u64> {
        let held = self.held.get(partition as usize)?.load(Ordering::Acquire);
        (held != 0 && held & (HANDING_OFF | LOST) == 0 && self.within_deadline()).then_some(held)
    }

    /// The epoch under which this node holds `partition`, serving or
    /// handing off.
    pub(crate) fn holding(&self, partition: u32) -> Option<u64> {
        let held = self.held.get(partition as usize)?.load(Ordering::Acquire);
        (held != 0 && held & LOST == 0).then_some(held & !HANDING_OFF)
    }

    /// True if nothing of `partition` is held here, lost ones included: it
    /// may be claimed.
    pub(crate) fn free(&self, partition: u32) -> bool {
        self.held[partition as usize].load(Ordering::Acquire) == 0
    }

    /// The partition's key went while this node served it (its lease ended,
    /// say after a pause): it stops at once, and its actors are dropped
    /// without `deactivate` before it may be claimed again here.
    pub(crate) fn lose(self: &Arc<Self>, partition: u32) {
        self.held[partition as usize].fetch_or(LOST, Ordering::AcqRel);
        self.changed();
        let node = self.clone();
        self.runtime.spawn(async move {
            let mut lost = vec![false; node.config.partitions as usize];
            lost[partition as usize] = true;
            node.hand_off_actors(lost, None).await;
            node.release(partition);
        });
    }

    pub(crate) fn hold(&self, partition: u32, epoch: u64) {
        self.held[partition as usize].store(epoch & !(HANDING_OFF | LOST), Ordering::Release);
        self.changed();
    }

    /// Stops serving `partition` (its messages go elsewhere, or wait), but
    /// keeps its epoch until it is released.
    pub(crate) fn start_hand_off(&self, partition: u32) {
        self.held[partition as usize].fetch_or(HANDING_OFF, Ordering::AcqRel);
    }

    pub(crate) fn release(&self, partition: u32) {
        self.held[partition as usize].store(0, Ordering::Release);
        self.changed();
    }

    /// The partitions held now, serving or handing off, with their epochs.
    pub(crate) fn held_partitions(&self) -> Vec<(u32, u64)> {
        (0..self.config.partitions)
            .filter_map(|p| self.holding(p).map(|epoch| (p, epoch)))
            .collect()
    }

    /// The instant before which this node may still act for its partitions:
    /// the last acknowledged renewal's send time, plus the TTL, minus the
    /// fence margin.
    pub(crate) fn deadline(&self) -> Instant {
        self.origin + Duration::from_nanos(self.deadline.load(Ordering::Acquire))
    }

    /// Where a message for `partition` goes now.
    pub(crate) fn target(&self, partition: u32) -> Target {
        if self.serving(partition).is_some() {
            return Target::Here;
        }
        let table = self
            .table
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        let Some(owner) = table
            .owners
            .get(partition as usize)
            .and_then(Option::as_ref)
        else {
            return Target::Nobody;
        };
        if *owner.node == *self.id() {
            // Ours in etcd, but not served: it is being handed off.
            return Target::Nobody;
        }
        match table.members.get(&owner.node) {
            Some(address) => Target::Peer {
                node: owner.node.clone(),
                address: *address,
                epoch: owner.epoch,
            },
            None => Target::Nobody,
        }
    }

    /// Deactivates the actors of `partitions` (true at their index) of every
    /// registered type, with `reason`; without `deactivate` if `None`.
    pub(crate) async fn hand_off_actors(
        &self,
        partitions: Vec<bool>,
        reason: Option<DeactivationReason>,
    ) {
        let partitions = Arc::new(partitions);
        let agents = self
            .agents
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        for agent in agents {
            agent
                .hand_off(&self.acteur, partitions.clone(), reason)
                .await;
        }
    }
}
