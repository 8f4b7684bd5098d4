//! When a persistent actor's state is saved: after a turn that changed it
//! (`EveryTurn` through `pipeline.rs`, `WriteBehind` through its flush),
//! when a handler calls `save` or `clear_state`, and after `deactivate`;
//! and what becomes of a state that could not be saved by the shutdown
//! deadline. The writing itself is `write.rs`'s.

use std::any::type_name;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::pipeline::{self, Release};
use super::write::{encode, envelope, mark_changed, write};
use super::{Persisted, Tracker};
use crate::persistence::codec;
use crate::persistence::{Envelope, StateError, StoreError, UnsavedState, WriteMode};
use crate::system::System;
use crate::{Actor, ActorAssistant, Error, PersistentActor};

/// After a turn of a persistent `actor`, with its reply `release` (`None`
/// for a message nobody waits for): in `EveryTurn` mode, a changed state
/// goes to the activation's pipeline, and `release` runs once it is
/// durable; in `WriteBehind` mode the first changed turn starts the flush.
/// Otherwise `release` runs at once.
pub(crate) fn after_turn<A: Actor>(
    actor: &A,
    assistant: &ActorAssistant<A>,
    release: Option<Release>,
) {
    let Ok(actors) = assistant.system().actor_type::<A>() else {
        return pipeline::release(release, Ok(()));
    };
    let Some(persisted) = actors.persisted.as_deref() else {
        return pipeline::release(release, Ok(()));
    };
    if turn_changed(persisted, assistant) {
        pipeline::every_turn(persisted, actor, assistant, release);
    } else {
        pipeline::release(release, Ok(()));
    }
}

/// Notes the end of a turn in the tracker; true if the turn's state is to
/// be saved now (`EveryTurn`, and the turn was not marked unchanged).
fn turn_changed<A: Actor>(persisted: &Persisted<A>, assistant: &ActorAssistant<A>) -> bool {
    let Some(mut tracker) = persisted.trackers.get_mut(assistant.id()) else {
        return false;
    };
    if std::mem::take(&mut tracker.unchanged) || tracker.cleared {
        return false;
    }
    tracker.dirty = true;
    match persisted.hooks.configuration.write {
        WriteMode::EveryTurn => true,
        WriteMode::WriteBehind { max_delay } => {
            // Nothing encoded or written here: the flush will.
            if tracker.flush.is_none() {
                tracker.flush = Some((persisted.hooks.start_flush)(assistant, max_delay));
            }
            false
        }
        _ => false,
    }
}

/// After `deactivate`: the save of `actor`'s state if it changed, retrying
/// while the store is unavailable, until the shutdown deadline if the
/// system is stopping; a state still unsaved then goes to `on_unsaved`.
/// The state is encoded at once: the future does not hold the actor,
/// which need not be `Sync`.
pub(crate) fn at_deactivation<'a, A: Actor>(
    system: &'a Arc<System>,
    actor: &A,
    id: &'a A::Id,
) -> Option<impl Future<Output = ()> + Send + 'a> {
    if !A::__PERSISTENT {
        return None;
    }
    let actors = system.actor_type::<A>().ok()?;
    let persisted = actors.persisted.as_deref()?;
    let skip = persisted
        .trackers
        .get(id)
        .is_none_or(|tracker| !tracker.dirty || tracker.cleared || tracker.lost.is_some());
    if skip {
        return None;
    }
    let envelope = match encode(persisted, actor) {
        Ok(envelope) => envelope,
        Err(error) => {
            log::error!(
                "the state of actor {} {id:?} could not be saved at its deactivation, and is \
                 lost: {error}",
                type_name::<A>()
            );
            return None;
        }
    };
    Some(async move {
        let Some(persisted) = actors.persisted.as_deref() else {
            return;
        };
        // The saves of its last turns first: one write at a time. Then
        // only if it changed since.
        pipeline::saved(persisted, id).await;
        if persisted.is_lost(id) || !mark_changed(persisted, id, &envelope) {
            return;
        }
        let saving = write(persisted, id, Some(envelope.clone()), None);
        match system.lifecycle.unless_abandoned(saving).await {
            // Saved, or lost to another writer (logged): nothing to hand over.
            Some(Ok(_) | Err(StateError::Conflict { .. } | StateError::Fenced { .. })) => {}
            Some(Err(_)) | None => unsaved(persisted, id, envelope),
        }
    })
}

