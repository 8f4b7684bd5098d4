//! Where a system is in its life (running, or one of the phases of its
//! shutdown), and the count of its tasks that shutdown waits for.
//!
//! Shutdown runs in phases (see `shutdown.rs`): actors drain and deactivate
//! while services still serve the code running inside the system, then
//! services drain and get their `shutdown` hook, then the system is
//! stopped. Past the shutdown deadline, what is left is abandoned.

pub(crate) mod shutdown;
mod task_count;

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::time::Duration;

use event_listener::{Event, Listener};
use futures_lite::future;

use crate::padded::Padded;
use crate::runtime;
use task_count::TaskCount;

/// The phases, in the only order they are ever entered.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub(crate) enum Phase {
    Running,
    /// `stop` was called: nothing from outside is accepted; queued actor
    /// messages are handled, then every activation is deactivated, while
    /// services serve the code running inside the system.
    DrainingActors,
    /// No activation is left: services drain and get `shutdown`.
    DrainingServices,
    /// The shutdown deadline passed: what is left is dropped.
    Abandoning,
    /// `stopped` has returned, or will at once.
    Stopped,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Running,
        Phase::DrainingActors,
        Phase::DrainingServices,
        Phase::Abandoning,
        Phase::Stopped,
    ];
}

/// Every spawned task is counted from before it is spawned until it ends;
/// shutdown moves from one phase to the next when none is left.
pub(crate) struct Lifecycle {
    /// A [`Phase`]; read by every send. On lines of its own: the reference
    /// count of the lifecycle, which every task spawn and end writes, sits
    /// just before it (and the shards of `tasks` are padded too), so that
    /// these writes do not make the senders' reads miss.
    phase: Padded<AtomicU8>,
    /// Written by every task spawn and end, in a shard of the writing
    /// thread's own (`task_count.rs`).
    tasks: TaskCount,
    /// Told on every change of phase, and when the task count falls to
    /// zero during shutdown.
    changed: Event,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            phase: Padded(AtomicU8::new(Phase::Running as u8)),
            tasks: TaskCount::default(),
            changed: Event::new(),
        }
    }
}

impl Lifecycle {
    pub(crate) fn phase(&self) -> Phase {
        Phase::ALL[usize::from(self.phase.load(SeqCst))]
    }

    /// True from the moment `stop` is called (or the system is dropped).
    #[inline]
    pub(crate) fn is_stopping(&self) -> bool {
        self.phase.load(SeqCst) != Phase::Running as u8
    }

    /// True once the shutdown deadline has passed (or the system stopped).
    #[inline]
    pub(crate) fn is_abandoning(&self) -> bool {
        self.phase.load(SeqCst) >= Phase::Abandoning as u8
    }

    /// Begins shutdown; true for the one caller that did it.
    pub(crate) fn begin_stop(&self) -> bool {
        let first = self
            .phase
            .compare_exchange(
                Phase::Running as u8,
                Phase::DrainingActors as u8,
                SeqCst,
                SeqCst,
            )
            .is_ok();
        self.changed.notify(usize::MAX);
        first
    }

    /// Moves on to `phase`, unless the system is past it already.
    pub(crate) fn enter(&self, phase: Phase) {
        self.phase.fetch_max(phase as u8, SeqCst);
        self.changed.notify(usize::MAX);
    }

    /// Counts a task about to be spawned. Callers check the phase under the
    /// lock that shutdown also takes, so no task slips past the count.
    pub(crate) fn task_started(&self) {
        self.tasks.started();
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

    /// A counted task ended. During shutdown, the end that leaves none
    /// tells the waiting shutdown: each end counts the live tasks then (the
    /// count is sharded, so no end knows from its own write that it was the
    /// last), and of the last ends, the latest in the `SeqCst` order sees
    /// every other's, and zero. Read after the count is written, so either
    /// this sees the system stopping, or shutdown, which reads the count
    /// after it began, sees this end. Outside shutdown, one load.
    pub(crate) fn task_finished(&self) {
        self.tasks.finished();
        if self.is_stopping() && self.tasks.live() == 0 {
            self.changed.notify(usize::MAX);
        }
    }

    /// How many counted tasks are alive (at least as many as at some moment
    /// of the call; see `task_count.rs`).
    pub(crate) fn tasks(&self) -> usize {
        self.tasks.live()
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.phase() == Phase::Stopped
    }

    /// Waits on `changed` until `done` holds.
    async fn until(&self, done: impl Fn(&Self) -> bool) {
        while !done(self) {
            let listener = self.changed.listen();
            if done(self) {
                return;
            }
            listener.await;
        }
    }

    /// Completes once no counted task is left; during shutdown, when no task
    /// is left, none can start but from the shutdown itself.
    pub(crate) async fn quiescent(&self) {
        self.until(|lifecycle| lifecycle.tasks() == 0).await;
    }

    /// Completes once the system has stopped.
    pub(crate) async fn stopped(&self) {
        self.until(Lifecycle::is_stopped).await;
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
            self.until(Lifecycle::is_stopping).await;
            false
        };
        future::or(stopping, async {
            runtime::sleep(duration).await;
            true
        })
        .await
    }

