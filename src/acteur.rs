//! The handle through which a program talks to its actors and services.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::runtime::Home;
use crate::statistics::Statistics;
use crate::system::data::DataMap;
use crate::system::tasks::context;
use crate::system::{System, SystemLimits};
use crate::{ActeurBuilder, Error, Listen, Receive, Respond, Serve, Service, Timer, TrySendError};

/// A handle on an actor system: send messages to actors and services, publish,
/// and stop.
///
/// `Acteur::new()` creates an independent system; clones of the handle are
/// cheap and all talk to the same system. Every method that sends has an
/// `async` form and a `_sync` form that blocks the calling thread, so a plain
/// `fn main` needs no runtime. The `_sync` forms must not be used inside a
/// handler (they return [`Error::BlockingCallInHandler`] there): use the
/// `async` forms, or the [`ActorAssistant`](crate::ActorAssistant) /
/// [`ServiceAssistant`](crate::ServiceAssistant) passed to the handler. Nor
/// on the thread of a current-thread tokio runtime the system uses (the
/// `tokio` feature), which drives its handlers' I/O and timers and would
/// then wait forever ([`Error::BlockingCallOnRuntimeThread`]).
///
/// Stop the system with [`Acteur::stop`] and [`Acteur::wait_until_stopped`]
/// (or [`Acteur::stopped`]) so that every actor's `deactivate` runs; a system
/// that is never stopped keeps its worker threads while any handle of it, or
/// a task it runs, exists (a pending scheduled message does not count).
///
/// Once [`Acteur::stop`] is called, the methods below return
/// [`Error::Stopped`] when called from outside the system; the code running
/// inside it (handlers, `deactivate`, service hooks) can still reach
/// services and active actors until shutdown is over (see [`Acteur::stop`]).
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};
///
/// struct Employee {
///     salary: u32,
/// }
/// impl Actor for Employee {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Employee { salary: 0 })
///     }
/// }
///
/// struct SalaryChanged(u32);
/// impl Receive<SalaryChanged> for Employee {
///     async fn handle(&mut self, m: SalaryChanged, _: &ActorAssistant<Self>) {
///         self.salary = m.0;
///     }
/// }
///
/// struct GetSalary;
/// impl Respond<GetSalary> for Employee {
///     type Response = u32;
///     async fn handle(&mut self, _: GetSalary, _: &ActorAssistant<Self>) -> u32 {
///         self.salary
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.send_to_actor_sync::<Employee, _>(42, SalaryChanged(55_000)).unwrap();
/// assert_eq!(sys.call_actor_sync::<Employee, _>(42, GetSalary).unwrap(), 55_000);
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[derive(Clone)]
pub struct Acteur {
    system: Arc<System>,
}

// The global system outlives any tokio runtime it may first be used in
// (a `#[tokio::test]`'s, say), so it never borrows one.
static GLOBAL: LazyLock<Acteur> = LazyLock::new(|| {
    Acteur::from_system(System::new(
        SystemLimits::default(),
        DataMap::default(),
        Home::Own,
    ))
});

impl Acteur {
    /// Creates a new, independent actor system. Two systems share nothing:
    /// not their actors, services, subscriptions nor worker threads.
    ///
    /// Worker threads start with the first message, one per core. With the
    /// `tokio` feature, they enter the tokio runtime the system is created
    /// in, or else a small one the system starts, so that handlers can use
    /// tokio-based libraries (see the guide's
    /// [Choosing a runtime](crate::guide::ch09_runtimes)).
    pub fn new() -> Acteur {
        Acteur {
            system: System::new(SystemLimits::default(), DataMap::default(), Home::Ambient),
        }
    }

    /// Starts building a system with system-wide settings, such as a limit
    /// on live actors across all types; see [`ActeurBuilder`].
    ///
    /// ```
    /// let sys = acteur::Acteur::builder().max_actors(100_000).build();
    /// # sys.stop();
    /// # sys.wait_until_stopped();
    /// ```
    pub fn builder() -> ActeurBuilder {
        ActeurBuilder::default()
    }

    /// The one process-wide system, created on first use, for programs that
    /// prefer a global to passing a handle around.
    ///
    /// Once stopped, it stays stopped for the rest of the process: every later
    /// send returns [`Error::Stopped`]. Use [`Acteur::new`] for systems with
    /// their own lifetimes (tests, for instance). With the `tokio` feature
    /// its workers always enter a tokio runtime of its own, since it outlives
    /// any runtime it may first be used in.
    ///
    /// ```
    /// let a = acteur::Acteur::global();
    /// let b = acteur::Acteur::global();
    /// assert_eq!(format!("{a:?}"), format!("{b:?}"));
    /// ```
    pub fn global() -> Acteur {
        GLOBAL.clone()
    }

