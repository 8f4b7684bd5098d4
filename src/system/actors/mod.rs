//! One actor type's machinery, and the slots of its IDs.
//!
//! - `mod.rs`: the type's map from ID to slot, its configuration, and the
//!   drain tasks it starts; what every file here shares.
//! - `slot.rs`, `mailbox.rs`: one ID's place: its queue, its idle
//!   activation, and the flags that say what its drain task does next.
//! - `delivery.rs`: a send's way into a slot, and waiting for room in a full
//!   mailbox; `recent.rs`: the slots a worker sent to lately, found again
//!   without the map.
//! - `drain.rs`: the task that runs an actor's code, one message at a time;
//!   `activate.rs` and `deactivate.rs`: the two hooks around an activation.
//! - `eviction.rs`: the memory policies: reserving room for an activation,
//!   and evicting idle activations when a budget is exceeded.
//! - `idle_sweep.rs`: deactivating what has been idle too long.
//! - `handoff.rs`: deactivating the IDs a cluster hands to another node.
//! - `statistics.rs`: the counters behind `ActorStatistics`.
//! - `waiter.rs`: an actor as a member of call chains (deadlock detection).

pub(crate) mod activate;
pub(crate) mod deactivate;
pub(crate) mod delivery;
pub(crate) mod drain;
pub(crate) mod eviction;
pub(crate) mod handoff;
pub(crate) mod idle_sweep;
pub(crate) mod mailbox;
pub(crate) mod recent;
pub(crate) mod slot;
pub(crate) mod statistics;
pub(crate) mod waiter;

use std::any::TypeId;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use crate::routing::{Placement, Route, Router};
use crate::runtime::Job;
use crate::statistics::ActorStatistics;
use crate::system::System;
use crate::system::id_map::{IdMap, id_map};
use crate::system::limits::budget::Budget;
use crate::system::limits::evictor::{Candidate, Evictor};
#[cfg(feature = "persistence")]
use crate::system::persistence::{Persisted, StoreHandle};
use crate::system::tasks::context::TaskContext;
use crate::{Actor, ActorConfiguration, Error};
use drain::{Drainer, drain};
use slot::Slot;
use statistics::Counters;
use waiter::slot_waiter;

pub(crate) use delivery::{Delivery, RoomWait};

pub(crate) struct ActorType<A: Actor> {
    /// The system the type belongs to, for the drain tasks its slots start
    /// (weak: the system holds the type).
    system: Weak<System>,
    pub(super) slots: IdMap<A::Id, Arc<Slot<A>>>,
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
    /// For a persistent type: its store, hooks and activations' trackers.
    #[cfg(feature = "persistence")]
    pub(crate) persisted: Option<Box<Persisted<A>>>,
    /// In a cluster: what says which node owns each ID (`routing`).
    pub(crate) router: OnceLock<Arc<dyn Router<A>>>,
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
    /// The machinery for `A` on `system`, with its configuration checked.
    pub(crate) fn new(
        configuration: ActorConfiguration,
        system: &Arc<System>,
    ) -> Result<Self, Error> {
        configuration.check(std::any::type_name::<A>())?;
        #[cfg(feature = "persistence")]
        let persisted = Persisted::for_type(system.data.get::<StoreHandle>().ok())?;
        Ok(ActorType {
            system: Arc::downgrade(system),
            #[cfg(feature = "persistence")]
            persisted,
            slots: id_map(),
            idle_timeout: configuration.idle_timeout,
            mailbox_capacity: configuration.mailbox_capacity,
            max_consecutive_panics: configuration.max_consecutive_panics,
            deactivate_timeout: configuration.deactivate_timeout,
            budget: Budget::new(configuration.max_actors, configuration.max_memory),
            evictor: Evictor::new(configuration.max_actors),
            counters: Counters::default(),
            router: OnceLock::new(),
        })
    }