    /// Completes once the system began stopping.
    pub(crate) async fn stopping(&self) {
        self.until(Lifecycle::is_stopping).await;
    }

    /// `work`'s output; if it starts during shutdown, `None` should the
    /// shutdown deadline pass first. For user code: outside shutdown it is
    /// only awaited, and during shutdown, as [`Lifecycle::unless_abandoned`].
    pub(crate) async fn within_shutdown_deadline<F: Future>(&self, work: F) -> Option<F::Output> {
        if self.is_stopping() {
            self.unless_abandoned(work).await
        } else {
            Some(work.await)
        }
    }

    /// `work`'s output, or `None` if the shutdown deadline passes first
    /// (then `work` is dropped where it stands). For the user code that runs
    /// during shutdown, so that one that never ends cannot hold it forever.
    pub(crate) async fn unless_abandoned<F: Future>(&self, work: F) -> Option<F::Output> {
        future::or(async { Some(work.await) }, async {
            self.until(Lifecycle::is_abandoning).await;
            None
        })
        .await
    }
}

impl runtime::StopSignal for Lifecycle {
    fn is_stopped(&self) -> bool {
        Lifecycle::is_stopped(self)
    }

    fn stopped(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(Lifecycle::stopped(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_only_move_forward() {
        let lifecycle = Lifecycle::default();
        assert_eq!(lifecycle.phase(), Phase::Running);
        assert!(lifecycle.begin_stop());
        assert!(!lifecycle.begin_stop());
        lifecycle.enter(Phase::Abandoning);
        lifecycle.enter(Phase::DrainingServices);
        assert_eq!(lifecycle.phase(), Phase::Abandoning);
        assert!(lifecycle.is_abandoning() && !lifecycle.is_stopped());
        lifecycle.enter(Phase::Stopped);
        assert!(lifecycle.is_stopped());
    }

    #[test]
    fn quiescent_waits_for_the_last_task() {
        let lifecycle = Lifecycle::default();
        lifecycle.task_started();
        lifecycle.begin_stop();
        let mut waiting = Box::pin(lifecycle.quiescent());
        assert!(future::block_on(future::poll_once(waiting.as_mut())).is_none());
        lifecycle.task_finished();
        future::block_on(waiting);
    }

    #[test]
    fn work_is_dropped_once_abandoning() {
        let lifecycle = Lifecycle::default();
        let mut work = Box::pin(lifecycle.unless_abandoned(future::pending::<()>()));
        assert!(future::block_on(future::poll_once(work.as_mut())).is_none());
        lifecycle.enter(Phase::Abandoning);
        assert_eq!(future::block_on(work), None);
    }

    #[test]
    fn a_task_without_a_lock_is_refused_once_stopping() {
        let lifecycle = Lifecycle::default();
        assert!(lifecycle.try_task_started());
        lifecycle.begin_stop();
        assert!(!lifecycle.try_task_started());
        // The refused one was not left counted.
        assert_eq!(lifecycle.tasks(), 1);
        lifecycle.task_finished();
        assert_eq!(lifecycle.tasks(), 0);
    }

    #[test]
    fn quiescent_during_shutdown_is_told_by_the_last_task_to_end() {
        // The task ends on another thread while shutdown waits: the end of
        // the last task must wake it (`task_finished` notifies only then).
        let lifecycle = std::sync::Arc::new(Lifecycle::default());
        lifecycle.task_started();
        lifecycle.task_started();
        lifecycle.begin_stop();
        let ending = lifecycle.clone();
        let worker = std::thread::spawn(move || {
            ending.task_finished();
            ending.task_finished();
        });
        future::block_on(lifecycle.quiescent());
        worker.join().unwrap();
        assert_eq!(lifecycle.tasks(), 0);
    }

    #[test]
    fn stopped_completes_and_wait_until_stopped_returns_once_stopped() {
        let lifecycle = std::sync::Arc::new(Lifecycle::default());
        let mut stopped = Box::pin(lifecycle.stopped());
        assert!(future::block_on(future::poll_once(stopped.as_mut())).is_none());
        let stopper = lifecycle.clone();
        let worker = std::thread::spawn(move || {
            stopper.begin_stop();
            stopper.enter(Phase::Stopped);
        });
        lifecycle.wait_until_stopped();
        future::block_on(stopped);
        worker.join().unwrap();
        // And at once, when called again.
        lifecycle.wait_until_stopped();
    }

    #[test]
    fn user_code_outside_shutdown_is_never_cut_short() {
        let lifecycle = Lifecycle::default();
        let work = lifecycle.within_shutdown_deadline(async {
            lifecycle.enter(Phase::Abandoning);
            7
        });
        // Begun while running: the deadline does not apply to it.
        assert_eq!(future::block_on(work), Some(7));
        // Begun past the deadline, work that has to wait is dropped.
        let late = lifecycle.within_shutdown_deadline(future::pending::<u8>());
        assert_eq!(future::block_on(late), None);
    }
}
