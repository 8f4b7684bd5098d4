//! The memory policies of one actor type: counting its activations and
//! their estimated memory against its budget and the system's, and evicting
//! least recently used idle activations, in the task that needs the room,
//! when a budget is exceeded (see `limits/evictor.rs` for the choice).

use std::sync::{Arc, Weak};

use super::ActorType;
use super::deactivate::deactivate;
use super::slot::Slot;
use super::waiter::slot_waiter;
use crate::system::System;
use crate::system::calls::chain;
use crate::system::calls::chain::run_with_chain;
use crate::system::limits::budget::Budget;
use crate::system::limits::evictor::{Candidate, Evictable, Eviction, Oldest};
use crate::system::tasks::context::{self, TaskContext};
use crate::{Actor, ActorAssistant, DeactivationReason};

impl<A: Actor> ActorType<A> {
    /// An activation is about to start: counts it, and returns the
    /// evictions to await first if that puts a budget over its limit.
    pub(crate) fn activation_reserved(self: &Arc<Self>, system: &Arc<System>) -> Option<Eviction> {
        self.budgets(system).for_each(Budget::activation_reserved);
        self.enforce_limits(system, None)
    }

    /// An activation's memory estimate changed from `old` to `new` bytes;
    /// returns the evictions its growth calls for.
    pub(crate) fn resized(
        self: &Arc<Self>,
        system: &Arc<System>,
        old: usize,
        new: usize,
    ) -> Option<Eviction> {
        if old == new {
            return None;
        }
        self.budgets(system).for_each(|b| b.resized(old, new));
        if new > old {
            self.enforce_limits(system, None)
        } else {
            None
        }
    }

    /// Claims least recently used idle activations while this type, then
    /// the whole system, is over a count or memory limit, and returns their
    /// deactivations, all at once, for the caller to await.
    /// `just_idle` is the slot whose drain task just went idle, if any (see
    /// `Evictor::choose`). Costs a few atomic loads and no allocation when
    /// within limits.
    ///
    /// Not an `async fn`: the drain task holds only an `Option` of a boxed
    /// future across the await, so its own future stays small, which every
    /// spawned drain task pays for in memory and copying.
    pub(crate) fn enforce_limits(
        self: &Arc<Self>,
        system: &Arc<System>,
        just_idle: Option<&Arc<Slot<A>>>,
    ) -> Option<Eviction> {
        // The common case, no limit anywhere: two loads, nothing built.
        if !self.budget.is_limited() && system.limited_budget().is_none() {
            return None;
        }
        let candidate = || {
            let slot = just_idle?;
            Some(Candidate {
                idle_stamp: slot.idle_since()?,
                victim: Box::new(IdleActivation {
                    actors: Arc::downgrade(self),
                    slot: slot.clone(),
                }),
            })
        };
        // An activation or a grown actor waits for its evictions; a drain
        // task that just went idle leaves nobody waiting (its actor is
        // already back in its slot, free to take messages).
        let caller_waits = just_idle.is_none();
        let mut evictions = Vec::new();
        if self.budget.is_limited() {
            let scan = |batch| self.clone().oldest_idle(batch);
            evictions = self
                .evictor
                .choose(system, &self.budget, scan, candidate, caller_waits);
        }
        // Chosen after this type's, which are charged to both budgets as
        // leaving, so the system does not evict again for the same excess.
        evictions.extend(system.choose_evictions(candidate, caller_waits));
        if evictions.is_empty() {
            return None;
        }
        // All at once: the victims are different actors, and their
        // deactivations (with the saves of persistent ones, which a store
        // commits together) overlap instead of queueing.
        Some(Box::pin(async move {
            crate::runtime::join_all(evictions).await;
        }))
    }

    /// The `batch` least recently used idle activations of this type, newest
    /// first, for this type's evictor or the system's.
    pub(super) fn oldest_idle(self: Arc<Self>, batch: usize) -> Vec<Candidate> {
        // Plain IDs and slots while scanning; only the kept batch is boxed.
        let mut oldest = Oldest::new(batch);
        for entry in self.slots.iter() {
            let Some(idle_stamp) = entry.value().idle_since() else {
                continue;
            };
            if oldest.admits(idle_stamp) {
                oldest.offer(idle_stamp, entry.value().clone());
            }
        }
        let actors = Arc::downgrade(&self);
        oldest
            .into_newest_first()
            .map(|(idle_stamp, slot)| Candidate {
                idle_stamp,
                victim: Box::new(IdleActivation {
                    actors: actors.clone(),
                    slot,
                }),
            })
            .collect()
    }
}

/// An idle activation of type `A`, offered to an evictor.
struct IdleActivation<A: Actor> {
    /// Weak: candidates wait in the type's own evictor, and a strong
    /// reference there would keep the type, and its slots, alive forever.
    actors: Weak<ActorType<A>>,
    slot: Arc<Slot<A>>,
}

impl<A: Actor> Evictable for IdleActivation<A> {
    fn claim(
        self: Box<Self>,
        system: &Arc<System>,
        idle_stamp: u64,
        reason: DeactivationReason,
        caller_waits: bool,
    ) -> Option<Eviction> {
        let actors = self.actors.upgrade()?;
        let (actor, memory) = self.slot.claim_idle(idle_stamp, &system.lifecycle)?;
        actors
            .budgets(system)
            .for_each(|b| b.eviction_started(memory));
        let IdleActivation { slot, .. } = *self;
        // The victim's code runs as the victim. The actor waiting for it, if
        // any, is the one running now: it joins the call chain, so that a
        // call to it from the victim's `deactivate` is a deadlock.
        let waiting = caller_waits
            .then(|| context::current().and_then(|current| current.waiter))
            .flatten()
            .map(|waiter| chain::waiting(waiter, chain::current_chain()));
        let chain = waiting
            .as_ref()
            .and_then(|waiting| waiting.chain().cloned());
        let context = TaskContext {
            waiter: Some(slot_waiter(&slot)),
            system: system.address(),
            ..TaskContext::default()
        };
        let eviction = evict(system.clone(), actors, slot, actor, memory, reason);
        Some(Box::pin(async move {
            run_with_chain(chain, context::run_in(context, eviction)).await;
            // The wait is over: the link no longer stands for a waiter.
            drop(waiting);
        }))
    }
}

/// Deactivates `actor`, claimed from its idle `slot` by an evictor (the slot
/// is marked scheduled), then removes the slot, or if messages arrived
/// meanwhile, hands it to a new drain task, which activates it afresh. Runs
/// inside the claiming task, which is counted, so it may count the new one.
pub(crate) async fn evict<A: Actor>(
    system: Arc<System>,
    actors: Arc<ActorType<A>>,
    slot: Arc<Slot<A>>,
    actor: A,
    memory: usize,
    reason: DeactivationReason,
) {
    let assistant = ActorAssistant::new(system.handle(), slot.clone());
    deactivate(&system, &actors, &assistant, actor, memory, reason).await;
    actors.retire_or_drain(&system, slot);
}
