//! Building an actor system with system-wide settings.

use std::time::Duration;

use crate::Acteur;
use crate::runtime::Home;
use crate::system::data::DataMap;
use crate::system::{System, SystemLimits};

/// Settings for a new actor system, from [`Acteur::builder`]; finish with
/// [`ActeurBuilder::build`].
///
/// Each method takes the builder and returns it, so the calls chain. The
/// limits here apply across all actor types together, on top of each type's
/// own [`ActorConfiguration`](crate::ActorConfiguration): when the system as
/// a whole is over one, the least recently used idle activation of any type
/// is deactivated.
///
/// # Examples
///
/// ```
/// use acteur::Acteur;
///
/// let sys = Acteur::builder()
///     .max_actors(1_000_000)
///     .max_memory(2 * 1024 * 1024 * 1024)
///     .build();
/// assert_eq!(sys.statistics().max_actors, Some(1_000_000));
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ActeurBuilder {
    limits: SystemLimits,
    data: DataMap,
    home: Home,
}

impl ActeurBuilder {
    /// The most live activations of all actor types together. When a new
    /// activation would exceed it, the least recently used idle activation
    /// in the system is deactivated first
    /// ([`DeactivationReason::EvictedByCount`](crate::DeactivationReason::EvictedByCount)).
    ///
    /// Zero is invalid: the built system then refuses every send with
    /// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration) naming this field.
    pub fn max_actors(mut self, count: usize) -> ActeurBuilder {
        self.limits.max_actors = Some(count);
        self
    }

    /// The most memory, in bytes, the live activations of all actor types may
    /// hold together, as estimated by [`Actor::memory_size`](crate::Actor::memory_size).
    /// Over it, least recently used idle activations of any type are
    /// deactivated until the system is within it again
    /// ([`DeactivationReason::EvictedByMemory`](crate::DeactivationReason::EvictedByMemory)).
    ///
    /// Zero is invalid: the built system then refuses every send with
    /// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration) naming this field.
    pub fn max_memory(mut self, bytes: usize) -> ActeurBuilder {
        self.limits.max_memory = Some(bytes);
        self
    }

    /// How long a `call_*` waits for its answer before it returns
    /// [`Error::Timeout`](crate::Error::Timeout); the `*_with_timeout` methods override it per call.
    /// Default: 30 seconds.
    ///
    /// The wait covers everything: waiting for room in a full mailbox, for
    /// a service to start, and for the handler. A message already queued
    /// when the time is up is still handled; only its answer is dropped.
    /// The time is read from a coarse clock on Linux, cheaper on every
    /// call: a call fails with [`Error::Timeout`](crate::Error::Timeout) at
    /// its timeout or up to a few milliseconds (two kernel ticks) later.
    ///
    /// Zero is invalid: the built system then refuses every send and call
    /// with [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration) naming this field.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let sys = acteur::Acteur::builder()
    ///     .call_timeout(Duration::from_secs(5))
    ///     .build();
    /// # sys.stop();
    /// # sys.wait_until_stopped();
    /// ```
    pub fn call_timeout(mut self, timeout: Duration) -> ActeurBuilder {
        self.limits.call_timeout = timeout;
        self
    }

    /// How long a shutdown may take: from [`Acteur::stop`] until every
    /// actor is deactivated and every service has had its
    /// [`shutdown`](crate::Service::shutdown). Default: 30 seconds.
    ///
    /// When it passes, what is left is abandoned: activations are dropped
    /// without `deactivate`, the callers of queued requests get
    /// [`Error::Stopped`](crate::Error::Stopped), an error is logged with the count of activations
    /// and messages abandoned per type (also in
    /// [`Statistics`](crate::Statistics)), and the system is stopped. So
    /// [`Acteur::wait_until_stopped`] returns even when a `deactivate`
    /// never does. Code that blocks its thread instead of awaiting cannot
    /// be interrupted: it is left running, and the system is reported
    /// stopped a second later all the same.
    ///
    /// Zero is invalid: the built system then refuses every send and call
    /// with [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration) naming this field.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let sys = acteur::Acteur::builder()
    ///     .shutdown_timeout(Duration::from_secs(10))
    ///     .build();
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ActeurBuilder {
        self.limits.shutdown_timeout = timeout;
        self
    }

