//! Call timeouts without a timer per call.
//!
//! Every call has a deadline, and most calls are answered long before it.
//! Arming a runtime timer per call would cost a system call and a wake-up of
//! the reactor each time. Instead, a call that must wait writes its deadline
//! and waker into a slot of a table (an index into a vector, under the lock
//! of one of a few shards, chosen per thread so that threads seldom meet),
//! and frees the slot when it ends. One sweeper task per system sleeps until
//! the earliest deadline, scans the table and wakes the calls that are due.
//! It is told only when a deadline earlier than the one it sleeps for
//! arrives, which with one default timeout is almost never.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use event_listener::Event;
use futures_lite::future;

use crate::padded::Padded;
use crate::runtime;
use crate::spin_lock::{SpinLock, SpinLockGuard};
use crate::system::System;
use crate::system::clock;
use crate::system::lifecycle::Lifecycle;
use crate::system::tasks::context::TaskContext;

/// Enough for the threads of a small machine to each have their own.
const SHARDS: usize = 8;

pub(crate) struct Deadlines {
    /// Each on lines of its own: threads write their shards at once. Spin
    /// locks (see `spin_lock.rs`): a shard is its threads' but while the
    /// sweeper scans it, and every call that waits takes its lock twice, to
    /// register and to forget (peers, alternated runs against the standard
    /// mutex: ask_one +2-3 %, ask_concurrent +2 %).
    shards: [Padded<SpinLock<Shard>>; SHARDS],
    /// The [`clock`] stamp the sweeper sleeps until; `u64::MAX` while it scans,
    /// sleeps until told, or runs not (a new deadline then tells it).
    sweeper_wakes_at: AtomicU64,
    sweeper_started: AtomicBool,
    /// Tells the sweeper that a deadline earlier than its wake-up arrived.
    earlier: Event,
}

#[derive(Default)]
struct Shard {
    /// A waiting call's deadline, and its waker until the sweeper wakes it.
    /// A slot is freed only by its call, so a key is never reused early.
    /// Deadlines are [`clock`] stamps.
    slots: Vec<Option<(u64, Option<Waker>)>>,
    free: Vec<usize>,
}

/// Where a waiting call's deadline is: shard and slot.
type Key = (usize, usize);

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            shards: Default::default(),
            sweeper_wakes_at: AtomicU64::new(u64::MAX),
            sweeper_started: AtomicBool::new(false),
            earlier: Event::new(),
        }
    }
}

/// The shard of the current thread, assigned round-robin on first use.
fn own_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<Option<usize>> = const { Cell::new(None) };
    }
    SHARD.with(|shard| match shard.get() {
        Some(own) => own,
        None => {
            let own = NEXT.fetch_add(1, SeqCst) % SHARDS;
            shard.set(Some(own));
            own
        }
    })
}

