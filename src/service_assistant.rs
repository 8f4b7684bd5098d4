//! What a service's `initialize` and handlers get to talk to the rest of the system.

use std::marker::PhantomData;
use std::time::Duration;

use crate::{Acteur, Error, Listen, Receive, Respond, Serve, Service, Timer, TrySendError};

/// Given to a service's `initialize` and handlers: the way to send to actors
/// and other services, to publish, and to [`subscribe`](ServiceAssistant::subscribe).
///
/// The sending methods are the `async` forms of [`Acteur`]'s and behave the
/// same way.
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
        self.acteur.subscribe::<S, M>()
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

    /// As [`Acteur::send_to_actor`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_actor`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::send_to_actor`](crate::Acteur::send_to_actor).
    pub async fn send_to_actor<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<(), Error> {
        self.acteur.send_to_actor::<A, M>(id, message).await
    }

    /// As [`Acteur::try_send_to_actor`]: never waits.
    ///
    /// # Errors
    ///
    /// As [`Acteur::try_send_to_actor`].
    pub fn try_send_to_actor<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<(), TrySendError<M>> {
        self.acteur.try_send_to_actor::<A, M>(id, message)
    }

    /// As [`Acteur::call_actor`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_actor`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::call_actor`](crate::Acteur::call_actor).
    pub async fn call_actor<A: Respond<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
    ) -> Result<<A as Respond<M>>::Response, Error> {
        self.acteur.call_actor::<A, M>(id, message).await
    }

    /// As [`Acteur::call_actor_with_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_actor`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::call_actor_with_timeout`](crate::Acteur::call_actor_with_timeout).
    pub async fn call_actor_with_timeout<A: Respond<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        message: M,
        timeout: Duration,
    ) -> Result<<A as Respond<M>>::Response, Error> {
        self.acteur
            .call_actor_with_timeout::<A, M>(id, message, timeout)
            .await
    }

    /// As [`Acteur::send_to_all_actors`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_all_actors`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::send_to_all_actors`](crate::Acteur::send_to_all_actors).
    pub async fn send_to_all_actors<A: Receive<M>, M: Clone + Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), Error> {
        self.acteur.send_to_all_actors::<A, M>(message).await
    }

    /// As [`Acteur::schedule_send_to_actor`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::schedule_send_to_actor`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::schedule_send_to_actor`](crate::Acteur::schedule_send_to_actor).
    pub async fn schedule_send_to_actor<A: Receive<M>, M: Send + 'static>(
        &self,
        id: A::Id,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        self.acteur
            .schedule_send_to_actor::<A, M>(id, delay, message)
            .await
    }

    /// As [`Acteur::schedule_send_to_service`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::schedule_send_to_service`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::schedule_send_to_service`](crate::Acteur::schedule_send_to_service).
    pub async fn schedule_send_to_service<T: Listen<M>, M: Send + 'static>(
        &self,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        self.acteur
            .schedule_send_to_service::<T, M>(delay, message)
            .await
    }

    /// As [`Acteur::send_to_service`]. A message a service sends to itself
    /// from its own `initialize` is queued until `initialize` has finished.
    ///
    /// # Errors
    ///
    /// As [`Acteur::send_to_service`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::send_to_service`](crate::Acteur::send_to_service).
    pub async fn send_to_service<T: Listen<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), Error> {
        self.acteur.send_to_service::<T, M>(message).await
    }

    /// As [`Acteur::try_send_to_service`]: never waits.
    ///
    /// # Errors
    ///
    /// As [`Acteur::try_send_to_service`].
    pub fn try_send_to_service<T: Listen<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<(), TrySendError<M>> {
        self.acteur.try_send_to_service::<T, M>(message)
    }

    /// As [`Acteur::call_service`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_service`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::call_service`](crate::Acteur::call_service).
    pub async fn call_service<T: Serve<M>, M: Send + 'static>(
        &self,
        message: M,
    ) -> Result<<T as Serve<M>>::Response, Error> {
        self.acteur.call_service::<T, M>(message).await
    }

    /// As [`Acteur::call_service_with_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::call_service`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::call_service_with_timeout`](crate::Acteur::call_service_with_timeout).
    pub async fn call_service_with_timeout<T: Serve<M>, M: Send + 'static>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<<T as Serve<M>>::Response, Error> {
        self.acteur
            .call_service_with_timeout::<T, M>(message, timeout)
            .await
    }

    /// As [`Acteur::publish`].
    ///
    /// # Errors
    ///
    /// As [`Acteur::publish`].
    ///
    /// # Cancel safety
    ///
    /// As [`Acteur::publish`](crate::Acteur::publish).
    pub async fn publish<M: Clone + Send + 'static>(&self, message: M) -> Result<(), Error> {
        self.acteur.publish::<M>(message).await
    }
}
