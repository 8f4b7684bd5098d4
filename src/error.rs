//! The one error type every fallible Acteur operation returns.

use std::fmt;

/// What went wrong with a send, a call, a publish, a schedule or a preload.
///
/// Every variant's message says what happened and what to do about it, so
/// printing the error (`{}`) is usually enough for a log line or an HTTP body.
/// The enum is `#[non_exhaustive]`: later versions may add variants, so a
/// `match` needs a `_` arm. The guide's chapter
/// [Errors, panics and overload](crate::guide::ch07_errors) says what causes each
/// one and what to do.
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, Receive};
///
/// struct Counter(u64);
/// impl Actor for Counter {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Counter(0))
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
    /// `Actor::activate` returned an error or panicked, as many times in a
    /// row as the type's
    /// [`max_consecutive_panics`](crate::ActorConfiguration::max_consecutive_panics)
    /// allows, so the message could not be handled. The next message to
    /// this ID tries a fresh activation.
    #[non_exhaustive]
    ActivationFailed {
        /// The actor type.
        actor: &'static str,
        /// The actor's ID, formatted with `Debug`.
        id: String,
        /// Why the last attempt failed: the `Display` text of the error
        /// `activate` returned, or the message of its panic.
        cause: String,
    },
    /// `Service::initialize` returned an error or panicked, so the service
    /// could not start. The next message to the service tries to initialise
    /// it again.
    #[non_exhaustive]
    ServiceInitFailed {
        /// The service type.
        service: &'static str,
        /// Why it failed: the `Display` text of the error `initialize`
        /// returned, or the message of its panic.
        cause: String,
    },
    /// A configuration is invalid (for example a concurrency or a limit of
    /// zero): one returned by an actor's or service's `configuration()`, or
    /// one given to [`Acteur::builder`](crate::Acteur::builder). Every send to
    /// the type (for the builder, every send and call) returns it.
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
    /// The call would wait on itself and never return: the actor or
    /// one-at-a-time service it goes to is already waiting, directly or
    /// through a chain of calls, for the code that makes it. An actor calling
    /// its own ID is the shortest such chain.
    #[non_exhaustive]
    Deadlock {
        /// The chain of waits, first caller first and ending where it
        /// started, e.g. `Account(1) -> Bank -> Account(1)`.
        chain: String,
    },
    /// A call got no answer within its timeout: the default set with
    /// [`ActeurBuilder::call_timeout`](crate::ActeurBuilder::call_timeout)
    /// (30 seconds unless changed), or the one given to a `*_with_timeout`
    /// method. A message already queued is still handled; only its answer is
    /// dropped.
    Timeout,
    /// A `try_send_*` found the mailbox of the actor (or the queue of the
    /// service) full, so the message was not queued (it comes back in the
    /// [`TrySendError`](crate::TrySendError)). Its capacity is set by
    /// [`ActorConfiguration::mailbox_capacity`](crate::ActorConfiguration::mailbox_capacity)
    /// or [`ServiceConfiguration::capacity`](crate::ServiceConfiguration::capacity).
    MailboxFull,
    /// A blocking `_sync` method was called inside a handler, `activate`,
    /// `deactivate` or `initialize`, where blocking a worker thread could
    /// stall or deadlock the system.
    #[non_exhaustive]
    BlockingCallInHandler {
        /// The blocking method that was called, e.g. `call_actor_sync`.
        method: &'static str,
    },
    /// A blocking method (one whose name ends in `_sync`) was called on the
    /// thread of a current-thread tokio runtime (such as `#[tokio::test]`'s)
    /// that the system uses (the `tokio` feature). That thread drives the
    /// handlers' tokio I/O and timers, so a handler using them would wait for
    /// it, forever: use the `async` form and `.await` it, or a multi-thread
    /// runtime.
    #[non_exhaustive]
    BlockingCallOnRuntimeThread {
        /// The blocking method that was called, e.g. `call_actor_sync`.
        method: &'static str,
    },
    /// A hook or handler asked for application data of a type the system
    /// was not given (see [`ActeurBuilder::data`](crate::ActeurBuilder::data)).
    MissingData {
        /// The type that was asked for, e.g. `my_app::DbPool`.
        type_name: &'static str,
    },
    /// A persistent actor's state could not be loaded or saved (feature
    /// `persistence`); the [`StateError`](crate::persistence::StateError)
    /// says why and what became of the state.
    #[cfg(feature = "persistence")]
    State(crate::persistence::StateError),
    /// In a cluster (crate `acteur-cluster`): the actor's owner could not be
    /// reached, or no node owned its partition, for the whole of the
    /// cluster's `unavailable_wait`. The message was **not delivered**, so
    /// sending it again cannot handle it twice.
    #[non_exhaustive]
    Unavailable {
        /// The actor type.
        actor: &'static str,
        /// What stood in the way, e.g. `no live owner of partition 17`.
        reason: String,
    },
    /// In a cluster (crate `acteur-cluster`): a message to or from another
    /// node could not be carried: [`kind`](RemoteErrorKind) says which
    /// part failed, `detail` what exactly. Not retried: the same message
    /// would fail the same way.
    #[non_exhaustive]
    Remote {
        /// Which part of the exchange failed.
        kind: RemoteErrorKind,
        /// What exactly, with the type and node concerned.
        detail: String,
    },
}

