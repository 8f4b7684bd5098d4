//! The default runtime: each system owns a pool of worker threads (see
//! `executor.rs`), started lazily on the first spawn and ended once the
//! system has stopped.

use std::future::Future;
use std::sync::{Arc, Once};

use super::executor::Executor;
use super::{Home, worker_count};
use crate::system::lifecycle::Lifecycle;

pub(crate) use super::executor::{linger, may_linger};

/// The executor of one system.
pub(crate) struct Runtime {
    executor: Executor,
    workers_started: Once,
    lifecycle: Arc<Lifecycle>,
}

impl Runtime {
    /// An executor whose worker threads run until `lifecycle` says the
    /// system has stopped. Every system owns its pool, whatever `_home`.
    pub(crate) fn new(lifecycle: Arc<Lifecycle>, _home: Home) -> Self {
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

    /// Whether a thread blocking on one of this system's futures could
    /// stop the system from running it: never, since no caller's thread
    /// is one of the pool's workers (handlers are refused before this).
    pub(crate) fn blocking_here_would_hang(&self) -> bool {
        false
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
