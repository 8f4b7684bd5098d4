//! A worker's held tasks and the workers that watch them, copied from
//! `src/runtime/executor.rs` (`Shared::schedule`'s held path, the
//! `watchers` count, `Shared::sleep`'s choice between watching and
//! sleeping until woken, and the take-over of a stuck worker's tasks).
//!
//! A held task (the next slot, a lingering task) can be run only by its
//! worker, unless that worker is stuck in a task that never yields; then a
//! watching worker takes it over. So whenever a worker holds tasks, some
//! sleeping worker must watch, or be woken to. The holder, after putting a
//! task in, fences and looks at the watchers, and wakes a sleeper if none
//! watches; a sleeper registers, fences, and watches if it sees a held
//! task, else sleeps until woken. A task that lingers skips that look when
//! its worker held tasks already: the look made when the count left 0
//! still holds.
//!
//! Here the holder puts two tasks in, the second while holding the first
//! (the skipped look), and then is stuck for good. The other worker must
//! end up taking both over. The weakened twin skips the look for the first
//! task too, as if the count had not been 0: the sleeper can see no held
//! task, sleep, and never be woken (loom reports the deadlock).

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed, Ordering::SeqCst, fence};
use loom::thread;

use super::support::{Parker, check};

struct Pool {
    /// The holder's held tasks (`WorkerShared::held`).
    held: Mutex<usize>,
    /// Their count, published under the lock, read without it
    /// (`WorkerShared::held_count`).
    held_count: AtomicUsize,
    /// Sleepers that watch (`Shared::watchers`).
    watchers: AtomicUsize,
    /// Sleepers, watching or not (`Shared::sleeping`, one sleeper here).
    sleeping: AtomicUsize,
    parker: Parker,
    /// Held tasks the other worker took over.
    taken: AtomicUsize,
    /// The ordering under check: the look made when the held count leaves
    /// 0. False in the weakened twin.
    look_when_leaving_zero: bool,
}

impl Pool {
    /// `Shared::schedule` for a task that lingers on the holder.
    fn hold(&self) {
        let held_none = {
            let mut held = self.held.lock().unwrap();
            let none = *held == 0;
            *held += 1;
            self.held_count.store(*held, Relaxed);
            none
        };
        if !held_none || !self.look_when_leaving_zero {
            return;
        }
        fence(SeqCst);
        if self.watchers.load(SeqCst) == 0 {
            self.wake_one();
        }
    }

    /// `Shared::wake_one`.
    fn wake_one(&self) {
        fence(SeqCst);
        if self.sleeping.load(SeqCst) > 0 {
            self.parker.unpark();
        }
    }

    /// `Shared::sleep` for the other worker, with no naps before it stops
    /// watching (`WATCH_ROUNDS` of 0: the hardest case), until it took
    /// every held task over.
    fn other_worker(&self) {
        while self.taken.load(SeqCst) < 2 {
            self.sleeping.fetch_add(1, SeqCst);
            fence(SeqCst);
            if self.held_count.load(Relaxed) > 0 {
                // A watcher: it naps (the holder never runs again, so it is
                // stuck once the nap ends), then takes the held tasks over.
                self.watchers.fetch_add(1, SeqCst);
                self.watchers.fetch_sub(1, SeqCst);
                let mut held = self.held.lock().unwrap();
                self.taken.fetch_add(*held, SeqCst);
                *held = 0;
                self.held_count.store(0, Relaxed);
            } else {
                self.parker.park();
            }
            self.sleeping.fetch_sub(1, SeqCst);
        }
    }
}

fn held_while_the_other_worker_sleeps(look_when_leaving_zero: bool) {
    check(move || {
        // Leaked, as everything a model shares (see `worker_sleep.rs`).
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            held: Mutex::new(0),
            held_count: AtomicUsize::new(0),
            watchers: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            parker: Parker::default(),
            taken: AtomicUsize::new(0),
            look_when_leaving_zero,
        }));
        let other = thread::spawn(move || pool.other_worker());
        // The holder: a task lingers, then another while the first is
        // held; then it is stuck in a task that never yields.
        pool.hold();
        pool.hold();
        other.join().unwrap();
        assert_eq!(pool.taken.load(SeqCst), 2);
    });
}

#[test]
fn held_tasks_of_a_stuck_worker_are_taken_over() {
    held_while_the_other_worker_sleeps(true);
}

#[test]
#[should_panic(expected = "deadlock")]
fn without_the_look_when_the_count_leaves_zero_held_tasks_are_left() {
    held_while_the_other_worker_sleeps(false);
}
