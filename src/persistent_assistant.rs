//! What a persistent actor's handlers can do with its stored state, through
//! their [`ActorAssistant`]: save it now, clear it, skip a turn's save, read
//! its version.

use crate::persistence::StateError;
use crate::system::persistence::save;
use crate::{ActorAssistant, PersistentActor};

impl<A: PersistentActor> ActorAssistant<A> {
    /// Saves `state` as this actor's state now, and returns its version
    /// once it is durable. A state whose bytes match the last loaded or
    /// saved ones is not written again: its current version is returned.
    ///
    /// In [`WriteMode::Explicit`](crate::persistence::WriteMode::Explicit),
    /// this and deactivation are the only saves; in the other modes it makes
    /// a turn's state durable before the turn goes on. It first waits for
    /// the saves of earlier turns still in flight: an activation writes one
    /// version at a time.
    ///
    /// # Errors
    ///
    /// - [`StateError::Conflict`] or [`StateError::Fenced`]: another
    ///   activation or process wrote this actor's state; this activation is
    ///   dropped without `deactivate` before its next message, and that
    ///   message gets the stored state.
    /// - [`StateError::Unavailable`]: the store stayed unavailable for the
    ///   system's call timeout; the state stays changed and is saved again
    ///   later.
    /// - [`StateError::TooLarge`] or [`StateError::Encode`]: the state
    ///   cannot be stored as it is.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe. Dropped before its write reached the store, nothing
    /// is saved; dropped after, the write may still apply without this
    /// activation learning its new version, and the activation's next save
    /// then fails with [`StateError::Conflict`] (no change is lost: the
    /// next message loads the stored state).
    ///
    /// ```
    /// use acteur::{Acteur, ActorAssistant, BoxError, PersistentActor, Respond};
    /// use acteur::persistence::{MemoryStore, PersistenceConfiguration, WriteMode};
    ///
    /// struct Ledger(Vec<i64>);
    /// impl PersistentActor for Ledger {
    ///     type Id = u64;
    ///     type State = Vec<i64>;
    ///     const TYPE_KEY: &'static str = "ledger";
    ///     async fn activate(
    ///         _: u64,
    ///         stored: Option<Vec<i64>>,
    ///         _: &ActorAssistant<Self>,
    ///     ) -> Result<Self, BoxError> {
    ///         Ok(Ledger(stored.unwrap_or_default()))
    ///     }
    ///     fn state(&self) -> &Vec<i64> {
    ///         &self.0
    ///     }
    ///     fn persistence() -> PersistenceConfiguration {
    ///         PersistenceConfiguration { write: WriteMode::Explicit, ..Default::default() }
    ///     }
    /// }
    ///
    /// struct Book(i64);
    /// impl Respond<Book> for Ledger {
    ///     type Response = u64;
    ///     async fn handle(&mut self, Book(amount): Book, assistant: &ActorAssistant<Self>) -> u64 {
    ///         self.0.push(amount);
    ///         // Every tenth entry is made durable at once.
    ///         if self.0.len() % 10 == 0 {
    ///             return assistant.save(&self.0).await.unwrap_or(0);
    ///         }
    ///         assistant.state_version()
    ///     }
    /// }
    ///
    /// let sys = Acteur::builder().state_store(MemoryStore::new()).build();
    /// for _ in 0..9 {
    ///     assert_eq!(sys.call_actor_sync::<Ledger, Book>(1, Book(5)).unwrap(), 0);
    /// }
    /// assert_eq!(sys.call_actor_sync::<Ledger, Book>(1, Book(5)).unwrap(), 1);
    /// sys.stop();
    /// sys.wait_until_stopped();
    /// ```
    pub async fn save(&self, state: &A::State) -> Result<u64, StateError> {
        save::save_now(self, state).await
    }

    /// Clears this actor's stored state, then deactivates the activation
    /// once the current message is handled (without saving it again): the
    /// next message activates the actor with no stored state, as if it had
    /// never been saved.
    ///
    /// The row is not deleted but replaced by a tombstone one version
    /// higher, so that a writer that read the state before the clear gets a
    /// [`StateError::Conflict`] instead of bringing it back.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save); on an error the state is not cleared and
    /// the activation goes on.
    ///
    /// # Cancel safety
    ///
    /// As [`save`](Self::save): dropped after its write reached the store,
    /// the state may be cleared while this activation goes on unaware, and
    /// its next save fails with [`StateError::Conflict`].
    pub async fn clear_state(&self) -> Result<(), StateError> {
        save::clear(self).await?;
        self.stop();
        Ok(())
    }

    /// The current turn's changes need not be saved (a read, or a change
    /// the type does not keep): in
    /// [`WriteMode::EveryTurn`](crate::persistence::WriteMode::EveryTurn),
    /// nothing is written after this turn. A later save writes the state
    /// as it is then.
    pub fn mark_unchanged(&self) {
        save::with_tracker(self, |tracker| tracker.unchanged = true);
    }

    /// The version of this actor's stored state as this activation last
    /// loaded or saved it: 0 if it was never saved, then one more for each
    /// save or clear.
    pub fn state_version(&self) -> u64 {
        save::with_tracker(self, |tracker| tracker.version).unwrap_or(0)
    }
}
