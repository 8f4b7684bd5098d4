//! `WriteMode::WriteBehind`: the first turn that may have changed a state
//! since its last save starts a timer (an interval of the activation, so it
//! ends with it); when it fires, a flush message saves the state, between
//! two messages like any other, and stops the timer. Nothing is encoded or
//! written on the path of the messages themselves. A flush the store could
//! not take starts the timer again: the state stays changed until saved,
//! and deactivation saves it in any case.

use std::any::type_name;
use std::time::{Duration, Instant};

use super::write::{encode, mark_changed, write};
use crate::persistence::{StateError, WriteMode};
use crate::{ActorAssistant, PersistentActor, Receive, Timer};

/// The message that saves a `WriteBehind` actor's changed state.
#[derive(Clone)]
pub(crate) struct FlushState;

/// Starts the flush of `assistant`'s actor, due after `delay`.
pub(crate) fn start<A: PersistentActor>(assistant: &ActorAssistant<A>, delay: Duration) -> Timer {
    assistant.send_interval(delay, FlushState)
}

impl<A: PersistentActor> Receive<FlushState> for A {
    async fn handle(&mut self, _: FlushState, assistant: &ActorAssistant<Self>) {
        let Ok(actors) = assistant.system().actor_type::<A>() else {
            return;
        };
        let Some(persisted) = actors.persisted.as_deref() else {
            return;
        };
        let id = assistant.id();
        {
            let Some(mut tracker) = persisted.trackers.get_mut(id) else {
                return;
            };
            if let Some(flush) = tracker.flush.take() {
                flush.cancel();
            }
            // This turn itself changes nothing.
            tracker.unchanged = true;
            if tracker.cleared || tracker.lost.is_some() {
                return;
            }
        }
        let envelope = match encode(persisted, self) {
            Ok(envelope) => envelope,
            Err(error) => {
                // Not retried: the next changed turn starts a flush again.
                log::error!(
                    "the state of actor {} {id:?} was not saved: {error}",
                    type_name::<A>()
                );
                return;
            }
        };
        if !mark_changed(persisted, id, &envelope) {
            return;
        }
        let give_up_at = Instant::now() + assistant.system().call_timeout;
        match write(persisted, id, Some(envelope), Some(give_up_at)).await {
            // Saved; or lost to another writer, and the activation is
            // dropped before its next message or its deactivation.
            Ok(_) | Err(StateError::Conflict { .. } | StateError::Fenced { .. }) => {}
            Err(_) => {
                // Logged by `write`; tried again after another delay.
                if let WriteMode::WriteBehind { max_delay } = persisted.hooks.configuration.write {
                    if let Some(mut tracker) = persisted.trackers.get_mut(id) {
                        tracker.flush = Some(start(assistant, max_delay));
                    }
                }
            }
        }
    }
}
