//! The PostgreSQL state store (feature `postgres`), for production: several
//! processes, or the nodes of a cluster, sharing one database.
//!
//! The store runs a small tokio runtime on a thread of its own, so that no
//! I/O runs on the system's workers and the application needs no runtime.
//! One writer connection takes every batch queued at a moment and commits
//! them in one transaction, with one statement per round of distinct rows
//! (an `INSERT ... SELECT FROM unnest(..) ON CONFLICT DO UPDATE ... WHERE
//! version = expected`, gated on the partitions' fence rows, locked `FOR
//! SHARE` so that a claim waits for the writes under the old epoch): a
//! thousand actors saving at once cost a few round trips, not a thousand.
//! Loads go to [`READERS`] reader connections, each pipelining the queries
//! it is given. A connection that broke is opened again on its next use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use futures_channel::{mpsc, oneshot};
use futures_lite::StreamExt;
use tokio_postgres::{Client, NoTls, Transaction};

use super::envelope::Envelope;
use super::key::StateKeyRef;
use super::store::{
    BoxFuture, StateStore, StateWrite, StoreError, StoredRecord, WriteOutcome, outcome,
    resolve_ambiguous,
};

/// The version of the tables this store writes; a database of a newer one
/// is refused.
const STORE_SCHEMA: i32 = 1;
/// The most rows one group commit holds (a larger batch is committed
/// alone, since a batch is one transaction).
const GROUP_ROWS: usize = 1_024;
/// The most state bytes one group commit holds.
const GROUP_BYTES: usize = 8 << 20;
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
    client: Mutex<Option<Arc<Client>>>,
}

enum WriteRequest {
    Claim {
        partition: u64,
        epoch: u64,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    Write {
        batch: Vec<StateWrite>,
        done: oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>,
    },
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
                let mut writer = open(&url).await?;
                let epoch = prepare(&mut writer).await?;
                Ok((writer, epoch))
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
                client: Mutex::new(None),
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
    futures_lite::future::block_on(answer).unwrap_or_else(|_| Err(gone()))
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
        let (done, answer) = oneshot::channel();
        let sent = self
            .writes
            .unbounded_send(WriteRequest::Claim {
                partition,
                epoch,
                done,
            })
            .is_ok();
        Box::pin(async move {
            if !sent {
                return Err(gone());
            }
            answer.await.unwrap_or_else(|_| Err(gone()))
        })
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
        let (done, answer) = oneshot::channel();
        let sent = self
            .writes
            .unbounded_send(WriteRequest::Write { batch, done })
            .is_ok();
        Box::pin(async move {
            if !sent {
                return Err(gone());
            }
            answer.await.unwrap_or_else(|_| Err(gone()))
        })
    }
}

impl Reader {
    /// The row of `type_key` and `id`, on this reader's connection (opened
    /// again if it broke).
    async fn load(&self, type_key: &str, id: &[u8]) -> Result<Option<StoredRecord>, StoreError> {
        // Queries on one connection are pipelined: each load holds it
        // while its query runs, not under the lock.
        let current = self
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|client| !client.is_closed())
            .cloned();
        let client = match current {
            Some(client) => client,
            None => {
                // Two loads may both open one; the last one stays.
                let client = Arc::new(open(&self.url).await?);
                *self.client.lock().unwrap_or_else(PoisonError::into_inner) = Some(client.clone());
                client
            }
        };
        let row = client
            .query_opt(
                "SELECT version, epoch, codec, schema, checksum, state FROM acteur_states
                 WHERE type_key = $1 AND id = $2",
                &[&type_key, &id],
            )
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

/// The writer: takes what is queued, commits it in one transaction,
/// answers every request of the group, and waits for more.
async fn write_loop(
    url: String,
    writer: Client,
    mut requests: mpsc::UnboundedReceiver<WriteRequest>,
    transactions: Arc<AtomicU64>,
) {
    let mut writer = Some(writer);
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(first) => first,
            None => match requests.next().await {
                Some(first) => first,
                None => return,
            },
        };
        let mut group = vec![first];
        let (mut rows, mut bytes) = size(&group[0]);
        while let Ok(request) = requests.try_recv() {
            let (more_rows, more_bytes) = size(&request);
            if rows + more_rows > GROUP_ROWS || bytes + more_bytes > GROUP_BYTES {
                next = Some(request);
                break;
            }
            (rows, bytes) = (rows + more_rows, bytes + more_bytes);
            group.push(request);
        }
        if writer.as_ref().is_none_or(Client::is_closed) {
            match open(&url).await {
                Ok(client) => writer = Some(client),
                Err(error) => {
                    answer_all(group, &error);
                    continue;
                }
            }
        }
        let Some(client) = writer.as_mut() else {
            continue;
        };
        match commit_group(client, &group).await {
            Ok(outcomes) => {
                transactions.fetch_add(1, Relaxed);
                answer(group, outcomes);
            }
            Err(Commit::Failed(error)) => answer_all(group, &error),
            Err(Commit::Unknown {
                error,
                transaction,
                outcomes,
            }) => {
                // The connection broke with the commit sent: ask a new one
                // what became of the transaction.
                writer = None;
                let resolved = match open(&url).await {
                    Ok(mut client) => {
                        let resolved =
                            resolve_group(&mut client, &group, transaction, outcomes).await;
                        writer = Some(client);
                        resolved
                    }
                    Err(reopen) => Err(reopen),
                };
                match resolved {
                    Ok(outcomes) => {
                        transactions.fetch_add(1, Relaxed);
                        answer(group, outcomes);
                    }
                    Err(reopen) => {
                        log::error!(
                            "a commit of the PostgreSQL state store has an unknown outcome \
                             ({error}) and could not be looked up ({reopen})"
                        );
                        answer_all(group, &reopen);
                    }
                }
            }
        }
    }
}