    pub(crate) fn from_system(system: Arc<System>) -> Acteur {
        Acteur { system }
    }

    pub(crate) fn system(&self) -> &Arc<System> {
        &self.system
    }

    /// Sends `message` to the actor of type `A` with `id`, activating it if
    /// needed, without waiting for it to be handled.
    ///
    /// Messages from one sender to one actor are handled in the order sent.
    /// If the actor's mailbox is full (see
    /// [`ActorConfiguration::mailbox_capacity`](crate::ActorConfiguration::mailbox_capacity)),
    /// this waits for room; [`Acteur::try_send_to_actor`] does not.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping;
    /// [`Error::InvalidConfiguration`] if `A::configuration()` is invalid.
    /// In a cluster, for an actor another node owns: `Ok` once that node
    /// queued it; [`Error::Unavailable`] if no owner took it (not
    /// delivered); [`Error::Timeout`] if its acknowledgment was lost
    /// (outcome unknown); [`Error::Remote`] if it could not be carried.
    ///
    /// # Cancel safety
    ///
    /// The message is queued by the first poll, unless the mailbox is full: only
    /// then does the future wait for room. If it is dropped while it waits, the
    /// message was not queued, and it is dropped with the future (as with tokio's
    /// `Sender::send`); to keep a message that finds no room, use
    /// [`Acteur::try_send_to_actor`], which hands it back. Nothing else is left
    /// behind.
    pub async fn send_to_actor<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<(), Error> {
        // Bound first: a temporary of the `match` would live across the
        // await, in every sender's future.
        let wait_for_room = self.system.send_to_actor::<A, M>(id, message)?;
        match wait_for_room {
            None => Ok(()),
            Some(wait_for_room) => wait_for_room.await,
        }
    }

    /// Sends `message` to the actor of type `A` with `id` if its mailbox has
    /// room, without waiting for anything. A refused message comes back in
    /// the [`TrySendError`], so that a producer that must not slow down can
    /// drop, retry or divert it. Usable anywhere, handlers included.
    ///
    /// In a cluster (crate `acteur-cluster`), for an actor that another node
    /// owns, it returns once the message is queued for the network, without
    /// the owner's acknowledgment: if that node then fails, the message may
    /// be lost without an error. [`Error::MailboxFull`] then means that too
    /// many messages for the actor's partition are on their way.
    ///
    /// ```
    /// use acteur::{Acteur, Actor, ActorAssistant, BoxError, ActorConfiguration, Error, Receive};
    ///
    /// struct Sensor;
    /// impl Actor for Sensor {
    ///     type Id = u32;
    ///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         Ok(Sensor)
    ///     }
    ///     fn configuration() -> ActorConfiguration {
    ///         ActorConfiguration { mailbox_capacity: Some(100), ..Default::default() }
    ///     }
    /// }
    /// struct Reading(f64);
    /// impl Receive<Reading> for Sensor {
    ///     async fn handle(&mut self, _: Reading, _: &ActorAssistant<Self>) {}
    /// }
    ///
    /// let sys = Acteur::new();
    /// if let Err(refused) = sys.try_send_to_actor::<Sensor, Reading>(1, Reading(21.5)) {
    ///     match refused.error() {
    ///         Error::MailboxFull => {
    ///             let Reading(skipped) = refused.into_message();
    ///             println!("too fast for this sensor: {skipped} skipped");
    ///         }
    ///         other => panic!("{other}"),
    ///     }
    /// }
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    ///
    /// # Errors
    ///
    /// A [`TrySendError`] holding the message and the reason:
    /// [`Error::MailboxFull`] if the mailbox holds its capacity; otherwise
    /// as [`Acteur::send_to_actor`].
    pub fn try_send_to_actor<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<(), TrySendError<M>> {
        self.system.try_send_to_actor::<A, M>(id, message)
    }

