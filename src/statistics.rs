//! A snapshot of what a system holds and has done, from `Acteur::statistics`.

use std::time::Duration;

/// What a system holds and has done, per actor type and per service.
///
/// A snapshot: counts change as the system runs. The structs are
/// `#[non_exhaustive]` so that later versions can add figures.
///
/// With the `serde` feature, `Statistics` and its parts implement
/// `serde::Serialize`, to serve them as JSON from a metrics endpoint, say.
/// Field names are kept; type names are strings, durations are serde's
/// `{"secs", "nanos"}` and absent limits are `null`.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};
///
/// struct Counter(u32);
/// impl Actor for Counter {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Counter(0))
///     }
/// }
/// struct Get;
/// impl Respond<Get> for Counter {
///     type Response = u32;
///     async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u32 {
///         self.0
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.call_actor_sync::<Counter, Get>(1, Get).unwrap();
/// sys.call_actor_sync::<Counter, Get>(2, Get).unwrap();
/// let stats = sys.statistics();
/// let counters = stats.actor::<Counter>().unwrap();
/// assert_eq!(counters.active_actors, 2);
/// assert_eq!(counters.activations, 2);
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Statistics {
    /// One entry per actor type that has received a message.
    pub actors: Vec<ActorStatistics>,
    /// One entry per service type that has been used.
    pub services: Vec<ServiceStatistics>,
    /// Scheduled messages cancelled because the system stopped before they
    /// were due.
    pub scheduled_cancelled: u64,
    /// Scheduled messages not yet due, and not cancelled (intervals
    /// included).
    pub scheduled_pending: usize,
    /// Interval ticks skipped because the previous tick of their interval
    /// was not handled yet (see `ActorAssistant::send_interval`).
    pub skipped_ticks: u64,
    /// Calls (`call_actor`, `call_service` and their forms) waiting for
    /// their answer now, past their first moment: each holds an entry with
    /// its deadline until it ends, answered, failed, timed out or dropped.
    pub waiting_calls: usize,
    /// The system-wide limit on live activations of all types, from
    /// [`ActeurBuilder::max_actors`](crate::ActeurBuilder::max_actors).
    pub max_actors: Option<usize>,
    /// The system-wide limit on the estimated memory of all activations, from
    /// [`ActeurBuilder::max_memory`](crate::ActeurBuilder::max_memory).
    pub max_memory: Option<usize>,
}

impl Statistics {
    /// The entry of actor type `A`, if it has received a message.
    pub fn actor<A: 'static>(&self) -> Option<&ActorStatistics> {
        self.actors
            .iter()
            .find(|a| a.name == std::any::type_name::<A>())
    }

    /// The entry of service type `S`, if it has been used.
    pub fn service<S: 'static>(&self) -> Option<&ServiceStatistics> {
        self.services
            .iter()
            .find(|s| s.name == std::any::type_name::<S>())
    }
}

/// Figures of one actor type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ActorStatistics {
    /// The actor type's name (`std::any::type_name`).
    pub name: &'static str,
    /// Activations alive now, idle or busy. Above
    /// [`max_actors`](Self::max_actors) only while every activation is busy
    /// or being deactivated.
    pub active_actors: usize,
    /// Of the active actors, those handling a message, with messages
    /// waiting, or being deactivated now; the others are idle, and only they
    /// can be evicted by a limit.
    pub busy_actors: usize,
    /// Messages waiting in the actors' mailboxes now.
    pub queued_messages: usize,
    /// The estimated memory, in bytes, of the live activations: the sum of
    /// their last [`Actor::memory_size`](crate::Actor::memory_size).
    pub memory: usize,
    /// The configured [`ActorConfiguration::idle_timeout`](crate::ActorConfiguration::idle_timeout).
    pub idle_timeout: Option<Duration>,
    /// The configured [`ActorConfiguration::max_actors`](crate::ActorConfiguration::max_actors).
    pub max_actors: Option<usize>,
    /// The configured [`ActorConfiguration::max_memory`](crate::ActorConfiguration::max_memory).
    pub max_memory: Option<usize>,
    /// `activate` calls that returned.
    pub activations: u64,
    /// `deactivate` calls, for any reason: the sum of
    /// [`deactivations_by_reason`](Self::deactivations_by_reason).
    pub deactivations: u64,
    /// `deactivate` calls, per [`DeactivationReason`](crate::DeactivationReason).
    pub deactivations_by_reason: DeactivationCounts,
    /// Handlers that panicked (each dropped its activation).
    pub panics: u64,
    /// `activate` calls that returned an error or panicked.
    pub activation_failures: u64,
    /// Fire-and-forget messages dropped because their activation failed.
    pub dropped_messages: u64,
    /// `deactivate` calls dropped because they ran past
    /// [`ActorConfiguration::deactivate_timeout`](crate::ActorConfiguration::deactivate_timeout)
    /// (also counted in [`deactivations`](Self::deactivations)).
    pub deactivate_timeouts: u64,
    /// Activations dropped without (or in the middle of) `deactivate`
    /// because the [shutdown deadline](crate::ActeurBuilder::shutdown_timeout)
    /// passed.
    pub abandoned_activations: u64,
    /// Messages dropped unhandled because the shutdown deadline passed; the
    /// callers of those that were requests got
    /// [`Error::Stopped`](crate::Error::Stopped).
    pub abandoned_messages: u64,
    /// For a [`PersistentActor`](crate::PersistentActor) type: its stored
    /// states' figures; `None` for any other type.
    #[cfg(feature = "persistence")]
    pub state: Option<StateStatistics>,
}

