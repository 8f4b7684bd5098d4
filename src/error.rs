//! The one error type every fallible Acteur operation returns.

use std::fmt;

/// What went wrong with a send, a call, a publish, a schedule or a preload.
///
/// Every variant's message says what happened and what to do about it, so
/// printing the error (`{}`) is usually enough for a log line or an HTTP body.
/// The enum is `#[non_exhaustive]`: later versions add variants (timeouts,
/// full mailboxes), so a `match` needs a `_` arm.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, Error, Receive};
///
/// struct Counter(u64);
/// impl Actor for Counter {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Self {
///         Counter(0)
///     }
/// }
/// struct Add(u64);
/// impl Receive<Add> for Counter {
///     async fn handle(&mut self, m: Add, _: &ActorAssistant<Self>) {
///         self.0 += m.0;
///     }
/// }
///
/// let sys = Acteur::new();
/// sys.stop();
/// sys.wait_until_stopped();
/// let refused = sys.send_to_actor_sync::<Counter, Add>(1, Add(1));
/// assert!(matches!(refused, Err(Error::Stopped)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The system is stopping or has stopped (`Acteur::stop` was called), so
    /// it accepts no new message.
    Stopped,
    /// The handler of this call panicked. The message was not answered; for
    /// an actor, the activation was dropped without `deactivate` and its next
    /// message activates it afresh.
    #[non_exhaustive]
    Panicked {
        /// The actor or service type whose handler panicked.
        handler_of: &'static str,
        /// The message type it was handling.
        message: &'static str,
    },
    /// `Actor::activate` panicked, so the message could not be handled.
    /// The next message to this ID tries a fresh activation.
    #[non_exhaustive]
    ActivationFailed {
        /// The actor type.
        actor: &'static str,
        /// The actor's ID, formatted with `Debug`.
        id: String,
    },
    /// `Service::initialize` panicked, so the service could not start.
    /// The next message to the service tries to initialise it again.
    #[non_exhaustive]
    ServiceInitFailed {
        /// The service type.
        service: &'static str,
    },
    /// A configuration is invalid (for example a concurrency or a limit of
    /// zero): one returned by an actor's or service's `configuration()`, or
    /// one given to [`Acteur::builder`](crate::Acteur::builder). Every send to
    /// the type (for the builder, to any actor) returns it.
    #[non_exhaustive]
    InvalidConfiguration {
        /// The actor or service type whose configuration is invalid, or
        /// `acteur::ActeurBuilder` for a system-wide limit.
        type_name: &'static str,
        /// The configuration field at fault.
        field: &'static str,
        /// Why the value is refused.
        reason: &'static str,
    },
    /// The call would wait on itself and never return: an actor called its
    /// own ID while handling a message.
    #[non_exhaustive]
    Deadlock {
        /// The chain of waits, caller first, e.g. `Counter(7) -> Counter(7)`.
        chain: String,
    },
    /// A blocking `_sync` method was called inside a handler, `activate`,
    /// `deactivate` or `initialize`, where blocking a worker thread could
    /// stall or deadlock the system.
    #[non_exhaustive]
    BlockingCallInHandler {
        /// The blocking method that was called, e.g. `call_actor_sync`.
        method: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stopped => write!(
                f,
                "the actor system is stopped or stopping and accepts no new message; \
                 create a new system with `Acteur::new()` to go on"
            ),
            Error::Panicked {
                handler_of,
                message,
            } => write!(
                f,
                "the handler of `{message}` in `{handler_of}` panicked, so the call got no \
                 answer; the panic message was logged, fix the handler (an actor is \
                 activated afresh by its next message)"
            ),
            Error::ActivationFailed { actor, id } => write!(
                f,
                "`{actor}::activate` panicked for id {id}, so the message was not handled; \
                 the next message to this id tries a fresh activation"
            ),
            Error::ServiceInitFailed { service } => write!(
                f,
                "`{service}::initialize` panicked, so the service did not start and the \
                 message was not handled; the next message to it tries to initialise it again"
            ),
            Error::InvalidConfiguration {
                type_name,
                field,
                reason,
            } => write!(
                f,
                "invalid configuration of `{type_name}`: `{field}` {reason}; correct the \
                 value where it is set (the type's `configuration()`, or `Acteur::builder()`)"
            ),
            Error::Deadlock { chain } => write!(
                f,
                "deadlock: the call {chain} would wait for itself and never return; \
                 use a fire-and-forget send, or handle the work in the caller directly"
            ),
            Error::BlockingCallInHandler { method } => write!(
                f,
                "`{method}` blocks the calling thread and was called inside a handler \
                 (or activate/deactivate/initialize), where it could stall the system; \
                 use the async form `{}` and `.await` it",
                method.trim_end_matches("_sync")
            ),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_call_message_names_the_async_form() {
        let text = Error::BlockingCallInHandler {
            method: "call_actor_sync",
        }
        .to_string();
        assert!(text.contains("`call_actor`"), "{text}");
    }

    #[test]
    fn errors_are_send_sync_static() {
        fn check<E: std::error::Error + Send + Sync + Clone + 'static>() {}
        check::<Error>();
    }
}
