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
//! A candidate that ran since the scan has a newer timestamp and is skipped,
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
use crate::system::budget::Budget;

/// The `deactivate` of a claimed victim, and what follows it.
pub(crate) type Eviction = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An idle activation that may be evicted, seen through its slot.
pub(crate) trait Evictable: Send {
    /// Claims it for eviction with `reason` if it is still idle and has not
    /// run since `last_active`, charging it to the budgets as leaving; the
    /// caller then awaits the returned deactivation.
    fn claim(
        self: Box<Self>,
        system: &Arc<System>,
        last_active: Instant,
        reason: DeactivationReason,
    ) -> Option<Eviction>;
}

pub(crate) struct Candidate {
    pub(crate) last_active: Instant,
    pub(crate) victim: Box<dyn Evictable>,
}

/// Collects the `capacity` least recently used candidates during a scan.
pub(crate) struct Oldest {
    capacity: usize,
    /// A max-heap on `last_active`: the newest kept candidate is on top, the
    /// first to go when an older one turns up.
    heap: BinaryHeap<ByAge>,
}

struct ByAge(Candidate);

impl PartialEq for ByAge {
    fn eq(&self, other: &Self) -> bool {
        self.0.last_active == other.0.last_active
    }
}
impl Eq for ByAge {}
impl PartialOrd for ByAge {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByAge {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.last_active.cmp(&other.0.last_active)
    }
}

impl Oldest {
    fn new(capacity: usize) -> Self {
        Oldest {
            capacity,
            heap: BinaryHeap::with_capacity(capacity.min(4096)),
        }
    }

    /// True if an idle activation last active at `last_active` would be
    /// kept; asked first so that rejected slots cost no allocation.
    pub(crate) fn admits(&self, last_active: Instant) -> bool {
        self.heap.len() < self.capacity
            || self
                .heap
                .peek()
                .is_some_and(|newest| last_active < newest.0.last_active)
    }

    pub(crate) fn offer(&mut self, candidate: Candidate) {
        if self.heap.len() < self.capacity {
            self.heap.push(ByAge(candidate));
        } else if self.admits(candidate.last_active) {
            self.heap.pop();
            self.heap.push(ByAge(candidate));
        }
    }

    /// The candidates, newest first, so that `pop` yields the oldest.
    fn into_newest_first(self) -> Vec<Candidate> {
        let mut candidates: Vec<Candidate> = self
            .heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| c.0)
            .collect();
        candidates.reverse();
        candidates
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
    /// batches of an eighth of the limit, within sensible bounds.
    pub(crate) fn new(max_actors: Option<usize>) -> Self {
        let batch = max_actors.map_or(1024, |max| (max / 8).clamp(16, 65_536));
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
    /// deactivations. `scan` offers every idle activation under this budget.
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
        scan: impl Fn(&mut Oldest),
        just_idle: impl FnOnce() -> Option<Candidate>,
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
            evictions.extend(
                candidate
                    .victim
                    .claim(system, candidate.last_active, reason),
            );
        }
        evictions
    }
}

impl EvictorState {
    /// Scans for a new batch of the oldest idle activations.
    fn refill(&mut self, batch: usize, scan: impl Fn(&mut Oldest), started: Instant) {
        let mut oldest = Oldest::new(batch);
        scan(&mut oldest);
        self.candidates = oldest.into_newest_first();
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

    struct Nobody;
    impl Evictable for Nobody {
        fn claim(
            self: Box<Self>,
            _: &Arc<System>,
            _: Instant,
            _: DeactivationReason,
        ) -> Option<Eviction> {
            None
        }
    }

    #[test]
    fn keeps_the_oldest_and_yields_them_oldest_first() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut oldest = Oldest::new(3);
        for ms in [50, 10, 40, 30, 20, 60] {
            oldest.offer(Candidate {
                last_active: at(ms),
                victim: Box::new(Nobody),
            });
        }
        assert!(!oldest.admits(at(35)));
        assert!(oldest.admits(at(25)));
        let mut candidates = oldest.into_newest_first();
        let popped: Vec<Instant> = std::iter::from_fn(|| candidates.pop())
            .map(|c| c.last_active)
            .collect();
        assert_eq!(popped, vec![at(10), at(20), at(30)]);
    }
}
