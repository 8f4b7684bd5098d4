//! Deactivating an actor: `Actor::deactivate` raced against the type's
//! `deactivate_timeout` and, during shutdown, the shutdown deadline; then the
//! activation is dropped and its budgets and slot told.

use std::any::type_name;
use std::sync::Arc;

use futures_lite::future;

use super::ActorType;
use crate::system::System;
use crate::system::calls::deadlines::Expiry;
use crate::system::tasks::panics::{catch, catch_sync};
use crate::{Actor, ActorAssistant, DeactivationReason};

/// How a `deactivate` ended, when it did not simply return.
enum Cut {
    /// It ran past the type's `deactivate_timeout`.
    TimedOut,
    /// The shutdown deadline passed while it ran.
    Abandoned,
}

/// Runs `deactivate` for the activation `actor` of `memory` bytes, within
/// the type's `deactivate_timeout` (and, during shutdown, the shutdown
/// deadline), and drops it; `assistant` serves its ID.
pub(super) async fn deactivate<A: Actor>(
    system: &Arc<System>,
    actors: &ActorType<A>,
    assistant: &ActorAssistant<A>,
    mut actor: A,
    memory: usize,
    reason: DeactivationReason,
) {
    let id = assistant.id();
    log::debug!("deactivating actor {} {id:?}: {reason}", type_name::<A>());
    assistant.slot().deactivation_started(reason);
    if actors.state_lost(id) {
        // A save of its last turns met another writer (see
        // `persistence/pipeline.rs`, which logged it): the state in RAM is
        // stale, and goes without `deactivate`.
        actors.forget_state(id);
        catch_sync("dropping a stale actor", || drop(actor));
        actors.activation_ended(system, memory, reason.is_eviction());
        assistant.slot().activation_ended();
        return;
    }
    let timeout = actors.deactivate_timeout;
    let stopping = system.lifecycle.is_stopping();
    // The hook is polled first: the timer and the listener are made only if
    // it has to wait, which most `deactivate`s never do.
    let hook = async { Ok(catch(actor.deactivate(assistant)).await) };
    let timer = async {
        Expiry::after(system, timeout).await;
        Err(Cut::TimedOut)
    };
    let deadline = async {
        if stopping {
            system
                .lifecycle
                .unless_abandoned(future::pending::<()>())
                .await;
            Err(Cut::Abandoned)
        } else {
            future::pending().await
        }
    };
    let outcome = future::or(hook, future::or(timer, deadline)).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => log::error!(
            "deactivate of actor {} {id:?} panicked: {panic}",
            type_name::<A>()
        ),
        Err(Cut::TimedOut) => {
            log::error!(
                "deactivate of actor {} {id:?} did not return within its deactivate_timeout \
                 of {timeout:?}: it was dropped where it stood, and the actor can be activated \
                 again; raise ActorConfiguration::deactivate_timeout if saving takes longer",
                type_name::<A>()
            );
            actors.counters.deactivate_timed_out();
        }
        Err(Cut::Abandoned) => {
            actors.state_abandoned(id, &actor);
            actors.forget_state(id);
            catch_sync("dropping an abandoned actor", || drop(actor));
            actors.counters.abandoned(1, 0);
            actors.activation_ended(system, memory, false);
            assistant.slot().activation_ended();
            return;
        }
    }
    // A persistent actor's changed state is saved before it leaves RAM
    // and the budgets: state is never dropped unsaved.
    #[cfg(feature = "persistence")]
    if let Some(saving) = crate::system::persistence::save::at_deactivation(system, &actor, id) {
        saving.await;
    }
    actors.forget_state(id);
    catch_sync("dropping a deactivated actor", || drop(actor));
    actors.counters.deactivated(reason);
    actors.activation_ended(system, memory, reason.is_eviction());
    assistant.slot().activation_ended();
}
