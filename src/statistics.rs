//! A snapshot of what a system holds and has done, from `Acteur::statistics`.

/// What a system holds and has done, per actor type and per service.
///
/// A snapshot: counts change as the system runs. The structs are
/// `#[non_exhaustive]` so that later versions can add figures.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, Respond};
///
/// struct Counter(u32);
/// impl Actor for Counter {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Self {
///         Counter(0)
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
#[non_exhaustive]
pub struct Statistics {
    /// One entry per actor type that has received a message.
    pub actors: Vec<ActorStatistics>,
    /// One entry per service type that has been used.
    pub services: Vec<ServiceStatistics>,
    /// Scheduled messages cancelled because the system stopped before they
    /// were due.
    pub scheduled_cancelled: u64,
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
#[non_exhaustive]
pub struct ActorStatistics {
    /// The actor type's name (`std::any::type_name`).
    pub name: &'static str,
    /// Activations alive now, idle or busy.
    pub active_actors: usize,
    /// Messages waiting in the actors' mailboxes now.
    pub queued_messages: usize,
    /// `activate` calls that returned.
    pub activations: u64,
    /// `deactivate` calls (idle timeout, `stop`, shutdown).
    pub deactivations: u64,
    /// Handlers that panicked (each dropped its activation).
    pub panics: u64,
    /// `activate` calls that panicked.
    pub activation_failures: u64,
    /// Fire-and-forget messages dropped because their activation failed.
    pub dropped_messages: u64,
}

/// Figures of one service type.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}