impl Deadlines {
    fn shard(&self, index: usize) -> SpinLockGuard<'_, Shard> {
        self.shards[index].lock()
    }

    /// Records that the task of `waker` waits until `at`; returns the key
    /// that [`Deadlines::forget`] takes. Starts the sweeper if none runs.
    fn wait(&self, system: &Arc<System>, at: u64, waker: &Waker) -> Key {
        let shard_index = own_shard();
        // Cloned before the lock is taken: a clone is an atomic write.
        let entry = Some((at, Some(waker.clone())));
        let slot = {
            let mut shard = self.shard(shard_index);
            match shard.free.pop() {
                Some(slot) => {
                    shard.slots[slot] = entry;
                    slot
                }
                None => {
                    shard.slots.push(entry);
                    shard.slots.len() - 1
                }
            }
        };
        // Read after the insert: a sweeper that ends clears the flag before
        // its last look, so either it sees this deadline or this sees the
        // flag cleared (the shard lock and sequential consistency order the
        // two).
        if !self.sweeper_started.load(SeqCst) && !self.sweeper_started.swap(true, SeqCst) {
            // During shutdown, only for the calls of handlers still running,
            // which keep their timeouts.
            if system.count_task_for_caller() {
                let sweeper = sweep(Arc::downgrade(system), system.lifecycle.clone());
                system.spawn_counted(TaskContext::default(), sweeper);
            } else {
                self.sweeper_started.store(false, SeqCst);
            }
        } else if at < self.sweeper_wakes_at.load(SeqCst) {
            self.earlier.notify(1);
        }
        (shard_index, slot)
    }

    /// Replaces the waker of a waiting call, unless it would wake the same
    /// task.
    fn rewake(&self, (shard, slot): Key, waker: &Waker) {
        let replaced = match &mut self.shard(shard).slots[slot] {
            Some((_, Some(current))) if !current.will_wake(waker) => {
                Some(std::mem::replace(current, waker.clone()))
            }
            _ => None,
        };
        // Dropped outside the lock, as `forget` does: dropping a task's last
        // waker drops the task, whose future may hold a call that forgets
        // its own deadline here.
        drop(replaced);
    }

    /// The call of `key` ended: it waits no more. During shutdown the
    /// sweeper is told, so that it can end once no call waits.
    fn forget(&self, (shard, slot): Key, lifecycle: &Lifecycle) {
        let mut shard = self.shard(shard);
        let entry = shard.slots[slot].take();
        shard.free.push(slot);
        drop(shard);
        // The waker is dropped outside the lock.
        drop(entry);
        // Read after the removal: a sweeper that saw this call waiting had
        // read `stopping` before its look, so if it saw it set, so does this.
        if lifecycle.is_stopping() {
            self.earlier.notify(1);
        }
    }

    /// How many calls wait with a deadline now (for statistics).
    pub(crate) fn waiting(&self) -> usize {
        (0..SHARDS)
            .map(|index| self.shard(index).slots.iter().flatten().count())
            .sum()
    }

    /// Takes the wakers of the calls due at `now`; returns them and the
    /// earliest deadline still ahead.
    fn due(&self, now: u64) -> (Vec<Waker>, Option<u64>) {
        let mut due = Vec::new();
        let mut next: Option<u64> = None;
        for index in 0..SHARDS {
            let mut shard = self.shard(index);
            for (at, waker) in shard.slots.iter_mut().flatten() {
                if *at <= now {
                    due.extend(waker.take());
                } else if waker.is_some() {
                    next = Some(next.map_or(*at, |next| next.min(*at)));
                }
            }
        }
        (due, next)
    }
}

/// Wakes due calls until the system has stopped and no call waits any
/// more, or the system is dropped. Counted by its starter, so shutdown
/// waits for it: calls still waiting then (on a handler that waits, through
/// another request, for them) keep their timeouts, which end them. Holds
/// the system only while it scans: a system whose handles are all gone is
/// dropped, which stops it.
async fn sweep(weak: Weak<System>, lifecycle: Arc<Lifecycle>) {
    loop {
        let Some(system) = weak.upgrade() else {
            return;
        };
        let deadlines = &system.deadlines;
        // Listening before looking: an earlier deadline registered after the
        // look is not missed.
        let earlier = deadlines.earlier.listen();
        // Read before looking: if the system was stopping by then, a call
        // that ends after the look sees it too and tells this sweeper (see
        // `forget`), so a deadline seen here never keeps it asleep for a
        // call that is over.
        let stopping = lifecycle.is_stopping();
        // While it scans, every new deadline tells it: one it has passed
        // would otherwise wait for its next wake-up.
        deadlines.sweeper_wakes_at.store(u64::MAX, SeqCst);
        let (due, next) = deadlines.due(clock::now());
        deadlines
            .sweeper_wakes_at
            .store(next.unwrap_or(u64::MAX), SeqCst);
        drop(system);
        for waker in due {
            waker.wake();
        }
        if stopping && next.is_none() {
            // Nothing waits: end, unless a call registered meanwhile (see
            // `Deadlines::wait` for the order of the flag and the look).
            let Some(system) = weak.upgrade() else {
                return;
            };
            system.deadlines.sweeper_started.store(false, SeqCst);
            let (due, next) = system.deadlines.due(clock::now());
            for waker in due {
                waker.wake();
            }
            if next.is_none() || system.deadlines.sweeper_started.swap(true, SeqCst) {
                return;
            }
            continue;
        }
        let sleep = next.map_or(Duration::MAX, |at| clock::until(at, clock::now()));
        if stopping {
            // Each call that ends now tells it (see `forget`).
            future::or(runtime::sleep(sleep), earlier).await;
        } else {
            let sleeping = async {
                lifecycle.sleep_unless_stopping(sleep).await;
            };
            future::or(sleeping, earlier).await;
        }
    }
}

