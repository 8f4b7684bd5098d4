//! Writing one activation's state: encoding it, and writing it as the
//! row's next version, retried while the store is unavailable; what became
//! of the write goes into the activation's tracker. Every save goes through
//! here: after a turn (`pipeline.rs`), by `WriteBehind`'s flush, on `save`
//! and `clear_state`, and after `deactivate` (`save.rs`).

use std::any::type_name;
use std::time::Instant;

use super::{Persisted, SINGLE_NODE_PARTITION, StateCounters, activation_ended};
use crate::Actor;
use crate::persistence::codec::POSTCARD;
use crate::persistence::{Envelope, StateError, StateWrite, StoreError, WriteOutcome};

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
    // Counted among the system's failing saves from the first failure on.
    let mut retrying = None;
    loop {
        let Some((expected_version, placement)) = persisted
            .trackers
            .get(id)
            .map(|tracker| (tracker.version, tracker.placement))
        else {
            return Err(activation_ended());
        };
        let (partition, epoch) = placement.map_or((SINGLE_NODE_PARTITION, persisted.epoch), |p| {
            (p.partition, p.epoch)
        });
        let attempt = StateWrite {
            type_key: persisted.hooks.type_key,
            id: key.clone(),
            partition,
            epoch,
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
        retrying.get_or_insert_with(|| persisted.failing.retrying());
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
        return Err(activation_ended());
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
    tracker.lost = Some(error.clone());
    log::error!(
        "the state of actor {} {id:?} was not saved: {error}; {} unsaved turn(s) are dropped \
         with the activation",
        type_name::<A>(),
        tracker.unsaved_turns
    );
    Err(error)
}
