//! The machinery behind an [`Acteur`](crate::Acteur) handle. `System` (here)
//! holds the registries of actor types and services, the subscriptions, the
//! application data, the limits and the lifecycle; its parts, one folder
//! (or file) each:
//!
//! - `operations.rs`: every operation a handle offers, written once.
//! - `actors/`: one actor type's map of slots, delivery into them, the drain
//!   task that runs an actor, activation and deactivation, eviction, the
//!   idle sweep and the type's statistics.
//! - `services/`: the pool of each service type, and the subscriptions that
//!   route published messages to pools.
//! - `calls/`: what travels: envelopes and replies, the call chain of
//!   deadlock detection, call deadlines, the tracing span of a handler.
//! - `scheduling/`: the timers of scheduled messages and intervals.
//! - `limits/`: memory budgets and the evictor that picks what to evict.
//! - `persistence/` (feature `persistence`): the state store, loading a
//!   persistent actor's state before `activate`, saving it after turns and
//!   deactivation.
//! - `lifecycle/`: the phases of a system's life and the shutdown that
//!   walks through them.
//! - `tasks/`: the task context (what the current thread runs, for whom),
//!   the system's own counted tasks, and catching panics.
//! - `registry.rs`, `data.rs`, `clock.rs`, `system_limits.rs`, `id_map.rs`:
//!   the registry by `TypeId`, the application data, the clock of stamps, the
//!   builder's settings, the map keyed by actor ID and its hash.
//!
//! Imports go one way, from the top of this list down: `operations.rs`;
//! `scheduling/`; `actors/` and `services/`; `calls/` and `limits/`;
//! `persistence/`; `tasks/`; `lifecycle/`; and below them all, `crate::runtime`, which uses
//! nothing here. A file may also use what the `mod.rs` of a folder that
//! contains it shares (here, `System`). `scripts/module_cycles.py` checks
//! it (see CONTRIBUTING).

pub(crate) mod actors;
pub(crate) mod calls;
pub(crate) mod clock;
pub(crate) mod data;
pub(crate) mod id_map;
pub(crate) mod lifecycle;
pub(crate) mod limits;
pub(crate) mod operations;
#[cfg(feature = "persistence")]
pub(crate) mod persistence;
pub(crate) mod registry;
pub(crate) mod scheduling;
pub(crate) mod services;
pub(crate) mod system_limits;
pub(crate) mod tasks;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::padded::Padded;
use crate::runtime::{self, Home, Runtime};
use crate::statistics::Statistics;
use crate::{Acteur, Actor, Error, Service};
use actors::{ActorType, ActorTypeControl, RoomWait};
use calls::deadlines;
use calls::envelope::ActorEnvelope;
use data::DataMap;
use lifecycle::{Lifecycle, Phase, shutdown};
use limits::budget::Budget;
use limits::evictor::{Candidate, Eviction, Evictor, Oldest};
use registry::{Found, Registry};
use scheduling::timers;
use services::pool::{ServicePool, ServicePoolControl};
use services::subscriptions::Subscriptions;
pub(crate) use system_limits::SystemLimits;
use tasks::context;
use tasks::context::TaskContext;
use tasks::system_task::SystemTask;

pub(crate) struct System {
    pub(crate) lifecycle: Arc<Lifecycle>,
    runtime: Runtime,
    // Read by every send, so away from the reference count at the start
    // of the allocation, which every task spawn writes.
    actors: Padded<Registry<dyn ActorTypeControl>>,
    services: Padded<Registry<dyn ServicePoolControl>>,
    subscriptions: Subscriptions,
    scheduled_cancelled: AtomicU64,
    skipped_ticks: AtomicU64,
    /// The system-wide limits and figures; counted only when limited.
    pub(crate) budget: Budget,
    evictor: Evictor,
    /// Set when the builder was given an invalid limit: every send returns it.
    invalid_limits: Option<Error>,
    /// How long a call waits for its answer unless it says otherwise.
    pub(crate) call_timeout: Duration,
    /// The deadlines of calls waiting for their answers.
    pub(crate) deadlines: deadlines::Deadlines,
    /// How long shutdown may take before what is left is abandoned.
    pub(crate) shutdown_timeout: Duration,
    /// The application's values, from `ActeurBuilder::data`.
    pub(crate) data: DataMap,
    /// The scheduled messages not yet due.
    pub(crate) timers: timers::Timers,
}

