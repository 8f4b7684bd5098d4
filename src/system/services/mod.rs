//! Services: the pool of handlers of each service type with its queue and
//! concurrency, and the subscriptions that route published messages to
//! them.

pub(crate) mod pool;
pub(crate) mod subscriptions;
