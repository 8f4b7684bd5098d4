//! Durable actor state (feature `persistence`): where the states of
//! [`PersistentActor`](crate::PersistentActor)s are kept, the contract every
//! store keeps, how a type's states are saved
//! ([`PersistenceConfiguration`], [`WriteMode`]) and what can go wrong
//! ([`StateError`]).
//!
//! A [`StateStore`] keeps one row per actor, keyed by the actor type's
//! stable name and the [key](StateKey) of its ID. Each row has a version,
//! and each partition of IDs a fence: a write applies only at the version
//! its writer expects and under the partition's current epoch, so that two
//! activations of one ID (on two systems, or a stale one) never overwrite
//! each other's writes; the loser is told, and reloads. The contract is
//! written out on [`StateStore`].
//!
//! [`MemoryStore`] keeps it in memory, for tests, and can be told to fail
//! the ways real stores fail. With the `sqlite` feature, `SqliteStore` keeps
//! it in one SQLite file, embedded in the process.

mod checksum;
pub(crate) mod codec;
mod configuration;
mod envelope;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod group_commit;
mod key;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod state_error;
mod store;
mod stored_state;

pub use configuration::{Backoff, OnUnsaved, PersistenceConfiguration, UnsavedState, WriteMode};
pub use envelope::Envelope;
pub use key::{StateKey, StateKeyRef};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use state_error::StateError;
pub use store::{BoxFuture, StateStore, StateWrite, StoreError, StoredRecord, WriteOutcome};
pub use stored_state::{StoredState, UpgradeError};
