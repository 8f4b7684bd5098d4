//! The one module that names an executor: spawning tasks, sleeping and
//! blocking on a future all go through here, so that another executor (such
//! as tokio) can be added by changing this module alone.
//!
//! The default executor is owned by each system: a pool of worker threads,
//! one per core, started lazily on the first spawn and ended once the system
//! has stopped (see `executor.rs`). Timers and `block_on` come from
//! async-io, whose reactor thread drives the timers.

mod executor;

use std::future::Future;
use std::sync::{Arc, Once};
use std::thread;
use std::time::Duration;

use crate::system::lifecycle::Lifecycle;
use executor::Executor;
pub(crate) use executor::{linger, may_linger};

/// The executor of one system.
pub(crate) struct Runtime {
    executor: Executor,
    workers_started: Once,
    lifecycle: Arc<Lifecycle>,
}

impl Runtime {
    /// An executor whose worker threads run until `lifecycle` says the
    /// system has stopped.
    pub(crate) fn new(lifecycle: Arc<Lifecycle>) -> Self {
        Runtime {
            executor: Executor::new(worker_count()),
            workers_started: Once::new(),
            lifecycle,
        }
    }

    /// Runs `task` on the worker threads.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.workers_started.call_once(|| self.start_workers());
        self.executor.spawn(task);
    }

    fn start_workers(&self) {
        let lifecycle = self.lifecycle.clone();
        self.executor.start(move || lifecycle.is_stopped());
        // Sleeping workers learn that the system stopped from this task.
        let lifecycle = self.lifecycle.clone();
        self.executor
            .wake_all_after(async move { lifecycle.stopped().await });
    }
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
