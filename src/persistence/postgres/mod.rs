//! The PostgreSQL state store (feature `postgres`), for production: several
//! processes, or the nodes of a cluster, sharing one database.
//!
//! The store runs a small tokio runtime on a thread of its own, so that no
//! I/O runs on the system's workers and the application needs no runtime.
//!
//! - `mod.rs`: the store, its tables, and its [`READERS`] reader
//!   connections, each pipelining the loads it is given;
//! - `write_loop.rs`: the writer task, which commits every batch queued at
//!   a moment in one transaction;
//! - `writer.rs`: its connection, and a transaction of one round trip;
//! - `lost_commit.rs`: a commit whose answer was lost with its connection.
//!
//! A connection that broke is opened again on its next use.

mod lost_commit;
mod write_loop;
mod writer;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use futures_channel::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls, Statement};

use super::envelope::Envelope;
use super::group_commit::{WriteRequest, ask};
use super::key::StateKeyRef;
use super::store::{BoxFuture, StateStore, StateWrite, StoreError, StoredRecord, WriteOutcome};
use write_loop::write_loop;
use writer::Writer;

/// The version of the tables this store writes; a database of a newer one
/// is refused.
const STORE_SCHEMA: i32 = 1;
/// Connections answering loads.
pub const READERS: usize = 2;

/// A [`StateStore`] in a PostgreSQL database (feature `postgres`).
///
/// A write is durable when acknowledged: its transaction committed (with
/// the server's `synchronous_commit`, `on` by default). Connecting raises
/// partition 0's fence ([`epoch`](PostgresStore::epoch)), so a second
/// process that connects to the same database fences the first one's
/// writes; a cluster claims its partitions instead. Each operation is handed
/// to the store's thread when the method is called: dropping its future
/// stops the wait for the answer, not the operation.
///
/// ```no_run
/// use acteur::Acteur;
/// use acteur::persistence::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://acteur@127.0.0.1:5432/app").unwrap();
/// let sys = Acteur::builder().state_store(store).build();
/// # sys.stop();
/// ```
pub struct PostgresStore {
    runtime: tokio::runtime::Handle,
    writes: mpsc::UnboundedSender<WriteRequest>,
    readers: Arc<Vec<Reader>>,
    next_reader: AtomicUsize,
    epoch: u64,
    transactions: Arc<AtomicU64>,
    /// Dropped with the store: the store's thread then ends.
    _stop: oneshot::Sender<()>,
}

/// A reader connection, opened again when it broke.
struct Reader {
    url: String,
    connection: Mutex<Option<Arc<ReaderConnection>>>,
}

/// An open reader connection and its prepared load.
struct ReaderConnection {
    client: Client,
    load: Statement,
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://user@host:port/db`
    /// URL or a `key=value` string, as `libpq` reads them; no TLS), creates
    /// the store's tables if needed, raises partition 0's fence, and starts
    /// the store's thread. Blocks until connected: call it before building
    /// the system, not from a handler.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the server cannot be reached;
    /// [`StoreError::SchemaTooNew`] if a newer version of this store created
    /// the tables; [`StoreError::Failed`] for a bad URL or a refused login.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| StoreError::Failed {
                reason: format!("could not start the PostgreSQL store's runtime: {error}"),
            })?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        thread::Builder::new()
            .name("acteur-postgres".to_string())
            .spawn(move || {
                // Runs the store's connections until the store is dropped.
                let _ = runtime.block_on(stopped);
            })
            .map_err(|error| StoreError::Failed {
                reason: format!("could not start the PostgreSQL store's thread: {error}"),
            })?;
        let url = url.to_string();
        let (writer, epoch) = block_on_store(&handle, {
            let url = url.clone();
            async move {
                // The tables first: the writer's statements name them.
                let mut schema = open(&url).await?;
                let epoch = prepare(&mut schema).await?;
                drop(schema);
                Ok((Writer::open(&url).await?, epoch))
            }
        })?;
        let (writes, queued) = mpsc::unbounded();
        let transactions = Arc::new(AtomicU64::new(0));
        handle.spawn(write_loop(
            url.clone(),
            writer,
            queued,
            transactions.clone(),
        ));
        let readers = (0..READERS)
            .map(|_| Reader {
                url: url.clone(),
                connection: Mutex::new(None),
            })
            .collect();
        Ok(PostgresStore {
            runtime: handle,
            writes,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            epoch,
            transactions,
            _stop: stop,
        })
    }

    /// The epoch this store raised partition 0's fence to when it
    /// connected: the one its writes to partition 0 carry.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How many transactions the store has committed since it connected
    /// (each holds every batch and claim queued when it began): with
    /// batches written, how well their commits were grouped.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Relaxed)
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// Runs `work` on the store's runtime and waits for it from this thread.
fn block_on_store<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    let (done, answer) = oneshot::channel();
    runtime.spawn(async move {
        let _ = done.send(work.await);
    });
    crate::runtime::block_on(answer).unwrap_or_else(|_| Err(gone()))
}