fn size(request: &WriteRequest) -> (usize, usize) {
    match request {
        WriteRequest::Claim { .. } => (1, 0),
        WriteRequest::Write { batch, .. } => (
            batch.len(),
            batch
                .iter()
                .filter_map(|write| write.value.as_ref())
                .map(|value| value.bytes.len())
                .sum(),
        ),
    }
}

/// How a group's transaction failed.
enum Commit {
    /// Rolled back: nothing of the group was written.
    Failed(StoreError),
    /// The connection broke after the commit was sent: it may have
    /// committed. Its transaction ID, to ask the server what became of it,
    /// and the outcomes the writes had inside it.
    Unknown {
        error: StoreError,
        transaction: i64,
        outcomes: Vec<Vec<WriteOutcome>>,
    },
}

/// Answers every request of `group` with its outcomes, in order (none for
/// a claim).
fn answer(group: Vec<WriteRequest>, outcomes: Vec<Vec<WriteOutcome>>) {
    for (request, outcomes) in group.into_iter().zip(outcomes) {
        match request {
            WriteRequest::Claim { done, .. } => drop(done.send(Ok(()))),
            WriteRequest::Write { done, .. } => drop(done.send(Ok(outcomes))),
        }
    }
}

/// Answers every request of `group` with `error`: nothing of it was
/// written.
fn answer_all(group: Vec<WriteRequest>, error: &StoreError) {
    for request in group {
        match request {
            WriteRequest::Claim { done, .. } => drop(done.send(Err(error.clone()))),
            WriteRequest::Write { done, .. } => drop(done.send(Err(error.clone()))),
        }
    }
}

/// The writes of `group`, each with its request's index and its index in
/// that request's batch.
fn writes_of(group: &[WriteRequest]) -> Vec<(usize, usize, &StateWrite)> {
    let mut writes = Vec::new();
    for (request, entry) in group.iter().enumerate() {
        if let WriteRequest::Write { batch, .. } = entry {
            writes.extend(
                batch
                    .iter()
                    .enumerate()
                    .map(|(at, write)| (request, at, write)),
            );
        }
    }
    writes
}

/// One empty outcome list per request, each sized for its batch.
fn empty_outcomes(group: &[WriteRequest]) -> Vec<Vec<Option<WriteOutcome>>> {
    group
        .iter()
        .map(|request| match request {
            WriteRequest::Claim { .. } => Vec::new(),
            WriteRequest::Write { batch, .. } => vec![None; batch.len()],
        })
        .collect()
}

