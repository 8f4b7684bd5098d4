//! The worker pool's sleep and wake-up, copied from `src/runtime/executor.rs`
//! (`Shared::push_shared`, `wake_one`, `search`, `sleep`, `update_sleepers`
//! and `Parker`): a task pushed while every worker goes to sleep is always
//! run, never left in a queue with every worker asleep.
//!
//! The pusher pushes, then (a `SeqCst` fence) reads how many workers sleep
//! and whether one searches; a worker going to sleep registers, then (a
//! `SeqCst` fence) looks at the queues once more. The two fences order the
//! two sides: either the pusher sees the sleeper, and wakes it, or the
//! sleeper sees the task. A worker that searches makes the pusher wake no
//! one, since it will look again before it sleeps. The queues are one count
//! here; which queue a task is in does not change the protocol.

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst, fence};
use loom::thread;

use super::support::{Parker, check};

const WORKERS: usize = 2;

struct Pool {
    /// The tasks in the queues.
    queued: AtomicUsize,
    /// Indices of the workers asleep or about to be.
    sleepers: Mutex<Vec<usize>>,
    /// `sleepers.len()`, read without the lock by every push.
    sleeping: AtomicUsize,
    /// Workers looking for work before they sleep.
    searching: AtomicUsize,
    parkers: Vec<Parker>,
    /// Tasks run so far.
    ran: AtomicUsize,
    /// The system stopped: set, and every worker unparked, once the task
    /// ran (the pool's `wake_all_after`), so that the model ends.
    done: AtomicBool,
    /// The ordering under check: the sleeper's fence between registering
    /// and its last look. False in the weakened twin.
    sleeper_fence: bool,
}

impl Pool {
    fn new(sleeper_fence: bool) -> Pool {
        Pool {
            queued: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::new()),
            sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            parkers: (0..WORKERS).map(|_| Parker::default()).collect(),
            ran: AtomicUsize::new(0),
            done: AtomicBool::new(false),
            sleeper_fence,
        }
    }

    /// `Shared::push_shared`: a task from outside the pool.
    fn push(&self) {
        self.queued.fetch_add(1, SeqCst);
        self.wake_one();
    }

    /// `Shared::wake_one`.
    fn wake_one(&self) {
        fence(SeqCst);
        if self.sleeping.load(SeqCst) == 0 || self.searching.load(SeqCst) > 0 {
            return;
        }
        if let Some(index) = self.update_sleepers(Vec::pop) {
            self.parkers[index].unpark();
        }
    }

    /// `Shared::find`: takes a task if there is one.
    fn pop(&self) -> bool {
        let mut queued = self.queued.load(SeqCst);
        while queued > 0 {
            match self
                .queued
                .compare_exchange(queued, queued - 1, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(now) => queued = now,
            }
        }
        false
    }

    /// `Shared::search`, with one round.
    fn search(&self) -> bool {
        self.searching.fetch_add(1, SeqCst);
        let found = self.pop();
        self.searching.fetch_sub(1, SeqCst);
        found
    }

    /// `Shared::sleep`, for a worker that watches nothing.
    fn sleep(&self, index: usize) {
        self.update_sleepers(|sleepers| sleepers.push(index));
        if self.sleeper_fence {
            fence(SeqCst);
        }
        if self.queued.load(SeqCst) > 0 || self.done.load(SeqCst) {
            self.update_sleepers(|sleepers| sleepers.retain(|&sleeper| sleeper != index));
            return;
        }
        self.parkers[index].park();
        self.update_sleepers(|sleepers| sleepers.retain(|&sleeper| sleeper != index));
    }

    /// `Shared::update_sleepers`.
    fn update_sleepers<T>(&self, change: impl FnOnce(&mut Vec<usize>) -> T) -> T {
        let mut sleepers = self.sleepers.lock().unwrap();
        let result = change(&mut sleepers);
        self.sleeping.store(sleepers.len(), SeqCst);
        result
    }

    /// `Shared::run`: runs tasks until done.
    fn work(&self, index: usize) {
        loop {
            if self.pop() || self.search() {
                self.ran.fetch_add(1, SeqCst);
                self.done.store(true, SeqCst);
                for parker in &self.parkers {
                    parker.unpark();
                }
                continue;
            }
            if self.done.load(SeqCst) {
                return;
            }
            self.sleep(index);
        }
    }
}

/// Two workers start with nothing to do while a task arrives from outside:
/// whatever the interleaving, it runs (a lost wake-up leaves every thread
/// parked, which loom reports as a deadlock).
fn pushed_while_workers_sleep(sleeper_fence: bool) {
    check(move || {
        // Leaked, as everything a model shares: when loom finds a failing
        // interleaving it unwinds every thread, and dropping loom's objects
        // then would panic again and abort the test.
        let pool: &'static Pool = Box::leak(Box::new(Pool::new(sleeper_fence)));
        let workers: Vec<_> = (0..WORKERS)
            .map(|index| thread::spawn(move || pool.work(index)))
            .collect();
        pool.push();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(pool.ran.load(SeqCst), 1);
    });
}

#[test]
fn a_task_pushed_while_every_worker_goes_to_sleep_runs() {
    pushed_while_workers_sleep(true);
}

#[test]
#[should_panic(expected = "deadlock")]
fn without_the_sleepers_fence_a_wake_up_is_lost() {
    pushed_while_workers_sleep(false);
}
