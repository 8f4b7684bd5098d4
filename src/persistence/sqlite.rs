//! The embedded state store (feature `sqlite`): one SQLite file, no server.
//!
//! Every write goes through one writer thread, which commits all the
//! batches queued at that moment in one transaction (up to
//! [`GROUP_ROWS`] rows or [`GROUP_BYTES`] bytes): with `synchronous=FULL`
//! a commit costs a disk flush, so a thousand actors saving at once cost a
//! few flushes, not a thousand. Loads go to two reader threads, which WAL
//! mode lets read while the writer writes. No I/O runs on the system's
//! workers: each operation is a message to a thread, answered through a
//! one-shot channel.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_channel::oneshot;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::envelope::Envelope;
use super::group_commit::{WriteRequest, answer, answer_all, ask, gather};
use super::key::StateKeyRef;
use super::store::{
    BoxFuture, StateStore, StateWrite, StoreError, StoredRecord, WriteOutcome, outcome,
};

/// The version of the tables this store writes; a database of a newer one
/// is refused, an older one would be migrated when opened.
const STORE_SCHEMA: u32 = 1;
/// Threads answering loads.
const READERS: usize = 2;
/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`StateStore`] in one SQLite file, embedded in the process (feature
/// `sqlite`): nothing to install or start.
///
/// Writes are durable when acknowledged (WAL, `synchronous=FULL`: they
/// survive a killed process and a power loss). Each operation is handed to
/// the store's threads when the method is called: dropping its future
/// stops the wait for the answer, not the operation. Opening the file raises
/// partition 0's fence ([`epoch`](SqliteStore::epoch)), so a second process
/// that opens the same file fences the first one's writes to it.
///
/// ```
/// use acteur::persistence::{Envelope, SqliteStore, StateStore, StateWrite, WriteOutcome};
/// use futures_lite::future::block_on;
///
/// let dir = std::env::temp_dir().join(format!("acteur-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("states.db")).unwrap();
/// let write = StateWrite {
///     type_key: "account",
///     id: 7u64.to_be_bytes().to_vec(),
///     partition: 0,
///     epoch: store.epoch(),
///     expected_version: 0,
///     value: Some(Envelope::new(1, 1, b"balance=10".to_vec())),
/// };
/// let outcomes = block_on(store.write(vec![write])).unwrap();
/// assert_eq!(outcomes, [WriteOutcome::Written { version: 1 }]);
/// # drop(store);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct SqliteStore {
    writes: Sender<WriteRequest>,
    loads: Sender<LoadRequest>,
    epoch: u64,
    path: PathBuf,
    /// Transactions the writer thread committed.
    transactions: Arc<AtomicU64>,
}

struct LoadRequest {
    type_key: String,
    id: Vec<u8>,
    done: oneshot::Sender<Result<Option<StoredRecord>, StoreError>>,
}

impl SqliteStore {
    /// Opens the store in the file at `path`, creating it and its tables if
    /// needed, and starts its threads. Raises partition 0's fence: a process
    /// that opened the file before this one can no longer write to it.
    ///
    /// # Errors
    ///
    /// [`StoreError::SchemaTooNew`] if a newer version of this store wrote
    /// the file; [`StoreError::Failed`] if it cannot be opened or is not a
    /// SQLite database.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = connect(&path)?;
        let epoch = prepare(&mut writer, &path)?;
        let (writes, queued) = mpsc::channel();
        let (loads, to_read) = mpsc::channel::<LoadRequest>();
        let to_read = Arc::new(Mutex::new(to_read));
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(connect(&path)?);
        }
        let transactions = Arc::new(AtomicU64::new(0));
        let committed = transactions.clone();
        spawn("acteur-sqlite-writer", move || {
            write_loop(writer, &queued, &committed);
        })?;
        for reader in readers {
            let to_read = to_read.clone();
            spawn("acteur-sqlite-reader", move || read_loop(&reader, &to_read))?;
        }
        Ok(SqliteStore {
            writes,
            loads,
            epoch,
            path,
            transactions,
        })
    }

    /// The epoch this store raised partition 0's fence to when it opened
    /// the file: the one its writes to partition 0 carry.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The file the store is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many transactions the store has committed since it opened (each
    /// holds every batch and claim queued when it began): with batches
    /// written, how well their commits were grouped.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Relaxed)
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// A store thread that ended (it never does while the store lives) answers
/// nothing; its callers get this.
fn gone() -> StoreError {
    StoreError::Failed {
        reason: "the SQLite store's thread ended".to_string(),
    }
}

impl StateStore for SqliteStore {
    fn opened_epoch(&self) -> u64 {
        self.epoch
    }

