//! The traits a user implements to define an actor and the messages it handles.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use crate::{ActorAssistant, BoxError, Error};

/// An entity identified by an ID — a user, an invoice, a player — whose state
/// lives in RAM and whose messages are handled one at a time.
///
/// You never create an actor yourself: the system calls [`Actor::activate`]
/// when the first message for an ID arrives, keeps the value in memory while
/// it is used, and calls [`Actor::deactivate`] before dropping it (when it has
/// been idle too long, when a count or memory limit needs its place, when it
/// asked to stop, or when the system stops).
/// Messages to one ID are handled one after the other, in the order each
/// sender sent them; different IDs run concurrently on all cores.
///
/// Write the methods as plain `async fn`s; no attribute macro is needed.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive};
///
/// struct Player {
///     score: u32,
/// }
///
/// impl Actor for Player {
///     type Id = u64;
///
///     async fn activate(_id: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         // Load from a database here, or start from a default.
///         Ok(Player { score: 0 })
///     }
///
///     async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
///         // Save the state here: the value is dropped after this returns.
///         println!("player {} leaves with {} points", assistant.id(), self.score);
///     }
/// }
///
/// struct Scored(u32);
///
/// impl Receive<Scored> for Player {
///     async fn handle(&mut self, message: Scored, _: &ActorAssistant<Self>) {
///         self.score += message.0;
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.send_to_actor_sync::<Player, Scored>(7, Scored(10)).unwrap();
/// sys.stop(); // deactivates player 7
/// sys.wait_until_stopped();
/// ```
pub trait Actor: Sized + Send + 'static {
    /// The type of the ID that tells actors of this type apart.
    ///
    /// The system finds an actor by hashing its ID with a fast hash
    /// (foldhash) seeded at random in each process and for each actor
    /// type, so IDs that come from outside, such as user names or request
    /// parameters, are safe to use as they are: without the seed, nobody
    /// can choose IDs that all land in one shard or bucket of the map to
    /// slow it down. Its `Hash` need not be stable across versions or runs;
    /// it is only used within the process.
    type Id: Eq + Hash + Clone + Send + Sync + Debug + 'static;

    /// Builds the actor for `id` when its first message arrives (or the first
    /// one after it was deactivated): load its state here, with the
    /// dependencies the system was built with ([`ActorAssistant::data`]).
    ///
    /// Return an error when the actor cannot be built now (its database is
    /// down, say); a panic counts the same. The message that asked for the
    /// activation is then retried on a fresh activation, up to
    /// [`ActorConfiguration::max_consecutive_panics`] failures in a row; at
    /// that limit it is dropped: a call gets
    /// [`Error::ActivationFailed`](crate::Error::ActivationFailed), whose
    /// `cause` is the error's text (or the panic's message), and a
    /// fire-and-forget message is logged and counted in
    /// [`Statistics`](crate::Statistics). The next queued message then gets
    /// its own attempt. Every failure is logged with its cause.
    fn activate(
        id: Self::Id,
        assistant: &ActorAssistant<Self>,
    ) -> impl Future<Output = Result<Self, BoxError>> + Send;

    /// Runs once before an activation is dropped: after an idle timeout, on
    /// eviction by a count or memory limit, after [`ActorAssistant::stop`], or
    /// when the system stops; [`ActorAssistant::deactivation_reason`] says
    /// which. Save state here. The next message to this ID waits until this
    /// returns, then activates the actor afresh.
    ///
    /// An eviction runs it in the task that needs the room, so a slow
    /// `deactivate` slows the activations that evict it. It may run for at
    /// most [`ActorConfiguration::deactivate_timeout`] (and, at shutdown,
    /// within [`ActeurBuilder::shutdown_timeout`](crate::ActeurBuilder::shutdown_timeout)):
    /// past it, it is dropped where it stands.
    ///
    /// At shutdown it can still call and send to services (a store that
    /// saves the state) and to actors that are active and not deactivating
    /// themselves; see [`Acteur::stop`](crate::Acteur::stop).
    ///
    /// It is not called for an activation whose handler panicked, since its
    /// state may be broken. The default does nothing.
    fn deactivate(&mut self, assistant: &ActorAssistant<Self>) -> impl Future<Output = ()> + Send {
        let _ = assistant;
        async {}
    }

    /// The policies for actors of this type; read once, when the type gets its
    /// first message. The default is [`ActorConfiguration::default()`].
    fn configuration() -> ActorConfiguration {
        ActorConfiguration::default()
    }

    /// An estimate, in bytes, of the memory this activation holds; what
    /// [`ActorConfiguration::max_memory`] and the system-wide
    /// [`ActeurBuilder::max_memory`](crate::ActeurBuilder::max_memory) limit.
    ///
    /// Called after `activate` and after each handled message, so keep it
    /// cheap: a sum of lengths, not a walk over every byte. The default is
    /// `size_of::<Self>()`, which ignores what the actor owns on the heap;
    /// override it for actors holding strings, vectors or maps. If it
    /// panics, the previous estimate is kept. Estimates above 4 GiB count
    /// as 4 GiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use acteur::{Actor, ActorAssistant, BoxError};
    ///
    /// struct Inbox {
    ///     messages: Vec<String>,
    /// }
    /// impl Actor for Inbox {
    ///     type Id = u64;
    ///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         Ok(Inbox { messages: Vec::new() })
    ///     }
    ///     fn memory_size(&self) -> usize {
    ///         size_of::<Self>()
    ///             + self.messages.capacity() * size_of::<String>()
    ///             + self.messages.iter().map(String::capacity).sum::<usize>()
    ///     }
    /// }
    /// ```
    fn memory_size(&self) -> usize {
        size_of::<Self>()
    }

    /// Whether the type is a [`PersistentActor`](crate::PersistentActor):
    /// read on every turn, so a constant that volatile types pay nothing for.
    #[cfg(feature = "persistence")]
    #[doc(hidden)]
    const __PERSISTENT: bool = false;

    /// Whether the type is a [`PersistentActor`](crate::PersistentActor),
    /// and what the system needs to save it. Implemented only by the
    /// blanket implementation of `Actor` for every `PersistentActor`.
    #[cfg(feature = "persistence")]
    #[doc(hidden)]
    fn __persistence() -> Option<crate::persistent_actor::PersistenceHooks<Self>> {
        None
    }
}

