//! What travels between handles and handlers: the type-erased envelope of
//! each message, the chain of calls in flight that deadlock detection walks,
//! the deadlines of calls waiting for their answers, the one-shot channel
//! each answer comes back on, and the tracing span around a handler.

pub(crate) mod chain;
pub(crate) mod deadlines;
pub(crate) mod envelope;
pub(crate) mod handler_span;
pub(crate) mod reply;
