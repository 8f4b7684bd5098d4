//! What an actor's handlers get to talk to the rest of the system.

use std::sync::Arc;
use std::time::Duration;

use crate::routing::Placement;
use crate::system::System;
use crate::system::actors::slot::Slot;
use crate::{Acteur, Actor, DeactivationReason, Error, Receive, Timer};

/// Given to an actor's `activate`, `deactivate` and handlers: its own ID, the
/// way to send to other actors and services, control over its own lifetime
/// ([`stop`](ActorAssistant::stop), [`keep_alive`](ActorAssistant::keep_alive)),
/// and in `deactivate`, [why](ActorAssistant::deactivation_reason) it runs.
///
/// The sending methods are those of [`Acteur`], `async` only: a blocking
/// `_sync` form would stall the worker thread the handler runs on, so
/// [`Acteur`]'s return [`Error::BlockingCallInHandler`] inside a handler.
/// What else differs from inside: a call carries the chain of calls waiting
/// for the caller, so that one that would wait for itself returns
/// [`Error::Deadlock`] at once (a call to the caller's own ID, or A calling B
/// calling A); send a fire-and-forget message there instead. During
/// shutdown, the code running inside the system is still served (each
/// method's docs say how far).
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};
///
/// struct Room {
///     messages: usize,
/// }
/// impl Actor for Room {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Room { messages: 0 })
///     }
/// }
///
/// struct Say;
/// impl Receive<Say> for Room {
///     async fn handle(&mut self, _: Say, assistant: &ActorAssistant<Self>) {
///         self.messages += 1;
///         if self.messages == 2 {
///             // Deactivate after this message; the next one activates afresh.
///             assistant.stop();
///         }
///     }
/// }
///
/// struct Count;
/// impl Respond<Count> for Room {
///     type Response = usize;
///     async fn handle(&mut self, _: Count, _: &ActorAssistant<Self>) -> usize {
///         self.messages
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.send_to_actor_sync::<Room, Say>(1, Say).unwrap();
/// sys.send_to_actor_sync::<Room, Say>(1, Say).unwrap();
/// // Room 1 stopped itself after its second message: this is a new activation.
/// assert_eq!(sys.call_actor_sync::<Room, Count>(1, Count).unwrap(), 0);
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
pub struct ActorAssistant<A: Actor> {
    acteur: Acteur,
    /// The actor's slot, which also holds its ID.
    slot: Arc<Slot<A>>,
}

impl<A: Actor> Clone for ActorAssistant<A> {
    fn clone(&self) -> Self {
        ActorAssistant {
            acteur: self.acteur.clone(),
            slot: self.slot.clone(),
        }
    }
}

impl<A: Actor> ActorAssistant<A> {
    pub(crate) fn new(acteur: Acteur, slot: Arc<Slot<A>>) -> Self {
        ActorAssistant { acteur, slot }
    }

    /// In a cluster, where this activation stands (`None` otherwise). Asked
    /// of the router when needed rather than kept here: an assistant lives
    /// in every drain task, whose size every wake-up pays for. The answer
    /// is the activation's own: a node holds a partition under one epoch
    /// for as long as any activation of it is alive there (hand-offs and
    /// fencing end them before the partition is released).
    pub(crate) fn placement(&self) -> Option<Placement> {
        self.system()
            .actor_type::<A>()
            .ok()?
            .placement(self.slot.id())
    }

    /// The slot of the actor this assistant serves.
    pub(crate) fn slot(&self) -> &Arc<Slot<A>> {
        &self.slot
    }

    /// The system the actor runs in.
    pub(crate) fn system(&self) -> &Arc<System> {
        self.acteur.system()
    }

    /// The ID of the actor this assistant serves.
    pub fn id(&self) -> &A::Id {
        self.slot.id()
    }

    /// In a cluster (crate `acteur-cluster`), the fencing epoch of this
    /// activation: a number that grows with every change of the node that
    /// owns the actor, so that a store can refuse the writes of an older
    /// activation once a newer one wrote (keep `stored_epoch <= mine` as the
    /// condition of every write). `None` on a single node, or for an actor
    /// type not registered with the cluster.
    ///
    /// ```
    /// use acteur::{Actor, ActorAssistant, BoxError};
    ///
    /// struct Device;
    /// impl Actor for Device {
    ///     type Id = u64;
    ///     async fn activate(_: u64, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         // Not clustered here: no epoch to write under.
    ///         assert_eq!(assistant.activation_epoch(), None);
    ///         Ok(Device)
    ///     }
    /// }
    /// # let sys = acteur::Acteur::new();
    /// # sys.send_to_actor_sync::<Device, ()>(1, ()).unwrap();
    /// # sys.stop();
    /// # sys.wait_until_stopped();
    /// # impl acteur::Receive<()> for Device {
    /// #     async fn handle(&mut self, _: (), _: &ActorAssistant<Self>) {}
    /// # }
    /// ```
    pub fn activation_epoch(&self) -> Option<u64> {
        self.placement().map(|placement| placement.epoch)
    }

    /// Deactivates this activation once the current message is handled:
    /// `deactivate` runs, and a later message activates the actor afresh.
    pub fn stop(&self) {
        self.slot.request_stop();
    }