/// Handles a fire-and-forget message `M`, sent with
/// [`Acteur::send_to_actor`](crate::Acteur::send_to_actor).
///
/// The sender does not wait for the handler; it learns only whether the
/// message was accepted. An actor type can implement both `Receive<M>` and
/// [`Respond<M>`] for the same `M`.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive};
///
/// struct Account(i64);
/// impl Actor for Account {
///     type Id = String;
///     async fn activate(_: String, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Account(0))
///     }
/// }
///
/// struct Deposit(i64);
/// impl Receive<Deposit> for Account {
///     async fn handle(&mut self, m: Deposit, _: &ActorAssistant<Self>) {
///         self.0 += m.0;
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.send_to_actor_sync::<Account, Deposit>("alice".to_string(), Deposit(5)).unwrap();
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not receive `{M}` as a fire-and-forget message",
    label = "`{Self}` has no `Receive<{M}>` implementation",
    note = "to send `{M}` without waiting for an answer, implement `Receive<{M}> for {Self}`",
    note = "if `{Self}` answers `{M}` (it implements `Respond<{M}>`), use `call_actor` instead of `send_to_actor`"
)]
pub trait Receive<M: Send + 'static>: Actor {
    /// Handles one message. Panics are caught: the activation is dropped and
    /// the next message activates the actor afresh.
    fn handle(
        &mut self,
        message: M,
        assistant: &ActorAssistant<Self>,
    ) -> impl Future<Output = ()> + Send;
}

/// Answers a request `M` with a [`Respond::Response`], sent with
/// [`Acteur::call_actor`](crate::Acteur::call_actor).
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};
///
/// struct Account(i64);
/// impl Actor for Account {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Account(100))
///     }
/// }
///
/// struct Balance;
/// impl Respond<Balance> for Account {
///     type Response = i64;
///     async fn handle(&mut self, _: Balance, _: &ActorAssistant<Self>) -> i64 {
///         self.0
///     }
/// }
///
/// let sys = Acteur::new();
/// assert_eq!(sys.call_actor_sync::<Account, Balance>(1, Balance).unwrap(), 100);
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not answer `{M}` as a request",
    label = "`{Self}` has no `Respond<{M}>` implementation",
    note = "to call `{Self}` with `{M}` and get an answer, implement `Respond<{M}> for {Self}`",
    note = "if `{Self}` receives `{M}` without answering (it implements `Receive<{M}>`), use `send_to_actor` instead of `call_actor`"
)]
pub trait Respond<M: Send + 'static>: Actor {
    /// What the caller gets back.
    type Response: Send + 'static;

    /// Handles one request and returns its answer. If it panics, the caller
    /// gets [`Error::Panicked`](crate::Error::Panicked).
    fn handle(
        &mut self,
        message: M,
        assistant: &ActorAssistant<Self>,
    ) -> impl Future<Output = Self::Response> + Send;
}