/// The store's thread ended (it never does while the store lives).
fn gone() -> StoreError {
    StoreError::Failed {
        reason: "the PostgreSQL store's thread ended".to_string(),
    }
}

/// A failure that may pass (the server unreachable, restarting, out of
/// connections, a serialization failure), or one that will not.
fn classify(error: &tokio_postgres::Error) -> StoreError {
    let Some(db) = error.as_db_error() else {
        // No answer from the server: the connection broke or never opened.
        return StoreError::Unavailable {
            reason: error.to_string(),
        };
    };
    let code = db.code().code();
    // 08: connection, 40: serialization and deadlock, 53: resources,
    // 57P: the server shutting down or starting.
    let transient = ["08", "40", "53", "57P"]
        .iter()
        .any(|class| code.starts_with(class));
    let reason = format!("{} ({code})", db.message());
    if transient {
        StoreError::Unavailable { reason }
    } else {
        StoreError::Failed { reason }
    }
}

/// A connection to `url`, driven on the store's runtime.
async fn open(url: &str) -> Result<Client, StoreError> {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|error| match error.as_db_error() {
                Some(_) => classify(&error),
                None if url.is_empty() => StoreError::Failed {
                    reason: format!("no PostgreSQL URL: {error}"),
                },
                None => StoreError::Unavailable {
                    reason: format!("cannot connect to PostgreSQL: {error}"),
                },
            })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            log::warn!("a PostgreSQL state store connection ended: {error}");
        }
    });
    Ok(client)
}

/// Creates the tables if needed, checks the store schema, and raises
/// partition 0's fence; returns the new epoch.
async fn prepare(client: &mut Client) -> Result<u64, StoreError> {
    let failed = |error: tokio_postgres::Error| classify(&error);
    let transaction = client.transaction().await.map_err(failed)?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS acteur_store (schema INT4 NOT NULL);
             CREATE TABLE IF NOT EXISTS acteur_states (
                 type_key TEXT NOT NULL,
                 id BYTEA NOT NULL,
                 version INT8 NOT NULL,
                 epoch INT8 NOT NULL,
                 codec INT2,
                 schema INT8,
                 checksum INT8,
                 state BYTEA,
                 updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                 PRIMARY KEY (type_key, id)
             );
             CREATE TABLE IF NOT EXISTS acteur_fences (
                 partition INT8 PRIMARY KEY,
                 epoch INT8 NOT NULL
             );
             LOCK TABLE acteur_store IN EXCLUSIVE MODE;",
        )
        .await
        .map_err(failed)?;
    let found: Option<i32> = transaction
        .query_opt("SELECT schema FROM acteur_store", &[])
        .await
        .map_err(failed)?
        .map(|row| row.get(0));
    match found {
        None => {
            transaction
                .execute(
                    "INSERT INTO acteur_store (schema) VALUES ($1)",
                    &[&STORE_SCHEMA],
                )
                .await
                .map_err(failed)?;
        }
        Some(found) if found > STORE_SCHEMA => {
            return Err(StoreError::SchemaTooNew {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: STORE_SCHEMA.unsigned_abs(),
            });
        }
        Some(_) => {}
    }
    let epoch: i64 = transaction
        .query_one(
            "INSERT INTO acteur_fences (partition, epoch) VALUES (0, 1)
             ON CONFLICT (partition) DO UPDATE SET epoch = acteur_fences.epoch + 1
             RETURNING epoch",
            &[],
        )
        .await
        .map_err(failed)?
        .get(0);
    transaction.commit().await.map_err(failed)?;
    Ok(from_sql(epoch))
}

