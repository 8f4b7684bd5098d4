//! The peers' counter actor, shared by the benches that count messages: it
//! ticks a [`Countdown`] once it has handled its share of `Inc`s.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};

use super::baseline::{Countdown, Zero};

/// The countdown the counters of the current run tick when they have
/// handled their share, and that share; set before the run's first message
/// (read at activation).
static COUNTDOWN: Mutex<Option<(u64, Arc<Countdown>)>> = Mutex::new(None);

/// Sets the share and countdown of the counters activated from now on.
pub fn set_countdown(per_actor: u64, countdown: Arc<Countdown>) {
    *COUNTDOWN.lock().unwrap() = Some((per_actor, countdown));
}

/// Counts `Inc`s; ticks its run's countdown on reaching its share.
pub struct Counter {
    pub count: u64,
    pub target: u64,
    pub done: Option<Arc<Countdown>>,
}

impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let (target, done) = match &*COUNTDOWN.lock().unwrap() {
            Some((target, done)) => (*target, Some(done.clone())),
            None => (0, None),
        };
        Ok(Counter {
            count: 0,
            target,
            done,
        })
    }
}

/// One more.
pub struct Inc;
impl Receive<Inc> for Counter {
    async fn handle(&mut self, _: Inc, _: &ActorAssistant<Self>) {
        self.count += 1;
        if self.count == self.target {
            if let Some(done) = &self.done {
                done.tick();
            }
        }
    }
}

/// One more, and the count.
pub struct IncAndGet;
impl Respond<IncAndGet> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: IncAndGet, _: &ActorAssistant<Self>) -> u64 {
        self.count += 1;
        self.count
    }
}

/// The count.
pub struct Get;
impl Respond<Get> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u64 {
        self.count
    }
}

/// tell_many_ids's timed part: `total` `Inc`s in a round robin over the
/// counters `0..actors`, until `zero` says each handled its share; the time
/// it took.
pub async fn round_robin(handle: &Acteur, actors: u64, total: u64, zero: Zero) -> Duration {
    let start = Instant::now();
    for i in 0..total {
        let id = (i % actors) as u32;
        handle.send_to_actor::<Counter, Inc>(id, Inc).await.unwrap();
    }
    zero.await.unwrap();
    start.elapsed()
}
