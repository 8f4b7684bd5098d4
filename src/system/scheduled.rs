//! The two kinds of scheduled message: to an actor, and to a service. Each
//! is an entry of the system's timers (see `timers.rs`) until it is due.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::system::System;
use crate::system::context::TaskContext;
use crate::system::envelope::Tell;
use crate::system::timers::Scheduled;
use crate::timer::TimerShared;
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

    fn deliver(self: Box<Self>, system: &Arc<System>) {
        let ToActor { id, message, .. } = *self;
        match system.deliver_to_actor::<A>(id, Box::new(Tell(message))) {
            Ok(None) => {}
            // A full mailbox is waited for in a task of its own: the
            // sweeper never waits for one actor.
            Ok(Some(wait_for_room)) => {
                let waiting = system.clone();
                system.lifecycle.task_started();
                system.spawn_counted(TaskContext::default(), async move {
                    if wait_for_room.await.is_err() {
                        waiting.count_cancelled_schedule();
                    }
                });
            }
            Err(_) => system.count_cancelled_schedule(),
        }
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

    fn deliver(self: Box<Self>, system: &Arc<System>) {
        let pool = match system.service_pool::<S>() {
            Ok(pool) => Arc::clone(&pool),
            Err(_) => return system.count_cancelled_schedule(),
        };
        let refused = match pool.try_deliver(system, self.message) {
            Ok(()) => return,
            Err(refused) => refused,
        };
        if *refused.error() != crate::Error::MailboxFull {
            return system.count_cancelled_schedule();
        }
        // A full service is waited for in a task of its own.
        let waiting = system.clone();
        let envelope = Box::new(Tell(refused.into_message()));
        system.lifecycle.task_started();
        system.spawn_counted(TaskContext::default(), async move {
            if pool.deliver(&waiting, Some(envelope)).await.is_err() {
                waiting.count_cancelled_schedule();
            }
        });
    }
}
