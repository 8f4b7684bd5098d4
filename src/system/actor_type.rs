//! Everything the system keeps for one actor type: the map from ID to slot,
//! delivery into it, the idle sweeper, and the counters behind its
//! statistics. Its memory policies are in `actor_limits.rs`.

use std::any::type_name;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::statistics::{ActorStatistics, DeactivationCounts};
use crate::system::System;
use crate::system::activation::drain;
use crate::system::budget::Budget;
use crate::system::context::{self, TaskContext};
use crate::system::envelope::ActorEnvelope;
use crate::system::eviction::{Candidate, Evictor};
use crate::system::lifecycle::Lifecycle;
use crate::system::slot::{Pushed, Slot, stamp};
use crate::{Actor, ActorConfiguration, DeactivationReason, Error};

pub(crate) struct ActorType<A: Actor> {
    pub(super) slots: DashMap<A::Id, Arc<Slot<A>>>,
    idle_timeout: Option<Duration>,
    /// This type's `max_actors` and `max_memory`, and its live figures.
    pub(crate) budget: Budget,
    pub(super) evictor: Evictor,
    pub(crate) counters: Counters,
}

/// Events counted for statistics; all rare compared to messages.
#[derive(Default)]
pub(crate) struct Counters {
    activations: AtomicU64,
    deactivations: [AtomicU64; DeactivationReason::ALL.len()],
    handler_panics: AtomicU64,
    activation_failures: AtomicU64,
    dropped_messages: AtomicU64,
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
}

/// The type-independent view of an actor type, for shutdown and statistics.
pub(crate) trait ActorTypeControl: Send + Sync {
    /// Schedules every activation and queued message for a final drain.
    fn wake_for_shutdown(self: Arc<Self>, system: &Arc<System>);
    fn statistics(&self) -> ActorStatistics;
    /// The `batch` least recently used idle activations of this type,
    /// newest first.
    fn idle_candidates(self: Arc<Self>, batch: usize) -> Vec<Candidate>;
}

impl<A: Actor> ActorType<A> {
    /// The machinery for `A`, with its configuration checked.
    pub(crate) fn new(configuration: ActorConfiguration) -> Result<Self, Error> {
        let invalid = |field, reason| {
            Err(Error::InvalidConfiguration {
                type_name: type_name::<A>(),
                field,
                reason,
            })
        };
        if configuration.idle_timeout == Some(Duration::ZERO) {
            return invalid(
                "idle_timeout",
                "is zero, which would deactivate actors before they handle a message; \
                 use a positive duration, or None to keep actors until stopped",
            );
        }
        if configuration.max_actors == Some(0) {
            return invalid(
                "max_actors",
                "is zero, so no actor could ever be active; \
                 use a positive count, or None for no limit",
            );
        }
        if configuration.max_memory == Some(0) {
            return invalid(
                "max_memory",
                "is zero bytes, so no actor could ever be active; \
                 use a positive number of bytes, or None for no limit",
            );
        }
        Ok(ActorType {
            slots: DashMap::new(),
            idle_timeout: configuration.idle_timeout,
            budget: Budget::new(configuration.max_actors, configuration.max_memory),
            evictor: Evictor::new(configuration.max_actors),
            counters: Counters::default(),
        })
    }