/// Applies `group` in one transaction; each write's outcome, per request.
async fn commit_group(
    client: &mut Client,
    group: &[WriteRequest],
) -> Result<Vec<Vec<WriteOutcome>>, Commit> {
    let failed = |error: tokio_postgres::Error| Commit::Failed(classify(&error));
    let transaction = client.transaction().await.map_err(failed)?;
    // Asked for now, so that a commit whose answer is lost can be looked
    // up later (`txid_status`).
    let transaction_id: i64 = transaction
        .query_one("SELECT txid_current()", &[])
        .await
        .map_err(failed)?
        .get(0);
    for request in group {
        if let WriteRequest::Claim {
            partition, epoch, ..
        } = request
        {
            let (partition, epoch) = (
                to_sql(*partition).map_err(Commit::Failed)?,
                to_sql(*epoch).map_err(Commit::Failed)?,
            );
            transaction
                .execute(
                    "INSERT INTO acteur_fences (partition, epoch) VALUES ($1, $2)
                     ON CONFLICT (partition) DO UPDATE
                     SET epoch = GREATEST(acteur_fences.epoch, EXCLUDED.epoch)",
                    &[&partition, &epoch],
                )
                .await
                .map_err(failed)?;
        }
    }
    let mut outcomes = empty_outcomes(group);
    let writes = writes_of(group);
    // Rounds of distinct rows: one statement cannot update a row twice.
    let mut rounds: Vec<Vec<(usize, usize, &StateWrite)>> = Vec::new();
    let mut seen: HashMap<(&str, &[u8]), usize> = HashMap::new();
    for write in writes {
        let round = seen.entry((write.2.type_key, &write.2.id)).or_insert(0);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(write);
        *round += 1;
    }
    for round in &rounds {
        let written = apply_round(&transaction, round)
            .await
            .map_err(|error| match error {
                Round::Sql(error) => failed(error),
                Round::Store(error) => Commit::Failed(error),
            })?;
        let refused: Vec<_> = round
            .iter()
            .filter(|(_, _, write)| !written.contains_key(&(write.type_key, write.id.as_slice())))
            .copied()
            .collect();
        let found = rows_now(&transaction, &refused).await.map_err(failed)?;
        for (request, at, write) in round {
            let outcome = match written.get(&(write.type_key, write.id.as_slice())) {
                Some(version) => WriteOutcome::Written { version: *version },
                None => {
                    let (stored_version, fence_epoch) = found
                        .get(&(write.type_key, write.id.as_slice()))
                        .copied()
                        .unwrap_or((0, 0));
                    match outcome(write, stored_version, fence_epoch) {
                        // Refused by the statement, yet allowed now: a
                        // writer committed in between. It is a conflict.
                        WriteOutcome::Written { .. } => WriteOutcome::Conflict { stored_version },
                        refused => refused,
                    }
                }
            };
            outcomes[*request][*at] = Some(outcome);
        }
    }
    // Every write of the group has its outcome by now.
    let outcomes = settled(outcomes);
    match transaction.commit().await {
        Ok(()) => Ok(outcomes),
        Err(error) if error.as_db_error().is_some() => Err(failed(error)),
        Err(error) => Err(Commit::Unknown {
            error: classify(&error),
            transaction: transaction_id,
            outcomes,
        }),
    }
}

/// The outcomes of a group whose every write was settled.
fn settled(outcomes: Vec<Vec<Option<WriteOutcome>>>) -> Vec<Vec<WriteOutcome>> {
    outcomes
        .into_iter()
        .map(|outcomes| {
            outcomes
                .into_iter()
                .map(|outcome| outcome.unwrap_or(WriteOutcome::Conflict { stored_version: 0 }))
                .collect()
        })
        .collect()
}

/// How applying a round failed.
enum Round {
    Sql(tokio_postgres::Error),
    Store(StoreError),
}

