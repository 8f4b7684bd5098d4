//! A handle on a scheduled message, to cancel it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A message scheduled for later (by `schedule_send_to_actor` or
/// `schedule_send_to_service`), or sent at intervals (by an assistant's
/// `send_interval`), which [`Timer::cancel`] stops.
///
/// Dropping a `Timer` does not cancel it: the message is still delivered,
/// as a dropped tokio `JoinHandle` leaves its task running. Keep the
/// `Timer` only if you may cancel it. It can be cloned (clones stop the same
/// timer) and sent to other threads.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive};
///
/// struct Order;
/// impl Actor for Order {
///     type Id = u64;
///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Order)
///     }
/// }
/// struct Expire;
/// impl Receive<Expire> for Order {
///     async fn handle(&mut self, _: Expire, _: &ActorAssistant<Self>) {
///         // Cancel the order: it was not paid in time.
///     }
/// }
///
/// let sys = Acteur::new();
/// let expiry = sys
///     .schedule_send_to_actor_sync::<Order, Expire>(7, Duration::from_secs(900), Expire)
///     .unwrap();
/// // Paid in time: the order must not expire.
/// assert!(expiry.cancel());
/// assert!(!expiry.cancel(), "cancelled already");
/// sys.stop();
/// sys.wait_until_stopped();
/// ```
#[derive(Clone)]
pub struct Timer {
    shared: Arc<TimerShared>,
}

/// Where a timer stands, shared by its handles and its pending entry.
pub(crate) struct TimerShared {
    /// Under a lock, so that a delivery decided under it is never made
    /// after `cancel` returned true.
    state: Mutex<TimerState>,
    /// An interval's tick is queued and not handled yet: the next is
    /// skipped rather than queued behind it.
    tick_queued: AtomicBool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TimerState {
    /// Not delivered yet; for an interval, running.
    Pending,
    /// Delivered (or being delivered): too late to cancel.
    Fired,
    Cancelled,
    /// An interval whose activation (or system) ended.
    Ended,
}

/// What an interval's tick came to.
pub(crate) enum Tick {
    /// Queued: the interval goes on.
    Queued,
    /// The previous tick is still queued: this one is skipped.
    Skipped,
    /// The interval is over (cancelled, or its target gone).
    Over,
}

impl TimerShared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(TimerShared {
            state: Mutex::new(TimerState::Pending),
            tick_queued: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// For the sweeper: claims the delivery, unless the timer was cancelled;
    /// true if the caller must deliver.
    pub(crate) fn fire(&self) -> bool {
        let mut state = self.lock();
        if *state != TimerState::Pending {
            return false;
        }
        *state = TimerState::Fired;
        true
    }

    /// For the sweeper: runs an interval's tick, `queue`, under the lock
    /// that `cancel` takes, unless the interval is over or its previous tick
    /// is still queued. A tick `queue` hands back (its target is gone) ends
    /// the interval, and is dropped once the lock is released: its `Drop`
    /// is user code.
    pub(crate) fn tick<R>(&self, queue: impl FnOnce() -> Result<(), R>) -> Tick {
        let refused = {
            let mut state = self.lock();
            if *state != TimerState::Pending {
                return Tick::Over;
            }
            if self.tick_queued.swap(true, SeqCst) {
                return Tick::Skipped;
            }
            match queue() {
                Ok(()) => return Tick::Queued,
                Err(refused) => {
                    self.tick_queued.store(false, SeqCst);
                    *state = TimerState::Ended;
                    refused
                }
            }
        };
        drop(refused);
        Tick::Over
    }

    /// The queued tick was handled (or dropped): the next may be queued.
    pub(crate) fn tick_done(&self) {
        self.tick_queued.store(false, SeqCst);
    }

    /// Cancels it if it is pending; true if this call did.
    pub(crate) fn cancel(&self) -> bool {
        let mut state = self.lock();
        if *state != TimerState::Pending {
            return false;
        }
        *state = TimerState::Cancelled;
        true
    }

    /// Ends an interval that could not start, or whose target is gone.
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        if *state == TimerState::Pending {
            *state = TimerState::Ended;
        }
    }

    /// Whether `cancel` stopped it, so that its entry can go.
    pub(crate) fn is_cancelled(&self) -> bool {
        *self.lock() == TimerState::Cancelled
    }
}

impl Timer {
    pub(crate) fn new(shared: Arc<TimerShared>) -> Timer {
        Timer { shared }
    }

    /// Stops the timer: `true` if this call stopped it (a scheduled message
    /// not delivered yet, an interval still running); `false` if a
    /// scheduled message was delivered already (or is on its way), if the
    /// interval had ended with its activation or the system, or if the timer
    /// had been cancelled, by a call or by the system's shutdown. Once this
    /// returns, the timer delivers nothing more.
    pub fn cancel(&self) -> bool {
        self.shared.cancel()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("state", &*self.shared.lock())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_is_cancelled_or_fired_once() {
        let shared = TimerShared::new();
        let timer = Timer::new(shared.clone());
        assert!(timer.cancel());
        assert!(!shared.fire(), "a cancelled timer does not fire");
        assert!(!timer.cancel());
        assert!(shared.is_cancelled());

        let shared = TimerShared::new();
        let timer = Timer::new(shared.clone());
        assert!(shared.fire());
        assert!(!timer.clone().cancel(), "too late once fired");
        assert!(!shared.fire(), "fires once");
    }

    #[test]
    fn a_timer_is_send_and_sync() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<Timer>();
    }
}
