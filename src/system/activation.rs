//! The drain task of one actor slot: activates the actor when needed,
//! handles its queued messages one at a time, and deactivates it. This is
//! the only place that runs an actor's code, so one ID never runs
//! concurrently with itself, and a new activation can only start after the
//! previous `deactivate` has returned.

use std::any::type_name;
use std::sync::Arc;

use crate::system::System;
use crate::system::actor_type::ActorType;
use crate::system::envelope::ActorEnvelope;
use crate::system::panics::{catch, catch_sync};
use crate::system::slot::{Slot, Step};
use crate::{Actor, ActorAssistant, Error};

/// Runs until the slot is idle or retired. The caller counted this task.
pub(crate) async fn drain<A: Actor>(
    system: Arc<System>,
    actors: Arc<ActorType<A>>,
    id: A::Id,
    slot: Arc<Slot<A>>,
) {
    let assistant = ActorAssistant::new(system.handle(), id.clone(), slot.clone());
    let mut actor = slot.take_idle_actor();
    loop {
        match slot.next_step(&mut actor, system.lifecycle.is_stopping()) {
            Step::Handle(envelope) => {
                if actor.is_none() {
                    actor = activate(&actors, &id, &slot, &assistant).await;
                }
                let Some(current) = actor.as_mut() else {
                    let failure = Error::ActivationFailed {
                        actor: type_name::<A>(),
                        id: format!("{id:?}"),
                    };
                    // Everything queued was waiting for this activation.
                    let waiting = std::iter::once(envelope).chain(slot.take_queue());
                    refuse_all(&actors, waiting, &failure);
                    continue;
                };
                if let Err(panic) = catch(envelope.handle(current, &assistant)).await {
                    log::error!(
                        "a handler of actor {} {id:?} panicked: {panic}; the activation is dropped \
                         without deactivate, its next message activates it afresh",
                        type_name::<A>()
                    );
                    actors.counters.handler_panicked();
                    if let Some(broken) = actor.take() {
                        catch_sync("dropping an abandoned actor", || drop(broken));
                    }
                    slot.activation_ended();
                }
            }
            Step::Deactivate(reason) => {
                if let Some(mut current) = actor.take() {
                    log::debug!("deactivating actor {} {id:?}: {reason:?}", type_name::<A>());
                    if let Err(panic) = catch(current.deactivate(&assistant)).await {
                        log::error!(
                            "deactivate of actor {} {id:?} panicked: {panic}",
                            type_name::<A>()
                        );
                    }
                    catch_sync("dropping a deactivated actor", || drop(current));
                    actors.counters.deactivated();
                    slot.activation_ended();
                }
            }
            Step::Retire => {
                if actors.retire(&id, &slot) {
                    break;
                }
            }
            Step::Idle => break,
        }
    }
}

/// Runs `activate`; `None` if it panicked.
async fn activate<A: Actor>(
    actors: &ActorType<A>,
    id: &A::Id,
    slot: &Slot<A>,
    assistant: &ActorAssistant<A>,
) -> Option<A> {
    match catch(A::activate(id.clone(), assistant)).await {
        Ok(actor) => {
            log::trace!("activated actor {} {id:?}", type_name::<A>());
            actors.counters.activated();
            slot.activation_started();
            Some(actor)
        }
        Err(panic) => {
            log::error!(
                "activate of actor {} {id:?} panicked: {panic}",
                type_name::<A>()
            );
            actors.counters.activation_failed();
            None
        }
    }
}

/// Tells every waiting caller `error`; drops and counts fire-and-forget messages.
fn refuse_all<A: Actor>(
    actors: &ActorType<A>,
    envelopes: impl IntoIterator<Item = ActorEnvelope<A>>,
    error: &Error,
) {
    let mut dropped = 0;
    for envelope in envelopes {
        if !envelope.refuse(error.clone()) {
            dropped += 1;
        }
    }
    if dropped > 0 {
        log::error!("{dropped} fire-and-forget message(s) dropped: {error}");
        actors.counters.messages_dropped(dropped);
    }
}
