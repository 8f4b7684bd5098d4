//! How the worker pool schedules. A message to an idle actor runs next on
//! the worker that sent it, once the sender's handler yields; these tests
//! hold that a handler which does not yield (it blocks its thread) cannot
//! keep such a message waiting forever while another worker is free.

use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread;

use crate::helpers::{next, shut_down};
use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive};

/// Sends to [`Helper`], then blocks its thread until the helper has run.
struct Blocker;
impl Actor for Blocker {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Blocker)
    }
}

struct Helper;
impl Actor for Helper {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Helper)
    }
}

/// The channels of one run: the helper tells the blocker, the blocker
/// tells the test.
struct BlockUntilHelped {
    helped: Mutex<mpsc::Receiver<()>>,
    help: mpsc::Sender<()>,
    done: mpsc::Sender<()>,
}

struct Help(mpsc::Sender<()>);

impl Receive<BlockUntilHelped> for Blocker {
    async fn handle(&mut self, run: BlockUntilHelped, assistant: &ActorAssistant<Self>) {
        assistant
            .send_to_actor::<Helper, Help>(1, Help(run.help))
            .await
            .unwrap();
        // Blocking inside a handler is a bad idea, but must not hang:
        // the helper's drain task waits on this worker, and another one
        // has to take it over.
        let helped = run.helped.lock().unwrap_or_else(PoisonError::into_inner);
        helped.recv().unwrap();
        let _ = run.done.send(());
    }
}

impl Receive<Help> for Helper {
    async fn handle(&mut self, Help(helped): Help, _: &ActorAssistant<Self>) {
        let _ = helped.send(());
    }
}

#[test]
fn a_handler_blocking_its_thread_does_not_hold_back_the_actor_it_woke() {
    if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return; // One worker: a blocked handler blocks everything.
    }
    let sys = Acteur::new();
    for round in 0..20 {
        let (help, helped) = mpsc::channel();
        let (done, finished) = mpsc::channel();
        let run = BlockUntilHelped {
            helped: Mutex::new(helped),
            help,
            done,
        };
        sys.send_to_actor_sync::<Blocker, BlockUntilHelped>(round, run)
            .unwrap();
        next(&finished, "the blocked handler's end");
    }
    shut_down(&sys);
}
