//! The one module that names an executor: spawning tasks, sleeping and
//! blocking on a future all go through here, so that another executor (such
//! as tokio) can be added by changing this file alone.
//!
//! The default executor is owned by each system: a pool of worker threads,
//! one per core, started lazily on the first spawn and ended once the system
//! has stopped.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Once};
use std::thread;
use std::time::Duration;

use async_executor::Executor;

use crate::system::lifecycle::Lifecycle;

/// The executor of one system.
pub(crate) struct Runtime {
    executor: Arc<Executor<'static>>,
    workers_started: Once,
    lifecycle: Arc<Lifecycle>,
}

impl Runtime {
    /// An executor whose worker threads run until `lifecycle` says the
    /// system has stopped.
    pub(crate) fn new(lifecycle: Arc<Lifecycle>) -> Self {
        Runtime {
            executor: Arc::new(Executor::new()),
            workers_started: Once::new(),
            lifecycle,
        }
    }

    /// Runs `task` on the worker threads.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.workers_started.call_once(|| self.start_workers());
        self.executor.spawn(task).detach();
    }

    fn start_workers(&self) {
        for index in 0..worker_count() {
            let executor = self.executor.clone();
            let lifecycle = self.lifecycle.clone();
            let started = thread::Builder::new()
                .name(format!("acteur-worker-{index}"))
                .spawn(move || {
                    // Our tasks catch every panic, so this loop only restarts
                    // the thread's share of the work if that ever fails.
                    while catch_unwind(AssertUnwindSafe(|| {
                        async_io::block_on(executor.run(lifecycle.stopped()))
                    }))
                    .is_err()
                    {}
                });
            if let Err(error) = started {
                log::error!("acteur could not start a worker thread: {error}");
            }
        }
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