    /// Gives the system a value its actors and services share: a database
    /// pool, an HTTP client, settings. Every hook and handler gets it by its
    /// type from [`ActorAssistant::data`](crate::ActorAssistant::data) or
    /// [`ServiceAssistant::data`](crate::ServiceAssistant::data), and code
    /// outside from [`Acteur::data`].
    ///
    /// One value per type: a second call with a value of the same type
    /// replaces the first. To share several values of one type, wrap each
    /// in a type of its own (`struct ReportsDb(Pool)`).
    ///
    /// ```
    /// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};
    ///
    /// struct Settings {
    ///     opening_balance: i64,
    /// }
    ///
    /// struct Account(i64);
    /// impl Actor for Account {
    ///     type Id = u32;
    ///     async fn activate(_: u32, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
    ///         let settings = assistant.data::<Settings>()?;
    ///         Ok(Account(settings.opening_balance))
    ///     }
    /// }
    /// struct Balance;
    /// impl Respond<Balance> for Account {
    ///     type Response = i64;
    ///     async fn handle(&mut self, _: Balance, _: &ActorAssistant<Self>) -> i64 {
    ///         self.0
    ///     }
    /// }
    ///
    /// let sys = Acteur::builder().data(Settings { opening_balance: 10 }).build();
    /// assert_eq!(sys.call_actor_sync::<Account, Balance>(1, Balance).unwrap(), 10);
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    pub fn data<T: Send + Sync + 'static>(mut self, value: T) -> ActeurBuilder {
        self.data.insert(value);
        self
    }

    /// The store where [`PersistentActor`](crate::PersistentActor)s keep
    /// their states (feature `persistence`): one per system, shared by all
    /// its persistent types. A second call replaces the first store.
    ///
    /// Without a store, every message to a persistent actor type fails with
    /// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration).
    ///
    /// ```
    /// use acteur::Acteur;
    /// use acteur::persistence::MemoryStore;
    ///
    /// let sys = Acteur::builder().state_store(MemoryStore::new()).build();
    /// # sys.stop();
    /// ```
    #[cfg(feature = "persistence")]
    pub fn state_store(mut self, store: impl crate::persistence::StateStore) -> ActeurBuilder {
        self.data
            .insert(crate::system::persistence::StoreHandle::new(store));
        self
    }

    /// With the `tokio` feature: the tokio runtime whose context the
    /// system's worker threads enter, so
    /// that handlers can use tokio-based libraries (tokio's time and net,
    /// database, HTTP and gRPC clients): what they spawn runs there, and it
    /// drives their I/O and timers. Actors and services still run on the
    /// system's own worker threads.
    ///
    /// Without it, a system built inside a tokio runtime uses that one, and
    /// one built elsewhere starts a small runtime of its own (one thread),
    /// shut down with the system.
    ///
    /// ```
    /// let runtime = tokio::runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .enable_all()
    ///     .build()
    ///     .unwrap();
    /// let sys = acteur::Acteur::builder()
    ///     .tokio_handle(runtime.handle().clone())
    ///     .build();
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio_handle(mut self, handle: tokio::runtime::Handle) -> ActeurBuilder {
        self.home = Home::Given(handle);
        self
    }

    /// Creates the system. Like [`Acteur::new`], its worker threads start with
    /// the first message.
    ///
    /// An invalid setting does not panic here: it is logged, and every send
    /// returns the [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration) that names it.
    pub fn build(self) -> Acteur {
        if let Err(error) = self.limits.check() {
            log::error!("{error}");
        }
        Acteur::from_system(System::new(self.limits, self.data, self.home))
    }
}