impl System {
    /// A system whose tasks run on the runtime `home` picks.
    pub(crate) fn new(limits: SystemLimits, data: DataMap, home: Home) -> Arc<System> {
        let lifecycle = Arc::new(Lifecycle::default());
        Arc::new(System {
            runtime: Runtime::new(lifecycle.clone(), home),
            lifecycle,
            actors: Padded::default(),
            services: Padded::default(),
            subscriptions: Subscriptions::default(),
            scheduled_cancelled: AtomicU64::new(0),
            skipped_ticks: AtomicU64::new(0),
            budget: Budget::new(limits.max_actors, limits.max_memory),
            evictor: Evictor::new(limits.max_actors),
            invalid_limits: limits.check().err(),
            call_timeout: limits.call_timeout,
            deadlines: deadlines::Deadlines::default(),
            shutdown_timeout: limits.shutdown_timeout,
            data,
            timers: timers::Timers::default(),
        })
    }

    /// Whether the code running on this thread is one of this system's
    /// tasks (a handler, a hook), as opposed to code outside it.
    pub(crate) fn is_inside(&self) -> bool {
        context::current().is_some_and(|current| current.system == self.address())
    }

    /// Counts a task about to be spawned on behalf of the code running now,
    /// unless that would be too late: from inside the system the count is
    /// above zero, so a task may start even while the system stops (the
    /// sweepers that serve its handlers' calls and timers); from outside,
    /// not once it is stopping, since it may have stopped already.
    pub(crate) fn count_task_for_caller(&self) -> bool {
        if self.is_inside() {
            self.lifecycle.task_started();
            true
        } else {
            self.lifecycle.try_task_started()
        }
    }

    /// What tasks of this system record as theirs (see `TaskContext`).
    pub(crate) fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Whether the code running now may still reach services: always while
    /// the system runs; during shutdown, until the deadline, only from
    /// inside the system (so that `deactivate` can save through a service).
    pub(crate) fn serves_caller(&self) -> bool {
        match self.lifecycle.phase() {
            Phase::Running => true,
            Phase::DrainingActors | Phase::DrainingServices => self.is_inside(),
            Phase::Abandoning | Phase::Stopped => false,
        }
    }

    /// The system budget, if it has limits and so is counted.
    pub(crate) fn limited_budget(&self) -> Option<&Budget> {
        self.budget.is_limited().then_some(&self.budget)
    }

    /// Claims the least recently used idle activations of any type while
    /// the system is over its own limits; `just_idle` as in
    /// [`Evictor::choose`]. The caller awaits the deactivations.
    pub(crate) fn choose_evictions(
        self: &Arc<Self>,
        just_idle: impl FnOnce() -> Option<Candidate>,
        caller_waits: bool,
    ) -> Vec<Eviction> {
        let Some(budget) = self.limited_budget() else {
            return Vec::new();
        };
        // Each type's own oldest batch, merged: the system's oldest batch.
        let scan = |batch: usize| {
            let mut oldest = Oldest::new(batch);
            for actors in self.actors.all() {
                for candidate in actors.idle_candidates(batch) {
                    oldest.offer(candidate.idle_stamp, candidate.victim);
                }
            }
            oldest
                .into_newest_first()
                .map(|(idle_stamp, victim)| Candidate { idle_stamp, victim })
                .collect()
        };
        self.evictor
            .choose(self, budget, scan, just_idle, caller_waits)
    }

    /// Whether blocking the calling thread until one of this system's
    /// futures completes would wait forever (see `Runtime`).
    pub(crate) fn blocking_here_would_hang(&self) -> bool {
        self.runtime.blocking_here_would_hang()
    }

    /// A handle on this system.
    pub(crate) fn handle(self: &Arc<Self>) -> Acteur {
        Acteur::from_system(self.clone())
    }

    /// Spawns a task that was already counted with `task_started`, with
    /// `context` current while it runs; it is uncounted when it ends.
    pub(crate) fn spawn_counted(
        &self,
        context: TaskContext,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.runtime.spawn(self.counted(context, task));
    }

