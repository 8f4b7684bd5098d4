//! The counters behind an actor type's [`ActorStatistics`]: events, all rare
//! compared to messages, and a census of its slots taken when asked.

use std::any::type_name;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::ActorType;
use crate::statistics::{ActorStatistics, DeactivationCounts};
use crate::{Actor, DeactivationReason};

/// Events counted for statistics; all rare compared to messages.
#[derive(Default)]
pub(crate) struct Counters {
    activations: AtomicU64,
    deactivations: [AtomicU64; DeactivationReason::ALL.len()],
    handler_panics: AtomicU64,
    activation_failures: AtomicU64,
    dropped_messages: AtomicU64,
    deactivate_timeouts: AtomicU64,
    abandoned_activations: AtomicU64,
    abandoned_messages: AtomicU64,
}

impl Counters {
    pub(crate) fn activated(&self) {
        self.activations.fetch_add(1, Relaxed);
    }
    pub(crate) fn deactivated(&self, reason: DeactivationReason) {
        self.deactivations[reason.index()].fetch_add(1, Relaxed);
    }
    pub(crate) fn handler_panicked(&self) {
        self.handler_panics.fetch_add(1, Relaxed);
    }
    pub(crate) fn activation_failed(&self) {
        self.activation_failures.fetch_add(1, Relaxed);
    }
    pub(crate) fn messages_dropped(&self, count: u64) {
        self.dropped_messages.fetch_add(count, Relaxed);
    }
    pub(crate) fn deactivate_timed_out(&self) {
        self.deactivate_timeouts.fetch_add(1, Relaxed);
    }
    pub(crate) fn abandoned(&self, activations: u64, messages: u64) {
        self.abandoned_activations.fetch_add(activations, Relaxed);
        self.abandoned_messages.fetch_add(messages, Relaxed);
    }
}

impl<A: Actor> ActorType<A> {
    /// This type's figures now, for `Acteur::statistics`.
    pub(super) fn report(&self) -> ActorStatistics {
        let mut active_actors = 0;
        let mut busy_actors = 0;
        let mut queued_messages = 0;
        for entry in self.slots.iter() {
            let (live, busy, queued) = entry.value().census();
            active_actors += usize::from(live);
            busy_actors += usize::from(busy);
            queued_messages += queued;
        }
        let c = &self.counters;
        let by_reason = |reason: DeactivationReason| c.deactivations[reason.index()].load(Relaxed);
        let deactivations_by_reason = DeactivationCounts {
            idle_timeout: by_reason(DeactivationReason::IdleTimeout),
            evicted_by_count: by_reason(DeactivationReason::EvictedByCount),
            evicted_by_memory: by_reason(DeactivationReason::EvictedByMemory),
            stopped_by_self: by_reason(DeactivationReason::StoppedBySelf),
            system_shutdown: by_reason(DeactivationReason::SystemShutdown),
            handoff: by_reason(DeactivationReason::Handoff),
            lease_lost: by_reason(DeactivationReason::LeaseLost),
        };
        ActorStatistics {
            name: type_name::<A>(),
            active_actors,
            busy_actors,
            queued_messages,
            memory: self.budget.memory(),
            idle_timeout: self.idle_timeout,
            max_actors: self.budget.max_actors,
            max_memory: self.budget.max_memory,
            activations: c.activations.load(Relaxed),
            deactivations: deactivations_by_reason.total(),
            deactivations_by_reason,
            panics: c.handler_panics.load(Relaxed),
            activation_failures: c.activation_failures.load(Relaxed),
            dropped_messages: c.dropped_messages.load(Relaxed),
            deactivate_timeouts: c.deactivate_timeouts.load(Relaxed),
            abandoned_activations: c.abandoned_activations.load(Relaxed),
            abandoned_messages: c.abandoned_messages.load(Relaxed),
            #[cfg(feature = "persistence")]
            state: self
                .persisted
                .as_deref()
                .map(|persisted| persisted.report()),
        }
    }
}
