//! Everything the system keeps for one actor type: the map from ID to slot,
//! delivery into it, the idle sweeper, and the counters behind its
//! statistics. Its memory policies are in `actor_limits.rs`.

use std::any::type_name;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::statistics::{ActorStatistics, DeactivationCounts};
use crate::system::System;
use crate::system::activation::drain;
use crate::system::budget::Budget;
use crate::system::call_chain::{self, Link, Waiter};
use crate::system::context::{self, TaskContext};
use crate::system::envelope::ActorEnvelope;
use crate::system::eviction::{Candidate, Evictor};
use crate::system::lifecycle::Lifecycle;
use crate::system::slot::{Pushed, Slot, stamp};
use crate::{Actor, ActorConfiguration, DeactivationReason, Error};

pub(crate) struct ActorType<A: Actor> {
    pub(super) slots: DashMap<A::Id, Arc<Slot<A>>>,
    idle_timeout: Option<Duration>,
    /// The most messages waiting in one actor's mailbox, if bounded.
    mailbox_capacity: Option<usize>,
    /// Panics in a row after which a message gets a single attempt.
    pub(crate) max_consecutive_panics: u32,
    /// How long `deactivate` may run before it is dropped.
    pub(crate) deactivate_timeout: Duration,
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
        if configuration.mailbox_capacity == Some(0) {
            return invalid(
                "mailbox_capacity",
                "is zero, so no message could ever be queued; \
                 use a positive capacity, or None for an unbounded mailbox",
            );
        }
        if configuration.deactivate_timeout.is_zero() {
            return invalid(
                "deactivate_timeout",
                "is zero, so every deactivate that awaits anything would be dropped; \
                 use a positive duration (the default is 30 seconds)",
            );
        }
        if configuration.max_consecutive_panics == 0 {
            return invalid(
                "max_consecutive_panics",
                "is zero, so no message would get even one attempt; use 1 or more \
                 (the default is 3)",
            );
        }
        Ok(ActorType {
            slots: DashMap::new(),
            idle_timeout: configuration.idle_timeout,
            mailbox_capacity: configuration.mailbox_capacity,
            max_consecutive_panics: configuration.max_consecutive_panics,
            deactivate_timeout: configuration.deactivate_timeout,
            budget: Budget::new(configuration.max_actors, configuration.max_memory),
            evictor: Evictor::new(configuration.max_actors),
            counters: Counters::default(),
        })
    }

    /// Queues `envelope` for actor `id`, activating it if needed. If its
    /// mailbox is full, returns the wait for room, which queues the message
    /// once there is some: a boxed future, so that the common path (and
    /// every sender's future) stays small.
    ///
    /// A request made from code others wait for carries its `chain`: it
    /// fails with [`Error::Deadlock`] instead if the actor waits on it
    /// (see `call_chain.rs`).
    #[inline]
    pub(crate) fn deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        chain: Option<&Arc<Link>>,
    ) -> Result<Option<RoomWait>, Error> {
        match self.try_deliver(system, id, envelope, chain) {
            Delivery::Queued => Ok(None),
            Delivery::Full { id, envelope, slot } => {
                Ok(Some(self.wait_for_room_boxed(system, id, envelope, slot)))
            }
            Delivery::Refused { error, envelope } => Err(refused(error, envelope)),
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_for_room_boxed(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        slot: Arc<Slot<A>>,
    ) -> RoomWait {
        Box::pin(
            self.clone()
                .wait_for_room(system.clone(), id, envelope, slot),
        )
    }

    /// Queues `envelope`, refused by the full mailbox of `slot`, as soon as
    /// the mailbox of `id` has room.
    async fn wait_for_room(
        self: Arc<Self>,
        system: Arc<System>,
        mut id: A::Id,
        mut envelope: ActorEnvelope<A>,
        mut slot: Arc<Slot<A>>,
    ) -> Result<(), Error> {
        loop {
            // Listen first, then look again: room made in between is seen.
            let room = slot.listen_for_room();
            // Checked for deadlocks already, before the first try.
            match self.try_deliver(&system, id, envelope, None) {
                Delivery::Queued => return Ok(()),
                Delivery::Refused { error, envelope } => {
                    drop(envelope);
                    return Err(error);
                }
                Delivery::Full {
                    id: same_id,
                    envelope: same_envelope,
                    slot: now,
                } => {
                    (id, envelope) = (same_id, same_envelope);
                    // A slot that retired meanwhile was replaced: look again.
                    if Arc::ptr_eq(&slot, &now) {
                        room.await;
                    }
                    slot = now;
                }
            }
        }
    }

    /// Queues `envelope` for actor `id`, activating it if needed, unless its
    /// mailbox is full or it is refused; then hands everything back. With a
    /// `chain`, as [`ActorType::deliver`].
    #[inline]
    pub(crate) fn try_deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        chain: Option<&Arc<Link>>,
    ) -> Delivery<A> {
        // The map's read guard is held while pushing, so the slot cannot
        // retire in between.
        if let Some(slot) = self.slots.get(&id) {
            // A waiting actor's slot exists (its drain task holds it), so
            // an actor without one waits on no chain.
            if let Some(chain) = chain {
                let address = slot_address(&slot);
                if call_chain::waits_on(chain, address) {
                    // Named after the guard is dropped: naming scans the map.
                    drop(slot);
                    let error = call_chain::deadlock(system, chain, address, || describe::<A>(&id));
                    return Delivery::Refused { error, envelope };
                }
            }
            return self.deliver_to(system, &slot, id, envelope);
        }
        // The check that counts is `Slot::push`'s, under the slot lock; this
        // one only avoids creating a slot for an ID after the system stopped.
        if system.lifecycle.is_stopping() {
            return Delivery::Refused {
                error: Error::Stopped,
                envelope,
            };
        }
        let slot = self
            .slots
            .entry(id.clone())
            .or_insert_with(|| Arc::new(Slot::new()))
            .downgrade();
        self.deliver_to(system, &slot, id, envelope)
    }

    #[inline]
    fn deliver_to(
        self: &Arc<Self>,
        system: &Arc<System>,
        slot: &Arc<Slot<A>>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
    ) -> Delivery<A> {
        // An actor's message to itself never waits for room: it would wait
        // for itself.
        let capacity = self.mailbox_capacity.filter(|_| {
            context::current().is_none_or(|current| current.actor() != slot_address(slot))
        });
        match slot.push(envelope, false, capacity, system) {
            Pushed::Queued(spawn) => {
                if spawn {
                    self.spawn_drain(system, id, slot.clone());
                }
                Delivery::Queued
            }
            Pushed::Refused(envelope) => Delivery::Refused {
                error: Error::Stopped,
                envelope,
            },
            Pushed::Full(envelope) => Delivery::Full {
                id,
                envelope,
                slot: slot.clone(),
            },
        }
    }

    /// Gives every live activation its own `message()`; activates no one.
    /// Waits for room in each full mailbox in turn.
    pub(crate) async fn deliver_to_all(
        self: &Arc<Self>,
        system: &Arc<System>,
        message: impl Fn() -> ActorEnvelope<A>,
    ) -> Result<(), Error> {
        let refused_to_caller = || system.lifecycle.is_stopping() && !system.is_inside();
        if refused_to_caller() {
            return Err(Error::Stopped);
        }
        for (id, slot) in self.snapshot() {
            let mut envelope = message();
            // Created only once the mailbox was found full (listening
            // allocates the slot's event), then kept for the next try.
            let mut room = None;
            loop {
                match slot.push(envelope, true, self.mailbox_capacity, system) {
                    Pushed::Queued(spawn) => {
                        if spawn {
                            self.spawn_drain(system, id, slot);
                        }
                        break;
                    }
                    Pushed::Refused(_) if refused_to_caller() => {
                        return Err(Error::Stopped);
                    }
                    // Deactivated (or deactivating, during shutdown)
                    // meanwhile: it gets no copy, as if it had not been
                    // active when the message was sent.
                    Pushed::Refused(_) => break,
                    Pushed::Full(back) => {
                        envelope = back;
                        // Listen first, then look again: room made in
                        // between is seen.
                        match room.take() {
                            None => room = Some(slot.listen_for_room()),
                            Some(listener) => listener.await,
                        }
                    }
                }
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
            waiter: Some(slot_waiter(&slot)),
            ..TaskContext::default()
        };
        system.spawn_counted(context, drain(system.clone(), self.clone(), id, slot));
    }

    /// Removes `slot` (retiring: no activation, drain task ending) unless a
    /// message arrived meanwhile; true if removed.
    pub(crate) fn retire(&self, id: &A::Id, slot: &Arc<Slot<A>>) -> bool {
        // No sender waits for room in a retiring slot: the message that
        // emptied its mailbox told them all, and they look the ID up again.
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
            deactivate_timeouts: c.deactivate_timeouts.load(Relaxed),
            abandoned_activations: c.abandoned_activations.load(Relaxed),
            abandoned_messages: c.abandoned_messages.load(Relaxed),
        }
    }

    fn idle_candidates(self: Arc<Self>, batch: usize) -> Vec<Candidate> {
        self.oldest_idle(batch)
    }
}

