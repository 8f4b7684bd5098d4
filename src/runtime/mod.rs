//! The one module that names an executor: spawning tasks, sleeping and
//! blocking on a future all go through here.
//!
//! Each system owns a pool of worker threads (`own_pool.rs` over
//! `executor.rs`), with or without the `tokio` feature: features are
//! additive, so turning one on must not change how every system schedules.
//! With the feature, the workers enter a tokio runtime's context
//! (`tokio_context.rs`), so that handlers can use tokio-based libraries.
//!
//! Timers and `block_on` come from async-io: its timers fire whichever
//! executor polls them, so the crate's deadlines do not depend on a tokio
//! runtime's time driver.

mod executor;
mod own_pool;
#[cfg(feature = "tokio")]
mod tokio_context;

use std::future::Future;
use std::pin::Pin;
use std::thread;
use std::time::Duration;

pub(crate) use executor::{Job, messages_out, note_message_out, spawn_here, worker_index};
pub(crate) use own_pool::{Runtime, linger, may_linger};

/// What the runtime needs to know of its system's life: when it has
/// stopped, so that the worker threads (and the system's own tokio runtime)
/// can end. The system's lifecycle implements it; the runtime knows nothing
/// else of the system.
pub(crate) trait StopSignal: Send + Sync + 'static {
    /// Whether the system has stopped.
    fn is_stopped(&self) -> bool;
    /// Completes once the system has stopped.
    fn stopped(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Which tokio runtime a system's workers enter, under the `tokio` feature
/// (without it, this changes nothing: tasks always run on the system's own
/// pool).
#[derive(Clone, Debug, Default)]
pub(crate) enum Home {
    /// The tokio runtime the system is created in, if any; else its own.
    #[default]
    Ambient,
    /// A runtime of the system's own, wherever it is created: for the
    /// global system, which outlives any runtime it may be first used in.
    Own,
    /// The runtime given to the builder.
    #[cfg(feature = "tokio")]
    Given(tokio::runtime::Handle),
}

/// The number of worker threads: the machine's available parallelism.
pub(crate) fn worker_count() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Completes after `duration`.
pub(crate) async fn sleep(duration: Duration) {
    async_io::Timer::after(duration).await;
}

/// Completes once every one of `futures` has, with their outputs in order.
/// The first time, they are polled in order, so that futures which send a
/// request when first polled send them in that order.
pub(crate) async fn join_all<T>(
    mut futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>,
) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Runs `future` to completion on the calling thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    async_io::block_on(future)
}
