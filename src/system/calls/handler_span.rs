//! With the `tracing` feature, every handled message runs inside a span that
//! names the actor type, its ID (or the service type) and the message type,
//! so that a trace shows which actor did what, and the events and spans of
//! libraries the handler calls nest under it. Without the feature, the
//! handler runs as it is, at no cost.
//!
//! The spans are at the `DEBUG` level, named `acteur::actor` and
//! `acteur::service`: a subscriber that records `INFO` and above (a common
//! default) skips them, after checking one flag per message.

use crate::system::calls::envelope::HandlerFuture;
use crate::{Actor, Service};

/// `handler`, run inside a span for actor `id` of type `A` handling a
/// `message`.
#[cfg(feature = "tracing")]
pub(crate) fn actor<'a, A: Actor>(
    id: &A::Id,
    message: &'static str,
    handler: HandlerFuture<'a>,
) -> impl Future<Output = ()> + Send + 'a {
    use tracing::Instrument;
    let span = tracing::debug_span!(
        "acteur::actor",
        actor = std::any::type_name::<A>(),
        id = ?id,
        message,
    );
    handler.instrument(span)
}

/// `handler`, run inside a span for service `S` handling a `message`.
#[cfg(feature = "tracing")]
pub(crate) fn service<'a, S: Service>(
    message: &'static str,
    handler: HandlerFuture<'a>,
) -> impl Future<Output = ()> + Send + 'a {
    use tracing::Instrument;
    let span = tracing::debug_span!(
        "acteur::service",
        service = std::any::type_name::<S>(),
        message,
    );
    handler.instrument(span)
}

/// `handler` as it is: the `tracing` feature is off.
#[cfg(not(feature = "tracing"))]
pub(crate) fn actor<'a, A: Actor>(
    _: &A::Id,
    _: &'static str,
    handler: HandlerFuture<'a>,
) -> HandlerFuture<'a> {
    handler
}

/// `handler` as it is: the `tracing` feature is off.
#[cfg(not(feature = "tracing"))]
#[expect(
    clippy::extra_unused_type_parameters,
    reason = "the same signature as with the feature, so that callers need no cfg"
)]
pub(crate) fn service<'a, S: Service>(
    _: &'static str,
    handler: HandlerFuture<'a>,
) -> HandlerFuture<'a> {
    handler
}
