//! How a persistent actor type's state is saved: when, how long a load may
//! take, how failed saves are retried, and who hears of state that could not
//! be saved before the system stopped.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How a persistent actor type's state is saved; what
/// `PersistentActor::persistence` returns.
///
/// Every field has a default, so a type that needs one change names only
/// that one:
///
/// ```
/// use std::time::Duration;
/// use acteur::persistence::{PersistenceConfiguration, WriteMode};
///
/// let configuration = PersistenceConfiguration {
///     write: WriteMode::Explicit,
///     load_timeout: Duration::from_secs(2),
///     ..Default::default()
/// };
/// assert_eq!(configuration.write, WriteMode::Explicit);
/// ```
#[derive(Clone)]
pub struct PersistenceConfiguration {
    /// When a changed state is written; [`WriteMode::EveryTurn`] by default.
    pub write: WriteMode,
    /// How long loading a state at activation may keep retrying a store that
    /// is unavailable before the message that activated the actor fails with
    /// `StateError::Unavailable`. 5 seconds by default.
    pub load_timeout: Duration,
    /// The waits between the attempts of a failed load or save.
    pub retry: Backoff,
    /// The largest encoded state written: a bigger one is refused with
    /// `StateError::TooLarge` and stays unsaved in RAM. 16 MiB by default.
    pub max_state_bytes: usize,
    /// Told of each activation whose changed state could not be saved
    /// before the system stopped (the store was unavailable until the
    /// shutdown deadline). Every such state is also logged at error level.
    /// None by default.
    pub on_unsaved: Option<OnUnsaved>,
}

impl Default for PersistenceConfiguration {
    fn default() -> Self {
        PersistenceConfiguration {
            write: WriteMode::EveryTurn,
            load_timeout: Duration::from_secs(5),
            retry: Backoff::default(),
            max_state_bytes: 16 * 1024 * 1024,
            on_unsaved: None,
        }
    }
}

impl fmt::Debug for PersistenceConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistenceConfiguration")
            .field("write", &self.write)
            .field("load_timeout", &self.load_timeout)
            .field("retry", &self.retry)
            .field("max_state_bytes", &self.max_state_bytes)
            .field("on_unsaved", &self.on_unsaved.as_ref().map(|_| "Fn"))
            .finish()
    }
}

/// When a persistent actor's changed state is written to the store.
///
/// A state is "changed" when its encoded bytes differ from the last ones
/// saved: a turn that leaves them equal writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteMode {
    /// After every message that changed the state, before the message's
    /// reply is released: an answer means the change is durable. Replies
    /// leave in the order the messages came. The actor does not wait for
    /// the write: its next messages run meanwhile, and the turns that end
    /// while a write is in flight share the next one, so a busy actor costs
    /// one write per commit of the store, not one per message.
    EveryTurn,
    /// At most `max_delay` after the first turn that changed the state
    /// since it was last saved, and before the actor is deactivated. Replies
    /// leave as soon as the handler returns: an answer means the change is
    /// in RAM, and a crash loses at most `max_delay` of changes. Nothing is
    /// encoded or written on a message's path, so messages cost what a
    /// volatile actor's do.
    WriteBehind {
        /// The longest a change waits before it is written. Must not be
        /// zero.
        max_delay: Duration,
    },
    /// Only when the handler calls `ActorAssistant::save`, and when the
    /// actor is deactivated (by its idle timeout, an eviction, `stop`, or
    /// the system's shutdown).
    Explicit,
}

/// The waits between attempts at a failed load or save: `first`, then
/// doubling up to `max`.
///
/// ```
/// use std::time::Duration;
/// use acteur::persistence::Backoff;
///
/// let backoff = Backoff::default();
/// assert_eq!(backoff.first, Duration::from_millis(50));
/// assert_eq!(backoff.max, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure. 50 ms by default.
    pub first: Duration,
    /// The longest wait. 30 seconds by default.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(50),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait after `failures` failures in a row (1 or more).
    pub(crate) fn wait(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.first
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.first))
    }
}

/// What `on_unsaved` is told: an actor whose changed state was never saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsavedState {
    /// The actor type's `PersistentActor::TYPE_KEY`.
    pub type_key: &'static str,
    /// The actor's ID, as its `Debug` form.
    pub id: String,
    /// The version last stored for this actor (0 if none): the unsaved
    /// state would have been the next one.
    pub version: u64,
    /// The state, encoded as it would have been stored (postcard), so that
    /// it can be kept somewhere else and written back later.
    pub bytes: Vec<u8>,
}

/// The function told of states left unsaved at shutdown; see
/// [`PersistenceConfiguration::on_unsaved`].
pub type OnUnsaved = Arc<dyn Fn(&UnsavedState) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_max() {
        let backoff = Backoff {
            first: Duration::from_millis(50),
            max: Duration::from_millis(300),
        };
        let waits: Vec<_> = (1..=5).map(|n| backoff.wait(n).as_millis()).collect();
        assert_eq!(waits, [50, 100, 200, 300, 300]);
        assert_eq!(backoff.wait(u32::MAX).as_millis(), 300);
    }
}