/// A sender's wait for room in a full mailbox; see [`ActorType::deliver`].
pub(crate) type RoomWait = std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// What a send found when it could not wait: queued; a full mailbox, with
/// everything handed back for another try; or a refusal, with the envelope
/// handed back (to drop outside every lock, or to return to the sender).
pub(crate) enum Delivery<A: Actor> {
    Queued,
    Full {
        id: A::Id,
        envelope: ActorEnvelope<A>,
        slot: Arc<Slot<A>>,
    },
    Refused {
        error: Error,
        envelope: ActorEnvelope<A>,
    },
}

/// Drops a refused envelope, outside every lock (its `Drop` is user code),
/// and returns the reason. Out of line: every send's path stays short.
#[cold]
#[inline(never)]
fn refused<A: Actor>(error: Error, envelope: ActorEnvelope<A>) -> Error {
    drop(envelope);
    error
}

/// An actor as named in errors, e.g. `shop::Account(7)`.
fn describe<A: Actor>(id: &A::Id) -> String {
    format!("{}({id:?})", type_name::<A>())
}

/// The actor of `slot` as a member of call chains: an actor waits while its
/// code awaits a call.
pub(super) fn slot_waiter<A: Actor>(slot: &Arc<Slot<A>>) -> Waiter {
    Waiter {
        address: slot_address(slot),
        blocks: true,
        describe: describe_slot::<A>,
    }
}

/// Names the actor whose slot is at `address`, for a deadlock report; its
/// ID is found by a scan, which only a deadlock pays for.
fn describe_slot<A: Actor>(system: &System, address: usize) -> String {
    system
        .actors
        .get::<ActorType<A>>()
        .and_then(|actors| {
            actors
                .slots
                .iter()
                .find(|entry| slot_address(entry.value()) == address)
                .map(|entry| describe::<A>(entry.key()))
        })
        .unwrap_or_else(|| format!("{}(?)", type_name::<A>()))
}

/// A slot's identity, for comparing with the current task's context.
pub(super) fn slot_address<A: Actor>(slot: &Arc<Slot<A>>) -> usize {
    Arc::as_ptr(slot) as usize
}
