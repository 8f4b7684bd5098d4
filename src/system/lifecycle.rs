//! Whether a system is running, stopping or stopped, and the count of its
//! tasks that shutdown waits for.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use event_listener::{Event, Listener};
use futures_lite::future;

use crate::runtime;
use crate::system::padded::Padded;

/// Shutdown is the moment `stopping` turns true; the system has stopped once,
/// after that, no task is left. Every spawned task is counted from before it
/// is spawned until it ends.
#[derive(Default)]
pub(crate) struct Lifecycle {
    /// Read by every send.
    stopping: AtomicBool,
    /// Written by every task spawn and end: on lines of its own, so that
    /// these writes do not make the senders' reads of `stopping` miss.
    tasks: Padded<AtomicUsize>,
    changed: Event,
}

impl Lifecycle {
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(SeqCst)
    }

    /// Turns `stopping` on; true for the one caller that did it.
    pub(crate) fn begin_stop(&self) -> bool {
        let first = !self.stopping.swap(true, SeqCst);
        self.changed.notify(usize::MAX);
        first
    }

    /// Counts a task about to be spawned. Callers check `is_stopping` under
    /// the lock that shutdown also takes, so no task slips past the count.
    pub(crate) fn task_started(&self) {
        self.tasks.fetch_add(1, SeqCst);
    }

    /// Counts a task about to be spawned unless the system is stopping; for
    /// work that no lock orders against shutdown (scheduled sends).
    pub(crate) fn try_task_started(&self) -> bool {
        self.task_started();
        if self.is_stopping() {
            self.task_finished();
            return false;
        }
        true
    }

    pub(crate) fn task_finished(&self) {
        if self.tasks.fetch_sub(1, SeqCst) == 1 && self.is_stopping() {
            self.changed.notify(usize::MAX);
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.is_stopping() && self.tasks.load(SeqCst) == 0
    }

    /// Completes once the system has stopped.
    pub(crate) async fn stopped(&self) {
        while !self.is_stopped() {
            let listener = self.changed.listen();
            if self.is_stopped() {
                return;
            }
            listener.await;
        }
    }

    /// Blocks the thread until the system has stopped.
    pub(crate) fn wait_until_stopped(&self) {
        while !self.is_stopped() {
            let listener = self.changed.listen();
            if self.is_stopped() {
                return;
            }
            listener.wait();
        }
    }

    /// Sleeps for `duration`; false if the system began stopping meanwhile.
    pub(crate) async fn sleep_unless_stopping(&self, duration: Duration) -> bool {
        let stopping = async {
            while !self.is_stopping() {
                let listener = self.changed.listen();
                if self.is_stopping() {
                    break;
                }
                listener.await;
            }
            false
        };
        future::or(stopping, async {
            runtime::sleep(duration).await;
            true
        })
        .await
    }
}
