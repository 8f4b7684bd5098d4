//! Invariants under concurrency: per-sender order, one activation per ID at
//! a time (never running concurrently with itself), strict alternation of
//! `activate` and `deactivate`, no lost message — from several threads, over
//! many IDs, with activations stopping themselves all the time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use acteur::{Acteur, Actor, ActorAssistant, ActorConfiguration, Receive};
use futures_lite::future::yield_now;

use crate::helpers::shut_down;

const THREADS: u32 = 4;
const IDS: u32 = 64;
const PER_THREAD_PER_ID: u64 = 150;

/// Per ID: lifecycle events in order, and whether a handler is running.
#[derive(Default)]
struct Journal {
    lifecycle: HashMap<u32, Vec<&'static str>>,
    running: HashMap<u32, bool>,
    overlaps: usize,
    out_of_order: usize,
    last_seq: HashMap<(u32, u32), u64>,
    handled: HashMap<u32, u64>,
}
static JOURNAL: Mutex<Option<Journal>> = Mutex::new(None);
static LIVE_ACTIVATIONS: AtomicUsize = AtomicUsize::new(0);

fn journal(f: impl FnOnce(&mut Journal)) {
    f(JOURNAL.lock().unwrap().get_or_insert_with(Journal::default));
}

struct Sequenced;

impl Actor for Sequenced {
    type Id = u32;
    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Self {
        LIVE_ACTIVATIONS.fetch_add(1, SeqCst);
        journal(|j| j.lifecycle.entry(id).or_default().push("activate"));
        Sequenced
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        journal(|j| {
            j.lifecycle
                .entry(*assistant.id())
                .or_default()
                .push("deactivate")
        });
        LIVE_ACTIVATIONS.fetch_sub(1, SeqCst);
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_millis(2)),
            ..Default::default()
        }
    }
}

/// Message `seq` (1, 2, 3...) from sender thread `from`.
struct Numbered {
    from: u32,
    seq: u64,
}

impl Receive<Numbered> for Sequenced {
    async fn handle(&mut self, m: Numbered, assistant: &ActorAssistant<Self>) {
        let id = *assistant.id();
        journal(|j| {
            if j.running.insert(id, true) == Some(true) {
                j.overlaps += 1;
            }
            // Across activations, each sender's messages arrive exactly in
            // sequence: none lost, none repeated, none overtaken.
            let last = j.last_seq.insert((id, m.from), m.seq).unwrap_or(0);
            if last + 1 != m.seq {
                j.out_of_order += 1;
            }
            *j.handled.entry(id).or_default() += 1;
        });
        // Give another activation of this ID a chance to run now, if the
        // system wrongly allowed one.
        yield_now().await;
        journal(|j| {
            j.running.insert(id, false);
        });
        if m.seq % 37 == 0 {
            // Deactivate now and then, so messages race with deactivation.
            assistant.stop();
        }
    }
}

#[test]
fn order_single_activation_and_alternation_under_load() {
    let sys = Acteur::new();
    let senders: Vec<_> = (0..THREADS)
        .map(|from| {
            let sys = sys.clone();
            thread::spawn(move || {
                for seq in 1..=PER_THREAD_PER_ID {
                    for id in 0..IDS {
                        sys.send_to_actor_sync::<Sequenced, Numbered>(id, Numbered { from, seq })
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    shut_down(&sys);

    let journal = JOURNAL.lock().unwrap().take().unwrap();
    assert_eq!(journal.overlaps, 0, "an ID ran concurrently with itself");
    assert_eq!(
        journal.out_of_order, 0,
        "a sender's messages were handled out of order"
    );
    for id in 0..IDS {
        assert_eq!(
            journal.handled.get(&id).copied().unwrap_or(0),
            u64::from(THREADS) * PER_THREAD_PER_ID,
            "messages lost or duplicated for id {id}"
        );
        let events = &journal.lifecycle[&id];
        assert!(events.len() >= 2, "id {id}: {events:?}");
        for (i, event) in events.iter().enumerate() {
            let expected = if i % 2 == 0 { "activate" } else { "deactivate" };
            assert_eq!(
                *event, expected,
                "id {id}: activate/deactivate do not alternate: {events:?}"
            );
        }
        assert_eq!(
            events.len() % 2,
            0,
            "id {id}: an activation was never deactivated"
        );
    }
    assert_eq!(LIVE_ACTIVATIONS.load(SeqCst), 0);
    let stats = sys.statistics();
    let sequenced = stats.actor::<Sequenced>().unwrap();
    assert_eq!(sequenced.activations, sequenced.deactivations);
    assert_eq!((sequenced.active_actors, sequenced.queued_messages), (0, 0));
}
