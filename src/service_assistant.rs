//! What a service's `initialize` and handlers get to talk to the rest of the system.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::system::System;
use crate::{Acteur, Error, Listen, Service, Timer};

/// Given to a service's `initialize` and handlers: the way to send to actors
/// and other services, to publish, and to [`subscribe`](ServiceAssistant::subscribe).
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
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use acteur::{Acteur, BoxError, Listen, Serve, Service, ServiceAssistant, ServiceConfiguration};
///
/// #[derive(Clone)]
/// struct UserCreated;
///
/// struct WelcomeMailer(AtomicUsize);
/// impl Service for WelcomeMailer {
///     async fn initialize(assistant: &ServiceAssistant<Self>) -> Result<(Self, ServiceConfiguration), BoxError> {
///         assistant.subscribe::<UserCreated>().await.unwrap();
///         Ok((WelcomeMailer(AtomicUsize::new(0)), ServiceConfiguration::default()))
///     }
/// }
/// impl Listen<UserCreated> for WelcomeMailer {
///     async fn handle(&self, _: UserCreated, _: &ServiceAssistant<Self>) {
///         self.0.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// struct Sent;
/// impl Serve<Sent> for WelcomeMailer {
///     type Response = usize;
///     async fn handle(&self, _: Sent, _: &ServiceAssistant<Self>) -> usize {
///         self.0.load(Ordering::SeqCst)
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.preload_service_sync::<WelcomeMailer>().unwrap(); // subscribed from here on
/// sys.publish_sync(UserCreated).unwrap();
/// sys.stop(); // queued messages are still handled
/// sys.wait_until_stopped();
/// ```
pub struct ServiceAssistant<S: Service> {
    acteur: Acteur,
    // `fn() -> S` keeps the assistant Send + Sync whatever `S` is.
    service: PhantomData<fn() -> S>,
}

impl<S: Service> Clone for ServiceAssistant<S> {
    fn clone(&self) -> Self {
        ServiceAssistant::new(self.acteur.clone())
    }
}

impl<S: Service> ServiceAssistant<S> {
    pub(crate) fn new(acteur: Acteur) -> Self {
        ServiceAssistant {
            acteur,
            service: PhantomData,
        }
    }

    /// The system the service runs in.
    pub(crate) fn system(&self) -> &Arc<System> {
        self.acteur.system()
    }

    /// Subscribes this service to published messages of type `M`: each
    /// [`publish`](Acteur::publish) of an `M` then gives this service a clone.
    /// Subscribing twice changes nothing. Usually called from `initialize`,
    /// so that the subscription is in place when the service is up.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] once the system is stopping, from anywhere: a
    /// service first started during shutdown (by a `deactivate` that saves
    /// through it, say) gets it in its `initialize` too, so write
    /// `assistant.subscribe::<M>().await.ok()` there if the service must
    /// still start then.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: all its work is done in its first poll, which never waits.
    pub async fn subscribe<M: Clone + Send + 'static>(&self) -> Result<(), Error>
    where
        S: Listen<M>,
    {
        self.acteur.system().subscribe::<S, M>()
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

    /// Sends a clone of `message` to this service every `every`, the first
    /// after `every`, until the system stops or the returned [`Timer`] is
    /// cancelled: a periodic flush, a cache refresh.
    ///
    /// A tick is never queued behind another: if the previous one has not
    /// been handled yet, the next is skipped and counted in
    /// [`Statistics::skipped_ticks`](crate::Statistics::skipped_ticks). Ticks
    /// ignore the service's capacity, and once the timer is cancelled, a
    /// tick still queued is not handled. A zero `every` starts no interval
    /// (an error is logged), nor does a system that is stopping; the timer
    /// returned has then ended already.
    pub fn send_interval<M: Clone + Send + 'static>(&self, every: Duration, message: M) -> Timer
    where
        S: Listen<M>,
    {
        self.acteur
            .system()
            .interval_to_service::<S, M>(every, message)
    }

    /// Begins stopping the whole system, as [`Acteur::stop`].
    pub fn stop_system(&self) {
        self.acteur.stop();
    }

    /// A handle on the system this service runs in.
    pub fn acteur(&self) -> Acteur {
        self.acteur.clone()
    }

    crate::handler_messaging::handler_messaging!();
}
