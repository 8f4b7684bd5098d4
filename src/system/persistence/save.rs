//! Writing a persistent actor's state: after a turn that changed it (in
//! `EveryTurn` mode, before the turn's reply leaves), when a handler calls
//! `save` or `clear_state`, and after `deactivate`. A write the store could
//! not take is retried; one that met another writer loses the activation.

use std::any::type_name;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use super::{Persisted, SINGLE_NODE_PARTITION, StateCounters, Tracker};
use crate::persistence::codec::{self, POSTCARD};
use crate::persistence::{
    Envelope, StateError, StateWrite, StoreError, UnsavedState, WriteMode, WriteOutcome,
};
use crate::system::System;
use crate::{Actor, ActorAssistant, Error, PersistentActor};

/// A save in progress, as part of a handler's future.
pub(crate) type Saving<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// After a turn of `actor`: its save, if the type saves every turn and the
/// turn changed the state; `None` otherwise (always, for an actor that is
/// not persistent). The reply of the turn waits for it. A `WriteBehind`
/// type's first changed turn starts its flush instead.
#[inline]
pub(crate) fn after_turn<'a, A: Actor>(
    actor: &A,
    assistant: &'a ActorAssistant<A>,
) -> Option<Saving<'a>> {
    if !A::__PERSISTENT {
        return None;
    }
    changed_turn(actor, assistant)
}

#[cold]
fn changed_turn<'a, A: Actor>(actor: &A, assistant: &'a ActorAssistant<A>) -> Option<Saving<'a>> {
    let system = assistant.system();
    let actors = system.actor_type::<A>().ok()?;
    let persisted = actors.persisted.as_deref()?;
    let id = assistant.id();
    {
        let mut tracker = persisted.trackers.get_mut(id)?;
        if std::mem::take(&mut tracker.unchanged) || tracker.cleared {
            return None;
        }
        tracker.dirty = true;
        match persisted.hooks.configuration.write {
            WriteMode::EveryTurn => {}
            WriteMode::WriteBehind { max_delay } => {
                // Nothing encoded or written here: the flush will.
                if tracker.flush.is_none() {
                    tracker.flush = Some((persisted.hooks.start_flush)(assistant, max_delay));
                }
                return None;
            }
            _ => return None,
        }
    }
    let envelope = match encode(persisted, actor) {
        Ok(envelope) => envelope,
        Err(error) => {
            log::error!(
                "the state of actor {} {id:?} was not saved: {error}",
                type_name::<A>()
            );
            return Some(Box::pin(std::future::ready(Err(Error::State(error)))));
        }
    };
    if !mark_changed(persisted, id, &envelope) {
        return None;
    }
    let give_up_at = Instant::now() + system.call_timeout;
    let system = system.clone();
    Some(Box::pin(async move {
        let actors = system.actor_type::<A>()?;
        let Some(persisted) = actors.persisted.as_deref() else {
            return Ok(());
        };
        write(persisted, assistant.id(), Some(envelope), Some(give_up_at))
            .await
            .map(drop)
            .map_err(Error::State)
    }))
}

/// The state of `actor` in an envelope, or why it cannot be saved.
pub(crate) fn encode<A: Actor>(
    persisted: &Persisted<A>,
    actor: &A,
) -> Result<Envelope, StateError> {
    let bytes = (persisted.hooks.encode)(actor).map_err(|reason| StateError::Encode { reason })?;
    envelope(persisted, bytes)
}

/// `bytes` in an envelope, or `TooLarge`.
pub(crate) fn envelope<A: Actor>(
    persisted: &Persisted<A>,
    bytes: Vec<u8>,
) -> Result<Envelope, StateError> {
    let max = persisted.hooks.configuration.max_state_bytes;
    if bytes.len() > max {
        return Err(StateError::TooLarge {
            bytes: bytes.len(),
            max,
        });
    }
    Ok(Envelope::new(POSTCARD, persisted.hooks.schema, bytes))
}

/// Whether `envelope` differs from what `id` last loaded or saved; if so,
/// the turn is counted as unsaved.
pub(crate) fn mark_changed<A: Actor>(
    persisted: &Persisted<A>,
    id: &A::Id,
    envelope: &Envelope,
) -> bool {
    let Some(mut tracker) = persisted.trackers.get_mut(id) else {
        return false;
    };
    if tracker.saved_checksum == Some(envelope.checksum) {
        StateCounters::add(&persisted.counters.skipped);
        return false;
    }
    tracker.unsaved_turns += 1;
    true
}

