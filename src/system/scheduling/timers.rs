//! Scheduled messages without a task or a runtime timer each.
//!
//! A scheduled message is an entry in one heap per system, ordered by when
//! it is due. One sweeper task per system sleeps until the earliest entry,
//! delivers what is due and sleeps again; it is told when an entry earlier
//! than the one it sleeps for arrives. A pending timer thus costs its entry
//! (the message, the address, a handle to cancel it) and no thread, task or
//! reactor timer.
//!
//! A cancelled entry stays in the heap until it is due, when it is dropped
//! unsent; the heap is also cleared of cancelled entries whenever it has
//! doubled since it was last cleared, so that a program that schedules and
//! cancels a timeout per message does not grow it without bound.
//!
//! At shutdown the sweeper cancels every pending entry (counted in
//! `Statistics::scheduled_cancelled`) and ends; no entry is taken after.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use event_listener::Event;
use futures_lite::future;

use crate::Error;
use crate::system::System;
use crate::system::clock;
use crate::system::lifecycle::Lifecycle;
use crate::system::tasks::context::TaskContext;
use crate::timer::TimerShared;

/// What a due entry does: deliver its message, or at shutdown, give up.
pub(crate) trait Scheduled: Send {
    /// The timer this entry belongs to.
    fn timer(&self) -> &TimerShared;
    /// Whether it is an interval (whose end at shutdown cancels no message).
    fn repeats(&self) -> bool {
        false
    }
    /// Delivers the message, unless the timer was cancelled; an interval
    /// returns itself and its period, to be due again.
    fn deliver(self: Box<Self>, system: &Arc<System>) -> Option<(Duration, Box<dyn Scheduled>)>;
}

/// An entry taken from the heap, with the [`clock`] stamp it was due at.
type DueEntry = (u64, Box<dyn Scheduled>);

/// One pending message, ordered by when it is due, then by when it was
/// scheduled.
struct Entry {
    due: u64,
    order: u64,
    scheduled: Box<dyn Scheduled>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

#[derive(Default)]
struct Pending {
    heap: BinaryHeap<Reverse<Entry>>,
    next_order: u64,
    /// Cleared of cancelled entries when it reaches this size.
    clear_at: usize,
    /// The sweeper has cancelled everything at shutdown: nothing is taken.
    closed: bool,
}

/// The entries cancelled entries are cleared at least this often.
const CLEAR_AT_LEAST: usize = 1_024;

pub(crate) struct Timers {
    pending: Mutex<Pending>,
    /// The [`clock`] stamp the sweeper sleeps until; `u64::MAX` while it sweeps or
    /// sleeps until told.
    sweeper_wakes_at: AtomicU64,
    sweeper_started: AtomicBool,
    /// Tells the sweeper that an entry earlier than its wake-up arrived.
    earlier: Event,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            pending: Mutex::default(),
            sweeper_wakes_at: AtomicU64::new(u64::MAX),
            sweeper_started: AtomicBool::new(false),
            earlier: Event::new(),
        }
    }
}

impl Timers {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Schedules `scheduled` for `delay` from now.
    pub(crate) fn add(
        &self,
        system: &Arc<System>,
        delay: Duration,
        scheduled: Box<dyn Scheduled>,
    ) -> Result<(), Error> {
        self.start_sweeper(system)?;
        // Too far to represent: as good as never.
        let due = clock::after(clock::now(), delay).unwrap_or(u64::MAX);
        self.insert(due, scheduled)
    }

    /// Puts `scheduled` in the heap, due at the [`clock`] stamp `due`.
    fn insert(&self, due: u64, scheduled: Box<dyn Scheduled>) -> Result<(), Error> {
        {
            let mut pending = self.lock();
            if pending.closed {
                return Err(Error::Stopped);
            }
            if pending.heap.len() >= pending.clear_at {
                pending
                    .heap
                    .retain(|Reverse(entry)| !entry.scheduled.timer().is_cancelled());
                pending.clear_at = (pending.heap.len() * 2).max(CLEAR_AT_LEAST);
            }
            let order = pending.next_order;
            pending.next_order += 1;
            pending.heap.push(Reverse(Entry {
                due,
                order,
                scheduled,
            }));
        }
        if due < self.sweeper_wakes_at.load(SeqCst) {
            self.earlier.notify(1);
        }
        Ok(())
    }