    /// Queues `envelope` for actor `id`, activating it if needed. With
    /// `is_call`, a call from the handler of this very actor is refused as a
    /// deadlock, since it would wait for itself.
    pub(crate) fn deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        is_call: bool,
    ) -> Result<(), Error> {
        // The check that counts is `Slot::push`'s, under the slot lock; this
        // one only avoids creating a slot for an ID after the system stopped.
        if system.lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        if let Some(slot) = self.slots.get(&id) {
            return self.deliver_to(system, &slot, id, envelope, is_call);
        }
        let slot = self
            .slots
            .entry(id.clone())
            .or_insert_with(|| Arc::new(Slot::new()))
            .downgrade();
        self.deliver_to(system, &slot, id, envelope, is_call)
    }

    fn deliver_to(
        self: &Arc<Self>,
        system: &Arc<System>,
        slot: &Arc<Slot<A>>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        is_call: bool,
    ) -> Result<(), Error> {
        if is_call {
            let target = slot_address(slot);
            let actor = || format!("{}({id:?})", type_name::<A>());
            match context::current() {
                Some(current) if current.actor == target => {
                    let actor = actor();
                    return Err(Error::Deadlock {
                        chain: format!("{actor} -> {actor}"),
                    });
                }
                Some(current) if current.waiting_actor == target => {
                    let actor = actor();
                    return Err(Error::Deadlock {
                        chain: format!(
                            "{actor} -> (the deactivate of an actor it evicts) -> {actor}"
                        ),
                    });
                }
                _ => {}
            }
        }
        match slot.push(envelope, false, &system.lifecycle) {
            Pushed::Queued(spawn) => {
                if spawn {
                    self.spawn_drain(system, id, slot.clone());
                }
                Ok(())
            }
            Pushed::Refused => Err(Error::Stopped),
        }
    }

    /// Gives every live activation its own `message()`; activates no one.
    pub(crate) fn deliver_to_all(
        self: &Arc<Self>,
        system: &Arc<System>,
        message: impl Fn() -> ActorEnvelope<A>,
    ) -> Result<(), Error> {
        if system.lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        for (id, slot) in self.snapshot() {
            match slot.push(message(), true, &system.lifecycle) {
                Pushed::Queued(spawn) => {
                    if spawn {
                        self.spawn_drain(system, id, slot);
                    }
                }
                Pushed::Refused if system.lifecycle.is_stopping() => return Err(Error::Stopped),
                Pushed::Refused => {}
            }
        }
        Ok(())
    }

    pub(crate) fn spawn_drain(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        slot: Arc<Slot<A>>,
    ) {
        let context = TaskContext {
            actor: slot_address(&slot),
            ..TaskContext::default()
        };
        system.spawn_counted(context, drain(system.clone(), self.clone(), id, slot));
    }

    /// Removes `slot` (retiring: no activation, drain task ending) unless a
    /// message arrived meanwhile; true if removed.
    pub(crate) fn retire(&self, id: &A::Id, slot: &Arc<Slot<A>>) -> bool {
        self.slots
            .remove_if(id, |_, current| {
                Arc::ptr_eq(current, slot) && current.is_empty()
            })
            .is_some()
    }

    /// The slots as they are now, so that no map lock is held while slots are
    /// locked or messages built.
    fn snapshot(&self) -> Vec<(A::Id, Arc<Slot<A>>)> {
        self.slots
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().clone()))
            .collect()
    }

    /// Deactivates the activations idle for the configured timeout, every
    /// `timeout / 4`, until the system stops or is dropped.
    pub(crate) async fn sweep_idle(
        self: Arc<Self>,
        system: Weak<System>,
        lifecycle: Arc<Lifecycle>,
    ) {
        let Some(timeout) = self.idle_timeout else {
            return;
        };
        let period = (timeout / 4).max(Duration::from_millis(1));
        while lifecycle.sleep_unless_stopping(period).await {
            let Some(system) = system.upgrade() else {
                return;
            };
            let now = stamp(Instant::now());
            // Only the expired slots are collected: with millions of idle
            // actors, copying the whole map on every sweep would cost more
            // than the actors themselves.
            let expired: Vec<_> = self
                .slots
                .iter()
                .filter(|entry| entry.value().expire_if_idle(timeout, now, &lifecycle))
                .map(|entry| (entry.key().clone(), entry.value().clone()))
                .collect();
            for (id, slot) in expired {
                self.spawn_drain(&system, id, slot);
            }
        }
    }
}

impl<A: Actor> ActorTypeControl for ActorType<A> {
    fn wake_for_shutdown(self: Arc<Self>, system: &Arc<System>) {
        for (id, slot) in self.snapshot() {
            if slot.wake_for_shutdown(&system.lifecycle) {
                self.spawn_drain(system, id, slot);
            }
        }
    }

    fn statistics(&self) -> ActorStatistics {
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
        }
    }

    fn idle_candidates(self: Arc<Self>, batch: usize) -> Vec<Candidate> {
        self.oldest_idle(batch)
    }
}

/// A slot's identity, for comparing with the current task's context.
pub(super) fn slot_address<A: Actor>(slot: &Arc<Slot<A>>) -> usize {
    Arc::as_ptr(slot) as usize
}
