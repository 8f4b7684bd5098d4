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
    Acteur, Actor, ActorAssistant, ActorConfiguration, DeactivationReason, Receive, Respond,
};
use futures_lite::future::yield_now;

use crate::helpers::shut_down;

const THREADS: u32 = 4;
const IDS: u32 = 500;
const PER_THREAD_PER_ID: u64 = 40;
const MAX_ACTORS: usize = 32;
/// Actors estimate 100 to 400 bytes, so this binds around 24 of them: both
/// limits take turns.
const SYSTEM_MAX_MEMORY: usize = 6_000;

#[derive(Default)]
struct Journal {
    lifecycle: HashMap<u32, Vec<&'static str>>,
    running: HashMap<u32, bool>,
    overlaps: usize,
    out_of_order: usize,
    last_seq: HashMap<(u32, u32), u64>,
    handled: HashMap<u32, u64>,
    reasons: HashMap<DeactivationReason, u64>,
}
static JOURNAL: Mutex<Option<Journal>> = Mutex::new(None);

fn journal(f: impl FnOnce(&mut Journal)) {
    f(JOURNAL.lock().unwrap().get_or_insert_with(Journal::default));
}

struct Crowded {
    handled: usize,
}

impl Actor for Crowded {
    type Id = u32;

    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Self {
        journal(|j| j.lifecycle.entry(id).or_default().push("activate"));
        Crowded { handled: 0 }
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        // A new activation of this ID started too early would record its
        // "activate" while this one is suspended here.
        yield_now().await;
        let reason = assistant.deactivation_reason();
        journal(|j| {
            j.lifecycle
                .entry(*assistant.id())
                .or_default()
                .push("deactivate");
            *j.reasons.entry(reason).or_default() += 1;
        });
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
        let id = *assistant.id();
        journal(|j| {
            if j.running.insert(id, true) == Some(true) {
                j.overlaps += 1;
            }
            let last = j.last_seq.insert((id, m.from), m.seq).unwrap_or(0);
            if last + 1 != m.seq {
                j.out_of_order += 1;
            }
            *j.handled.entry(id).or_default() += 1;
        });
        yield_now().await;
        journal(|j| {
            j.running.insert(id, false);
        });
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

    let journal = JOURNAL.lock().unwrap().take().unwrap();
    assert_eq!(journal.overlaps, 0, "an ID ran concurrently with itself");
    assert_eq!(
        journal.out_of_order, 0,
        "a sender's messages were lost, repeated or reordered"
    );
    for id in 0..IDS {
        assert_eq!(
            journal.handled.get(&id).copied().unwrap_or(0),
            u64::from(THREADS) * PER_THREAD_PER_ID,
            "messages lost or duplicated for id {id}"
        );
        let events = &journal.lifecycle[&id];
        for (i, event) in events.iter().enumerate() {
            let expected = if i % 2 == 0 { "activate" } else { "deactivate" };
            assert_eq!(
                *event, expected,
                "id {id}: activate/deactivate do not alternate: {events:?}"
            );
        }
        assert_eq!(events.len() % 2, 0, "id {id}: never deactivated");
    }

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
    let journaled = |reason| journal.reasons.get(&reason).copied().unwrap_or(0);
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