    /// How many entries wait and were not cancelled.
    pub(crate) fn pending(&self) -> usize {
        let pending = self.lock();
        pending
            .heap
            .iter()
            .filter(|Reverse(entry)| !entry.scheduled.timer().is_cancelled())
            .count()
    }

    /// Starts the sweeper unless it runs; counted, so that shutdown waits for
    /// it to cancel what is pending.
    fn start_sweeper(&self, system: &Arc<System>) -> Result<(), Error> {
        if self.sweeper_started.load(SeqCst) || self.sweeper_started.swap(true, SeqCst) {
            return Ok(());
        }
        if !system.count_task_for_caller() {
            self.sweeper_started.store(false, SeqCst);
            return Err(Error::Stopped);
        }
        let sweeper = sweep(Arc::downgrade(system), system.lifecycle.clone());
        system.spawn_counted(TaskContext::default(), sweeper);
        Ok(())
    }

    /// Takes the entries due at `now`, each with when it was due, and the
    /// stamp of the next one.
    fn due(&self, now: u64) -> (Vec<DueEntry>, u64) {
        let mut pending = self.lock();
        let mut due = Vec::new();
        while pending
            .heap
            .peek()
            .is_some_and(|Reverse(entry)| entry.due <= now)
        {
            if let Some(Reverse(entry)) = pending.heap.pop() {
                due.push((entry.due, entry.scheduled));
            }
        }
        let next = pending
            .heap
            .peek()
            .map_or(u64::MAX, |Reverse(entry)| entry.due);
        (due, next)
    }

    /// At shutdown: takes every entry, and refuses new ones from now on.
    fn close(&self) -> Vec<Box<dyn Scheduled>> {
        let mut pending = self.lock();
        pending.closed = true;
        std::mem::take(&mut pending.heap)
            .into_iter()
            .map(|Reverse(entry)| entry.scheduled)
            .collect()
    }
}

/// Delivers due entries until the system stops (then cancels the rest) or
/// is dropped. Holds the system only while it delivers.
async fn sweep(weak: Weak<System>, lifecycle: Arc<Lifecycle>) {
    loop {
        let Some(system) = weak.upgrade() else {
            return;
        };
        let timers = &system.timers;
        // Listening before looking: an earlier entry added after the look
        // is not missed.
        let earlier = timers.earlier.listen();
        if lifecycle.is_stopping() {
            let cancelled = timers.close();
            for scheduled in cancelled {
                if scheduled.timer().cancel() && !scheduled.repeats() {
                    system.count_cancelled_schedule();
                }
            }
            return;
        }
        timers.sweeper_wakes_at.store(u64::MAX, SeqCst);
        let (due, next) = timers.due(clock::now());
        timers.sweeper_wakes_at.store(next, SeqCst);
        for (was_due, scheduled) in due {
            if let Some((every, again)) = scheduled.deliver(&system) {
                // Due again a period after it was due, not after now, so
                // that a late sweep does not shift every later tick; a tick
                // missed altogether is not made up.
                let every = u64::try_from(every.as_nanos()).unwrap_or(u64::MAX).max(1);
                let now = clock::now();
                let mut next_due = was_due.saturating_add(every);
                if next_due <= now {
                    next_due = now.saturating_add(every);
                }
                // Refused only once closed at shutdown: the interval ends.
                let _ = timers.insert(next_due, again);
            }
        }
        drop(system);
        let sleep = if next == u64::MAX {
            Duration::MAX
        } else {
            clock::until(next, clock::now())
        };
        future::or(
            async {
                lifecycle.sleep_unless_stopping(sleep).await;
            },
            earlier,
        )
        .await;
    }
}
