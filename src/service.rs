//! The traits a user implements to define a service and the messages it handles.

use std::future::Future;

use crate::{BoxError, Error, ServiceAssistant};

/// A component without an ID — a database adapter, an e-mail sender, a
/// calculation — that handles several messages at once, up to the
/// concurrency its [`ServiceConfiguration`] allows.
///
/// A service is started by [`Service::initialize`] on its first message (or by
/// [`Acteur::preload_service`](crate::Acteur::preload_service)) and lives until
/// the system stops. Handlers take `&self`, so mutable state needs interior
/// mutability (a `Mutex`, an atomic). Services can subscribe to published
/// messages, see [`ServiceAssistant::subscribe`].
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use acteur::{Acteur, BoxError, Serve, Service, ServiceAssistant, ServiceConcurrency, ServiceConfiguration};
///
/// struct IdGenerator(AtomicU64);
///
/// impl Service for IdGenerator {
///     async fn initialize(_: &ServiceAssistant<Self>) -> Result<(Self, ServiceConfiguration), BoxError> {
///         let config = ServiceConfiguration {
///             concurrency: ServiceConcurrency::Fixed(4),
///             ..Default::default()
///         };
///         Ok((IdGenerator(AtomicU64::new(1)), config))
///     }
/// }
///
/// struct NextId;
/// impl Serve<NextId> for IdGenerator {
///     type Response = u64;
///     async fn handle(&self, _: NextId, _: &ServiceAssistant<Self>) -> u64 {
///         self.0.fetch_add(1, Ordering::Relaxed)
///     }
/// }
///
/// let sys = Acteur::new();
/// assert_eq!(sys.call_service_sync::<IdGenerator, NextId>(NextId).unwrap(), 1);
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
pub trait Service: Sized + Send + Sync + 'static {
    /// Builds the service and says how many messages it may handle at once;
    /// get its dependencies (a database pool, settings) from
    /// [`ServiceAssistant::data`].
    ///
    /// Messages sent meanwhile wait in the service's queue. If it returns an
    /// error (or panics), the callers of queued requests get
    /// [`Error::ServiceInitFailed`], whose `cause` is the error's text (or
    /// the panic's message), queued fire-and-forget messages are dropped and
    /// counted, and the next message tries again.
    fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> impl Future<Output = Result<(Self, ServiceConfiguration), BoxError>> + Send;

    /// Runs once when the system stops, after every actor has been
    /// deactivated and the messages queued for this service have been
    /// handled: flush buffers and close connections here. Only a service
    /// that was initialised gets it.
    ///
    /// Until every service's `shutdown` has returned, services still serve
    /// the messages other services (and their `shutdown` hooks) send them,
    /// so a `shutdown` can still hand its last writes to another service.
    /// It is bounded by [`ActeurBuilder::shutdown_timeout`](crate::ActeurBuilder::shutdown_timeout)
    /// like the rest of shutdown. The default does nothing.
    fn shutdown(&self, assistant: &ServiceAssistant<Self>) -> impl Future<Output = ()> + Send {
        let _ = assistant;
        async {}
    }
}

/// Handles a fire-and-forget message `M`, sent with
/// [`Acteur::send_to_service`](crate::Acteur::send_to_service) or published
/// with [`Acteur::publish`](crate::Acteur::publish) to a subscribed service.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, BoxError, Listen, Service, ServiceAssistant, ServiceConfiguration};
///
/// struct Logger;
/// impl Service for Logger {
///     async fn initialize(_: &ServiceAssistant<Self>) -> Result<(Self, ServiceConfiguration), BoxError> {
///         Ok((Logger, ServiceConfiguration::default()))
///     }
/// }
///
/// struct Line(String);
/// impl Listen<Line> for Logger {
///     async fn handle(&self, line: Line, _: &ServiceAssistant<Self>) {
///         println!("{}", line.0);
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.send_to_service_sync::<Logger, Line>(Line("hello".into())).unwrap();
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not listen to `{M}` as a fire-and-forget message",
    label = "`{Self}` has no `Listen<{M}>` implementation",
    note = "to send or publish `{M}` to `{Self}` without waiting, implement `Listen<{M}> for {Self}`",
    note = "if `{Self}` answers `{M}` (it implements `Serve<{M}>`), use `call_service` instead of `send_to_service`"
)]
pub trait Listen<M: Send + 'static>: Service {
    /// Handles one message. A panic is caught, logged and counted; the
    /// service goes on serving.
    fn handle(
        &self,
        message: M,
        assistant: &ServiceAssistant<Self>,
    ) -> impl Future<Output = ()> + Send;
}

/// Answers a request `M` with a [`Serve::Response`], sent with
/// [`Acteur::call_service`](crate::Acteur::call_service).
///
/// See [`Service`] for an example.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not serve `{M}` as a request",
    label = "`{Self}` has no `Serve<{M}>` implementation",
    note = "to call `{Self}` with `{M}` and get an answer, implement `Serve<{M}> for {Self}`",
    note = "if `{Self}` listens to `{M}` without answering (it implements `Listen<{M}>`), use `send_to_service` instead of `call_service`"
)]
pub trait Serve<M: Send + 'static>: Service {
    /// What the caller gets back.
    type Response: Send + 'static;

    /// Handles one request and returns its answer. If it panics, the caller
    /// gets [`Error::Panicked`] and the service goes on serving.
    fn handle(
        &self,
        message: M,
        assistant: &ServiceAssistant<Self>,
    ) -> impl Future<Output = Self::Response> + Send;
}

