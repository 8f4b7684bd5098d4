//! Choosing which idle activations to deactivate when a budget is exceeded:
//! the least recently used first.
//!
//! The task that exceeds a budget (an activation, a handler that grew)
//! claims its victims and runs their `deactivate` itself before it goes on:
//! the limit holds without waiting for other tasks, and a flood of
//! activations is slowed to the pace of the deactivations it causes.
//!
//! Nothing is kept in LRU order on the hot path. When a budget is exceeded,
//! the evictor scans the slots once and keeps the oldest idle activations
//! (a batch) as candidates, oldest last; later evictions pop from that batch.
//! A candidate that ran since the scan has a newer idle stamp and is skipped,
//! and anything that became idle after the scan is newer than every
//! candidate, so popping the batch is exact LRU order. A scan costs one pass
//! over the slots, amortised over a batch of evictions.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::DeactivationReason;
use crate::system::System;
use crate::system::limits::budget::Budget;

/// The `deactivate` of a claimed victim, and what follows it.
pub(crate) type Eviction = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An idle activation that may be evicted, seen through its slot.
pub(crate) trait Evictable: Send {
    /// Claims it for eviction with `reason` if it is still idle since
    /// `idle_stamp`, charging it to the budgets as leaving; the caller then
    /// awaits the returned deactivation. `caller_waits` if the code running
    /// now (an actor's drain task) cannot take messages until then.
    fn claim(
        self: Box<Self>,
        system: &Arc<System>,
        idle_stamp: u64,
        reason: DeactivationReason,
        caller_waits: bool,
    ) -> Option<Eviction>;
}

pub(crate) struct Candidate {
    /// When it went idle, as a slot's idle stamp: older is smaller.
    pub(crate) idle_stamp: u64,
    pub(crate) victim: Box<dyn Evictable>,
}

/// Keeps the `capacity` least recently used items offered during a scan.
/// Generic so that a scan of one actor type keeps plain IDs and slots, and
/// only the final batch is boxed into [`Candidate`]s.
pub(crate) struct Oldest<T> {
    capacity: usize,
    /// A max-heap on the instant: the newest kept item is on top, the first
    /// to go when an older one turns up.
    heap: BinaryHeap<Aged<T>>,
}

struct Aged<T>(u64, T);

impl<T> PartialEq for Aged<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<T> Eq for Aged<T> {}
impl<T> PartialOrd for Aged<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Aged<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl<T> Oldest<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Oldest {
            capacity,
            heap: BinaryHeap::with_capacity(capacity.min(4096)),
        }
    }

    /// True if an item idle since `idle_stamp` would be kept; asked first
    /// so that a rejected slot costs no clone.
    pub(crate) fn admits(&self, idle_stamp: u64) -> bool {
        self.heap.len() < self.capacity
            || self.heap.peek().is_some_and(|newest| idle_stamp < newest.0)
    }

    pub(crate) fn offer(&mut self, idle_stamp: u64, item: T) {
        if self.heap.len() < self.capacity {
            self.heap.push(Aged(idle_stamp, item));
        } else if self.admits(idle_stamp) {
            self.heap.pop();
            self.heap.push(Aged(idle_stamp, item));
        }
    }

    /// The items kept, newest first, so that `pop` yields the oldest.
    pub(crate) fn into_newest_first(self) -> impl Iterator<Item = (u64, T)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .rev()
            .map(|Aged(idle_stamp, item)| (idle_stamp, item))
    }
}

/// The candidate batch of one budget, and how often it may be refilled.
pub(crate) struct Evictor {
    state: Mutex<EvictorState>,
    batch: usize,
}

struct EvictorState {
    candidates: Vec<Candidate>,
    /// After a scan that found few candidates (most activations busy), the
    /// next scan waits until then, so that a budget exceeded by busy actors
    /// does not rescan on every activation. Scans then take at most about a
    /// fifth of the time.
    no_scan_before: Option<Instant>,
}

impl Evictor {
    /// An evictor for a budget of `max_actors` activations (if limited):
    /// batches of a quarter of the limit, within sensible bounds: larger
    /// batches mean fewer scans, smaller ones fewer stale candidates.
    pub(crate) fn new(max_actors: Option<usize>) -> Self {
        let batch = max_actors.map_or(1024, |max| (max / 4).clamp(16, 65_536));
        Evictor {
            state: Mutex::new(EvictorState {
                candidates: Vec::new(),
                no_scan_before: None,
            }),
            batch,
        }
    }

    /// Claims least recently used idle activations until `budget` is within
    /// its limits, counting them as leaving; the caller awaits the returned
    /// deactivations (see [`Evictable::claim`] for `caller_waits`).
    /// `scan(batch)` returns the `batch` least recently used
    /// idle activations under this budget, newest first.
    ///
    /// `just_idle` is the activation whose drain task just went idle, if this
    /// runs at that moment. It stands in when the batch is empty and a scan
    /// is not allowed yet: while a budget stays exceeded, activations are
    /// then evicted in the order they become idle, which is LRU order too.
    ///
    /// When every activation is busy the budget stays exceeded (busy actors
    /// are never evicted) until the next activation or idle transition.
    pub(crate) fn choose(
        &self,
        system: &Arc<System>,
        budget: &Budget,
        scan: impl Fn(usize) -> Vec<Candidate>,
        just_idle: impl FnOnce() -> Option<Candidate>,
        caller_waits: bool,
    ) -> Vec<Eviction> {
        let mut evictions = Vec::new();
        if budget.excess().is_none() {
            return evictions;
        }
        // One evictor at a time per budget: with the `leaving` figures this
        // makes concurrent activations evict one victim each, not more.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut scanned = false;
        let mut just_idle = Some(just_idle);
        while let Some(reason) = budget.excess() {
            let candidate = match state.candidates.pop() {
                Some(candidate) => candidate,
                None => {
                    let now = Instant::now();
                    if !scanned && state.no_scan_before.is_none_or(|t| now >= t) {
                        scanned = true;
                        state.refill(self.batch, &scan, now);
                        continue;
                    }
                    match just_idle.take().and_then(|candidate| candidate()) {
                        Some(candidate) => candidate,
                        None => break,
                    }
                }
            };
            let claimed =
                candidate
                    .victim
                    .claim(system, candidate.idle_stamp, reason, caller_waits);
            evictions.extend(claimed);
        }
        evictions
    }
}

impl EvictorState {
    /// Scans for a new batch of the oldest idle activations.
    fn refill(&mut self, batch: usize, scan: impl Fn(usize) -> Vec<Candidate>, started: Instant) {
        self.candidates = scan(batch);
        self.no_scan_before = if self.candidates.len() < batch / 2 {
            let took = started.elapsed();
            Some(Instant::now() + (took * 4).max(Duration::from_micros(100)))
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_oldest_and_yields_them_oldest_first() {
        let mut oldest = Oldest::new(3);
        for stamp in [50, 10, 40, 30, 20, 60] {
            oldest.offer(stamp, stamp);
        }
        assert!(!oldest.admits(35));
        assert!(oldest.admits(25));
        let mut kept: Vec<(u64, u64)> = oldest.into_newest_first().collect();
        let popped: Vec<u64> = std::iter::from_fn(|| kept.pop())
            .map(|(_, ms)| ms)
            .collect();
        assert_eq!(popped, vec![10, 20, 30]);
    }
}
