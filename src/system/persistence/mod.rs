//! The machine behind persistent actors: the system's state store, each
//! persistent type's view of it, and what each activation knows of its
//! stored row.
//!
//! - `mod.rs`: the store the system was built with ([`StoreHandle`]), and a
//!   persistent type's part of it ([`Persisted`]): its hooks, its
//!   activations' [`Tracker`]s, its counters.
//! - `load.rs`: loading a state before `activate`, retried within the
//!   type's `load_timeout`, checked, decoded or upgraded.
//! - `pipeline.rs`: `EveryTurn` saves in flight while the next messages
//!   run, and the replies that wait for them.
//! - `write.rs`: encoding a state and writing it as the next version.
//! - `room.rs`: an activation waiting for room while evicted states cannot
//!   be saved.
//! - `save.rs`: when a state is saved: after a turn (through the pipeline
//!   or the flush), on `save` and `clear_state`, after `deactivate`; and
//!   what cannot be saved by the shutdown deadline.
//! - `write_behind.rs`: the flush that saves a `WriteBehind` actor's
//!   changes at most `max_delay` after the first.

pub(crate) mod load;
pub(crate) mod pipeline;
pub(crate) mod room;
pub(crate) mod save;
pub(crate) mod write;
pub(crate) mod write_behind;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use event_listener::{Event, EventListener};

use crate::Timer;
use crate::persistence::{StateError, StateStore, WriteMode};
use crate::persistent_actor::PersistenceHooks;
use crate::statistics::StateStatistics;
use crate::system::id_map::{IdMap, id_map};
use crate::{Actor, Error};
use pipeline::Pipeline;

/// The partition of every actor on a system that is not part of a cluster.
pub(crate) const SINGLE_NODE_PARTITION: u64 = 0;

/// Why a write or a waiting reply will not come: the activation ended
/// before its state was written.
pub(crate) fn activation_ended() -> StateError {
    StateError::Store(crate::persistence::StoreError::Failed {
        reason: "the activation ended before its state was written".to_string(),
    })
}

/// The state store a system was built with.
#[derive(Clone)]
pub(crate) struct StoreHandle {
    pub(crate) store: Arc<dyn StateStore>,
    /// The `TYPE_KEY`s in use, each with the type that uses it: a key is
    /// one type's for the system's life.
    type_keys: Arc<Mutex<HashMap<&'static str, &'static str>>>,
    pub(crate) failing: Arc<FailingSaves>,
}

impl StoreHandle {
    pub(crate) fn new(store: impl StateStore) -> StoreHandle {
        StoreHandle {
            store: Arc::new(store),
            type_keys: Arc::default(),
            failing: Arc::default(),
        }
    }
}

impl crate::system::System {
    /// Raises `partition`'s fence to `epoch` in the system's store, if it
    /// has one (`routing::claim_partition`).
    pub(crate) async fn claim_partition(&self, partition: u64, epoch: u64) -> Result<(), Error> {
        let Ok(handle) = self.data.get::<StoreHandle>() else {
            return Ok(());
        };
        let store = handle.store.clone();
        store
            .claim(partition, epoch)
            .await
            .map_err(|error| Error::State(StateError::from_store(error)))
    }
}

/// The saves of the system being retried now because the store failed
/// them: while there are any, the store is taken to be down.
#[derive(Debug, Default)]
pub(crate) struct FailingSaves {
    count: AtomicUsize,
    /// Told when `count` changes.
    changed: Event,
}

impl FailingSaves {
    /// A save failed and will be retried: counted until the guard drops.
    pub(crate) fn retrying(self: &Arc<Self>) -> Retrying {
        self.count.fetch_add(1, SeqCst);
        self.changed.notify(usize::MAX);
        Retrying(self.clone())
    }

    /// Whether a save is being retried now.
    pub(crate) fn any(&self) -> bool {
        self.count.load(SeqCst) > 0
    }

    /// Waits for the next change of the count.
    pub(crate) fn changed(&self) -> EventListener {
        self.changed.listen()
    }
}

/// A save being retried, counted in its system's [`FailingSaves`] while it
/// lives.
pub(crate) struct Retrying(Arc<FailingSaves>);

impl Drop for Retrying {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, SeqCst);
        self.0.changed.notify(usize::MAX);
    }
}

impl fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateStore")
    }
}

/// What an activation knows of its stored row, from its load to its end.
#[derive(Default)]
pub(crate) struct Tracker {
    /// The row's version as this activation last read or wrote it (0: no
    /// row).
    pub(crate) version: u64,
    /// In a cluster: the store partition and epoch every write of this
    /// activation carries (the system's own otherwise).
    pub(crate) placement: Option<crate::routing::Placement>,
    /// The checksum of the state bytes last loaded or saved, if any: a
    /// state encoding to the same bytes is not written again.
    pub(crate) saved_checksum: Option<u32>,
    /// `mark_unchanged` was called in this turn: nothing to save after it.
    pub(crate) unchanged: bool,
    /// A turn since the last load or save was not marked unchanged (or the
    /// state was upgraded): deactivation saves it if its bytes differ. An
    /// actor activated only to be read creates no row.
    pub(crate) dirty: bool,
    /// Turns whose changes are not saved yet, for the log of a lost
    /// activation.
    pub(crate) unsaved_turns: u64,
    /// The state was cleared: nothing is saved any more.
    pub(crate) cleared: bool,
    /// A save met another writer (`Conflict` or `Fenced`): the activation
    /// is to be dropped without `deactivate`, and the replies still waiting
    /// for a save get this error.
    pub(crate) lost: Option<StateError>,
    /// In `EveryTurn` mode, while a save is in flight: what waits behind it
    /// (see `pipeline.rs`).
    pub(crate) pipeline: Option<Pipeline>,
    /// In `WriteBehind` mode, while a turn since the last save may have
    /// changed the state: the timer of the flush that will save it.
    pub(crate) flush: Option<Timer>,
}

