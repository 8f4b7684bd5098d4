//! The `tokio` feature: the tokio runtime whose context the system's worker
//! threads enter, so that handlers can use tokio-based libraries (tokio's
//! time and net, database, HTTP and gRPC clients) directly. Actors and
//! services still run on the system's own pool; tokio only drives their I/O
//! and timers, and runs what they `tokio::spawn`.
//!
//! The runtime is the one given to the builder, or else the one the system
//! was created in, or else a small one the system starts (one thread, every
//! driver on) on its first spawn and shuts down once it has stopped or is
//! dropped, in the background: a runtime must not be waited for from inside
//! an asynchronous context, and the system's last handle may well be dropped
//! inside one of its own tasks.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::runtime::{Builder, Handle, RuntimeFlavor};

use super::{Home, StopSignal};

/// The tokio runtime of one system.
pub(crate) struct TokioContext {
    /// The runtime given or found at creation, or the system's own, set on
    /// the first spawn.
    handle: OnceLock<Handle>,
    /// The system's own runtime, while it has one running.
    own: Arc<Mutex<Option<tokio::runtime::Runtime>>>,
    lifecycle: Arc<dyn StopSignal>,
}

impl TokioContext {
    /// Takes the runtime `home` names, if any; else the system will start
    /// its own when its workers start.
    pub(crate) fn new(lifecycle: Arc<dyn StopSignal>, home: &Home) -> Self {
        let handle = OnceLock::new();
        let found = match home {
            Home::Given(given) => Some(given.clone()),
            Home::Ambient => Handle::try_current().ok(),
            Home::Own => None,
        };
        if let Some(found) = found {
            let _ = handle.set(found);
        }
        TokioContext {
            handle,
            own: Arc::default(),
            lifecycle,
        }
    }

    /// The runtime to enter, started now if the system has none.
    pub(crate) fn handle(&self) -> Handle {
        self.handle.get_or_init(|| self.start_own()).clone()
    }

    /// Whether blocking the calling thread could stall what the system's
    /// handlers wait for: its runtime is a current-thread one (such as
    /// `#[tokio::test]`'s), which drives its I/O and timers only while its
    /// one thread awaits, and the caller is inside a runtime, most likely on
    /// that very thread.
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
            .worker_threads(1)
            .thread_name("acteur-tokio")
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

impl Drop for TokioContext {
    /// A system dropped without stopping lets its own runtime's thread end.
    fn drop(&mut self) {
        shut_down(&self.own);
    }
}

/// Shuts the system's own runtime down, if it still runs.
fn shut_down(own: &Mutex<Option<tokio::runtime::Runtime>>) {
    let runtime = lock(own).take();
    if let Some(runtime) = runtime {
        runtime.shutdown_background();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