    fn claim(&self, partition: u64, epoch: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        let writes = &self.writes;
        ask(
            |request| writes.send(request).is_ok(),
            |done| WriteRequest::Claim {
                partition,
                epoch,
                done,
            },
            gone,
        )
    }

    fn load(
        &self,
        key: StateKeyRef<'_>,
    ) -> BoxFuture<'_, Result<Option<StoredRecord>, StoreError>> {
        let (type_key, id) = (key.type_key.to_string(), key.id.to_vec());
        let loads = &self.loads;
        ask(
            |request| loads.send(request).is_ok(),
            |done| LoadRequest { type_key, id, done },
            gone,
        )
    }

    fn write(
        &self,
        batch: Vec<StateWrite>,
    ) -> BoxFuture<'_, Result<Vec<WriteOutcome>, StoreError>> {
        let writes = &self.writes;
        ask(
            |request| writes.send(request).is_ok(),
            |done| WriteRequest::Write { batch, done },
            gone,
        )
    }
}

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(run)
        .map(drop)
        .map_err(|error| StoreError::Failed {
            reason: format!("could not start the SQLite store's {name} thread: {error}"),
        })
}

fn failed(path: &Path, error: rusqlite::Error) -> StoreError {
    StoreError::Failed {
        reason: format!("SQLite database {}: {error}", path.display()),
    }
}

/// A failure that may pass (a lock held by another process, a full disk,
/// an I/O error), or one that will not.
fn classify(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked, DiskFull, SystemIoFailure};
    match error.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure) => {
            StoreError::Unavailable {
                reason: error.to_string(),
            }
        }
        _ => StoreError::Failed {
            reason: error.to_string(),
        },
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(|error| failed(path, error))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .and_then(|()| connection.pragma_update(None, "journal_mode", "WAL"))
        .and_then(|()| connection.pragma_update(None, "synchronous", "FULL"))
        .map_err(|error| failed(path, error))?;
    Ok(connection)
}

/// Creates the tables if needed, checks the store schema, and raises
/// partition 0's fence; returns the new epoch.
fn prepare(connection: &mut Connection, path: &Path) -> Result<u64, StoreError> {
    let sqlite = |error| failed(path, error);
    let transaction = connection.transaction().map_err(sqlite)?;
    transaction
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS acteur_store (schema INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS acteur_states (
             type_key TEXT NOT NULL,
             id BLOB NOT NULL,
             version INTEGER NOT NULL,
             epoch INTEGER NOT NULL,
             codec INTEGER,
             schema INTEGER,
             checksum INTEGER,
             state BLOB,
             updated_at INTEGER NOT NULL,
             PRIMARY KEY (type_key, id)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS acteur_fences (
             partition INTEGER PRIMARY KEY,
             epoch INTEGER NOT NULL
         );",
        )
        .map_err(sqlite)?;
    let found: Option<u32> = transaction
        .query_row("SELECT schema FROM acteur_store", [], |row| row.get(0))
        .optional()
        .map_err(sqlite)?;
    match found {
        None => {
            transaction
                .execute(
                    "INSERT INTO acteur_store (schema) VALUES (?1)",
                    [STORE_SCHEMA],
                )
                .map_err(sqlite)?;
        }
        Some(found) if found > STORE_SCHEMA => {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: STORE_SCHEMA,
            });
        }
        Some(_) => {}
    }
    let epoch = fence(&transaction, 0).map_err(sqlite)? + 1;
    set_fence(&transaction, 0, epoch).map_err(sqlite)?;
    transaction.commit().map_err(sqlite)?;
    Ok(epoch)
}

fn fence(transaction: &Transaction<'_>, partition: u64) -> Result<u64, rusqlite::Error> {
    let epoch: Option<i64> = transaction
        .prepare_cached("SELECT epoch FROM acteur_fences WHERE partition = ?1")?
        .query_row([to_sql(partition)?], |row| row.get(0))
        .optional()?;
    Ok(epoch.map_or(0, from_sql))
}

/// Raises `partition`'s fence to `epoch`, never lowering it.
fn set_fence(
    transaction: &Transaction<'_>,
    partition: u64,
    epoch: u64,
) -> Result<(), rusqlite::Error> {
    transaction
        .prepare_cached(
            "INSERT INTO acteur_fences (partition, epoch) VALUES (?1, ?2)
             ON CONFLICT (partition) DO UPDATE SET epoch = max(epoch, excluded.epoch)",
        )?
        .execute([to_sql(partition)?, to_sql(epoch)?])?;
    Ok(())
}

