//! `WriteMode::EveryTurn`: a turn's reply leaves once the state it left is
//! durable, but the actor does not wait for that: its next message runs
//! while the save is in flight.
//!
//! After a turn that changed the state, the state is encoded (the actor is
//! only reachable between messages) and handed to the activation's
//! pipeline with the turn's reply. The first one starts a saver task, which
//! writes the latest state handed over, releases the replies of the turns
//! it covers, in order, and goes on while more came meanwhile: turns that
//! arrive during a write share the next one, so a busy actor costs one
//! write per commit, not one per message. Deactivation, `save` and
//! `clear_state` wait for the saver to end first, so that an activation
//! never writes twice at once.
//!
//! The protocol: everything happens under the tracker's lock (the trackers'
//! map shard). The saver removes the pipeline, and tells the waiters, in
//! the lock section in which it finds nothing waiting: a turn handed over
//! in between would otherwise join a pipeline about to vanish, and its
//! reply would never leave. A waiter (`saved`) listens under the lock, so
//! the saver's news cannot pass between its look and its wait.
//! `tests/models/save_pipeline.rs` model-checks it.

use std::any::type_name;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use event_listener::Event;

use super::write::{encode, write};
use super::{Persisted, StateCounters, activation_ended};
use crate::persistence::Envelope;
use crate::system::System;
use crate::system::tasks::context::TaskContext;
use crate::{Actor, ActorAssistant, Error};

/// A turn's reply, released once the state it left is durable (`Ok`), or
/// with why it is not.
pub(crate) type Release = Box<dyn FnOnce(Result<(), Error>) + Send>;

/// Runs `release`, if any, with `result`.
pub(crate) fn release(release: Option<Release>, result: Result<(), Error>) {
    if let Some(release) = release {
        release(result);
    }
}

/// An activation's saves in flight: the state waiting for the next write,
/// and the replies of the turns that state covers.
pub(crate) struct Pipeline {
    next: Option<Envelope>,
    /// In a mutex only to be `Sync`, as the trackers' map requires (a
    /// reply need not be): it is reached through `&mut` only, unlocked.
    waiting: Mutex<Vec<Release>>,
    /// Told when the saver ends.
    ended: Arc<Event>,
}

impl Pipeline {
    /// Whether a state waits for the next write.
    pub(crate) fn waits(&self) -> bool {
        self.next.is_some()
    }

    fn waiting(&mut self) -> &mut Vec<Release> {
        self.waiting
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Releases every reply still waiting with `error`: the activation
    /// ended before its state was saved.
    pub(crate) fn abandon(self, error: &Error) {
        let waiting = self
            .waiting
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        for release in waiting {
            release(Err(error.clone()));
        }
        self.ended.notify(usize::MAX);
    }
}

/// Hands `envelope`, the state a turn left, and the turn's `release` to the
/// pipeline of `id`'s activation, starting its saver if none runs.
pub(crate) fn hand_over<A: Actor>(
    system: &Arc<System>,
    persisted: &Persisted<A>,
    id: &A::Id,
    envelope: Envelope,
    release: Option<Release>,
) {
    let Some(mut tracker) = persisted.trackers.get_mut(id) else {
        return self::release(release, Err(Error::State(activation_ended())));
    };
    if let Some(pipeline) = tracker.pipeline.as_mut() {
        // Behind the write in flight: the newest state covers every turn.
        pipeline.next = Some(envelope);
        pipeline.waiting().extend(release);
        return;
    }
    if tracker.saved_checksum == Some(envelope.checksum) {
        // Back to what is stored: nothing to save.
        StateCounters::add(&persisted.counters.skipped);
        tracker.dirty = false;
        drop(tracker);
        return self::release(release, Ok(()));
    }
    tracker.unsaved_turns += 1;
    tracker.pipeline = Some(Pipeline {
        next: Some(envelope),
        waiting: Mutex::new(release.into_iter().collect()),
        ended: Arc::new(Event::new()),
    });
    drop(tracker);
    // Counted, so that the system does not stop while it writes; started
    // from the drain task, itself counted.
    system.lifecycle.task_started();
    system.spawn_counted(
        TaskContext::default(),
        saver::<A>(system.clone(), id.clone()),
    );
}

/// Writes the latest state handed to `id`'s pipeline, releases the replies
/// it covers, and goes on until nothing more was handed over.
async fn saver<A: Actor>(system: Arc<System>, id: A::Id) {
    let Ok(actors) = system.actor_type::<A>() else {
        return;
    };
    let Some(persisted) = actors.persisted.as_deref() else {
        return;
    };
    loop {
        let (envelope, waiting, unchanged) = {
            let Some(mut tracker) = persisted.trackers.get_mut(&id) else {
                // Forgotten: its replies were released then.
                return;
            };
            let lost = tracker.lost.clone();
            let Some(pipeline) = tracker.pipeline.as_mut() else {
                return;
            };
            match (pipeline.next.take(), lost) {
                (Some(envelope), None) => {
                    let waiting = std::mem::take(pipeline.waiting());
                    let unchanged = tracker.saved_checksum == Some(envelope.checksum);
                    (envelope, waiting, unchanged)
                }
                (_, lost) => {
                    let pipeline = tracker.pipeline.take();
                    drop(tracker);
                    if let Some(pipeline) = pipeline {
                        match lost {
                            Some(lost) => pipeline.abandon(&Error::State(lost)),
                            None => {
                                pipeline.ended.notify(usize::MAX);
                            }
                        }
                    }
                    return;
                }
            }
        };
        // Back to what is stored (a write in flight saved the same bytes).
        let result = if unchanged {
            StateCounters::add(&persisted.counters.skipped);
            Ok(())
        } else {
            let give_up_at = Instant::now() + system.call_timeout;
            write(persisted, &id, Some(envelope), Some(give_up_at))
                .await
                .map(drop)
                .map_err(Error::State)
        };
        for release in waiting {
            release(result.clone());
        }
    }
}

/// Waits until no saver runs for `id`'s activation.
pub(crate) async fn saved<A: Actor>(persisted: &Persisted<A>, id: &A::Id) {
    loop {
        let listener = {
            let Some(tracker) = persisted.trackers.get(id) else {
                return;
            };
            let Some(pipeline) = tracker.pipeline.as_ref() else {
                return;
            };
            pipeline.ended.listen()
        };
        listener.await;
    }
}

/// After a turn of a persistent actor whose type saves every turn: `release`
/// runs at once if the turn left nothing to save, else once its state is
/// durable.
pub(crate) fn every_turn<A: Actor>(
    persisted: &Persisted<A>,
    actor: &A,
    assistant: &ActorAssistant<A>,
    release: Option<Release>,
) {
    let id = assistant.id();
    match encode(persisted, actor) {
        Ok(envelope) => hand_over(assistant.system(), persisted, id, envelope, release),
        Err(error) => {
            log::error!(
                "the state of actor {} {id:?} was not saved: {error}",
                type_name::<A>()
            );
            self::release(release, Err(Error::State(error)));
        }
    }
}