    /// Blocking form of [`Acteur::send_to_actor`], for code outside handlers.
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_actor`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn send_to_actor_sync<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<(), Error> {
        self.system.blocking(
            "send_to_actor_sync",
            self.send_to_actor::<A, M>(id, message),
        )
    }

    /// Sends the request `message` to the actor of type `A` with `id`,
    /// activating it if needed, and waits for its response, at most for the
    /// system's [call timeout](crate::ActeurBuilder::call_timeout). A full
    /// mailbox is waited for as by [`Acteur::send_to_actor`].
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping; [`Error::Timeout`] if
    /// no answer came in time; [`Error::Panicked`] if the handler panicked;
    /// [`Error::ActivationFailed`] if `activate` panicked;
    /// [`Error::Deadlock`] if the actor waits, directly or through a chain of
    /// calls, for the code making this call (an actor calling its own ID, or
    /// A calling B calling A); [`Error::InvalidConfiguration`] if
    /// `A::configuration()` is invalid.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the wait, not the request. Dropped while it
    /// waits for room in a full mailbox, the request was not queued and is
    /// dropped. Once it is queued, the actor still handles it and its answer is
    /// dropped, so make requests that may be cancelled safe to handle with
    /// nobody waiting. Either way, the call's deadline and its place in deadlock
    /// detection are released with the future: nothing is left behind.
    pub async fn call_actor<A: Respond<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<<A as Respond<M>>::Response, Error> {
        let timeout = self.system.call_timeout;
        self.system.call_actor::<A, M>(id, message, timeout).await
    }

    /// As [`Acteur::call_actor`], waiting at most `timeout` instead of the
    /// system's default.
    ///
    /// When the time is up the call returns [`Error::Timeout`]; if the
    /// message was already queued, the actor still handles it and its
    /// answer is dropped, so make such requests safe to repeat.
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_actor`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the wait, not the request. Dropped while it
    /// waits for room in a full mailbox, the request was not queued and is
    /// dropped. Once it is queued, the actor still handles it and its answer is
    /// dropped, so make requests that may be cancelled safe to handle with
    /// nobody waiting. Either way, the call's deadline and its place in deadlock
    /// detection are released with the future: nothing is left behind.
    pub async fn call_actor_with_timeout<A: Respond<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
        timeout: Duration,
    ) -> Result<<A as Respond<M>>::Response, Error> {
        self.system.call_actor::<A, M>(id, message, timeout).await
    }

    /// Blocking form of [`Acteur::call_actor_with_timeout`], for code
    /// outside handlers.
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_actor`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn call_actor_with_timeout_sync<A: Respond<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
        timeout: Duration,
    ) -> Result<<A as Respond<M>>::Response, Error> {
        self.system.blocking(
            "call_actor_with_timeout_sync",
            self.call_actor_with_timeout::<A, M>(id, message, timeout),
        )
    }

    /// Blocking form of [`Acteur::call_actor`], for code outside handlers.
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_actor`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn call_actor_sync<A: Respond<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<<A as Respond<M>>::Response, Error> {
        self.system
            .blocking("call_actor_sync", self.call_actor::<A, M>(id, message))
    }

    /// Sends a clone of `message` to every actor of type `A` that is active
    /// now; activates no actor. Full mailboxes are waited for in turn.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: the copies go out one actor after the other, each
    /// waiting for room in a full mailbox in turn. If the future is dropped while
    /// it waits, the actors reached before keep their copy, and the one waited for
    /// and those after it get none.
    pub async fn send_to_all_actors<A: Receive<M>, M: Clone + Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), Error> {
        self.system.send_to_all_actors::<A, M>(message).await
    }

    /// Blocking form of [`Acteur::send_to_all_actors`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_all_actors`], and
    /// [`Error::BlockingCallInHandler`] inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn send_to_all_actors_sync<A: Receive<M>, M: Clone + Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), Error> {
        self.system.blocking(
            "send_to_all_actors_sync",
            self.send_to_all_actors::<A, M>(message),
        )
    }

    /// Sends `message` to the actor of type `A` with `id` once `delay` has
    /// passed, and returns the [`Timer`] that can cancel it. Returns at once;
    /// the wait blocks neither the caller nor any actor, and a pending
    /// message costs no thread or task, only its entry in the system's
    /// timers (see the `timers` bench). Delivered as by
    /// [`Acteur::send_to_actor`], waiting for room if the mailbox is full. If the system stops first, the message is cancelled (and
    /// counted in [`Statistics::scheduled_cancelled`]); if every handle of the
    /// system is dropped first, it is dropped with the system, which it
    /// does not keep alive.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping;
    /// [`Error::InvalidConfiguration`] if `A::configuration()` or a limit
    /// given to the builder is invalid, as for every send.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: all its work is done in its first poll, which never waits. A
    /// future dropped before its first poll schedules nothing; the message is
    /// then dropped with it.
    pub async fn schedule_send_to_actor<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        self.system.schedule::<A, M>(id, delay, message)
    }

    /// Blocking form of [`Acteur::schedule_send_to_actor`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::schedule_send_to_actor`], and
    /// [`Error::BlockingCallInHandler`] inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn schedule_send_to_actor_sync<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        self.system.blocking(
            "schedule_send_to_actor_sync",
            self.schedule_send_to_actor::<A, M>(id, delay, message),
        )
    }

    /// Sends `message` to service `S` once `delay` has passed, and returns
    /// the [`Timer`] that can cancel it; as [`Acteur::schedule_send_to_actor`]
    /// does for actors. Delivered as by [`Acteur::send_to_service`], waiting
    /// for room if the service is full.
    ///
    /// ```
    /// use std::time::Duration;
    /// use acteur::{Acteur, BoxError, Listen, Service, ServiceAssistant, ServiceConfiguration};
    ///
    /// struct Reports;
    /// impl Service for Reports {
    ///     async fn initialize(_: &ServiceAssistant<Self>) -> Result<(Self, ServiceConfiguration), BoxError> {
    ///         Ok((Reports, ServiceConfiguration::default()))
    ///     }
    /// }
    /// struct Nightly;
    /// impl Listen<Nightly> for Reports {
    ///     async fn handle(&self, _: Nightly, _: &ServiceAssistant<Self>) {}
    /// }
    ///
    /// let sys = Acteur::new();
    /// let nightly = sys
    ///     .schedule_send_to_service_sync::<Reports, Nightly>(Duration::from_secs(3600), Nightly)
    ///     .unwrap();
    /// assert!(nightly.cancel());
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping;
    /// [`Error::InvalidConfiguration`] if a limit given to the builder is
    /// invalid.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: all its work is done in its first poll, which never
    /// waits. A future dropped before its first poll schedules nothing; the
    /// message is then dropped with it.
    pub async fn schedule_send_to_service<S: Listen<M>, M: Send + 'static>(
        &self,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        self.system.schedule_to_service::<S, M>(delay, message)
    }

    /// Blocking form of [`Acteur::schedule_send_to_service`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::schedule_send_to_service`], and
    /// [`Error::BlockingCallInHandler`] inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn schedule_send_to_service_sync<S: Listen<M>, M: Send + 'static>(
        &self,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        self.system.blocking(
            "schedule_send_to_service_sync",
            self.schedule_send_to_service::<S, M>(delay, message),
        )
    }

    /// Sends `message` to service `S`, starting it if needed, without waiting
    /// for it to be handled.
    ///
    /// A service that is starting is waited for from outside the system, so
    /// that a failed `initialize` is this send's error; from inside (a
    /// handler, a hook), the message is queued at once, since the service's
    /// `initialize` could be waiting for the sender (should it fail, the
    /// message is dropped and counted in
    /// [`ServiceStatistics::dropped_messages`](crate::ServiceStatistics::dropped_messages)).
    /// If the service is full (see
    /// [`ServiceConfiguration::capacity`](crate::ServiceConfiguration::capacity)),
    /// this waits for room; [`Acteur::try_send_to_service`] does not.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping;
    /// [`Error::ServiceInitFailed`] or [`Error::InvalidConfiguration`] if the
    /// service could not start.
    ///
    /// # Cancel safety
    ///
    /// From outside the system, the future waits for a service that is starting
    /// (to report a failed `initialize`), then, like [`Acteur::send_to_actor`],
    /// for room in a full service. Dropped while it waits, the message was not
    /// queued, and it is dropped with the future; use
    /// [`Acteur::try_send_to_service`] to have a refused message handed back.
    /// Nothing else is left behind.
    pub async fn send_to_service<S: Listen<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), Error> {
        self.system.send_to_service::<S, M>(message).await
    }

    /// Sends `message` to service `S` if it has room, without waiting for
    /// anything; a refused message comes back in the [`TrySendError`]. A
    /// service not started yet is started, and the message waits for it in
    /// its queue (should `initialize` fail, the message is dropped and
    /// counted in [`ServiceStatistics::dropped_messages`](crate::ServiceStatistics::dropped_messages)).
    ///
    /// # Errors
    ///
    /// A [`TrySendError`] holding the message and the reason:
    /// [`Error::MailboxFull`] if the service holds its capacity;
    /// [`Error::Stopped`] once the system is stopping;
    /// [`Error::InvalidConfiguration`] if a limit given to the builder is
    /// invalid.
    pub fn try_send_to_service<S: Listen<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), TrySendError<M>> {
        self.system.try_send_to_service::<S, M>(message)
    }

    /// Blocking form of [`Acteur::send_to_service`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_service`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn send_to_service_sync<S: Listen<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), Error> {
        self.system.blocking(
            "send_to_service_sync",
            self.send_to_service::<S, M>(message),
        )
    }

    /// Sends the request `message` to service `S`, starting it if needed, and
    /// waits for its response, at most for the system's
    /// [call timeout](crate::ActeurBuilder::call_timeout).
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_service`]; [`Error::Panicked`] if the handler
    /// panicked; [`Error::Timeout`] if no answer came in time;
    /// [`Error::Deadlock`] if `S` handles one message at a time and waits,
    /// through a chain of calls, for the code making this call.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the wait, not the request. Dropped while it
    /// waits for the service to start or for room in it, the request was not
    /// queued and is dropped. Once it is queued, the service still handles it and
    /// its answer is dropped, so make requests that may be cancelled safe to
    /// handle with nobody waiting. Either way, the call's deadline and its place
    /// in deadlock detection are released with the future.
    pub async fn call_service<S: Serve<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<<S as Serve<M>>::Response, Error> {
        let timeout = self.system.call_timeout;
        self.system.call_service::<S, M>(message, timeout).await
    }

    /// As [`Acteur::call_service`], waiting at most `timeout` instead of the
    /// system's default. A request already queued when the time is up is
    /// still handled; its answer is dropped.
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_service`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the wait, not the request. Dropped while it
    /// waits for the service to start or for room in it, the request was not
    /// queued and is dropped. Once it is queued, the service still handles it and
    /// its answer is dropped, so make requests that may be cancelled safe to
    /// handle with nobody waiting. Either way, the call's deadline and its place
    /// in deadlock detection are released with the future.
    pub async fn call_service_with_timeout<S: Serve<M>, M: Send + 'static>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<<S as Serve<M>>::Response, Error> {
        self.system.call_service::<S, M>(message, timeout).await
    }

    /// Blocking form of [`Acteur::call_service_with_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_service`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn call_service_with_timeout_sync<S: Serve<M>, M: Send + 'static>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<<S as Serve<M>>::Response, Error> {
        self.system.blocking(
            "call_service_with_timeout_sync",
            self.call_service_with_timeout::<S, M>(message, timeout),
        )
    }

    /// Blocking form of [`Acteur::call_service`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_service`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn call_service_sync<S: Serve<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<<S as Serve<M>>::Response, Error> {
        self.system
            .blocking("call_service_sync", self.call_service::<S, M>(message))
    }

    /// Gives a clone of `message` to every service subscribed to `M` (see
    /// [`ServiceAssistant::subscribe`](crate::ServiceAssistant::subscribe)).
    /// Publishing with no subscriber is not an error. A full subscriber is
    /// waited for, as by [`Acteur::send_to_service`].
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: each subscriber gets its copy in turn, and a full one is
    /// waited for. If the future is dropped while it waits, the subscribers
    /// reached before keep their copy, and the one waited for and those after it
    /// get none.
    pub async fn publish<M: Clone + Send + 'static>(&self, message: M) -> Result<(), Error> {
        self.system.publish(message).await
    }

    /// Blocking form of [`Acteur::publish`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::publish`], and [`Error::BlockingCallInHandler`] inside a
    /// handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn publish_sync<M: Clone + Send + 'static>(&self, message: M) -> Result<(), Error> {
        self.system
            .blocking("publish_sync", self.publish::<M>(message))
    }

    /// Starts service `S` now instead of on its first message, and returns
    /// once its `initialize` has finished (its subscriptions included).
    ///
    /// From inside the system (a handler, another service's `initialize`) it
    /// starts the service and returns without waiting: that `initialize`
    /// could be waiting for the caller, and neither would ever finish.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping;
    /// [`Error::ServiceInitFailed`] or [`Error::InvalidConfiguration`] if the
    /// service could not start.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the first poll starts `initialize`, which then runs to its
    /// end whether or not the future is awaited; dropping the future only stops
    /// waiting for it.
    pub async fn preload_service<S: Service>(&self) -> Result<(), Error> {
        self.system.preload_service::<S>().await
    }

    /// Blocking form of [`Acteur::preload_service`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::preload_service`], and [`Error::BlockingCallInHandler`]
    /// inside a handler;
    /// [`Error::BlockingCallOnRuntimeThread`] on the thread of a current-thread
    /// tokio runtime the system uses.
    pub fn preload_service_sync<S: Service>(&self) -> Result<(), Error> {
        self.system
            .blocking("preload_service_sync", self.preload_service::<S>())
    }

    /// Begins a graceful shutdown and returns at once.
    ///
    /// Shutdown runs in phases, so that actors can save their state through
    /// services:
    ///
    /// 1. **Actors drain.** From now on, sends, calls, schedules and
    ///    publishes from outside the system (this handle, every `_sync`
    ///    form) return [`Error::Stopped`], and no actor is activated any
    ///    more. Messages already queued for actors are handled, then every
    ///    live activation is deactivated
    ///    ([`DeactivationReason::SystemShutdown`](crate::DeactivationReason::SystemShutdown)).
    ///    Meanwhile the code running inside the system (handlers,
    ///    `deactivate`, service handlers) can still send to, call and publish
    ///    to services, and reach actors that are active and not yet
    ///    deactivating; a send that would need a new activation returns
    ///    [`Error::Stopped`]. Scheduled messages not yet due are cancelled.
    /// 2. **Services drain, then are told.** Once no activation is left,
    ///    services handle what is queued for them, then each service that
    ///    was initialised gets [`Service::shutdown`], once. Services serve
    ///    each other until every `shutdown` has returned and every queue
    ///    is empty.
    /// 3. **Stopped.** [`Acteur::wait_until_stopped`] and
    ///    [`Acteur::stopped`] return.
    ///
    /// Nothing sent during shutdown is lost silently: it is handled, or its
    /// sender gets [`Error::Stopped`]. The whole shutdown is bounded by
    /// [`ActeurBuilder::shutdown_timeout`] (30 seconds by default), past
    /// which what is left is abandoned, so that `wait_until_stopped` always
    /// returns. Calling `stop` again, or from several threads, is harmless.
    pub fn stop(&self) {
        self.system.stop();
    }

    /// Blocks the calling thread until the system has stopped: [`Acteur::stop`]
    /// was called and every queued message, handler and `deactivate` has
    /// finished. Returns at once if it already has.
    ///
    /// Inside a handler this would wait for itself, so there it logs an error
    /// and returns at once: await [`Acteur::stopped`] instead (from outside
    /// the actor system's handlers).
    pub fn wait_until_stopped(&self) {
        if context::current().is_some() {
            log::error!(
                "wait_until_stopped was called inside a handler, where it would wait for \
                 itself; it returns at once. Call it from outside the actor system"
            );
            return;
        }
        if self.system.blocking_here_would_hang() {
            log::error!(
                "wait_until_stopped was called on the one thread of the current-thread tokio \
                 runtime the system uses, where it could wait forever; it returns at once. \
                 Await `Acteur::stopped` instead"
            );
            return;
        }
        self.system.lifecycle.wait_until_stopped();
    }

    /// Completes once the system has stopped; the `async` form of
    /// [`Acteur::wait_until_stopped`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future stops only the wait; the shutdown, if
    /// begun, goes on.
    pub async fn stopped(&self) {
        self.system.lifecycle.stopped().await;
    }

    /// The application data of type `T` this system was built with (see
    /// [`ActeurBuilder::data`]), for code outside the system; hooks and
    /// handlers use their assistant's `data`.
    ///
    /// ```
    /// struct Settings {
    ///     region: &'static str,
    /// }
    /// let sys = acteur::Acteur::builder().data(Settings { region: "eu" }).build();
    /// assert_eq!(sys.data::<Settings>().unwrap().region, "eu");
    /// assert!(sys.data::<String>().is_err());
    /// # sys.stop();
    /// # sys.wait_until_stopped();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MissingData`] if the system was given no value of type `T`.
    pub fn data<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.system.data.get::<T>()
    }

    /// What the system holds and has done, per actor type and per service.
    ///
    /// ```
    /// let sys = acteur::Acteur::new();
    /// assert!(sys.statistics().actors.is_empty());
    /// ```
    pub fn statistics(&self) -> Statistics {
        self.system.statistics()
    }
}

impl Default for Acteur {
    fn default() -> Self {
        Acteur::new()
    }
}

impl fmt::Debug for Acteur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (actor_types, service_types) = self.system.type_counts();
        f.debug_struct("Acteur")
            .field("system", &Arc::as_ptr(&self.system))
            .field("stopping", &self.system.lifecycle.is_stopping())
            .field("actor_types", &actor_types)
            .field("service_types", &service_types)
            .finish()
    }
}
