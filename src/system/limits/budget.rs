//! Limits on live activations and their estimated memory, with the live
//! figures they are compared with: one budget per actor type and one for the
//! whole system.
//!
//! The figures are plain atomics updated when an activation starts, changes
//! size or ends; the hot path reads them only to compare with a limit.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::DeactivationReason;

#[derive(Default)]
pub(crate) struct Budget {
    pub(crate) max_actors: Option<usize>,
    pub(crate) max_memory: Option<usize>,
    /// Activations that exist or are being activated; counted only when
    /// `max_actors` is set.
    live: AtomicUsize,
    /// The sum of their last `memory_size` estimates.
    memory: AtomicUsize,
    /// Activations already chosen for eviction whose `deactivate` has not
    /// returned, and their memory: on their way out, so they do not count
    /// against the limit again and nobody evicts a second victim for them.
    leaving: AtomicUsize,
    leaving_memory: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(max_actors: Option<usize>, max_memory: Option<usize>) -> Self {
        Budget {
            max_actors,
            max_memory,
            ..Budget::default()
        }
    }

    /// True if the budget has a limit to enforce.
    pub(crate) fn is_limited(&self) -> bool {
        self.max_actors.is_some() || self.max_memory.is_some()
    }

    /// The limit the budget is over, not counting activations on their way
    /// out; `None` within budget.
    pub(crate) fn excess(&self) -> Option<DeactivationReason> {
        if let Some(max) = self.max_actors {
            let staying = self.live().saturating_sub(self.leaving.load(Relaxed));
            if staying > max {
                return Some(DeactivationReason::EvictedByCount);
            }
        }
        if let Some(max) = self.max_memory {
            let staying = self
                .memory()
                .saturating_sub(self.leaving_memory.load(Relaxed));
            if staying > max {
                return Some(DeactivationReason::EvictedByMemory);
            }
        }
        None
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Relaxed)
    }

    pub(crate) fn memory(&self) -> usize {
        self.memory.load(Relaxed)
    }

    /// An activation begins (counted before `activate` runs, so that the
    /// victim for it is chosen first). Counted only under a count limit:
    /// a shared counter touched by every activation costs where nothing
    /// reads it.
    pub(crate) fn activation_reserved(&self) {
        if self.max_actors.is_some() {
            self.live.fetch_add(1, Relaxed);
        }
    }

    /// An activation's estimate went from `old` to `new` bytes.
    pub(crate) fn resized(&self, old: usize, new: usize) {
        if new > old {
            self.memory.fetch_add(new - old, Relaxed);
        } else if old > new {
            self.memory.fetch_sub(old - new, Relaxed);
        }
    }

    /// An activation of `memory` bytes was chosen for eviction.
    pub(crate) fn eviction_started(&self, memory: usize) {
        self.leaving.fetch_add(1, Relaxed);
        self.leaving_memory.fetch_add(memory, Relaxed);
    }

    /// An activation of `memory` bytes is gone (or its `activate` failed,
    /// with `memory` 0); `evicted` if it had been chosen for eviction.
    pub(crate) fn activation_ended(&self, memory: usize, evicted: bool) {
        if evicted {
            self.leaving.fetch_sub(1, Relaxed);
            self.leaving_memory.fetch_sub(memory, Relaxed);
        }
        if memory > 0 {
            self.memory.fetch_sub(memory, Relaxed);
        }
        if self.max_actors.is_some() {
            self.live.fetch_sub(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_activations_do_not_count_twice() {
        let budget = Budget::new(Some(2), Some(100));
        for _ in 0..3 {
            budget.activation_reserved();
        }
        assert_eq!(budget.excess(), Some(DeactivationReason::EvictedByCount));
        budget.eviction_started(10);
        assert_eq!(budget.excess(), None);
        budget.resized(0, 150);
        assert_eq!(budget.excess(), Some(DeactivationReason::EvictedByMemory));
        budget.activation_ended(10, true);
        budget.resized(150, 90);
        assert_eq!(budget.excess(), None);
        assert_eq!((budget.live(), budget.memory()), (2, 80));
    }
}