/// Figures of a persistent actor type's stored states (feature
/// `persistence`), in [`ActorStatistics::state`].
#[cfg(feature = "persistence")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StateStatistics {
    /// States loaded at activation (a missing row counts too).
    pub loads: u64,
    /// States and clears written.
    pub saves: u64,
    /// Saves skipped because the state's bytes matched the last ones
    /// loaded or saved.
    pub skipped_saves: u64,
    /// Write requests sent to the store, retries included. Each is one
    /// transaction of the store's, which may commit several requests (of
    /// several actors) together.
    pub transactions: u64,
    /// Saves refused because another activation of the same ID wrote first
    /// (each dropped its activation).
    pub conflicts: u64,
    /// Saves refused because a newer process or node fenced this one's
    /// epoch (each dropped its activation).
    pub fenced: u64,
    /// Loads and saves attempted again after the store failed.
    pub retries: u64,
    /// Loads and saves that failed for good (the store stayed unavailable,
    /// refused them, or the state could not be read).
    pub failures: u64,
    /// Activations holding changes not saved yet, now.
    pub dirty: usize,
}

/// `deactivate` calls of one actor type, per
/// [`DeactivationReason`](crate::DeactivationReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DeactivationCounts {
    /// After [`ActorConfiguration::idle_timeout`](crate::ActorConfiguration::idle_timeout).
    pub idle_timeout: u64,
    /// Evicted by a count limit (of the type or of the system).
    pub evicted_by_count: u64,
    /// Evicted by a memory limit (of the type or of the system).
    pub evicted_by_memory: u64,
    /// After [`ActorAssistant::stop`](crate::ActorAssistant::stop).
    pub stopped_by_self: u64,
    /// At [`Acteur::stop`](crate::Acteur::stop).
    pub system_shutdown: u64,
    /// Handed off to another node of a cluster
    /// ([`DeactivationReason::Handoff`](crate::DeactivationReason::Handoff)).
    pub handoff: u64,
    /// The node's cluster lease was lost
    /// ([`DeactivationReason::LeaseLost`](crate::DeactivationReason::LeaseLost)).
    pub lease_lost: u64,
}

impl DeactivationCounts {
    /// All deactivations, whatever the reason.
    pub fn total(&self) -> u64 {
        self.idle_timeout
            + self.evicted_by_count
            + self.evicted_by_memory
            + self.stopped_by_self
            + self.system_shutdown
            + self.handoff
            + self.lease_lost
    }
}

/// Figures of one service type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ServiceStatistics {
    /// The service type's name (`std::any::type_name`).
    pub name: &'static str,
    /// Worker tasks running now (at most the configured concurrency).
    pub workers: usize,
    /// Handlers running now.
    pub in_flight: usize,
    /// Messages waiting for a free worker now.
    pub queued_messages: usize,
    /// Messages handled so far.
    pub handled: u64,
    /// Handlers that panicked so far.
    pub panics: u64,
    /// Fire-and-forget messages dropped because `initialize` failed.
    pub dropped_messages: u64,
    /// Messages dropped unhandled because the
    /// [shutdown deadline](crate::ActeurBuilder::shutdown_timeout) passed;
    /// the callers of those that were requests got
    /// [`Error::Stopped`](crate::Error::Stopped).
    pub abandoned_messages: u64,
}