/// A persistent actor type's part of the machine.
pub(crate) struct Persisted<A: Actor> {
    pub(crate) hooks: PersistenceHooks<A>,
    pub(crate) store: Arc<dyn StateStore>,
    /// The epoch this system writes under: the fence its store set when it
    /// was opened.
    pub(crate) epoch: u64,
    /// The tracker of each activation, from its load to its end.
    pub(crate) trackers: IdMap<A::Id, Tracker>,
    /// The system's saves being retried.
    pub(crate) failing: Arc<FailingSaves>,
    pub(crate) counters: StateCounters,
}

/// What `Statistics` reports of a persistent type's stored states.
#[derive(Debug, Default)]
pub(crate) struct StateCounters {
    pub(crate) loads: AtomicU64,
    pub(crate) saves: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) transactions: AtomicU64,
    pub(crate) conflicts: AtomicU64,
    pub(crate) fenced: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl StateCounters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }
}

impl<A: Actor> Persisted<A> {
    /// The persistent part of type `A` on a system whose store is `store`:
    /// `None` for a type that is not persistent; an error for a persistent
    /// type without a store, or with an invalid or taken `TYPE_KEY`.
    pub(crate) fn for_type(store: Option<&StoreHandle>) -> Result<Option<Box<Self>>, Error> {
        let Some(hooks) = A::__persistence() else {
            return Ok(None);
        };
        let type_name = std::any::type_name::<A>();
        let invalid = |field, reason| {
            Err(Error::InvalidConfiguration {
                type_name,
                field,
                reason,
            })
        };
        let Some(store) = store else {
            return invalid(
                "state_store",
                "is missing: the type is a PersistentActor, whose state needs a store; give the \
                 system one with Acteur::builder().state_store(..)",
            );
        };
        if hooks.type_key.is_empty() || hooks.type_key.len() > 64 {
            return invalid(
                "TYPE_KEY",
                "must be 1 to 64 bytes long: it names the type in every stored row",
            );
        }
        if hooks.configuration.load_timeout.is_zero() {
            return invalid(
                "load_timeout",
                "is zero, so no state could ever be loaded; use a positive duration \
                 (the default is 5 seconds)",
            );
        }
        if hooks.configuration.write
            == (WriteMode::WriteBehind {
                max_delay: Duration::ZERO,
            })
        {
            return invalid(
                "write",
                "is WriteBehind with a max_delay of zero: use WriteMode::EveryTurn to save \
                 every turn, or a positive max_delay",
            );
        }
        if hooks.configuration.max_state_bytes == 0 {
            return invalid(
                "max_state_bytes",
                "is zero, so no state could ever be saved; use a positive size \
                 (the default is 16 MiB)",
            );
        }
        {
            let mut keys = store
                .type_keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let owner = *keys.entry(hooks.type_key).or_insert(type_name);
            if owner != type_name {
                return invalid(
                    "TYPE_KEY",
                    "is already the TYPE_KEY of another persistent actor type of this system: \
                     each type needs its own, or their states would overwrite each other",
                );
            }
        }
        Ok(Some(Box::new(Persisted {
            hooks,
            epoch: store.store.opened_epoch(),
            store: store.store.clone(),
            failing: store.failing.clone(),
            trackers: id_map(),
            counters: StateCounters::default(),
        })))
    }

    /// The store key of `id`'s row.
    pub(crate) fn key_of(&self, id: &A::Id) -> Vec<u8> {
        let mut key = Vec::new();
        (self.hooks.write_key)(id, &mut key);
        key
    }

    /// The activation of `id` ended: its tracker goes, and the replies
    /// still waiting for a save are told why it will not come.
    pub(crate) fn forget(&self, id: &A::Id) {
        let Some((_, tracker)) = self.trackers.remove(id) else {
            return;
        };
        if let Some(pipeline) = tracker.pipeline {
            pipeline.abandon(&Error::State(tracker.lost.unwrap_or_else(activation_ended)));
        }
    }

    /// This type's figures now, for `Acteur::statistics`.
    pub(crate) fn report(&self) -> StateStatistics {
        let c = &self.counters;
        let dirty = self
            .trackers
            .iter()
            // A state waiting behind a write in flight is not saved yet,
            // even if that write cleared `dirty`.
            .filter(|tracker| {
                tracker.dirty || tracker.pipeline.as_ref().is_some_and(Pipeline::waits)
            })
            .count();
        StateStatistics {
            loads: c.loads.load(Relaxed),
            saves: c.saves.load(Relaxed),
            skipped_saves: c.skipped.load(Relaxed),
            transactions: c.transactions.load(Relaxed),
            conflicts: c.conflicts.load(Relaxed),
            fenced: c.fenced.load(Relaxed),
            retries: c.retries.load(Relaxed),
            failures: c.failed.load(Relaxed),
            dirty,
        }
    }

    /// Whether a save of `id`'s activation met another writer.
    pub(crate) fn is_lost(&self, id: &A::Id) -> bool {
        self.trackers
            .get(id)
            .is_some_and(|tracker| tracker.lost.is_some())
    }
}