    /// Keeps this activation in RAM for at least `duration` from now, even
    /// without messages: its [idle timeout](crate::ActorConfiguration::idle_timeout)
    /// cannot deactivate it before then (the end is rounded up to a whole
    /// second). Calls extend, never shorten, the time already granted; the
    /// grant ends with the activation.
    ///
    /// It does not protect against [`stop`](Self::stop), shutdown, or
    /// eviction when a count or memory limit is reached: limits keep the
    /// process alive, so they win.
    ///
    /// ```
    /// use std::time::Duration;
    /// use acteur::{Actor, ActorAssistant, BoxError, Receive};
    ///
    /// struct Auction;
    /// impl Actor for Auction {
    ///     type Id = u64;
    ///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         Ok(Auction)
    ///     }
    /// }
    /// struct Open;
    /// impl Receive<Open> for Auction {
    ///     async fn handle(&mut self, _: Open, assistant: &ActorAssistant<Self>) {
    ///         // Bids may be rare, but the auction must stay for its hour.
    ///         assistant.keep_alive(Duration::from_secs(3600));
    ///     }
    /// }
    /// ```
    pub fn keep_alive(&self, duration: Duration) {
        self.slot.keep_alive(duration);
    }

    /// Why `deactivate` runs: call it from [`Actor::deactivate`].
    ///
    /// Outside `deactivate` no deactivation is under way; it then logs a
    /// warning and returns [`DeactivationReason::IdleTimeout`], the most
    /// common reason, rather than panicking.
    ///
    /// See [`DeactivationReason`] for an example.
    pub fn deactivation_reason(&self) -> DeactivationReason {
        self.slot.deactivation_reason().unwrap_or_else(|| {
            log::warn!(
                "ActorAssistant::deactivation_reason called outside deactivate (actor {} {:?}); \
                 returning IdleTimeout",
                std::any::type_name::<A>(),
                self.id()
            );
            DeactivationReason::IdleTimeout
        })
    }

    /// The application data of type `T` the system was built with (see
    /// [`ActeurBuilder::data`](crate::ActeurBuilder::data)): a database pool,
    /// a client, settings. Borrowed from the system, so clone what must
    /// outlive the handler (a pool is usually a cheap handle).
    ///
    /// # Errors
    ///
    /// [`Error::MissingData`] naming `T` if the system was given no value of
    /// that type: add it with `Acteur::builder().data(..)`.
    pub fn data<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.acteur.system().data.get::<T>()
    }

    /// Sends a clone of `message` to this actor every `every`, the first
    /// after `every`, for as long as this activation lives: the interval
    /// ends when the actor is deactivated (for any reason), or when the
    /// returned [`Timer`] is cancelled. Call it from `activate` or a handler.
    ///
    /// Ticks do not keep the actor in memory: an actor that only receives
    /// ticks is still deactivated after its idle timeout. A tick is never
    /// queued behind another: if the previous one has not been handled yet
    /// (the actor is slow or busy), the next is skipped and counted in
    /// [`Statistics::skipped_ticks`](crate::Statistics::skipped_ticks).
    /// Ticks ignore the mailbox capacity, and once the timer is cancelled, a
    /// tick still queued is not handled.
    ///
    /// An interval costs no thread or task: it is an entry among the
    /// system's timers. A zero `every` starts no interval (an error is
    /// logged), nor does a system that is stopping; the timer returned has
    /// then ended already.
    ///
    /// ```
    /// use std::time::Duration;
    /// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond, Timer};
    ///
    /// /// Saves itself every 10 ms while it is in memory, three times.
    /// struct Document {
    ///     saves: u32,
    ///     autosave: Option<Timer>,
    /// }
    /// impl Actor for Document {
    ///     type Id = u32;
    ///     async fn activate(_: u32, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         let autosave = assistant.send_interval(Duration::from_millis(10), Save);
    ///         Ok(Document { saves: 0, autosave: Some(autosave) })
    ///     }
    /// }
    /// #[derive(Clone)]
    /// struct Save;
    /// impl Receive<Save> for Document {
    ///     async fn handle(&mut self, _: Save, _: &ActorAssistant<Self>) {
    ///         self.saves += 1;
    ///         if self.saves == 3 {
    ///             if let Some(autosave) = self.autosave.take() {
    ///                 autosave.cancel();
    ///             }
    ///         }
    ///     }
    /// }
    /// struct Saves;
    /// impl Respond<Saves> for Document {
    ///     type Response = u32;
    ///     async fn handle(&mut self, _: Saves, _: &ActorAssistant<Self>) -> u32 {
    ///         self.saves
    ///     }
    /// }
    ///
    /// let sys = Acteur::new();
    /// while sys.call_actor_sync::<Document, Saves>(1, Saves).unwrap() < 3 {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    pub fn send_interval<M: Clone + Send + 'static>(&self, every: Duration, message: M) -> Timer
    where
        A: Receive<M>,
    {
        self.system()
            .interval_to_actor::<A, M>(self.slot.clone(), every, message)
    }

    /// Begins stopping the whole system, as [`Acteur::stop`].
    pub fn stop_system(&self) {
        self.acteur.stop();
    }

    /// A handle on the system this actor runs in.
    pub fn acteur(&self) -> Acteur {
        self.acteur.clone()
    }

    crate::handler_messaging::handler_messaging!();
}
