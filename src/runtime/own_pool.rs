//! Each system owns a pool of worker threads (see `executor.rs`), started
//! lazily on the first spawn and ended once the system has stopped. With
//! the `tokio` feature, the workers run inside a tokio runtime's context
//! (see `tokio_context.rs`), which changes nothing in how they schedule.

use std::future::Future;
use std::sync::{Arc, Once};

use super::executor::{Executor, Job};
use super::{Home, StopSignal, worker_count};

pub(crate) use super::executor::{linger, may_linger};

/// The executor of one system.
pub(crate) struct Runtime {
    executor: Executor,
    workers_started: Once,
    lifecycle: Arc<dyn StopSignal>,
    #[cfg(feature = "tokio")]
    tokio: super::tokio_context::TokioContext,
}

impl Runtime {
    /// An executor whose worker threads run until `lifecycle` says the
    /// system has stopped; with the `tokio` feature, inside the runtime
    /// `home` names.
    pub(crate) fn new(lifecycle: Arc<dyn StopSignal>, home: Home) -> Self {
        #[cfg(not(feature = "tokio"))]
        let _ = home;
        Runtime {
            executor: Executor::new(worker_count()),
            workers_started: Once::new(),
            #[cfg(feature = "tokio")]
            tokio: super::tokio_context::TokioContext::new(lifecycle.clone(), &home),
            lifecycle,
        }
    }

    /// Runs `task` on the worker threads.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.workers_started.call_once(|| self.start_workers());
        self.executor.spawn(task);
    }

    /// Runs `job` on the worker threads: it spawns its task on the worker
    /// that takes it (see `executor::Work`).
    pub(crate) fn queue_job(&self, job: Arc<dyn Job>) {
        self.workers_started.call_once(|| self.start_workers());
        self.executor.queue_job(job);
    }

    /// Whether a thread blocking on one of this system's futures could
    /// stall it. Never for the pool itself, since no caller's thread is one
    /// of its workers (handlers are refused before this); with the `tokio`
    /// feature, when the handlers' I/O and timers depend on the blocked
    /// thread (see `TokioContext::blocking_here_would_hang`).
    pub(crate) fn blocking_here_would_hang(&self) -> bool {
        #[cfg(feature = "tokio")]
        return self.tokio.blocking_here_would_hang();
        #[cfg(not(feature = "tokio"))]
        false
    }

    fn start_workers(&self) {
        let lifecycle = self.lifecycle.clone();
        #[cfg(feature = "tokio")]
        let around_worker = {
            let handle = self.tokio.handle();
            move |work: &mut dyn FnMut()| {
                let _inside = handle.enter();
                work();
            }
        };
        #[cfg(not(feature = "tokio"))]
        let around_worker = |work: &mut dyn FnMut()| work();
        self.executor
            .start(move || lifecycle.is_stopped(), around_worker);
        // Sleeping workers learn that the system stopped from this task.
        let lifecycle = self.lifecycle.clone();
        self.executor
            .wake_all_after(async move { lifecycle.stopped().await });
    }
}
