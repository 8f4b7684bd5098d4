//! Activating an actor: room reserved in the budgets (evicting for it
//! first if needed), then `Actor::activate`, its error or panic contained.

use std::any::type_name;
use std::sync::Arc;

use super::ActorType;
use super::slot::Slot;
use crate::system::System;
use crate::system::tasks::panics::catch;
use crate::{Actor, ActorAssistant, Error};

/// How an attempt to activate an actor ended.
pub(super) enum Activation<A> {
    Ready(A),
    /// `activate` returned an error or panicked: the cause.
    Failed(String),
    /// A persistent actor's state could not be loaded: the error its
    /// message's caller gets. Not retried on the same message (the load
    /// already was, within its `load_timeout`).
    StateFailed(Error),
    /// The shutdown deadline passed while it ran.
    Abandoned,
}

/// Counts the activation against the budgets (evicting for it first if
/// needed), then runs `activate`.
pub(super) async fn activate<A: Actor>(
    system: &Arc<System>,
    actors: &Arc<ActorType<A>>,
    id: &A::Id,
    slot: &Slot<A>,
    assistant: &ActorAssistant<A>,
) -> Activation<A> {
    // How it failed, if it did; the budgets and the tracker are settled
    // once below.
    let failed = 'attempt: {
        if let Some(evictions) = actors.activation_reserved(system) {
            if let Err(refused) = wait_for_room(system, evictions).await {
                break 'attempt Activation::StateFailed(refused);
            }
        }
        let attempt = catch(A::activate(id.clone(), assistant));
        match system.lifecycle.within_shutdown_deadline(attempt).await {
            Some(Ok(Ok(actor))) => {
                log::debug!("activated actor {} {id:?}", type_name::<A>());
                actors.counters.activated();
                slot.activation_started();
                return Activation::Ready(actor);
            }
            Some(Ok(Err(error))) => match state_error(&*error) {
                // Logged where it happened, with its details.
                Some(state_error) => Activation::StateFailed(state_error),
                None => {
                    let cause = error.to_string();
                    log::error!(
                        "activate of actor {} {id:?} returned an error: {cause}",
                        type_name::<A>()
                    );
                    Activation::Failed(cause)
                }
            },
            Some(Err(panic)) => {
                log::error!(
                    "activate of actor {} {id:?} panicked: {panic}",
                    type_name::<A>()
                );
                Activation::Failed(panic)
            }
            None => Activation::Abandoned,
        }
    };
    actors.forget_state(id);
    actors.activation_ended(system, 0, false);
    if !matches!(failed, Activation::Abandoned) {
        actors.counters.activation_failed();
    }
    failed
}

/// The error of a persistent actor's state that could not be loaded, if
/// that is why `activate` failed.
fn state_error(error: &(dyn std::error::Error + 'static)) -> Option<Error> {
    #[cfg(feature = "persistence")]
    if let Some(error @ Error::State(_)) = error.downcast_ref::<Error>() {
        return Some(error.clone());
    }
    let _ = error;
    None
}

/// Awaits `evictions`; with persistence, refused when they wait for a store
/// that fails saves (see `persistence/room.rs`).
async fn wait_for_room(
    system: &Arc<System>,
    evictions: crate::system::limits::evictor::Eviction,
) -> Result<(), Error> {
    #[cfg(feature = "persistence")]
    return crate::system::persistence::room::wait_for_room(system, evictions).await;
    #[cfg(not(feature = "persistence"))]
    {
        let _ = system;
        evictions.await;
        Ok(())
    }
}
