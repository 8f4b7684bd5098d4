//! What a state store does, whatever keeps the rows: the contract every
//! store keeps, and the values that cross it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::envelope::Envelope;
use super::key::StateKeyRef;

/// A boxed future that can move between threads, as [`StateStore`]'s
/// methods return (a trait object cannot return `impl Future`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where actors' states are kept, keyed by actor type and ID, each row
/// versioned, and every partition fenced by an epoch.
///
/// The contract, which every store keeps and the store test suite checks:
///
/// 1. A write applies only if the row's version is the one the writer
///    expects (a missing row is version 0) and the partition's fence is
///    the writer's epoch; otherwise nothing changes, and the outcome says
///    why ([`WriteOutcome::Conflict`], [`WriteOutcome::Fenced`]). A write
///    that applies sets the version to one more than expected.
/// 2. Each write of a batch stands alone: one may apply while the next
///    conflicts. A store commits a batch in one transaction.
/// 3. A cleared state is a tombstone (a row with no value) one version
///    later; rows are never deleted, so a version is never reused.
/// 4. [`claim`](StateStore::claim) raises a partition's fence, never lowers
///    it: once epoch 120 is claimed, writers of epoch 100 are fenced, and
///    claiming 100 again changes nothing.
/// 5. When a store cannot tell whether a commit happened (the connection
///    dropped during it), it finds out, and reports a write
///    [`Written`](WriteOutcome::Written) only if that write is there: by
///    asking the database what became of the transaction where it can
///    (`PostgresStore`), else by reading the rows back (version, epoch and
///    checksum). Reading back cannot tell apart two writers of *one* epoch
///    that wrote the same bytes at the same version; each process or node
///    writes under an epoch of its own, so only systems sharing one store
///    handle can be such twins.
/// 6. Stores do their I/O on threads of their own, never on the system's
///    workers, and report a write only once it is durable.
///
/// # Cancel safety
///
/// Dropping a returned future stops the wait for the answer; it does not
/// promise that the operation did not happen (a store may have handed it
/// to its threads already, as `SqliteStore` does when the method is
/// called). A caller that gave up on a write and must know reads the row
/// back: its version and checksum say whether the write is there.
pub trait StateStore: Send + Sync + 'static {
    /// Raises `partition`'s fence to `epoch`, unless it is there already
    /// or higher. From then on only writers of the fence's epoch write to
    /// the partition.
    fn claim(&self, partition: u64, epoch: u64) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The row of `key`, if one was ever written (a cleared state is a row
    /// whose value is `None`).
    fn load(&self, key: StateKeyRef<'_>)
    -> BoxFuture<'_, Result<Option<StoredRecord>, StoreError>>;

    /// Applies each write of `batch` that meets the contract above, in one
    /// transaction, and returns one outcome per write, in order. An error
    /// means nothing is known to have been written.
    fn write(&self, batch: Vec<StateWrite>)
    -> BoxFuture<'_, Result<Vec<WriteOutcome>, StoreError>>;

    /// The epoch this handle raised partition 0's fence to when it was
    /// opened: a system that is not part of a cluster writes every state
    /// under it, so that a second process opening the same database fences
    /// this one's writes. 0 by default, for a store that does not raise the
    /// fence on opening.
    fn opened_epoch(&self) -> u64 {
        0
    }
}

/// A shared store is a store: one handle can serve several systems (they
/// then write under one epoch, so only versions keep them apart) while the
/// application keeps its own.
///
/// ```
/// use std::sync::Arc;
/// use acteur::Acteur;
/// use acteur::persistence::MemoryStore;
///
/// let store = Arc::new(MemoryStore::new());
/// let sys = Acteur::builder().state_store(store.clone()).build();
/// # sys.stop();
/// ```
impl<S: StateStore> StateStore for std::sync::Arc<S> {
    fn claim(&self, partition: u64, epoch: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        (**self).claim(partition, epoch)
    }

    fn load(
        &self,
        key: StateKeyRef<'_>,
    ) -> BoxFuture<'_, Result<Option<StoredRecord>, StoreError>> {
        (**self).load(key)
    }

    fn write(
        &self,
        batch: Vec<StateWrite>,
    ) -> BoxFuture<'_, Result<Vec<WriteOutcome>, StoreError>> {
        (**self).write(batch)
    }

    fn opened_epoch(&self) -> u64 {
        (**self).opened_epoch()
    }
}

