//! A state stored with an older schema, as `PersistentActor::upgrade`
//! gets it, and why an upgrade can fail.

use std::fmt;

use serde::de::DeserializeOwned;

/// A state stored with an older schema, handed to
/// `PersistentActor::upgrade`.
#[derive(Debug, Clone, Copy)]
pub struct StoredState<'a> {
    /// The schema it was stored with.
    pub schema: u32,
    /// Its encoding, as stored (postcard).
    pub bytes: &'a [u8],
}

impl StoredState<'_> {
    /// Reads the stored bytes as a `T`: the state type as it was at
    /// [`schema`](StoredState::schema).
    ///
    /// ```
    /// use acteur::persistence::{StoredState, UpgradeError};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Deserialize)]
    /// struct BalanceV1 {
    ///     euros: i64,
    /// }
    /// #[derive(Serialize, Deserialize)]
    /// struct Balance {
    ///     cents: i64,
    /// }
    /// fn upgrade(old: StoredState<'_>) -> Result<Balance, UpgradeError> {
    ///     match old.schema {
    ///         1 => Ok(Balance { cents: old.decode::<BalanceV1>()?.euros * 100 }),
    ///         _ => Err(UpgradeError::Unsupported),
    ///     }
    /// }
    /// let v1 = [42]; // postcard's bytes for `BalanceV1 { euros: 21 }`
    /// assert_eq!(upgrade(StoredState { schema: 1, bytes: &v1 }).unwrap().cents, 2_100);
    /// ```
    ///
    /// # Errors
    ///
    /// [`UpgradeError::Invalid`] if the bytes are not a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, UpgradeError> {
        super::codec::decode(self.bytes).map_err(|reason| UpgradeError::Invalid { reason })
    }
}

/// Why `PersistentActor::upgrade` could not convert an older state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The type does not convert states of that schema.
    Unsupported,
    /// The stored bytes are not what that schema's type reads.
    Invalid {
        /// What the decoder said.
        reason: String,
    },
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::Unsupported => write!(f, "upgrade does not convert this schema"),
            UpgradeError::Invalid { reason } => {
                write!(f, "the stored bytes are not that schema's state: {reason}")
            }
        }
    }
}

impl std::error::Error for UpgradeError {}