/// A message type that cannot exist, which every service listens to and
/// serves: as `actor::NoMessage` does for actors, it keeps the compiler from
/// taking a message type from a service's only `Listen` (or `Serve`)
/// implementation, so that a missing one is reported as such.
#[doc(hidden)]
pub enum NoMessage {}

#[doc(hidden)]
impl<S: Service> Listen<NoMessage> for S {
    async fn handle(&self, message: NoMessage, _: &ServiceAssistant<Self>) {
        match message {}
    }
}

#[doc(hidden)]
impl<S: Service> Serve<NoMessage> for S {
    type Response = NoMessage;
    async fn handle(&self, message: NoMessage, _: &ServiceAssistant<Self>) -> NoMessage {
        match message {}
    }
}

/// How a service runs, returned by [`Service::initialize`].
///
/// A plain struct with public fields: set the fields you need and take the
/// rest from `Default`, since later versions add fields:
///
/// ```
/// use acteur::{ServiceConcurrency, ServiceConfiguration};
///
/// let config = ServiceConfiguration {
///     concurrency: ServiceConcurrency::Fixed(4),
///     ..Default::default()
/// };
/// assert_eq!(config.concurrency, ServiceConcurrency::Fixed(4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceConfiguration {
    /// The most handler calls of this service in flight at once.
    pub concurrency: ServiceConcurrency,
    /// The most messages the service holds at once, waiting or being
    /// handled. When it is full, `send_*` and `call_*` wait for room (the
    /// `_sync` forms block) and `try_send_to_service` hands the message
    /// back at once, with [`Error::MailboxFull`]. For a
    /// [`ServiceConcurrency::Unlimited`] service this is the ceiling on
    /// handlers running at once, so that a flood cannot start them without
    /// bound.
    ///
    /// Messages sent while the service starts, and those a handler of the
    /// service sends to the service itself, are queued even beyond it.
    /// Default: `None`, unbounded. `Some(0)` is invalid.
    pub capacity: Option<usize>,
}

/// The most handler calls of one service in flight at once.
///
/// A message waits only while that many handlers run: a free slot takes the
/// oldest waiting message, so a slow message never holds back others.
/// "Cores" below is the number of threads the system runs on (the machine's
/// available parallelism).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceConcurrency {
    /// Let Acteur choose; currently the same as [`ServiceConcurrency::OnePerCore`].
    #[default]
    Automatic,
    /// One handler at a time: messages are handled one after the other.
    None,
    /// As many handlers at once as there are cores.
    OnePerCore,
    /// One handler for every two cores, and at least one.
    OneEachTwoCore,
    /// Exactly this many handlers at once. `Fixed(0)` is an
    /// [`Error::InvalidConfiguration`].
    Fixed(usize),
    /// No limit: every message starts its handler at once.
    Unlimited,
}

impl ServiceConfiguration {
    /// The first setting that no service could run with, as the
    /// [`Error::InvalidConfiguration`] that names it and `type_name`.
    pub(crate) fn check(&self, type_name: &'static str) -> Result<(), Error> {
        if self.concurrency == ServiceConcurrency::Fixed(0) {
            return Err(Error::InvalidConfiguration {
                type_name,
                field: "concurrency",
                reason: "is Fixed(0), which would never handle a message; use Fixed(1) or more",
            });
        }
        if self.capacity == Some(0) {
            return Err(Error::InvalidConfiguration {
                type_name,
                field: "capacity",
                reason: "is zero, so no message could ever be queued; use a positive \
                         capacity, or None for an unbounded queue",
            });
        }
        Ok(())
    }
}

impl ServiceConcurrency {
    /// The number of handlers allowed in flight with `cores` worker threads
    /// (at least one); for a concurrency that passed
    /// [`ServiceConfiguration::check`].
    pub(crate) fn handler_limit(self, cores: usize) -> usize {
        let cores = cores.max(1);
        match self {
            ServiceConcurrency::Automatic | ServiceConcurrency::OnePerCore => cores,
            ServiceConcurrency::None => 1,
            ServiceConcurrency::OneEachTwoCore => (cores / 2).max(1),
            ServiceConcurrency::Fixed(n) => n,
            ServiceConcurrency::Unlimited => usize::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_limits_per_mode() {
        let limit = |c: ServiceConcurrency, cores| c.handler_limit(cores);
        assert_eq!(limit(ServiceConcurrency::None, 8), 1);
        assert_eq!(limit(ServiceConcurrency::OnePerCore, 8), 8);
        assert_eq!(limit(ServiceConcurrency::Automatic, 8), 8);
        assert_eq!(limit(ServiceConcurrency::OneEachTwoCore, 8), 4);
        assert_eq!(limit(ServiceConcurrency::OneEachTwoCore, 1), 1);
        assert_eq!(limit(ServiceConcurrency::Fixed(3), 8), 3);
        assert_eq!(limit(ServiceConcurrency::Unlimited, 8), usize::MAX);
    }

    #[test]
    fn a_configuration_checks_itself() {
        let check = |configuration: ServiceConfiguration| configuration.check("S");
        assert_eq!(check(ServiceConfiguration::default()), Ok(()));
        let zero = ServiceConfiguration {
            concurrency: ServiceConcurrency::Fixed(0),
            ..ServiceConfiguration::default()
        };
        assert!(matches!(
            check(zero),
            Err(Error::InvalidConfiguration {
                type_name: "S",
                field: "concurrency",
                ..
            })
        ));
        let no_room = ServiceConfiguration {
            capacity: Some(0),
            ..ServiceConfiguration::default()
        };
        assert!(matches!(
            check(no_room),
            Err(Error::InvalidConfiguration {
                field: "capacity",
                ..
            })
        ));
    }
}