/// A row as a store returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// How many writes the row has had: 1 after the first.
    pub version: u64,
    /// The epoch of the writer of the current version.
    pub epoch: u64,
    /// The state, or `None` once cleared (a tombstone).
    pub value: Option<Envelope>,
}

/// One write of a batch: `value` for the row of `type_key` and `id`, if the
/// row is at `expected_version` and `partition` is fenced at `epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    /// The actor type's stable name: never its Rust type name, which may
    /// change with a refactoring or a compiler.
    pub type_key: &'static str,
    /// The actor ID's [key](super::StateKey::to_key).
    pub id: Vec<u8>,
    /// The partition the ID belongs to (0 on a single node).
    pub partition: u64,
    /// The writer's epoch, which must be the partition's fence.
    pub epoch: u64,
    /// The version the writer last read or wrote (0 for a new row).
    pub expected_version: u64,
    /// The new state, or `None` to clear it (a tombstone).
    pub value: Option<Envelope>,
}

impl StateWrite {
    /// The row this write is for.
    pub fn key(&self) -> StateKeyRef<'_> {
        StateKeyRef {
            type_key: self.type_key,
            id: &self.id,
        }
    }
}

/// What became of one write of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written, and durable: the row is now at `version`.
    Written {
        /// The row's new version (the expected one plus one).
        version: u64,
    },
    /// Not written: the row is at another version than expected, written
    /// meanwhile by another activation.
    Conflict {
        /// The version the row is at.
        stored_version: u64,
    },
    /// Not written: the partition was claimed for another epoch, so this
    /// writer is stale (a zombie, or a system that lost the partition).
    Fenced {
        /// The partition's fence.
        fence_epoch: u64,
    },
}

/// A store could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached, or is busy; trying again may succeed.
    Unavailable {
        /// What failed, as the store reports it.
        reason: String,
    },
    /// The database was written by a newer version of its store, whose
    /// tables this one cannot read; upgrade the application.
    SchemaTooNew {
        /// The database's store schema version.
        found: u32,
        /// The newest this store reads.
        supported: u32,
    },
    /// Any other failure, which trying again will not mend.
    Failed {
        /// What failed, as the store reports it.
        reason: String,
    },
}

impl StoreError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable { reason } => write!(
                f,
                "the state store is unavailable ({reason}); the operation may succeed if retried"
            ),
            StoreError::SchemaTooNew { found, supported } => write!(
                f,
                "the state store's database has schema version {found}, newer than the {supported} \
                 this version of acteur reads; run a newer version of the application"
            ),
            StoreError::Failed { reason } => write!(f, "the state store failed: {reason}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The outcome of `write` under the contract, against the row as it is
/// (`stored`) and the partition's fence; the one place the rule is written,
/// for every store that checks it itself.
pub(crate) fn outcome(write: &StateWrite, stored_version: u64, fence_epoch: u64) -> WriteOutcome {
    if fence_epoch != write.epoch {
        WriteOutcome::Fenced { fence_epoch }
    } else if stored_version != write.expected_version {
        WriteOutcome::Conflict { stored_version }
    } else {
        WriteOutcome::Written {
            version: write.expected_version + 1,
        }
    }
}

/// After a commit whose result was lost: what became of `write`, read from
/// the row as it is now (`now`) and the partition's fence. It was written
/// only if the row holds exactly what it wrote (the next version, its
/// epoch, its checksum). `None`: it was not written, and nothing stands in
/// its way, so the store may write it again.
pub(crate) fn resolve_ambiguous(
    write: &StateWrite,
    now: Option<&StoredRecord>,
    fence_epoch: u64,
) -> Option<WriteOutcome> {
    let stored_version = now.map_or(0, |row| row.version);
    let written = now.is_some_and(|row| {
        row.version == write.expected_version + 1
            && row.epoch == write.epoch
            && row.value.as_ref().map(|value| value.checksum)
                == write.value.as_ref().map(|value| value.checksum)
    });
    if written {
        return Some(WriteOutcome::Written {
            version: stored_version,
        });
    }
    match outcome(write, stored_version, fence_epoch) {
        WriteOutcome::Written { .. } => None,
        refused => Some(refused),
    }
}
