//! A system's lifecycle against a send racing with `stop`, copied from
//! `src/system/lifecycle/mod.rs` (`Lifecycle::begin_stop`, `task_started`,
//! `task_finished`, `quiescent`, `enter`), `src/system/actors/slot.rs`
//! (`Slot::push`, `wake_for_shutdown`) and `src/system/lifecycle/shutdown.rs`
//! (`run`): the system is never reported stopped while a counted task can
//! still start, and a message is handled or refused, never lost.
//!
//! A send checks the phase and counts its drain task under the slot lock;
//! `stop` sets the phase, then takes every slot's lock (to wake what it
//! holds for a last drain), then waits for the task count to fall to zero
//! before it reports the system stopped. Taking the lock after setting the
//! phase is what orders the two: a send that took the lock first has
//! counted its task by then, and one that takes it after sees the phase.
//!
//! The task count and the phase are read and written `SeqCst`, and the
//! crate relies on their single total order: a task that ends reads the
//! phase after its decrement, and the waiting shutdown reads the count
//! after it set the phase, so one of them sees the other. Loom models a
//! `SeqCst` load as an `Acquire` one (tokio-rs/loom#180), so the model puts
//! a `SeqCst` fence between each write and the read after it, the form of
//! that guarantee loom checks.

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst, fence};
use loom::thread::{self, JoinHandle};

use super::support::{Event, check};

const RUNNING: u8 = 0;
const DRAINING: u8 = 1;
const STOPPED: u8 = 2;

/// `Lifecycle`, with the phases this model goes through.
struct Lifecycle {
    phase: AtomicU8,
    tasks: AtomicUsize,
    changed: Event,
}

impl Lifecycle {
    fn is_stopping(&self) -> bool {
        self.phase.load(SeqCst) != RUNNING
    }

    fn begin_stop(&self) {
        let _ = self
            .phase
            .compare_exchange(RUNNING, DRAINING, SeqCst, SeqCst);
        self.changed.notify_all();
    }

    fn enter(&self, phase: u8) {
        self.phase.fetch_max(phase, SeqCst);
        self.changed.notify_all();
    }

    fn task_started(&self) {
        self.tasks.fetch_add(1, SeqCst);
    }

    /// The crate's count is sharded (`lifecycle/task_count.rs`, modelled in
    /// `task_count.rs` here): an end counts the live tasks after its write,
    /// which one counter's `fetch_sub` gives here.
    fn task_finished(&self) {
        let was = self.tasks.fetch_sub(1, SeqCst);
        fence(SeqCst);
        if was == 1 && self.is_stopping() {
            self.changed.notify_all();
        }
    }

    /// `Lifecycle::quiescent` (`until` with the task count).
    fn quiescent(&self) {
        fence(SeqCst);
        while self.tasks.load(SeqCst) != 0 {
            let listener = self.changed.listen();
            if self.tasks.load(SeqCst) == 0 {
                return;
            }
            self.changed.wait(listener);
        }
    }
}

#[derive(Default)]
struct SlotState {
    queue: usize,
    scheduled: bool,
}

struct System {
    lifecycle: Lifecycle,
    slot: Mutex<SlotState>,
    handled: AtomicUsize,
    refused: AtomicBool,
    drains: Mutex<Vec<JoinHandle<()>>>,
    /// The ordering under check: the send reads the phase under the slot
    /// lock. False in the weakened twin, which reads it before the lock.
    phase_read_under_the_lock: bool,
}

impl System {
    /// `Slot::push` from outside the system, and the spawn that follows.
    fn send(&'static self) {
        let stopping_before = !self.phase_read_under_the_lock && self.lifecycle.is_stopping();
        let mut slot = self.slot.lock().unwrap();
        let stopping = if self.phase_read_under_the_lock {
            self.lifecycle.is_stopping()
        } else {
            stopping_before
        };
        if stopping {
            self.refused.store(true, SeqCst);
            return;
        }
        slot.queue += 1;
        if !slot.scheduled {
            slot.scheduled = true;
            self.lifecycle.task_started();
            drop(slot);
            self.spawn_drain();
        }
    }

    /// `Slot::wake_for_shutdown`, for the one slot.
    fn wake_for_shutdown(&'static self) {
        let mut slot = self.slot.lock().unwrap();
        if slot.queue > 0 && !slot.scheduled {
            slot.scheduled = true;
            self.lifecycle.task_started();
            drop(slot);
            self.spawn_drain();
        }
    }

    fn spawn_drain(&'static self) {
        let drain = thread::spawn(move || self.drain());
        self.drains.lock().unwrap().push(drain);
    }

    /// A counted task: handles what is queued, then ends.
    fn drain(&self) {
        assert_ne!(
            self.lifecycle.phase.load(SeqCst),
            STOPPED,
            "a counted task started after the system was reported stopped"
        );
        let mut slot = self.slot.lock().unwrap();
        let taken = std::mem::take(&mut slot.queue);
        slot.scheduled = false;
        drop(slot);
        self.handled.fetch_add(taken, SeqCst);
        self.lifecycle.task_finished();
    }

    /// `Acteur::stop` and the shutdown task (`shutdown::run`), for a
    /// system of one actor slot and no service.
    fn stop(&'static self) {
        self.lifecycle.begin_stop();
        self.wake_for_shutdown();
        self.lifecycle.quiescent();
        self.lifecycle.enter(STOPPED);
    }
}

/// A send from outside races with `stop`: whatever the interleaving, no
/// counted task starts once the system is reported stopped, shutdown does
/// not hang, and the message is handled or refused.
fn send_racing_with_stop(phase_read_under_the_lock: bool) {
    check(move || {
        // Leaked (see `worker_sleep.rs`).
        let system: &'static System = Box::leak(Box::new(System {
            lifecycle: Lifecycle {
                phase: AtomicU8::new(RUNNING),
                tasks: AtomicUsize::new(0),
                changed: Event::default(),
            },
            slot: Mutex::new(SlotState::default()),
            handled: AtomicUsize::new(0),
            refused: AtomicBool::new(false),
            drains: Mutex::new(Vec::new()),
            phase_read_under_the_lock,
        }));
        let sender = thread::spawn(move || system.send());
        system.stop();
        sender.join().unwrap();
        let drains = std::mem::take(&mut *system.drains.lock().unwrap());
        for drain in drains {
            drain.join().unwrap();
        }
        let handled = system.handled.load(SeqCst);
        let refused = system.refused.load(SeqCst);
        assert!(
            handled == 1 && !refused || handled == 0 && refused,
            "handled {handled}, refused {refused}"
        );
    });
}

#[test]
fn never_stopped_while_a_counted_task_can_start() {
    send_racing_with_stop(true);
}

#[test]
#[should_panic(expected = "after the system was reported stopped")]
fn with_the_phase_read_before_the_lock_a_task_starts_after_stop() {
    send_racing_with_stop(false);
}
