//! Why an activation ends, as `deactivate` learns it.

use std::fmt;

/// Why [`Actor::deactivate`](crate::Actor::deactivate) runs, from
/// [`ActorAssistant::deactivation_reason`](crate::ActorAssistant::deactivation_reason).
///
/// Every reason means the same thing for the actor: save what must survive,
/// the value is dropped when `deactivate` returns, and the next message to
/// this ID activates it afresh. The reason helps decide *how*: an actor
/// evicted for memory may want to save quickly, one stopped at shutdown may
/// want to flush everything.
///
/// The enum is `#[non_exhaustive]`: later versions may add reasons (for
/// instance an actor moving to another server), so a `match` needs a `_` arm.
///
/// # Examples
///
/// ```
/// use acteur::{Actor, ActorAssistant, BoxError, DeactivationReason};
///
/// struct Session;
/// impl Actor for Session {
///     type Id = u64;
///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Session)
///     }
///     async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
///         match assistant.deactivation_reason() {
///             DeactivationReason::SystemShutdown => { /* flush everything */ }
///             _ => { /* save the essentials */ }
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeactivationReason {
    /// The actor handled no message for its
    /// [`idle_timeout`](crate::ActorConfiguration::idle_timeout), and no
    /// [`keep_alive`](crate::ActorAssistant::keep_alive) held it longer.
    IdleTimeout,
    /// Its type reached [`max_actors`](crate::ActorConfiguration::max_actors),
    /// or the system reached [`ActeurBuilder::max_actors`](crate::ActeurBuilder::max_actors),
    /// and this was the least recently used idle activation.
    EvictedByCount,
    /// Its type went over [`max_memory`](crate::ActorConfiguration::max_memory),
    /// or the system over [`ActeurBuilder::max_memory`](crate::ActeurBuilder::max_memory),
    /// and this was the least recently used idle activation.
    EvictedByMemory,
    /// The actor called [`ActorAssistant::stop`](crate::ActorAssistant::stop).
    StoppedBySelf,
    /// The system is stopping ([`Acteur::stop`](crate::Acteur::stop)).
    SystemShutdown,
    /// In a cluster (crate `acteur-cluster`): this node hands the actor's
    /// partition to another node, because it leaves or the partitions are
    /// rebalanced. Its queued messages were handled first; the next message
    /// activates the actor on the new owner, which reads what this
    /// `deactivate` saved.
    Handoff,
    /// In a cluster (crate `acteur-cluster`): this node lost, or is about to
    /// lose, its lease on the cluster's membership store, so another node may
    /// soon own the actor. Save quickly: past the node's fencing deadline
    /// what is left is dropped, and a store that checks
    /// [`activation_epoch`](crate::ActorAssistant::activation_epoch) refuses
    /// a late write.
    LeaseLost,
}

impl DeactivationReason {
    /// Every reason, in declaration order; indexes [`DeactivationReason::index`].
    pub(crate) const ALL: [DeactivationReason; 7] = [
        DeactivationReason::IdleTimeout,
        DeactivationReason::EvictedByCount,
        DeactivationReason::EvictedByMemory,
        DeactivationReason::StoppedBySelf,
        DeactivationReason::SystemShutdown,
        DeactivationReason::Handoff,
        DeactivationReason::LeaseLost,
    ];

    /// A dense index, for counting deactivations per reason.
    pub(crate) fn index(self) -> usize {
        match self {
            DeactivationReason::IdleTimeout => 0,
            DeactivationReason::EvictedByCount => 1,
            DeactivationReason::EvictedByMemory => 2,
            DeactivationReason::StoppedBySelf => 3,
            DeactivationReason::SystemShutdown => 4,
            DeactivationReason::Handoff => 5,
            DeactivationReason::LeaseLost => 6,
        }
    }

    /// True for the reasons that come from a count or memory limit.
    pub(crate) fn is_eviction(self) -> bool {
        matches!(
            self,
            DeactivationReason::EvictedByCount | DeactivationReason::EvictedByMemory
        )
    }
}

impl fmt::Display for DeactivationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeactivationReason::IdleTimeout => "idle timeout",
            DeactivationReason::EvictedByCount => "evicted by the actor count limit",
            DeactivationReason::EvictedByMemory => "evicted by the memory limit",
            DeactivationReason::StoppedBySelf => "stopped by itself",
            DeactivationReason::SystemShutdown => "system shutdown",
            DeactivationReason::Handoff => "handed off to another node",
            DeactivationReason::LeaseLost => "the node's cluster lease was lost",
        })
    }
}
