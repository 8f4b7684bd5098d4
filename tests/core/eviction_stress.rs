//! The core invariants under constant eviction: several threads send to many
//! more IDs than the limits let live, with a tiny idle timeout, a count limit
//! on the type and a memory limit on the system, and actors that stop
//! themselves. Each ID must see every sender's messages exactly once and in
//! order, never run concurrently with itself, and alternate `activate` and
//! `deactivate` strictly (a new activation only after the previous
//! `deactivate` returned).

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, DeactivationReason, Receive,
    Respond,
};
use futures_lite::future::yield_now;

use crate::helpers::shut_down;
use crate::journal::Journal;

const THREADS: u32 = 4;
const IDS: u32 = 500;
const PER_THREAD_PER_ID: u64 = 40;
const MAX_ACTORS: usize = 32;
/// Actors estimate 100 to 400 bytes, so this binds around 24 of them: both
/// limits take turns.
const SYSTEM_MAX_MEMORY: usize = 6_000;

static JOURNAL: Journal = Journal::new();
/// Deactivations per reason, as `deactivate` learnt them.
static REASONS: Mutex<Option<HashMap<DeactivationReason, u64>>> = Mutex::new(None);

struct Crowded {
    handled: usize,
}

impl Actor for Crowded {
    type Id = u32;

    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        JOURNAL.activated(id);
        Ok(Crowded { handled: 0 })
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        // A new activation of this ID started too early would record its
        // "activate" while this one is suspended here.
        yield_now().await;
        let reason = assistant.deactivation_reason();
        *REASONS
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .entry(reason)
            .or_default() += 1;
        JOURNAL.deactivated(*assistant.id());
    }

    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_millis(1)),
            max_actors: Some(MAX_ACTORS),
            ..Default::default()
        }
    }

    fn memory_size(&self) -> usize {
        100 + (self.handled % 4) * 100
    }
}

struct Numbered {
    from: u32,
    seq: u64,
}

impl Receive<Numbered> for Crowded {
    async fn handle(&mut self, m: Numbered, assistant: &ActorAssistant<Self>) {
        self.record(m, assistant).await;
    }
}

impl Respond<Numbered> for Crowded {
    type Response = ();
    async fn handle(&mut self, m: Numbered, assistant: &ActorAssistant<Self>) {
        self.record(m, assistant).await;
    }
}

impl Crowded {
    async fn record(&mut self, m: Numbered, assistant: &ActorAssistant<Self>) {
        JOURNAL.handle(*assistant.id(), m.from, m.seq).await;
        self.handled += 1;
        if m.seq % 29 == 0 {
            assistant.stop();
        }
    }
}

#[test]
fn invariants_hold_under_constant_eviction() {
    let sys = Acteur::builder().max_memory(SYSTEM_MAX_MEMORY).build();
    let senders: Vec<_> = (0..THREADS)
        .map(|from| {
            let sys = sys.clone();
            thread::spawn(move || {
                for seq in 1..=PER_THREAD_PER_ID {
                    // Each thread walks the IDs in its own order, so that
                    // activations and evictions interleave everywhere.
                    for k in 0..IDS {
                        let id = (k * 7 + from * 131) % IDS;
                        let message = Numbered { from, seq };
                        // Every fourth message is a call, which paces the
                        // senders to the actors: most actors go idle between
                        // their messages, so limits have something to evict.
                        if k % 4 == 0 {
                            sys.call_actor_sync::<Crowded, Numbered>(id, message)
                        } else {
                            sys.send_to_actor_sync::<Crowded, Numbered>(id, message)
                        }
                        .unwrap();
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    let during = sys.statistics();
    shut_down(&sys);

    JOURNAL.check(IDS, u64::from(THREADS) * PER_THREAD_PER_ID);

    let stats = sys.statistics();
    let crowded = stats.actor::<Crowded>().unwrap();
    assert_eq!(crowded.activations, crowded.deactivations);
    assert_eq!(
        (
            crowded.active_actors,
            crowded.memory,
            crowded.queued_messages
        ),
        (0, 0, 0)
    );
    let by_reason = crowded.deactivations_by_reason;
    let reasons = REASONS.lock().unwrap().take().unwrap_or_default();
    let journaled = |reason| reasons.get(&reason).copied().unwrap_or(0);
    assert_eq!(
        by_reason.evicted_by_count,
        journaled(DeactivationReason::EvictedByCount)
    );
    assert_eq!(
        by_reason.evicted_by_memory,
        journaled(DeactivationReason::EvictedByMemory)
    );
    assert!(
        by_reason.evicted_by_count > 0 && by_reason.evicted_by_memory > 0,
        "both limits should have evicted: {by_reason:?}"
    );
    println!(
        "{} activations; deactivations {by_reason:?}; during the run {} live",
        crowded.activations,
        during.actor::<Crowded>().unwrap().active_actors
    );
}