    /// As [`System::spawn_counted`], but spawns the task `make` returns on
    /// this thread and polls it at once: for a job that starts a task on
    /// the worker that took it (see `runtime::Job`). The task gets the
    /// system, not a clone of it, and uncounts itself when it is dropped,
    /// ended or not ([`SystemTask::counting_itself`]): every clone and drop
    /// of a shared reference is an atomic write to a count that all cores
    /// share, and a flood of activations makes them all at once.
    pub(crate) fn spawn_self_counted_here<F: Future<Output = ()> + Send + 'static>(
        self: Arc<Self>,
        mut context: TaskContext,
        make: impl FnOnce(Arc<System>) -> F,
    ) {
        context.system = self.address();
        runtime::spawn_here(SystemTask::counting_itself(make(self), context));
    }

    /// `task` as this system's counted task, with `context`.
    fn counted<F: Future<Output = ()>>(&self, mut context: TaskContext, task: F) -> SystemTask<F> {
        context.system = self.address();
        SystemTask::new(task, context, self.lifecycle.clone())
    }

    /// Queues `envelope` for actor `id` of type `A` (for a send, or a
    /// scheduled message that is due); if its mailbox is
    /// full, returns the wait for room to await. Only that rare wait is a
    /// future of its own, boxed, so a sender's future stays a few words.
    /// Callers bind the result to a local before awaiting the wait: a
    /// temporary of the same statement would live across the await, in
    /// every sender's future.
    #[inline]
    pub(crate) fn deliver_to_actor<A: Actor>(
        self: &Arc<Self>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
    ) -> Result<Option<RoomWait>, Error> {
        self.actor_type::<A>()?.deliver(self, id, envelope, None)
    }

    /// The machinery for actor type `A`, created on its first message.
    #[inline]
    pub(crate) fn actor_type<A: Actor>(self: &Arc<Self>) -> Result<Found<'_, ActorType<A>>, Error> {
        if let Some(actors) = self.actors.get::<ActorType<A>>() {
            return Ok(actors);
        }
        if let Some(invalid) = &self.invalid_limits {
            return Err(invalid.clone());
        }
        let candidate = Arc::new(ActorType::<A>::new(A::configuration(), self)?);
        self.actors.get_or_insert(
            || self.serves_caller(),
            candidate,
            |actors| actors as Arc<dyn ActorTypeControl>,
            |actors| {
                // Counted under the registry lock, which shutdown also takes.
                self.lifecycle.task_started();
                let sweep = actors
                    .clone()
                    .sweep_idle(Arc::downgrade(self), self.lifecycle.clone());
                self.spawn_counted(TaskContext::default(), sweep);
            },
        )
    }

    /// The pool of service `S`, created (not started) on first use.
    pub(crate) fn service_pool<S: Service>(
        self: &Arc<Self>,
    ) -> Result<Found<'_, ServicePool<S>>, Error> {
        if let Some(pool) = self.services.get::<ServicePool<S>>() {
            return Ok(pool);
        }
        if let Some(invalid) = &self.invalid_limits {
            return Err(invalid.clone());
        }
        self.services.get_or_insert(
            || self.serves_caller(),
            Arc::new(ServicePool::<S>::new()),
            |pool| pool as Arc<dyn ServicePoolControl>,
            |_| {},
        )
    }

    /// An interval's tick was skipped: the previous one was still queued.
    pub(crate) fn count_skipped_tick(&self) {
        self.skipped_ticks.fetch_add(1, Relaxed);
    }

    /// A scheduled message was not delivered: the system stopped first, or
    /// its target refused it.
    pub(crate) fn count_cancelled_schedule(&self) {
        self.scheduled_cancelled.fetch_add(1, Relaxed);
    }

    /// Begins shutdown: refuses messages from outside from now on, schedules
    /// every activation for a last drain and `deactivate`, and starts the
    /// task that takes the system through the phases of shutdown.
    pub(crate) fn stop(self: &Arc<Self>) {
        if self.lifecycle.begin_stop() {
            log::info!("stopping the actor system");
            for pool in self.services.all() {
                pool.fence();
            }
            for actors in self.actors.all() {
                actors.wake_for_shutdown(self);
            }
            // Not counted: it is what waits for the count to fall to zero.
            self.runtime.spawn(shutdown::run(self.clone()));
        }
    }

    /// Every service pool's control view, for shutdown.
    pub(crate) fn service_pools(&self) -> Vec<Arc<dyn ServicePoolControl>> {
        self.services.all()
    }

    pub(crate) fn statistics(&self) -> Statistics {
        Statistics {
            actors: self
                .actors
                .all()
                .iter()
                .map(|actors| actors.statistics())
                .collect(),
            services: self
                .services
                .all()
                .iter()
                .map(|pool| pool.statistics())
                .collect(),
            scheduled_cancelled: self.scheduled_cancelled.load(Relaxed),
            waiting_calls: self.deadlines.waiting(),
            scheduled_pending: self.timers.pending(),
            skipped_ticks: self.skipped_ticks.load(Relaxed),
            max_actors: self.budget.max_actors,
            max_memory: self.budget.max_memory,
        }
    }

    pub(crate) fn type_counts(&self) -> (usize, usize) {
        (self.actors.len(), self.services.len())
    }
}

impl Drop for System {
    fn drop(&mut self) {
        // Dropped without `stop`: nothing can reach it any more, so let its
        // worker threads, sweepers and scheduled messages end.
        self.lifecycle.enter(Phase::Stopped);
    }
}