/// SQLite integers are signed: versions and epochs above `i64::MAX` are
/// refused rather than wrapped.
fn to_sql(value: u64) -> Result<i64, rusqlite::Error> {
    i64::try_from(value).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

fn from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn read_row(
    connection: &Connection,
    type_key: &str,
    id: &[u8],
) -> Result<Option<StoredRecord>, rusqlite::Error> {
    connection
        .prepare_cached(
            "SELECT version, epoch, codec, schema, checksum, state FROM acteur_states
             WHERE type_key = ?1 AND id = ?2",
        )?
        .query_row(params![type_key, id], |row| {
            let state: Option<Vec<u8>> = row.get(5)?;
            let value = match state {
                None => None,
                Some(bytes) => Some(Envelope {
                    codec: row.get(2)?,
                    schema: row.get(3)?,
                    checksum: row.get(4)?,
                    bytes,
                }),
            };
            Ok(StoredRecord {
                version: from_sql(row.get(0)?),
                epoch: from_sql(row.get(1)?),
                value,
            })
        })
        .optional()
}

fn read_loop(connection: &Connection, requests: &Mutex<Receiver<LoadRequest>>) {
    loop {
        let request = requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(LoadRequest { type_key, id, done }) = request else {
            return;
        };
        let row = read_row(connection, &type_key, &id).map_err(classify);
        let _ = done.send(row);
    }
}

/// The writer thread: takes what is queued, commits it in one transaction,
/// answers every request of the group, and waits for more.
fn write_loop(
    mut connection: Connection,
    requests: &Receiver<WriteRequest>,
    transactions: &AtomicU64,
) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(first) => first,
            None => match requests.recv() {
                Ok(first) => first,
                Err(_) => return,
            },
        };
        let group;
        (group, next) = gather(first, || requests.try_recv().ok());
        if commit_group(&mut connection, group) {
            transactions.fetch_add(1, Relaxed);
        }
    }
}

/// Applies every request of `group` in one transaction, then answers every
/// one of them: with their outcomes if it committed, with the error if not
/// (then nothing of the group was written). True if it committed.
fn commit_group(connection: &mut Connection, group: Vec<WriteRequest>) -> bool {
    // One entry per request, in order (empty for a claim); the requests
    // stay in `group` until answered, so a failure part-way still answers
    // every one with the failure itself.
    let mut outcomes: Vec<Vec<WriteOutcome>> = Vec::with_capacity(group.len());
    let result = connection.transaction().and_then(|transaction| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        for request in &group {
            match request {
                WriteRequest::Claim {
                    partition, epoch, ..
                } => {
                    set_fence(&transaction, *partition, *epoch)?;
                    outcomes.push(Vec::new());
                }
                WriteRequest::Write { batch, .. } => outcomes.push(
                    batch
                        .iter()
                        .map(|write| apply(&transaction, write, now))
                        .collect::<Result<_, _>>()?,
                ),
            }
        }
        transaction.commit()
    });
    // The transaction rolled back if it did not commit (dropped), so on an
    // error nothing of the group was written.
    match result {
        Ok(()) => {
            answer(group, outcomes);
            true
        }
        Err(error) => {
            answer_all(group, &classify(error));
            false
        }
    }
}

/// Applies `write` inside the group's transaction if the contract allows.
fn apply(
    transaction: &Transaction<'_>,
    write: &StateWrite,
    now: i64,
) -> Result<WriteOutcome, rusqlite::Error> {
    let stored_version = transaction
        .prepare_cached("SELECT version FROM acteur_states WHERE type_key = ?1 AND id = ?2")?
        .query_row(params![write.type_key, write.id], |row| {
            row.get::<_, i64>(0)
        })
        .optional()?
        .map_or(0, from_sql);
    let result = outcome(write, stored_version, fence(transaction, write.partition)?);
    if let WriteOutcome::Written { version } = result {
        let value = write.value.as_ref();
        transaction
            .prepare_cached(
                "INSERT INTO acteur_states
                     (type_key, id, version, epoch, codec, schema, checksum, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (type_key, id) DO UPDATE SET
                     version = excluded.version, epoch = excluded.epoch,
                     codec = excluded.codec, schema = excluded.schema,
                     checksum = excluded.checksum, state = excluded.state,
                     updated_at = excluded.updated_at",
            )?
            .execute(params![
                write.type_key,
                write.id,
                to_sql(version)?,
                to_sql(write.epoch)?,
                value.map(|value| value.codec),
                value.map(|value| value.schema),
                value.map(|value| value.checksum),
                value.map(|value| &value.bytes),
                now,
            ])?;
    }
    Ok(result)
}
