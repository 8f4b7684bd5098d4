//! Invariants under concurrency: per-sender order, one activation per ID at
//! a time (never running concurrently with itself), strict alternation of
//! `activate` and `deactivate`, no lost message — from several threads, over
//! many IDs, with activations stopping themselves all the time.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use crate::helpers::shut_down;
use crate::journal::Journal;
use acteur::{Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Receive};

const THREADS: u32 = 4;
const IDS: u32 = 64;
const PER_THREAD_PER_ID: u64 = 150;

static JOURNAL: Journal = Journal::new();
static LIVE_ACTIVATIONS: AtomicUsize = AtomicUsize::new(0);

struct Sequenced;

impl Actor for Sequenced {
    type Id = u32;
    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        LIVE_ACTIVATIONS.fetch_add(1, SeqCst);
        JOURNAL.activated(id);
        Ok(Sequenced)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        JOURNAL.deactivated(*assistant.id());
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
        JOURNAL.handle(*assistant.id(), m.from, m.seq).await;
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

    JOURNAL.check(IDS, u64::from(THREADS) * PER_THREAD_PER_ID);
    assert_eq!(LIVE_ACTIVATIONS.load(SeqCst), 0);
    let stats = sys.statistics();
    let sequenced = stats.actor::<Sequenced>().unwrap();
    assert_eq!(sequenced.activations, sequenced.deactivations);
    assert_eq!((sequenced.active_actors, sequenced.queued_messages), (0, 0));
}
