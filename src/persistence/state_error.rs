//! What can go wrong with a persistent actor's state, as its callers and its
//! handlers are told.

use std::fmt;

use super::store::StoreError;

/// A persistent actor's state could not be loaded or saved; the cause of
/// `Error::State`, and what `ActorAssistant::save` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// The store could not be reached within the time allowed (the type's
    /// `load_timeout` for a load, the call's timeout for a save), or an
    /// activation needed room under a limit while the store failed the
    /// saves of the actors evicted to make it. Nothing was lost: a load or
    /// an activation is tried again by the next message, and an unsaved
    /// state stays in RAM, changed, and is saved again later.
    Unavailable {
        /// The store's last error.
        reason: String,
    },
    /// The stored state is damaged (its checksum does not match), in a
    /// codec this version does not read, or not a valid encoding of the
    /// type's state. The row is left as it is, never replaced by a default:
    /// repair or remove it, then send again.
    Corrupt {
        /// The actor type's `TYPE_KEY`.
        type_key: &'static str,
        /// The actor's ID, as its `Debug` form.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The stored state was written with a newer `SCHEMA` than this type's:
    /// a newer version of the application wrote it. Run that version.
    SchemaTooNew {
        /// The actor type's `TYPE_KEY`.
        type_key: &'static str,
        /// The stored state's schema.
        found: u32,
        /// The type's `SCHEMA`.
        supported: u32,
    },
    /// The stored state has an older schema, and `PersistentActor::upgrade`
    /// could not turn it into the current one.
    Upgrade {
        /// The actor type's `TYPE_KEY`.
        type_key: &'static str,
        /// The stored state's schema.
        found: u32,
        /// What `upgrade` said.
        reason: String,
    },
    /// Another activation of this actor wrote its state first (on another
    /// system sharing the store, for example). This activation was dropped
    /// without `deactivate`, with its unsaved changes; the next message
    /// loads the state as the other one left it.
    Conflict {
        /// The version the store holds.
        stored_version: u64,
    },
    /// This system's claim on the actor's partition was superseded: another
    /// process opened the same store, or took the partition over. This
    /// activation was dropped without `deactivate`, with its unsaved
    /// changes.
    Fenced {
        /// The partition's epoch now.
        fence_epoch: u64,
    },
    /// The encoded state is larger than the type's `max_state_bytes`: it
    /// was not saved, and stays in RAM, changed.
    TooLarge {
        /// The encoded size.
        bytes: usize,
        /// The type's `max_state_bytes`.
        max: usize,
    },
    /// The state could not be encoded (its `Serialize` implementation
    /// failed): it was not saved, and stays in RAM, changed.
    Encode {
        /// What the encoder said.
        reason: String,
    },
    /// The store refused the operation for a reason retrying will not mend.
    Store(StoreError),
}

impl StateError {
    /// The error for a store error that was not retried, or was retried to
    /// the end of the time allowed.
    pub(crate) fn from_store(error: StoreError) -> StateError {
        match error {
            StoreError::Unavailable { reason } => StateError::Unavailable { reason },
            other => StateError::Store(other),
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Unavailable { reason } => write!(
                f,
                "the state store was unavailable within the time allowed ({reason}); nothing \
                 was lost, and the operation may succeed if retried"
            ),
            StateError::Corrupt {
                type_key,
                id,
                reason,
            } => write!(
                f,
                "the stored state of {type_key} {id} cannot be read ({reason}); it was left \
                 unchanged: repair or remove the row, then send again"
            ),
            StateError::SchemaTooNew {
                type_key,
                found,
                supported,
            } => write!(
                f,
                "the stored state of {type_key} has schema {found}, newer than the type's \
                 SCHEMA {supported}: a newer version of the application wrote it; run that version"
            ),
            StateError::Upgrade {
                type_key,
                found,
                reason,
            } => write!(
                f,
                "the stored state of {type_key} has the older schema {found}, and upgrade could \
                 not convert it: {reason}; implement PersistentActor::upgrade for that schema"
            ),
            StateError::Conflict { stored_version } => write!(
                f,
                "another activation saved this actor's state first (the store is at version \
                 {stored_version}): this activation was dropped with its unsaved changes, and \
                 the next message loads the stored state"
            ),
            StateError::Fenced { fence_epoch } => write!(
                f,
                "this system no longer owns the actor's partition (its epoch is now \
                 {fence_epoch}; another process opened the store or took the partition): the \
                 activation was dropped with its unsaved changes"
            ),
            StateError::TooLarge { bytes, max } => write!(
                f,
                "the encoded state is {bytes} bytes, more than max_state_bytes ({max}): it was \
                 not saved and stays in RAM; keep the state smaller or raise the limit"
            ),
            StateError::Encode { reason } => write!(
                f,
                "the state could not be encoded ({reason}): it was not saved and stays in RAM; \
                 check the state's Serialize implementation"
            ),
            StateError::Store(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StateError::Store(error) => Some(error),
            _ => None,
        }
    }
}
