//! Loading a persistent actor's state before its `activate`: retried while
//! the store is unavailable, within the type's `load_timeout`; checked
//! (checksum, codec, schema) and decoded, or upgraded from an older schema.
//! A state that cannot be read is an error, never a default.

use std::any::type_name;
use std::time::Instant;

use super::{Persisted, StateCounters, Tracker};
use crate::persistence::codec::{self, POSTCARD};
use crate::persistence::{StateError, StateKeyRef, StoredRecord, StoredState};
use crate::{ActorAssistant, Error, PersistentActor};

/// The stored state of the assistant's actor (`None`: never saved, or
/// cleared), and its tracker set for the activation about to start.
///
/// # Errors
///
/// The store stayed unavailable for the type's `load_timeout`, refused the
/// load, or holds a state that cannot be read.
pub(crate) async fn load_state<A: PersistentActor>(
    assistant: &ActorAssistant<A>,
) -> Result<Option<A::State>, Error> {
    let system = assistant.system();
    let actors = system.actor_type::<A>()?;
    let Some(persisted) = actors.persisted.as_deref() else {
        // Every persistent type has its part; nothing else reaches here.
        return Ok(None);
    };
    let id = assistant.id();
    let key = persisted.key_of(id);
    let configuration = &persisted.hooks.configuration;
    let give_up_at = Instant::now() + configuration.load_timeout;
    let mut failures = 0;
    let record = loop {
        let key = StateKeyRef {
            type_key: persisted.hooks.type_key,
            id: &key,
        };
        match persisted.store.load(key).await {
            Ok(record) => break record,
            Err(error) => {
                failures += 1;
                let wait = configuration.retry.wait(failures);
                if !error.is_transient() || Instant::now() + wait >= give_up_at {
                    log::error!(
                        "loading the state of actor {} {id:?} failed ({} attempt(s)): {error}",
                        type_name::<A>(),
                        failures
                    );
                    StateCounters::add(&persisted.counters.failed);
                    return Err(Error::State(StateError::from_store(error)));
                }
                StateCounters::add(&persisted.counters.retries);
                crate::runtime::sleep(wait).await;
            }
        }
    };
    StateCounters::add(&persisted.counters.loads);
    let (state, tracker) = read::<A>(persisted, id, record).map_err(|error| {
        log::error!(
            "the stored state of actor {} {id:?} cannot be used: {error}",
            type_name::<A>()
        );
        Error::State(error)
    })?;
    let tracker = Tracker {
        placement: assistant.placement(),
        ..tracker
    };
    persisted.trackers.insert(id.clone(), tracker);
    Ok(state)
}

/// The state a row holds, and the tracker of an activation that starts
/// from it.
fn read<A: PersistentActor>(
    persisted: &Persisted<A>,
    id: &A::Id,
    record: Option<StoredRecord>,
) -> Result<(Option<A::State>, Tracker), StateError> {
    let Some(record) = record else {
        return Ok((None, Tracker::default()));
    };
    let mut tracker = Tracker {
        version: record.version,
        ..Tracker::default()
    };
    let Some(envelope) = record.value else {
        // Cleared: the actor starts afresh, above the tombstone's version.
        return Ok((None, tracker));
    };
    let type_key = persisted.hooks.type_key;
    let corrupt = |reason: String| StateError::Corrupt {
        type_key,
        id: format!("{id:?}"),
        reason,
    };
    if !envelope.is_intact() {
        return Err(corrupt(format!(
            "its checksum does not match its {} bytes",
            envelope.bytes.len()
        )));
    }
    if envelope.codec != POSTCARD {
        return Err(corrupt(format!(
            "it is in codec {}, which this version does not read (postcard is {POSTCARD})",
            envelope.codec
        )));
    }
    let state = if envelope.schema == A::SCHEMA {
        // The state as loaded need not be written back.
        tracker.saved_checksum = Some(envelope.checksum);
        codec::decode(&envelope.bytes).map_err(corrupt)?
    } else if envelope.schema > A::SCHEMA {
        return Err(StateError::SchemaTooNew {
            type_key,
            found: envelope.schema,
            supported: A::SCHEMA,
        });
    } else {
        // Upgraded: written back at the current schema by the next save,
        // at the latest when the actor is deactivated.
        tracker.dirty = true;
        let old = StoredState {
            schema: envelope.schema,
            bytes: &envelope.bytes,
        };
        A::upgrade(old).map_err(|error| StateError::Upgrade {
            type_key,
            found: envelope.schema,
            reason: error.to_string(),
        })?
    };
    Ok((Some(state), tracker))
}