/// A message type that cannot exist, which every actor receives and answers.
///
/// With two implementations of `Receive<_>` (or `Respond<_>`) for every
/// actor, the compiler can never take a message type from an actor's only
/// implementation: in `send_to_actor::<A, _>(id, Get)`, it takes `Get` from
/// the argument, and a missing `Receive<Get>` is reported as such (see the
/// `on_unimplemented` messages above), instead of as "expected `Add`".
#[doc(hidden)]
pub enum NoMessage {}

#[doc(hidden)]
impl<A: Actor> Receive<NoMessage> for A {
    async fn handle(&mut self, message: NoMessage, _: &ActorAssistant<Self>) {
        match message {}
    }
}

#[doc(hidden)]
impl<A: Actor> Respond<NoMessage> for A {
    type Response = NoMessage;
    async fn handle(&mut self, message: NoMessage, _: &ActorAssistant<Self>) -> NoMessage {
        match message {}
    }
}

/// Policies for one actor type, returned by [`Actor::configuration`]: how
/// long, how many and how much memory its activations may stay in RAM, how
/// many messages may wait for each, and how it copes with panics.
///
/// A plain struct with public fields: write the fields you change and take the
/// rest from `Default`, since later versions add fields. An invalid value (a
/// zero limit) makes every send to the type fail with
/// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration), which
/// names the type and the field.
///
/// The three policies combine: an activation is deactivated when it has been
/// idle too long, or when it is the least recently used idle activation of a
/// type over its count or memory limit. Busy activations (a message queued or
/// being handled) are never evicted: if all are busy, a limit is exceeded
/// until some become idle, and [`Statistics`](crate::Statistics) shows it.
/// `deactivate` runs in every case and learns why from
/// [`ActorAssistant::deactivation_reason`](crate::ActorAssistant::deactivation_reason).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use acteur::{Actor, ActorAssistant, BoxError, ActorConfiguration};
///
/// struct Player {
///     inventory: Vec<u32>,
/// }
///
/// impl Actor for Player {
///     type Id = u64;
///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Player { inventory: Vec::new() })
///     }
///     fn configuration() -> ActorConfiguration {
///         ActorConfiguration {
///             idle_timeout: Some(Duration::from_secs(60)),
///             max_actors: Some(50_000),
///             max_memory: Some(256 * 1024 * 1024),
///             ..Default::default()
///         }
///     }
///     fn memory_size(&self) -> usize {
///         size_of::<Self>() + self.inventory.capacity() * size_of::<u32>()
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorConfiguration {
    /// Deactivate an actor that has handled no message for this long
    /// (postponed by [`ActorAssistant::keep_alive`]). `None` keeps actors
    /// until they stop themselves, are evicted, or the system stops.
    ///
    /// Idleness is checked in the background about four times per timeout,
    /// so an actor goes up to a quarter of the timeout later than due.
    /// Default: 5 minutes. A zero duration is invalid.
    pub idle_timeout: Option<Duration>,
    /// The most live activations of this type. An activation that would
    /// exceed it first deactivates the least recently used idle one
    /// ([`DeactivationReason::EvictedByCount`](crate::DeactivationReason::EvictedByCount)).
    /// Default: `None`, no limit. `Some(0)` is invalid.
    pub max_actors: Option<usize>,
    /// The most memory, in bytes, the live activations of this type may hold,
    /// as estimated by [`Actor::memory_size`]. Over it, least recently used
    /// idle activations are deactivated until the type is within it again
    /// ([`DeactivationReason::EvictedByMemory`](crate::DeactivationReason::EvictedByMemory)).
    /// Default: `None`, no limit. `Some(0)` is invalid.
    pub max_memory: Option<usize>,
    /// The most messages that may wait in the mailbox of one actor of this
    /// type (the message being handled is no longer in it). When it is full,
    /// `send_*` and `call_*` wait for room (the `_sync` forms block), which
    /// slows a producer down to the actor's pace, and `try_send_to_actor`
    /// hands the message back at once, with
    /// [`Error::MailboxFull`](crate::Error::MailboxFull).
    ///
    /// The actor takes its messages out in batches, everything waiting at
    /// once, and the room they held is free again when it comes back for
    /// the next batch: the count never exceeds the capacity, but a sender
    /// may wait until the current batch has been handled.
    ///
    /// A message an actor sends to its own ID is queued even into a full
    /// mailbox: waiting for room there would wait for itself.
    /// Default: `None`, unbounded. `Some(0)` is invalid.
    pub mailbox_capacity: Option<usize>,
    /// How many panics in a row one actor may have before Acteur stops
    /// retrying: a message whose `activate` panics is retried on a new
    /// activation until this many panics in a row, then dropped (its caller
    /// gets [`Error::ActivationFailed`](crate::Error::ActivationFailed)) and
    /// the next queued message is served; once at the limit, each message
    /// queued meanwhile gets one attempt, until one succeeds (the count
    /// starts afresh once the actor has nothing queued and no activation,
    /// or after a success). A handler that panics has
    /// consumed its message, which is never handled twice: its caller gets
    /// [`Error::Panicked`](crate::Error::Panicked) and the actor goes on
    /// with the rest of its queue, on a fresh activation. Either way a
    /// poison message costs at most this many attempts, and the actor keeps
    /// serving. Default: 3. Zero is invalid.
    ///
    /// A failed `activate` counts the same whether it returned an error or
    /// panicked.
    pub max_consecutive_panics: u32,
    /// The longest [`Actor::deactivate`] may run. Past it, the hook is
    /// dropped where it stands (the state it had not saved is lost), an
    /// error is logged and counted in
    /// [`ActorStatistics::deactivate_timeouts`](crate::ActorStatistics::deactivate_timeouts),
    /// and the ID can be activated again: one stuck save does not hold an
    /// actor, or the activation that evicts it, forever. During shutdown,
    /// [`ActeurBuilder::shutdown_timeout`](crate::ActeurBuilder::shutdown_timeout)
    /// bounds it too. Default: 30 seconds. Zero is invalid.
    pub deactivate_timeout: Duration,
}