/// Writes the rows of `round` (distinct) that the contract allows, in one
/// statement; the new version of each row written.
async fn apply_round<'a>(
    transaction: &Transaction<'_>,
    round: &[(usize, usize, &'a StateWrite)],
) -> Result<HashMap<(&'a str, &'a [u8]), u64>, Round> {
    let mut type_keys = Vec::with_capacity(round.len());
    let mut ids = Vec::with_capacity(round.len());
    let mut partitions = Vec::with_capacity(round.len());
    let mut epochs = Vec::with_capacity(round.len());
    let mut expected = Vec::with_capacity(round.len());
    let mut codecs = Vec::with_capacity(round.len());
    let mut schemas = Vec::with_capacity(round.len());
    let mut checksums = Vec::with_capacity(round.len());
    let mut states = Vec::with_capacity(round.len());
    for (_, _, write) in round {
        let value = write.value.as_ref();
        type_keys.push(write.type_key);
        ids.push(write.id.as_slice());
        partitions.push(to_sql(write.partition).map_err(Round::Store)?);
        epochs.push(to_sql(write.epoch).map_err(Round::Store)?);
        expected.push(to_sql(write.expected_version).map_err(Round::Store)?);
        codecs.push(value.map(|value| i16::from(value.codec)));
        schemas.push(value.map(|value| i64::from(value.schema)));
        checksums.push(value.map(|value| i64::from(value.checksum)));
        states.push(value.map(|value| value.bytes.as_slice()));
    }
    let rows = transaction
        .query(
            "INSERT INTO acteur_states AS s
                 (type_key, id, version, epoch, codec, schema, checksum, state, updated_at)
             SELECT w.type_key, w.id, w.expected + 1, w.epoch, w.codec, w.schema,
                    w.checksum, w.state, now()
             FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::int8[], $5::int8[],
                         $6::int2[], $7::int8[], $8::int8[], $9::bytea[])
                  AS w(type_key, id, partition, epoch, expected, codec, schema, checksum, state)
             LEFT JOIN (SELECT partition, epoch FROM acteur_fences
                        WHERE partition = ANY($3::int8[]) FOR SHARE) AS f
                  ON f.partition = w.partition
             WHERE COALESCE(f.epoch, 0) = w.epoch
               AND (w.expected = 0 OR EXISTS (
                   SELECT 1 FROM acteur_states x WHERE x.type_key = w.type_key AND x.id = w.id))
             ON CONFLICT (type_key, id) DO UPDATE SET
                 version = EXCLUDED.version, epoch = EXCLUDED.epoch, codec = EXCLUDED.codec,
                 schema = EXCLUDED.schema, checksum = EXCLUDED.checksum,
                 state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
             WHERE s.version = EXCLUDED.version - 1
             RETURNING s.type_key, s.id, s.version",
            &[
                &type_keys,
                &ids,
                &partitions,
                &epochs,
                &expected,
                &codecs,
                &schemas,
                &checksums,
                &states,
            ],
        )
        .await
        .map_err(Round::Sql)?;
    let mut written = HashMap::with_capacity(rows.len());
    for row in rows {
        let (type_key, id, version): (&str, &[u8], i64) = (row.get(0), row.get(1), row.get(2));
        // The keys come back as they were sent: find the borrowed ones.
        if let Some((_, _, write)) = round
            .iter()
            .find(|(_, _, write)| write.type_key == type_key && write.id == id)
        {
            written.insert((write.type_key, write.id.as_slice()), from_sql(version));
        }
    }
    Ok(written)
}

