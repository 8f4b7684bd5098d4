//! The `tokio` feature's runtime: a system's tasks run on tokio, so that
//! handlers can use tokio-based libraries (database pools, HTTP and gRPC
//! clients) directly.
//!
//! A system created inside a tokio runtime spawns onto that runtime's
//! handle. One created elsewhere (a plain `fn main`, a `#[test]`), and the
//! global system, start a multi-thread runtime of their own on their first
//! spawn, with every driver enabled, and shut it down once the system has
//! stopped or is dropped. They shut it down in the background, without
//! waiting for its threads: a runtime must not be waited for from inside an
//! asynchronous context, and the system's last handle may well be dropped
//! inside one of its own tasks.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::runtime::{Builder, Handle, RuntimeFlavor};

use super::{Home, worker_count};
use crate::system::lifecycle::Lifecycle;

/// The executor of one system: a handle on a tokio runtime.
pub(crate) struct Runtime {
    /// Where tasks go: the caller's runtime, captured at creation, or the
    /// system's own, set on the first spawn.
    handle: OnceLock<Handle>,
    /// The system's own runtime, while it has one running.
    own: Arc<Mutex<Option<tokio::runtime::Runtime>>>,
    lifecycle: Arc<Lifecycle>,
}

impl Runtime {
    /// Captures the current tokio runtime if `home` allows and there is one.
    pub(crate) fn new(lifecycle: Arc<Lifecycle>, home: Home) -> Self {
        let handle = OnceLock::new();
        if home == Home::Ambient {
            if let Ok(current) = Handle::try_current() {
                let _ = handle.set(current);
            }
        }
        Runtime {
            handle,
            own: Arc::default(),
            lifecycle,
        }
    }

    /// Runs `task` on the runtime. The task is detached: the system counts
    /// and tracks its own tasks.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.handle.get_or_init(|| self.start_own());
        drop(handle.spawn(task));
    }

    /// Whether blocking the calling thread on one of this system's futures
    /// would wait forever: the system runs on a current-thread runtime (such
    /// as `#[tokio::test]`'s) and the caller is inside a runtime, so most
    /// likely on that very thread, which then never runs the system's tasks.
    pub(crate) fn blocking_here_would_hang(&self) -> bool {
        self.handle
            .get()
            .is_some_and(|handle| handle.runtime_flavor() == RuntimeFlavor::CurrentThread)
            && Handle::try_current().is_ok()
    }

    /// Builds the system's own runtime, and a task that shuts it down once
    /// the system has stopped.
    fn start_own(&self) -> Handle {
        let runtime = Builder::new_multi_thread()
            .worker_threads(worker_count())
            .thread_name("acteur-worker")
            .enable_all()
            .build()
            .unwrap_or_else(|error| {
                // As `std::thread::spawn` does when the OS refuses a thread:
                // there is nowhere to run anything.
                panic!("acteur could not start its tokio runtime: {error}")
            });
        let handle = runtime.handle().clone();
        *lock(&self.own) = Some(runtime);
        let lifecycle = self.lifecycle.clone();
        let own = self.own.clone();
        drop(handle.spawn(async move {
            lifecycle.stopped().await;
            shut_down(&own);
        }));
        handle
    }
}

impl Drop for Runtime {
    /// A system dropped without stopping lets its own runtime's threads end.
    fn drop(&mut self) {
        shut_down(&self.own);
    }
}

/// Shuts the system's own runtime down, if it still runs: its workers end
/// once they finish the task in hand, and its unfinished tasks are dropped
/// (after `stopped`, only the system's idle timers).
fn shut_down(own: &Mutex<Option<tokio::runtime::Runtime>>) {
    let runtime = lock(own).take();
    if let Some(runtime) = runtime {
        runtime.shutdown_background();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Never: tokio runs a woken task next on the same worker by itself (its
/// LIFO slot), which is what lingering is for on the default pool.
pub(crate) fn may_linger() -> bool {
    false
}

/// Does nothing: [`may_linger`] is never true under tokio.
pub(crate) async fn linger() {}
