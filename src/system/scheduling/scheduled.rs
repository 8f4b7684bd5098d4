//! What the system's timers (see `timers.rs`) deliver when an entry is due:
//! a scheduled message to an actor or to a service, or an interval's tick
//! to the actor or service that started it.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::system::System;
use crate::system::actors::slot::{Pushed, Slot};
use crate::system::calls::envelope::{IntervalTick, QueuedTick, Tell};
use crate::system::scheduling::timers::Scheduled;
use crate::system::services::pool::ServicePool;
use crate::system::tasks::context::TaskContext;
use crate::timer::{Tick, TimerShared};
use crate::{Listen, Receive};

/// `message` for actor `id` of type `A`.
pub(crate) struct ToActor<A: Receive<M>, M: Send + 'static> {
    pub(crate) timer: Arc<TimerShared>,
    pub(crate) id: A::Id,
    pub(crate) message: M,
}

impl<A: Receive<M>, M: Send + 'static> Scheduled for ToActor<A, M> {
    fn timer(&self) -> &TimerShared {
        &self.timer
    }

    fn deliver(self: Box<Self>, system: &Arc<System>) -> Option<(Duration, Box<dyn Scheduled>)> {
        if !self.timer.fire() {
            return None;
        }
        let ToActor { id, message, .. } = *self;
        // Routed as any send: in a cluster, the owner may be another node.
        match system.send_to_actor::<A, M>(id, message) {
            Ok(None) => {}
            // A full mailbox is waited for in a task of its own: the
            // sweeper never waits for one actor.
            Ok(Some(wait_for_room)) => wait_in_a_task(system, wait_for_room),
            Err(_) => system.count_cancelled_schedule(),
        }
        None
    }
}

/// `message` for service `S`.
pub(crate) struct ToService<S: Listen<M>, M: Send + 'static> {
    pub(crate) timer: Arc<TimerShared>,
    pub(crate) message: M,
    pub(crate) service: PhantomData<fn() -> S>,
}

impl<S: Listen<M>, M: Send + 'static> Scheduled for ToService<S, M> {
    fn timer(&self) -> &TimerShared {
        &self.timer
    }

    fn deliver(self: Box<Self>, system: &Arc<System>) -> Option<(Duration, Box<dyn Scheduled>)> {
        if !self.timer.fire() {
            return None;
        }
        let pool = match system.service_pool::<S>() {
            Ok(pool) => Arc::clone(&pool),
            Err(_) => {
                system.count_cancelled_schedule();
                return None;
            }
        };
        let refused = match pool.try_deliver(system, self.message) {
            Ok(()) => return None,
            Err(refused) => refused,
        };
        if *refused.error() != crate::Error::MailboxFull {
            system.count_cancelled_schedule();
            return None;
        }
        // A full service is waited for in a task of its own.
        let envelope = Box::new(Tell(refused.into_message()));
        let waiting = system.clone();
        wait_in_a_task(system, async move {
            pool.deliver(&waiting, Some(envelope)).await
        });
        None
    }
}

/// Awaits the delivery `wait` (for room in a full mailbox or service) in a
/// counted task of its own, so that the sweeper never waits for one target;
/// a delivery that fails counts as a cancelled schedule.
fn wait_in_a_task(
    system: &Arc<System>,
    wait: impl Future<Output = Result<(), crate::Error>> + Send + 'static,
) {
    let counting = system.clone();
    system.lifecycle.task_started();
    system.spawn_counted(TaskContext::default(), async move {
        if wait.await.is_err() {
            counting.count_cancelled_schedule();
        }
    });
}

/// An interval's `message` for the actor of `slot`, while the activation that
/// started it lives.
pub(crate) struct ActorInterval<A: Receive<M>, M: Clone + Send + 'static> {
    pub(crate) timer: Arc<TimerShared>,
    pub(crate) every: Duration,
    pub(crate) slot: Arc<Slot<A>>,
    /// The activation that started it (see `Slot::activation`).
    pub(crate) activation: u32,
    pub(crate) message: M,
}

impl<A: Receive<M>, M: Clone + Send + 'static> Scheduled for ActorInterval<A, M> {
    fn timer(&self) -> &TimerShared {
        &self.timer
    }

    fn repeats(&self) -> bool {
        true
    }

    fn deliver(self: Box<Self>, system: &Arc<System>) -> Option<(Duration, Box<dyn Scheduled>)> {
        let Ok(actors) = system.actor_type::<A>() else {
            return None;
        };
        let tick = self.timer.tick(|| {
            let envelope = Box::new(IntervalTick {
                message: self.message.clone(),
                queued: QueuedTick(self.timer.clone()),
            });
            match self
                .slot
                .push_tick(envelope, self.activation, &system.lifecycle)
            {
                Pushed::Queued(spawn) => {
                    if spawn {
                        actors.spawn_drain(system, self.slot.clone());
                    }
                    Ok(())
                }
                Pushed::Refused(envelope) | Pushed::Full(envelope) | Pushed::Retired(envelope) => {
                    Err(envelope)
                }
            }
        });
        repeat(system, tick, self.every, self)
    }
}

/// An interval's `message` for service `S`, until the system stops.
pub(crate) struct ServiceInterval<S: Listen<M>, M: Clone + Send + 'static> {
    pub(crate) timer: Arc<TimerShared>,
    pub(crate) every: Duration,
    pub(crate) pool: Arc<ServicePool<S>>,
    pub(crate) message: M,
}

impl<S: Listen<M>, M: Clone + Send + 'static> Scheduled for ServiceInterval<S, M> {
    fn timer(&self) -> &TimerShared {
        &self.timer
    }

    fn repeats(&self) -> bool {
        true
    }

    fn deliver(self: Box<Self>, system: &Arc<System>) -> Option<(Duration, Box<dyn Scheduled>)> {
        let tick = self.timer.tick(|| {
            let envelope = Box::new(IntervalTick {
                message: self.message.clone(),
                queued: QueuedTick(self.timer.clone()),
            });
            self.pool.push_tick(system, envelope)
        });
        repeat(system, tick, self.every, self)
    }
}

/// What follows an interval's tick: the interval again, or its end.
fn repeat(
    system: &System,
    tick: Tick,
    every: Duration,
    interval: Box<dyn Scheduled>,
) -> Option<(Duration, Box<dyn Scheduled>)> {
    match tick {
        Tick::Queued => Some((every, interval)),
        Tick::Skipped => {
            system.count_skipped_tick();
            Some((every, interval))
        }
        Tick::Over => None,
    }
}
