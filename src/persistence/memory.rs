//! A state store in memory, for tests: it keeps the whole contract of
//! [`StateStore`], and can be told to fail the ways a real store fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::key::StateKeyRef;
use super::store::{
    BoxFuture, StateStore, StateWrite, StoreError, StoredRecord, WriteOutcome, outcome,
    resolve_ambiguous,
};

/// A [`StateStore`] in memory: for tests, of an application's persistent
/// actors or of Acteur itself. Clones share one database, as two systems
/// sharing one SQLite file or PostgreSQL database would.
///
/// It can be told to fail: [`fail_next`](MemoryStore::fail_next) makes
/// operations fail as an unreachable store does,
/// [`lose_next_commit_result`](MemoryStore::lose_next_commit_result) makes
/// a commit's outcome unknown, [`corrupt`](MemoryStore::corrupt) damages
/// a stored state, and [`delay_answers`](MemoryStore::delay_answers) makes
/// it slow.
///
/// ```
/// use acteur::persistence::{Envelope, MemoryStore, StateStore, StateWrite, WriteOutcome};
/// use futures_lite::future::block_on;
///
/// let store = MemoryStore::new();
/// let write = StateWrite {
///     type_key: "account",
///     id: 7u64.to_be_bytes().to_vec(),
///     partition: 0,
///     epoch: 0,
///     expected_version: 0,
///     value: Some(Envelope::new(1, 1, b"balance=10".to_vec())),
/// };
/// let outcomes = block_on(store.write(vec![write.clone()])).unwrap();
/// assert_eq!(outcomes, [WriteOutcome::Written { version: 1 }]);
/// // The same write again expects version 0, but the row is at 1.
/// let outcomes = block_on(store.write(vec![write])).unwrap();
/// assert_eq!(outcomes, [WriteOutcome::Conflict { stored_version: 1 }]);
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    database: Arc<Mutex<Database>>,
    /// The epoch this handle opened with (see [`MemoryStore::reopen`]).
    epoch: u64,
}

#[derive(Default)]
struct Database {
    rows: HashMap<(String, Vec<u8>), StoredRecord>,
    fences: HashMap<u64, u64>,
    /// Operations left to fail, as `fail_next` asked.
    failures: usize,
    /// The next write's commit outcome is lost; whether it was applied.
    ambiguous: Option<bool>,
    /// How long each answer takes, as `delay_answers` asked.
    delay: Duration,
}

impl Database {
    fn fail(&mut self) -> Result<(), StoreError> {
        if self.failures == 0 {
            return Ok(());
        }
        self.failures -= 1;
        Err(StoreError::Unavailable {
            reason: "a failure injected with MemoryStore::fail_next".to_string(),
        })
    }

    fn fence(&self, partition: u64) -> u64 {
        self.fences.get(&partition).copied().unwrap_or(0)
    }

    fn row(&self, write: &StateWrite) -> Option<&StoredRecord> {
        self.rows
            .get(&(write.type_key.to_string(), write.id.clone()))
    }

    /// Applies `write` if the contract allows it; its outcome.
    fn apply(&mut self, write: &StateWrite) -> WriteOutcome {
        let stored_version = self.row(write).map_or(0, |row| row.version);
        let result = outcome(write, stored_version, self.fence(write.partition));
        if let WriteOutcome::Written { version } = result {
            self.rows.insert(
                (write.type_key.to_string(), write.id.clone()),
                StoredRecord {
                    version,
                    epoch: write.epoch,
                    value: write.value.clone(),
                },
            );
        }
        result
    }
}

impl MemoryStore {
    /// An empty store; every partition's fence is epoch 0.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn database(&self) -> MutexGuard<'_, Database> {
        self.database.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Another handle on the same states, as a second process opening the
    /// same database gets: it raises partition 0's fence by one and writes
    /// under the new epoch, so that the systems using this handle (and
    /// every older one) are fenced.
    ///
    /// ```
    /// use acteur::persistence::{MemoryStore, StateStore};
    ///
    /// let first = MemoryStore::new();
    /// let second = first.reopen();
    /// assert_eq!((first.opened_epoch(), second.opened_epoch()), (0, 1));
    /// ```
    pub fn reopen(&self) -> MemoryStore {
        let mut database = self.database();
        let fence = database.fences.entry(0).or_insert(0);
        *fence += 1;
        let epoch = *fence;
        drop(database);
        MemoryStore {
            database: self.database.clone(),
            epoch,
        }
    }

