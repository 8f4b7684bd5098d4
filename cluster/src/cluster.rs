//! The handle of a node that joined its cluster.

use std::net::SocketAddr;
use std::sync::Arc;

use acteur::Acteur;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::builder::ClusterBuilder;
use crate::node::{ClusterState, Node};
use crate::partition::partition_of_encoded;
use crate::{ClusterConfig, ClusterError, RemoteActor, membership};

/// A node of a cluster, from [`ClusterBuilder::join`].
///
/// Messages need nothing from it: once joined, `send_to_actor`,
/// `call_actor` and the rest of [`Acteur`]'s methods reach a registered
/// actor on whichever node owns it. Keep it to look at the cluster and to
/// [`leave`](Cluster::leave); dropping it does not leave: the node stays a
/// member until its actor system stops (it then leaves by itself, its
/// actors having been deactivated by the shutdown) or its process ends (its
/// lease then expires).
#[derive(Clone)]
pub struct Cluster {
    pub(crate) node: Arc<Node>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("cluster", &self.node.config.name)
            .field("node", &self.node.id())
            .field("state", &self.node.state())
            .finish()
    }
}

/// A live member of the cluster, from [`Cluster::members`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// The node's ID: its name and its incarnation's UUID.
    pub id: String,
    /// The address other nodes reach it at.
    pub address: SocketAddr,
}

impl Cluster {
    /// Starts a node's registration: `acteur` is its actor system,
    /// `config` says which cluster it joins and how.
    ///
    /// ```no_run
    /// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive};
    /// use acteur_cluster::{Cluster, ClusterConfig, RemoteActor, RemoteMessage};
    /// use serde::{Deserialize, Serialize};
    ///
    /// struct Counter(u64);
    /// impl Actor for Counter {
    ///     type Id = u64;
    ///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         Ok(Counter(0))
    ///     }
    /// }
    /// impl RemoteActor for Counter {
    ///     const NAME: &'static str = "demo.Counter";
    /// }
    /// #[derive(Serialize, Deserialize)]
    /// struct Increment;
    /// impl RemoteMessage for Increment {
    ///     const NAME: &'static str = "demo.Increment";
    /// }
    /// impl Receive<Increment> for Counter {
    ///     async fn handle(&mut self, _: Increment, _: &ActorAssistant<Self>) {
    ///         self.0 += 1;
    ///     }
    /// }
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let acteur = Acteur::new();
    /// let cluster = Cluster::builder(acteur.clone(), ClusterConfig::new("demo"))
    ///     .actor::<Counter>()
    ///     .message::<Increment>()
    ///     .join()
    ///     .await?;
    /// // Counter 7 lives on one node of the cluster, whichever this is.
    /// acteur.send_to_actor::<Counter, Increment>(7, Increment).await?;
    /// cluster.leave().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(acteur: Acteur, config: ClusterConfig) -> ClusterBuilder {
        ClusterBuilder::new(acteur, config)
    }

    /// This node's ID: its configured name and a UUID fresh at every join.
    pub fn node_id(&self) -> String {
        self.node.id().to_string()
    }

    /// The live members, as this node sees them now (from etcd's watch),
    /// ordered by ID.
    pub fn members(&self) -> Vec<Member> {
        let table = self.node.table.read().unwrap_or_else(|p| p.into_inner());
        table
            .members
            .iter()
            .map(|(id, address)| Member {
                id: id.to_string(),
                address: *address,
            })
            .collect()
    }

    /// The ID of the node that owns actor `A`'s `id` now, as this node sees
    /// it; `None` while nobody does (during a move, or after its owner
    /// died), or if `id` does not encode.
    pub fn owner_of<A>(&self, id: &A::Id) -> Option<String>
    where
        A: RemoteActor,
        A::Id: Serialize + DeserializeOwned,
    {
        let encoded = postcard::to_stdvec(id).ok()?;
        let partition = partition_of_encoded(A::NAME, &encoded, self.node.config.partitions);
        let table = self.node.table.read().unwrap_or_else(|p| p.into_inner());
        table.owners[partition as usize]
            .as_ref()
            .map(|owner| owner.node.to_string())
    }

    /// Where this node stands: joining, active, fenced (its lease could not
    /// be renewed) or left.
    pub fn state(&self) -> ClusterState {
        self.node.state()
    }

    /// The instant until which this node may act for the actors it holds:
    /// the send time of its last acknowledged lease renewal, plus the lease
    /// TTL, minus the fence margin. Bound a handler's external writes by it
    /// (abandon one that cannot finish before), and make them conditional
    /// on the epoch ([`epoch_admits`](crate::epoch_admits)), so that a
    /// write never lands after another node may own the actor.
    pub fn fencing_deadline(&self) -> std::time::Instant {
        self.node.deadline().into_std()
    }

    /// The actor system this node runs.
    pub fn acteur(&self) -> &Acteur {
        &self.node.acteur
    }

    /// Leaves the cluster gracefully: the node stops being a member, then
    /// hands over every partition it holds (its actors handle what they
    /// have queued, then `deactivate` runs with
    /// [`DeactivationReason::Handoff`](acteur::DeactivationReason::Handoff)),
    /// then gives up its lease. Messages for its actors wait meanwhile and
    /// go to their new owners.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Stopped`] if it left already; [`ClusterError::Etcd`]
    /// if etcd refused a step (its lease then ends on its own).
    ///
    /// # Cancel safety
    ///
    /// The node counts as left from the first poll: dropped midway, the
    /// partitions not yet handed over stay held until its lease ends, and
    /// their messages wait for the next owner until then (or fail with
    /// `Unavailable` past `unavailable_wait`).
    pub async fn leave(&self) -> Result<(), ClusterError> {
        membership::leave(&self.node).await
    }
}