/// The version of each row of `writes` and its partition's fence, as they
/// are now.
async fn rows_now<'a>(
    transaction: &Transaction<'_>,
    writes: &[(usize, usize, &'a StateWrite)],
) -> Result<HashMap<(&'a str, &'a [u8]), (u64, u64)>, tokio_postgres::Error> {
    let mut found = HashMap::with_capacity(writes.len());
    if writes.is_empty() {
        return Ok(found);
    }
    let type_keys: Vec<&str> = writes.iter().map(|(_, _, write)| write.type_key).collect();
    let ids: Vec<&[u8]> = writes
        .iter()
        .map(|(_, _, write)| write.id.as_slice())
        .collect();
    let partitions: Vec<i64> = writes
        .iter()
        .map(|(_, _, write)| i64::try_from(write.partition).unwrap_or(i64::MAX))
        .collect();
    let rows = transaction
        .query(
            "SELECT w.n, COALESCE(s.version, 0), COALESCE(f.epoch, 0)
             FROM unnest($1::text[], $2::bytea[], $3::int8[]) WITH ORDINALITY
                  AS w(type_key, id, partition, n)
             LEFT JOIN acteur_states s ON s.type_key = w.type_key AND s.id = w.id
             LEFT JOIN acteur_fences f ON f.partition = w.partition",
            &[&type_keys, &ids, &partitions],
        )
        .await?;
    for row in rows {
        let n: i64 = row.get(0);
        let Some((_, _, write)) = usize::try_from(n - 1).ok().and_then(|at| writes.get(at)) else {
            continue;
        };
        let (version, fence): (i64, i64) = (row.get(1), row.get(2));
        found.insert(
            (write.type_key, write.id.as_slice()),
            (from_sql(version), from_sql(fence)),
        );
    }
    Ok(found)
}

/// After a commit whose answer was lost with its connection: what became
/// of `group`, asked on a new connection. The server knows whether
/// `transaction` committed (`txid_status`): if it did, the writes had
/// `outcomes`; if it aborted, nothing was written and the group is
/// committed again. Only if the server no longer knows are the rows read
/// back.
async fn resolve_group(
    client: &mut Client,
    group: &[WriteRequest],
    transaction: i64,
    outcomes: Vec<Vec<WriteOutcome>>,
) -> Result<Vec<Vec<WriteOutcome>>, StoreError> {
    let failed = |error: tokio_postgres::Error| classify(&error);
    let still_running = StoreError::Unavailable {
        reason: "a transaction whose commit answer was lost is still running".to_string(),
    };
    let mut waits = 0;
    loop {
        let status: Option<String> = client
            .query_one("SELECT txid_status($1)", &[&transaction])
            .await
            .map_err(failed)?
            .get(0);
        match status.as_deref() {
            Some("committed") => return Ok(outcomes),
            Some("aborted") => {
                return commit_group(client, group)
                    .await
                    .map_err(|error| match error {
                        Commit::Failed(error) | Commit::Unknown { error, .. } => error,
                    });
            }
            // The old connection's backend has not finished it yet.
            Some("in progress") if waits < 100 => {
                waits += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Some("in progress") => return Err(still_running),
            // Too old for the server to remember: read the rows back.
            _ => return read_back(client, group).await,
        }
    }
}

/// What became of each write of `group`, read back from the rows. A write
/// that is not there, with nothing in its way, is written again; a claim is
/// applied again (claims never lower a fence).
async fn read_back(
    client: &mut Client,
    group: &[WriteRequest],
) -> Result<Vec<Vec<WriteOutcome>>, StoreError> {
    let failed = |error: tokio_postgres::Error| classify(&error);
    let transaction = client.transaction().await.map_err(failed)?;
    let writes = writes_of(group);
    let mut outcomes = empty_outcomes(group);
    let mut again = Vec::new();
    for (request, at, write) in writes {
        let row = transaction
            .query_opt(
                "SELECT s.version, s.epoch, s.codec, s.schema, s.checksum, s.state,
                        COALESCE((SELECT epoch FROM acteur_fences WHERE partition = $3), 0)
                 FROM (SELECT 1) AS one
                 LEFT JOIN acteur_states s ON s.type_key = $1 AND s.id = $2",
                &[
                    &write.type_key,
                    &write.id.as_slice(),
                    &to_sql(write.partition)?,
                ],
            )
            .await
            .map_err(failed)?;
        let Some(row) = row else {
            again.push((request, at, write));
            continue;
        };
        let fence: i64 = row.get(6);
        let now = row.get::<_, Option<i64>>(0).map(|version| {
            record(
                version,
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
            )
        });
        match resolve_ambiguous(write, now.as_ref(), from_sql(fence)) {
            Some(outcome) => outcomes[request][at] = Some(outcome),
            None => again.push((request, at, write)),
        }
    }
    transaction.commit().await.map_err(failed)?;
    // The claims and the writes not there, applied again.
    let mut retry: Vec<WriteRequest> = Vec::new();
    let mut places = Vec::new();
    for request in group {
        if let WriteRequest::Claim {
            partition, epoch, ..
        } = request
        {
            let (done, _) = oneshot::channel();
            retry.push(WriteRequest::Claim {
                partition: *partition,
                epoch: *epoch,
                done,
            });
        }
    }
    if !again.is_empty() {
        let (done, _) = oneshot::channel();
        places = again
            .iter()
            .map(|(request, at, _)| (*request, *at))
            .collect();
        retry.push(WriteRequest::Write {
            batch: again.iter().map(|(_, _, write)| (*write).clone()).collect(),
            done,
        });
    }
    if !retry.is_empty() {
        let applied = commit_group(client, &retry)
            .await
            .map_err(|error| match error {
                Commit::Failed(error) | Commit::Unknown { error, .. } => error,
            })?;
        if let Some(rewritten) = applied.into_iter().last().filter(|_| !places.is_empty()) {
            for ((request, at), outcome) in places.into_iter().zip(rewritten) {
                outcomes[request][at] = Some(outcome);
            }
        }
    }
    Ok(settled(outcomes))
}