/// PostgreSQL integers are signed: versions and epochs above `i64::MAX`
/// are refused rather than wrapped.
fn to_sql(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Failed {
        reason: format!("{value} does not fit the store's signed 64-bit columns"),
    })
}

fn from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl StateStore for PostgresStore {
    fn opened_epoch(&self) -> u64 {
        self.epoch
    }

    fn claim(&self, partition: u64, epoch: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        let writes = &self.writes;
        ask(
            |request| writes.unbounded_send(request).is_ok(),
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
        let readers = self.readers.clone();
        let reader = self.next_reader.fetch_add(1, Relaxed) % READERS;
        let (done, answer) = oneshot::channel();
        self.runtime.spawn(async move {
            let _ = done.send(readers[reader].load(&type_key, &id).await);
        });
        Box::pin(async move { answer.await.unwrap_or_else(|_| Err(gone())) })
    }

    fn write(
        &self,
        batch: Vec<StateWrite>,
    ) -> BoxFuture<'_, Result<Vec<WriteOutcome>, StoreError>> {
        let writes = &self.writes;
        ask(
            |request| writes.unbounded_send(request).is_ok(),
            |done| WriteRequest::Write { batch, done },
            gone,
        )
    }
}

impl Reader {
    /// The row of `type_key` and `id`, on this reader's connection (opened
    /// again if it broke).
    async fn load(&self, type_key: &str, id: &[u8]) -> Result<Option<StoredRecord>, StoreError> {
        // Queries on one connection are pipelined: each load holds it
        // while its query runs, not under the lock.
        let current = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|connection| !connection.client.is_closed())
            .cloned();
        let connection = match current {
            Some(connection) => connection,
            None => {
                // Two loads may both open one; the last one stays.
                let client = open(&self.url).await?;
                let load = client
                    .prepare(
                        "SELECT version, epoch, codec, schema, checksum, state FROM acteur_states
                         WHERE type_key = $1 AND id = $2",
                    )
                    .await
                    .map_err(|error| classify(&error))?;
                let connection = Arc::new(ReaderConnection { client, load });
                *self
                    .connection
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(connection.clone());
                connection
            }
        };
        let row = connection
            .client
            .query_opt(&connection.load, &[&type_key, &id])
            .await
            .map_err(|error| classify(&error))?;
        Ok(row.map(|row| {
            record(
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
            )
        }))
    }
}

/// A row as the store returns it, from its columns.
fn record(
    version: i64,
    epoch: i64,
    codec: Option<i16>,
    schema: Option<i64>,
    checksum: Option<i64>,
    state: Option<Vec<u8>>,
) -> StoredRecord {
    let value = state.map(|bytes| Envelope {
        codec: codec
            .and_then(|codec| u8::try_from(codec).ok())
            .unwrap_or(0),
        schema: schema
            .and_then(|schema| u32::try_from(schema).ok())
            .unwrap_or(0),
        checksum: checksum
            .and_then(|checksum| u32::try_from(checksum).ok())
            .unwrap_or(0),
        bytes,
    });
    StoredRecord {
        version: from_sql(version),
        epoch: from_sql(epoch),
        value,
    }
}