/// What failed in a message between the nodes of a cluster, in
/// [`Error::Remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// The message, its ID or its response could not be encoded or
    /// decoded: the nodes disagree on a type registered under one name (a
    /// rolling upgrade that changed it), or a type's `Serialize` failed.
    Codec,
    /// The actor or message type is not registered with the cluster, on
    /// this node or on the receiving one: register it on every node
    /// (`.actor::<A>()`, `.message::<M>()`, `.request::<M>()`).
    UnknownType,
    /// The encoded message is larger than the cluster's frame limit.
    TooLarge,
    /// The other node broke the protocol (bad frame, wrong cluster name,
    /// connection closed mid-exchange without a clear outcome).
    Protocol,
    /// The message reached its actor on the other node and failed there:
    /// the handler or `activate` panicked or failed, or that node's system
    /// stopped. `detail` holds that node's error.
    Handler,
}

impl fmt::Display for RemoteErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RemoteErrorKind::Codec => "codec",
            RemoteErrorKind::UnknownType => "unknown type",
            RemoteErrorKind::TooLarge => "too large",
            RemoteErrorKind::Protocol => "protocol",
            RemoteErrorKind::Handler => "handler",
        })
    }
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
            Error::ActivationFailed { actor, id, cause } => write!(
                f,
                "`{actor}::activate` failed for id {id} ({cause}), so the message was not \
                 handled; the next message to this id tries a fresh activation"
            ),
            Error::ServiceInitFailed { service, cause } => write!(
                f,
                "`{service}::initialize` failed ({cause}), so the service did not start and \
                 the message was not handled; the next message to it tries to initialise it again"
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
                 use a fire-and-forget send for one of the steps, or do the work in the \
                 caller directly"
            ),
            Error::Timeout => write!(
                f,
                "the call got no answer within its timeout; the message, if it was queued, \
                 is still handled but its answer is dropped. Look for a slow or stuck handler, \
                 or raise the timeout (`ActeurBuilder::call_timeout`, `*_with_timeout`)"
            ),
            Error::MailboxFull => write!(
                f,
                "the mailbox is full, so the message was not queued; retry later, use the \
                 waiting `send_*` to wait for room, or raise the capacity \
                 (`ActorConfiguration::mailbox_capacity`, `ServiceConfiguration::capacity`)"
            ),
            Error::BlockingCallInHandler { method } => write!(
                f,
                "`{method}` blocks the calling thread and was called inside a handler \
                 (or activate/deactivate/initialize), where it could stall the system; \
                 use the async form `{}` and `.await` it",
                method.trim_end_matches("_sync")
            ),
            Error::BlockingCallOnRuntimeThread { method } => write!(
                f,
                "`{method}` blocks the calling thread, which drives the current-thread tokio \
                 runtime the actor system's handlers use, so it could wait forever; use the \
                 async form `{}` and `.await` it, or a multi-thread runtime",
                method.trim_end_matches("_sync")
            ),
            Error::MissingData { type_name } => write!(
                f,
                "no application data of type `{type_name}` was given to this actor system; \
                 add it when building the system with `Acteur::builder().data(..)`"
            ),
            #[cfg(feature = "persistence")]
            Error::State(error) => write!(f, "{error}"),
            Error::Unavailable { actor, reason } => write!(
                f,
                "no node of the cluster could take the message for `{actor}` ({reason}), so \
                 it was not delivered; it is safe to send it again once the cluster has an \
                 owner for it (see `Cluster::members` and the cluster's log)"
            ),
            Error::Remote { kind, detail } => write!(
                f,
                "a message between cluster nodes failed ({kind}): {detail}; register the same \
                 types under the same names on every node"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "persistence")]
            Error::State(error) => Some(error),
            _ => None,
        }
    }
}

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
    fn failures_show_their_cause() {
        let activation = Error::ActivationFailed {
            actor: "bank::Account",
            id: "7".into(),
            cause: "db down".into(),
        }
        .to_string();
        assert!(activation.contains("db down"), "{activation}");
        let init = Error::ServiceInitFailed {
            service: "bank::Store",
            cause: "no such table".into(),
        }
        .to_string();
        assert!(init.contains("no such table"), "{init}");
    }

    #[test]
    fn missing_data_says_how_to_add_it() {
        let text = Error::MissingData {
            type_name: "app::Pool",
        }
        .to_string();
        assert!(text.contains("`app::Pool`") && text.contains("Acteur::builder().data(..)"));
    }

    #[test]
    fn errors_are_send_sync_static() {
        fn check<E: std::error::Error + Send + Sync + Clone + 'static>() {}
        check::<Error>();
    }
}