    /// Makes the next `operations` claims, loads and writes fail with
    /// [`StoreError::Unavailable`], changing nothing.
    pub fn fail_next(&self, operations: usize) {
        self.database().failures = operations;
    }

    /// Makes the next write's commit outcome unknown, as when a connection
    /// drops during a commit: the batch is applied (`applied`) or not, and
    /// the store then finds out which by reading the rows back, as every
    /// store must (a write not applied, and not refused, is written again).
    pub fn lose_next_commit_result(&self, applied: bool) {
        self.database().ambiguous = Some(applied);
    }

    /// Makes every operation from now on answer only after `delay`, as a
    /// store across a slow network would: its effect happens when it is
    /// asked, its answer comes later. `Duration::ZERO` makes the answers
    /// immediate again.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use acteur::persistence::{MemoryStore, StateKeyRef, StateStore};
    ///
    /// let store = MemoryStore::new();
    /// store.delay_answers(Duration::from_millis(20));
    /// let started = Instant::now();
    /// let key = StateKeyRef { type_key: "account", id: &[1] };
    /// assert_eq!(futures_lite::future::block_on(store.load(key)), Ok(None));
    /// assert!(started.elapsed() >= Duration::from_millis(20));
    /// ```
    pub fn delay_answers(&self, delay: Duration) {
        self.database().delay = delay;
    }

    /// The answer `result`, after the delay `delay_answers` set.
    fn answer<T: Send + 'static>(&self, result: T) -> BoxFuture<'static, T> {
        let delay = self.database().delay;
        if delay.is_zero() {
            return Box::pin(std::future::ready(result));
        }
        Box::pin(async move {
            crate::runtime::sleep(delay).await;
            result
        })
    }

    /// Flips a bit of the state stored for `key`, leaving its checksum as
    /// it was; true if there was a state to damage.
    pub fn corrupt(&self, key: StateKeyRef<'_>) -> bool {
        let mut database = self.database();
        let row = database
            .rows
            .get_mut(&(key.type_key.to_string(), key.id.to_vec()));
        match row.and_then(|row| row.value.as_mut()) {
            Some(value) if !value.bytes.is_empty() => {
                value.bytes[0] ^= 1;
                true
            }
            _ => false,
        }
    }
}

impl StateStore for MemoryStore {
    fn opened_epoch(&self) -> u64 {
        self.epoch
    }

    fn claim(&self, partition: u64, epoch: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut database = self.database();
        let result = database.fail().map(|()| {
            let fence = database.fences.entry(partition).or_insert(0);
            *fence = (*fence).max(epoch);
        });
        drop(database);
        self.answer(result)
    }

    fn load(
        &self,
        key: StateKeyRef<'_>,
    ) -> BoxFuture<'_, Result<Option<StoredRecord>, StoreError>> {
        let mut database = self.database();
        let result = database.fail().map(|()| {
            database
                .rows
                .get(&(key.type_key.to_string(), key.id.to_vec()))
                .cloned()
        });
        drop(database);
        self.answer(result)
    }

    fn write(
        &self,
        batch: Vec<StateWrite>,
    ) -> BoxFuture<'_, Result<Vec<WriteOutcome>, StoreError>> {
        let mut database = self.database();
        let result = database.fail().map(|()| match database.ambiguous.take() {
            None => batch.iter().map(|write| database.apply(write)).collect(),
            Some(applied) => {
                if applied {
                    for write in &batch {
                        database.apply(write);
                    }
                }
                // The outcome was lost: read back what each write became.
                batch
                    .iter()
                    .map(|write| {
                        let fence = database.fence(write.partition);
                        resolve_ambiguous(write, database.row(write), fence)
                            .unwrap_or_else(|| database.apply(write))
                    })
                    .collect()
            }
        });
        drop(database);
        self.answer(result)
    }
}