    /// The cluster's router, if it says a message `M` for `id` goes
    /// elsewhere.
    #[inline]
    pub(crate) fn routed_elsewhere<M: 'static>(&self, id: &A::Id) -> Option<&Arc<dyn Router<A>>> {
        let router = self.router.get()?;
        (router.route(id, TypeId::of::<M>()) == Route::Elsewhere).then_some(router)
    }

    /// True if a cluster's router forbids starting a message for `id` here
    /// now (see `Router::admits`).
    #[inline]
    pub(crate) fn fenced_out(&self, id: &A::Id) -> bool {
        self.router.get().is_some_and(|router| !router.admits(id))
    }

    /// Where a new activation of `id` stands in a cluster, if there is one.
    pub(crate) fn placement(&self, id: &A::Id) -> Option<Placement> {
        self.router.get()?.placement(id)
    }

    /// Starts the drain task of `slot`, which was just scheduled (and its
    /// task counted): queued as a job, so that the worker taking it
    /// allocates the task (see [`Job`]).
    pub(crate) fn spawn_drain(&self, system: &Arc<System>, slot: Arc<Slot<A>>) {
        system.runtime.queue_job(slot);
    }

    /// Removes `slot` (retiring: no activation, drain task ending) unless a
    /// message arrived meanwhile; true if removed.
    pub(crate) fn retire(&self, slot: &Arc<Slot<A>>) -> bool {
        // No sender waits for room in a retiring slot: the message that
        // emptied its mailbox told them all, and they look the ID up again.
        // Marked under the map's write guard, so that a sender through the
        // map never meets a retired slot, and one through `recent.rs` finds
        // the mark under the slot lock and goes through the map.
        self.slots
            .remove_if(slot.id(), |_, current| {
                Arc::ptr_eq(current, slot) && current.retire_if_empty()
            })
            .is_some()
    }

    /// After an activation claimed from its idle `slot` ended outside a
    /// drain task (evicted, handed off, discarded): removes the slot, or,
    /// if messages arrived meanwhile, counts and starts a drain task for
    /// them, which activates the actor afresh. The caller runs inside a
    /// counted task, so the new one is counted before it ends.
    pub(crate) fn retire_or_drain(&self, system: &Arc<System>, slot: Arc<Slot<A>>) {
        if !self.retire(&slot) {
            system.lifecycle.task_started();
            self.spawn_drain(system, slot);
        }
    }

    /// The slots as they are now, so that no map lock is held while slots are
    /// locked or messages built.
    fn snapshot(&self) -> Vec<Arc<Slot<A>>> {
        self.slots
            .iter()
            .map(|entry| entry.value().clone())
            .collect()
    }

    /// The budgets an activation of this type counts against: its type's,
    /// and the system's if the system has limits.
    pub(super) fn budgets<'a>(&'a self, system: &'a System) -> impl Iterator<Item = &'a Budget> {
        std::iter::once(&self.budget).chain(system.limited_budget())
    }

    /// An activation of `memory` bytes ended (or failed to start, with 0).
    pub(crate) fn activation_ended(&self, system: &System, memory: usize, evicted: bool) {
        self.budgets(system)
            .for_each(|b| b.activation_ended(memory, evicted));
    }

    /// Whether a save of `id`'s activation met another writer (a conflict
    /// or a fence), so that the activation must be dropped without
    /// `deactivate`: its state is no longer the stored one. Never, for a
    /// volatile type, at no cost.
    #[inline]
    pub(super) fn state_lost(&self, id: &A::Id) -> bool {
        #[cfg(feature = "persistence")]
        if A::__PERSISTENT {
            return self
                .persisted
                .as_deref()
                .is_some_and(|persisted| persisted.is_lost(id));
        }
        let _ = id;
        false
    }

    /// `id`'s activation ended, or failed to start: what was known of its
    /// stored state goes with it.
    #[inline]
    pub(super) fn forget_state(&self, id: &A::Id) {
        #[cfg(feature = "persistence")]
        if let Some(persisted) = self.persisted.as_deref() {
            persisted.forget(id);
        }
        let _ = id;
    }

    /// `id`'s activation `actor` is dropped unsaved (the shutdown deadline
    /// passed): a persistent type hands its changed state to `on_unsaved`.
    pub(super) fn state_abandoned(&self, id: &A::Id, actor: &A) {
        #[cfg(feature = "persistence")]
        if let Some(persisted) = self.persisted.as_deref() {
            crate::system::persistence::save::abandoned(persisted, id, actor);
        }
        let _ = (id, actor);
    }
}

/// A slot's drain task starts on the worker that takes the slot off its
/// queue (see `runtime::Job`).
impl<A: Actor> Job for Slot<A> {
    fn start(self: Arc<Self>) {
        // Once the system is gone, so is the work.
        let Some(system) = self.system() else {
            return;
        };
        let context = TaskContext {
            waiter: Some(slot_waiter(&self)),
            ..TaskContext::default()
        };
        system.spawn_self_counted_here(context, |system| drain(Drainer::new(system, self)));
    }
}

impl<A: Actor> ActorTypeControl for ActorType<A> {
    fn wake_for_shutdown(self: Arc<Self>, system: &Arc<System>) {
        for slot in self.snapshot() {
            if slot.wake_for_shutdown(&system.lifecycle) {
                self.spawn_drain(system, slot);
            }
        }
    }

    fn statistics(&self) -> ActorStatistics {
        self.report()
    }

    fn idle_candidates(self: Arc<Self>, batch: usize) -> Vec<Candidate> {
        self.oldest_idle(batch)
    }
}