/// Completes `timeout` after it is first polled; the timeout side of a
/// call. Its clock starts at the first poll rather than when it is made:
/// both happen in the same poll of the call (see `System::call`), and the
/// clock is then read once instead of twice. That reading is the coarse
/// [`clock::now_or_later`]: every call that waits takes it, and a timeout
/// a few milliseconds late is fine where an early one is not.
pub(crate) struct Expiry<'a> {
    system: &'a Arc<System>,
    timeout: Duration,
    /// From the first poll: the [`clock`] stamp when it completes (`None`:
    /// never).
    at: Option<Option<u64>>,
    /// Once registered: where its deadline and waker are in the table. The
    /// table keeps the only copy of the waker.
    key: Option<Key>,
}

impl<'a> Expiry<'a> {
    /// Completes `timeout` after its first poll.
    pub(crate) fn after(system: &'a Arc<System>, timeout: Duration) -> Self {
        Expiry {
            system,
            timeout,
            at: None,
            key: None,
        }
    }
}

impl Future for Expiry<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let system = self.system;
        let at = match self.at {
            None => {
                let at = clock::after(clock::now_or_later(), self.timeout);
                self.at = Some(at);
                if self.timeout.is_zero() {
                    return Poll::Ready(());
                }
                match at {
                    Some(at) => at,
                    None => return Poll::Pending,
                }
            }
            Some(None) => return Poll::Pending,
            Some(Some(at)) => {
                if clock::now() >= at {
                    return Poll::Ready(());
                }
                at
            }
        };
        match self.key {
            Some(key) => system.deadlines.rewake(key, cx.waker()),
            None => self.key = Some(system.deadlines.wait(system, at, cx.waker())),
        }
        Poll::Pending
    }
}

impl Drop for Expiry<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let system = self.system;
            system.deadlines.forget(key, &system.lifecycle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    /// A system that has spawned nothing yet, and its stop.
    fn with_system(test: impl FnOnce(&Arc<System>)) {
        let acteur = crate::Acteur::new();
        test(acteur.system());
        acteur.stop();
        acteur.wait_until_stopped();
    }

    /// An expiry of `timeout`, polled once: still pending.
    fn pending(system: &Arc<System>, timeout: Duration) -> Pin<Box<Expiry<'_>>> {
        let mut expiry = Box::pin(Expiry::after(system, timeout));
        assert_eq!(block_on(poll_once(expiry.as_mut())), None);
        expiry
    }

    #[test]
    fn a_zero_timeout_expires_at_once_without_a_sweeper() {
        with_system(|system| {
            let mut expiry = Box::pin(Expiry::after(system, Duration::ZERO));
            assert_eq!(block_on(poll_once(expiry.as_mut())), Some(()));
            assert!(!system.deadlines.sweeper_started.load(SeqCst));
            assert_eq!(system.deadlines.waiting(), 0);
        });
    }

    #[test]
    fn a_timeout_beyond_the_clock_never_expires_and_is_not_recorded() {
        with_system(|system| {
            let _never = pending(system, Duration::MAX);
            assert_eq!(system.deadlines.waiting(), 0);
        });
    }

    #[test]
    fn a_waiting_call_is_counted_until_it_ends() {
        with_system(|system| {
            let mut expiry = pending(system, Duration::from_secs(3600));
            // Polled again (its waker unchanged): still one entry.
            assert_eq!(block_on(poll_once(expiry.as_mut())), None);
            assert_eq!(system.deadlines.waiting(), 1);
            drop(expiry);
            assert_eq!(system.deadlines.waiting(), 0);
        });
    }

    #[test]
    fn an_earlier_deadline_wakes_a_sweeper_asleep_until_a_later_one() {
        with_system(|system| {
            let _late = pending(system, Duration::from_secs(3600));
            // The sweeper now sleeps for an hour; this must not wait for it.
            block_on(Expiry::after(system, Duration::from_millis(5)));
            assert_eq!(system.deadlines.waiting(), 1);
        });
    }

    #[test]
    fn the_sweeper_ends_with_the_system_once_no_call_waits() {
        let acteur = crate::Acteur::new();
        let system = acteur.system().clone();
        block_on(Expiry::after(&system, Duration::from_millis(1)));
        assert!(system.deadlines.sweeper_started.load(SeqCst));
        acteur.stop();
        // Shutdown waits for the sweeper, a counted task: it has ended.
        acteur.wait_until_stopped();
        assert!(!system.deadlines.sweeper_started.load(SeqCst));
    }
}