impl ActorConfiguration {
    /// The first setting that no actor type could run with, as the
    /// [`Error::InvalidConfiguration`] that names it and `type_name`.
    pub(crate) fn check(&self, type_name: &'static str) -> Result<(), Error> {
        let invalid = |field, reason| {
            Err(Error::InvalidConfiguration {
                type_name,
                field,
                reason,
            })
        };
        if self.idle_timeout == Some(Duration::ZERO) {
            return invalid(
                "idle_timeout",
                "is zero, which would deactivate actors before they handle a message; \
                 use a positive duration, or None to keep actors until stopped",
            );
        }
        if self.max_actors == Some(0) {
            return invalid(
                "max_actors",
                "is zero, so no actor could ever be active; \
                 use a positive count, or None for no limit",
            );
        }
        if self.max_memory == Some(0) {
            return invalid(
                "max_memory",
                "is zero bytes, so no actor could ever be active; \
                 use a positive number of bytes, or None for no limit",
            );
        }
        if self.mailbox_capacity == Some(0) {
            return invalid(
                "mailbox_capacity",
                "is zero, so no message could ever be queued; \
                 use a positive capacity, or None for an unbounded mailbox",
            );
        }
        if self.deactivate_timeout.is_zero() {
            return invalid(
                "deactivate_timeout",
                "is zero, so every deactivate that awaits anything would be dropped; \
                 use a positive duration (the default is 30 seconds)",
            );
        }
        if self.max_consecutive_panics == 0 {
            return invalid(
                "max_consecutive_panics",
                "is zero, so no message would get even one attempt; use 1 or more \
                 (the default is 3)",
            );
        }
        Ok(())
    }
}

impl Default for ActorConfiguration {
    fn default() -> Self {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_secs(5 * 60)),
            max_actors: None,
            max_memory: None,
            mailbox_capacity: None,
            max_consecutive_panics: 3,
            deactivate_timeout: Duration::from_secs(30),
        }
    }
}
