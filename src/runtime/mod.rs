//! The one module that names an executor: spawning tasks, sleeping and
//! blocking on a future all go through here, so that the rest of the crate
//! runs unchanged on either runtime:
//!
//! - by default, each system owns a pool of worker threads (`own_pool.rs`
//!   over `executor.rs`);
//! - with the `tokio` feature, tasks run on tokio (`on_tokio.rs`): the
//!   runtime the system was created in, or one the system starts itself.
//!
//! Timers and `block_on` come from async-io under both: its timers fire
//! whichever executor polls them, so the crate's deadlines do not depend on
//! whether a caller's tokio runtime has its time driver enabled.

#[cfg(not(feature = "tokio"))]
mod executor;
#[cfg(feature = "tokio")]
mod on_tokio;
#[cfg(not(feature = "tokio"))]
mod own_pool;

use std::future::Future;
use std::thread;
use std::time::Duration;

#[cfg(feature = "tokio")]
pub(crate) use on_tokio::{Runtime, linger, may_linger};
#[cfg(not(feature = "tokio"))]
pub(crate) use own_pool::{Runtime, linger, may_linger};

/// Which runtime a system's tasks run on, where there is a choice (under
/// the `tokio` feature; the default pool is always the system's own).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Home {
    /// The tokio runtime the system is created in, if any; else its own.
    Ambient,
    /// A runtime of the system's own, wherever it is created: for the
    /// global system, which outlives any runtime it may be first used in.
    Own,
}

/// The number of worker threads: the machine's available parallelism.
pub(crate) fn worker_count() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Completes after `duration`.
pub(crate) async fn sleep(duration: Duration) {
    async_io::Timer::after(duration).await;
}

/// Runs `future` to completion on the calling thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    async_io::block_on(future)
}