/// Writes `value` (`None`: a tombstone) as the next version of `id`'s row,
/// retrying while the store is unavailable until `give_up_at` (`None`:
/// until it succeeds or meets another writer). The new version on success.
pub(crate) async fn write<A: Actor>(
    persisted: &Persisted<A>,
    id: &A::Id,
    value: Option<Envelope>,
    give_up_at: Option<Instant>,
) -> Result<u64, StateError> {
    let key = persisted.key_of(id);
    let configuration = &persisted.hooks.configuration;
    let checksum = value.as_ref().map(|value| value.checksum);
    let mut failures = 0;
    loop {
        let Some(expected_version) = persisted.trackers.get(id).map(|tracker| tracker.version)
        else {
            return Err(StateError::Store(StoreError::Failed {
                reason: "the activation ended before its state was written".to_string(),
            }));
        };
        let attempt = StateWrite {
            type_key: persisted.hooks.type_key,
            id: key.clone(),
            partition: SINGLE_NODE_PARTITION,
            epoch: persisted.epoch,
            expected_version,
            value: value.clone(),
        };
        StateCounters::add(&persisted.counters.transactions);
        let error = match persisted.store.write(vec![attempt]).await {
            Ok(outcomes) => match outcomes.as_slice() {
                [outcome] => return settle(persisted, id, *outcome, checksum),
                _ => StoreError::Failed {
                    reason: format!(
                        "the store answered a write of one row with {} outcomes",
                        outcomes.len()
                    ),
                },
            },
            Err(error) => error,
        };
        failures += 1;
        let wait = configuration.retry.wait(failures);
        let out_of_time = give_up_at.is_some_and(|at| Instant::now() + wait >= at);
        if !error.is_transient() || out_of_time {
            log::error!(
                "saving the state of actor {} {id:?} failed ({failures} attempt(s)): {error}; \
                 it stays in RAM, changed, and is saved again later",
                type_name::<A>()
            );
            StateCounters::add(&persisted.counters.failed);
            return Err(StateError::from_store(error));
        }
        if failures == 1 {
            log::warn!(
                "saving the state of actor {} {id:?} failed: {error}; retrying",
                type_name::<A>()
            );
        }
        StateCounters::add(&persisted.counters.retries);
        crate::runtime::sleep(wait).await;
    }
}

/// Records what became of a write of `id`'s row whose value had `checksum`.
fn settle<A: Actor>(
    persisted: &Persisted<A>,
    id: &A::Id,
    outcome: WriteOutcome,
    checksum: Option<u32>,
) -> Result<u64, StateError> {
    let Some(mut tracker) = persisted.trackers.get_mut(id) else {
        return Err(StateError::Store(StoreError::Failed {
            reason: "the activation ended before its state was written".to_string(),
        }));
    };
    let error = match outcome {
        WriteOutcome::Written { version } => {
            StateCounters::add(&persisted.counters.saves);
            tracker.version = version;
            tracker.saved_checksum = checksum;
            tracker.unsaved_turns = 0;
            tracker.dirty = false;
            tracker.cleared = checksum.is_none();
            return Ok(version);
        }
        WriteOutcome::Conflict { stored_version } => {
            StateCounters::add(&persisted.counters.conflicts);
            StateError::Conflict { stored_version }
        }
        WriteOutcome::Fenced { fence_epoch } => {
            StateCounters::add(&persisted.counters.fenced);
            StateError::Fenced { fence_epoch }
        }
    };
    tracker.lost = true;
    log::error!(
        "the state of actor {} {id:?} was not saved: {error}; {} unsaved turn(s) are dropped \
         with the activation",
        type_name::<A>(),
        tracker.unsaved_turns
    );
    Err(error)
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
        .is_none_or(|tracker| !tracker.dirty || tracker.cleared || tracker.lost);
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
    if !mark_changed(persisted, id, &envelope) {
        return None;
    }
    Some(async move {
        let Some(persisted) = actors.persisted.as_deref() else {
            return;
        };
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
        .is_none_or(|tracker| !tracker.dirty || tracker.cleared || tracker.lost);
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
