//! The lock of the state that every message touches: a slot's, a worker's
//! held tasks, a call's answer.
//!
//! These locks are held for a few dozen instructions, never while user
//! code runs, and are almost never contended (a worker's held tasks are its
//! own but when another takes them over; a slot's lock is shared by its
//! senders and its drain task). What they cost is their atomic
//! instructions: the standard mutex locks with a compare-and-swap and
//! unlocks with a swap (to learn whether a thread sleeps on it), each a
//! full barrier of a few dozen cycles. A spin lock unlocks with a plain
//! store, so a lock and unlock cost one such instruction instead of two;
//! on the hot paths (a message between two actors takes the slot lock
//! twice and the worker's once) perf put a fifth to a third of those
//! functions' time on the unlocking swap.
//!
//! A thread that finds the lock taken spins; should the holder have been
//! preempted (more threads than cores), spinning would only burn the time
//! the holder needs, so the waiter yields its thread now and then. The one
//! long stretch under such a lock is rare: when senders wait for room in a
//! full mailbox, the drain task tells them under the slot's lock, and a
//! wake-up may then wake a sleeping worker, a system call.

use std::cell::Cell;

/// A mutex that spins while it waits; see the module documentation. It
/// does not poison: nothing under it panics halfway.
pub(crate) type SpinLock<T> = spin::mutex::SpinMutex<T, Backoff>;

/// The guard of a locked [`SpinLock`].
pub(crate) type SpinLockGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

/// Spins, but yields the thread every [`SPINS_BEFORE_YIELD`] turns.
pub(crate) struct Backoff;

/// Turns of a waiting loop between two yields: a few microseconds, far more
/// than a critical section here takes unless its holder lost its core.
const SPINS_BEFORE_YIELD: u32 = 128;

thread_local! {
    /// Turns spun by this thread since it last yielded.
    static SPINS: Cell<u32> = const { Cell::new(0) };
}

impl spin::RelaxStrategy for Backoff {
    #[inline]
    fn relax() {
        let spins = SPINS.get().wrapping_add(1);
        if spins >= SPINS_BEFORE_YIELD {
            SPINS.set(0);
            std::thread::yield_now();
        } else {
            SPINS.set(spins);
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SpinLock;

    #[test]
    fn threads_that_contend_lose_no_update() {
        let lock = Arc::new(SpinLock::new(0_u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a counting thread panicked");
        }
        assert_eq!(*lock.lock(), 40_000);
    }
}
