//! Messages sent later or at intervals: one heap of timers per system with
//! its sweeper, and the scheduled deliveries it fires into actors and
//! services.

pub(crate) mod scheduled;
pub(crate) mod timers;

use std::sync::Arc;
use std::time::Duration;

use crate::system::System;
use crate::system::actors::slot::Slot;
use crate::timer::{Timer, TimerShared};
use crate::{Actor, Error, Listen, Receive};

impl System {
    /// Sends `message` to actor `id` after `delay` (see `timers.rs`).
    pub(crate) fn schedule<A: Actor + Receive<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        // The type's configuration is checked now, as every other send does.
        drop(self.actor_type::<A>()?);
        self.add_timer(delay, |timer| {
            Box::new(scheduled::ToActor::<A, M> { timer, id, message })
        })
    }

    /// Sends `message` to service `S` after `delay` (see `timers.rs`).
    pub(crate) fn schedule_to_service<S: Listen<M>, M: Send + 'static>(
        self: &Arc<Self>,
        delay: Duration,
        message: M,
    ) -> Result<Timer, Error> {
        drop(self.service_pool::<S>()?);
        self.add_timer(delay, |timer| {
            Box::new(scheduled::ToService::<S, M> {
                timer,
                message,
                service: std::marker::PhantomData,
            })
        })
    }

    /// Schedules the entry `entry` makes of a new timer for `delay` from
    /// now, and returns the timer; refused once the system is stopping,
    /// whoever asks (what is not due by then would be cancelled anyway).
    fn add_timer(
        self: &Arc<Self>,
        delay: Duration,
        entry: impl FnOnce(Arc<TimerShared>) -> Box<dyn timers::Scheduled>,
    ) -> Result<Timer, Error> {
        if self.lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        let timer = TimerShared::new();
        self.timers.add(self, delay, entry(timer.clone()))?;
        Ok(Timer::new(timer))
    }

    /// Sends a clone of `message` to the actor of `slot` every
    /// `every`, while its current activation lives; see
    /// `ActorAssistant::send_interval`.
    pub(crate) fn interval_to_actor<A: Receive<M>, M: Clone + Send + 'static>(
        self: &Arc<Self>,
        slot: Arc<Slot<A>>,
        every: Duration,
        message: M,
    ) -> Timer {
        let timer = TimerShared::new();
        let interval = scheduled::ActorInterval::<A, M> {
            timer: timer.clone(),
            every,
            activation: slot.activation(),
            slot,
            message,
        };
        self.start_interval(&timer, every, Box::new(interval));
        Timer::new(timer)
    }

    /// Sends a clone of `message` to service `S` every `every` until the
    /// system stops; see `ServiceAssistant::send_interval`.
    pub(crate) fn interval_to_service<S: Listen<M>, M: Clone + Send + 'static>(
        self: &Arc<Self>,
        every: Duration,
        message: M,
    ) -> Timer {
        let timer = TimerShared::new();
        match self.service_pool::<S>() {
            Ok(pool) => {
                let interval = scheduled::ServiceInterval::<S, M> {
                    timer: timer.clone(),
                    every,
                    pool: Arc::clone(&pool),
                    message,
                };
                self.start_interval(&timer, every, Box::new(interval));
            }
            Err(error) => {
                log::error!("no interval started: {error}");
                timer.end();
            }
        }
        Timer::new(timer)
    }

    /// Puts an interval among the timers, first due after `every`; one that
    /// cannot start (a zero period, a stopping system) ends at once.
    fn start_interval(
        self: &Arc<Self>,
        timer: &TimerShared,
        every: Duration,
        interval: Box<dyn timers::Scheduled>,
    ) {
        if every.is_zero() {
            log::error!(
                "send_interval was given a zero period, which would send without pause; \
                 no interval started: give it a positive duration"
            );
            timer.end();
            return;
        }
        if let Err(error) = self.timers.add(self, every, interval) {
            log::debug!("no interval started: {error}");
            timer.end();
        }
    }
}