/// `id`'s activation `actor` is dropped without being saved (the shutdown
/// deadline passed): its state goes to `on_unsaved` if it changed.
pub(crate) fn abandoned<A: Actor>(persisted: &Persisted<A>, id: &A::Id, actor: &A) {
    let unchanged = persisted
        .trackers
        .get(id)
        .is_none_or(|tracker| !tracker.dirty || tracker.cleared || tracker.lost.is_some());
    if unchanged {
        return;
    }
    match encode(persisted, actor) {
        Ok(envelope) if mark_changed(persisted, id, &envelope) => unsaved(persisted, id, envelope),
        Ok(_) => {}
        Err(error) => log::error!(
            "the state of actor {} {id:?} could not be encoded at shutdown, and is lost: {error}",
            type_name::<A>()
        ),
    }
}

/// The shutdown deadline passed before `id`'s changed state was saved.
fn unsaved<A: Actor>(persisted: &Persisted<A>, id: &A::Id, envelope: Envelope) {
    let version = persisted
        .trackers
        .get(id)
        .map_or(0, |tracker| tracker.version);
    log::error!(
        "the state of actor {} {id:?} (after version {version}) was not saved before the \
         shutdown deadline; it is handed to on_unsaved if the type set one",
        type_name::<A>()
    );
    if let Some(on_unsaved) = &persisted.hooks.configuration.on_unsaved {
        let state = UnsavedState {
            type_key: persisted.hooks.type_key,
            id: format!("{id:?}"),
            version,
            bytes: envelope.bytes,
        };
        crate::system::tasks::panics::catch_sync("on_unsaved", || on_unsaved(&state));
    }
}

/// `assistant`'s actor's state saved now, if it differs from the stored
/// one: what `ActorAssistant::save` does. Retried while the store is
/// unavailable, within the system's call timeout.
pub(crate) async fn save_now<A: PersistentActor>(
    assistant: &ActorAssistant<A>,
    state: &A::State,
) -> Result<u64, StateError> {
    let system = assistant.system();
    let actors = system.actor_type::<A>().map_err(not_persisted)?;
    let persisted = actors.persisted.as_deref().ok_or_else(no_tracker)?;
    let id = assistant.id();
    pipeline::saved(persisted, id).await;
    if let Some(lost) = persisted
        .trackers
        .get(id)
        .and_then(|tracker| tracker.lost.clone())
    {
        return Err(lost);
    }
    let bytes = codec::encode(state).map_err(|reason| StateError::Encode { reason })?;
    let envelope = envelope(persisted, bytes)?;
    if !mark_changed(persisted, id, &envelope) {
        return Ok(persisted
            .trackers
            .get(id)
            .map_or(0, |tracker| tracker.version));
    }
    let give_up_at = Instant::now() + system.call_timeout;
    write(persisted, id, Some(envelope), Some(give_up_at)).await
}

/// A tombstone written over `assistant`'s actor's state: what
/// `ActorAssistant::clear_state` does. Nothing is saved for the activation
/// after it.
pub(crate) async fn clear<A: PersistentActor>(
    assistant: &ActorAssistant<A>,
) -> Result<(), StateError> {
    let system = assistant.system();
    let actors = system.actor_type::<A>().map_err(not_persisted)?;
    let persisted = actors.persisted.as_deref().ok_or_else(no_tracker)?;
    pipeline::saved(persisted, assistant.id()).await;
    let give_up_at = Instant::now() + system.call_timeout;
    write(persisted, assistant.id(), None, Some(give_up_at))
        .await
        .map(drop)
}

/// Reads or changes the tracker of `assistant`'s actor, if it has one.
pub(crate) fn with_tracker<A: PersistentActor, T>(
    assistant: &ActorAssistant<A>,
    f: impl FnOnce(&mut Tracker) -> T,
) -> Option<T> {
    let actors = assistant.system().actor_type::<A>().ok()?;
    let persisted = actors.persisted.as_deref()?;
    let mut tracker = persisted.trackers.get_mut(assistant.id())?;
    Some(f(&mut tracker))
}

fn not_persisted(error: Error) -> StateError {
    StateError::Store(StoreError::Failed {
        reason: error.to_string(),
    })
}

fn no_tracker() -> StateError {
    StateError::Store(StoreError::Failed {
        reason: "the actor's type has no state store".to_string(),
    })
}
