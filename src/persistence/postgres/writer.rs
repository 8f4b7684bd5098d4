//! The PostgreSQL store's writer connection, and the transaction of a
//! group of requests (see `write_loop.rs`), whose statements are sent
//! together: `BEGIN`, the transaction's ID, the claims, per round of
//! distinct rows the write statement and a look at the rows it refused, and
//! `COMMIT`, pipelined on prepared statements, so that a group costs one
//! round trip to the server however many actors it saves.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use super::{classify, from_sql, open, to_sql};
use crate::persistence::group_commit::WriteRequest;
use crate::persistence::store::{StateWrite, StoreError, WriteOutcome, outcome};

/// The writer's connection and its prepared statements.
pub(super) struct Writer {
    pub(super) client: Client,
    statements: Statements,
}

struct Statements {
    transaction_id: Statement,
    claim: Statement,
    write: Statement,
    rows: Statement,
}

impl Writer {
    /// A writer connected to `url`.
    pub(super) async fn open(url: &str) -> Result<Writer, StoreError> {
        let client = open(url).await?;
        let prepared = |sql| client.prepare(sql);
        let statements = Prepared {
            transaction_id: prepared("SELECT txid_current()").await,
            claim: prepared(
                "INSERT INTO acteur_fences (partition, epoch) VALUES ($1, $2)
                 ON CONFLICT (partition) DO UPDATE
                 SET epoch = GREATEST(acteur_fences.epoch, EXCLUDED.epoch)",
            )
            .await,
            // Each row of the round is written if its version is the one
            // expected (a new row only at 0) and its partition's fence is
            // its epoch; the fence rows are locked FOR SHARE, so that a
            // claim raising them waits for this transaction.
            write: prepared(
                "INSERT INTO acteur_states AS s
                     (type_key, id, version, epoch, codec, schema, checksum, state, updated_at)
                 SELECT w.type_key, w.id, w.expected + 1, w.epoch, w.codec, w.schema,
                        w.checksum, w.state, now()
                 FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::int8[], $5::int8[],
                             $6::int2[], $7::int8[], $8::int8[], $9::bytea[])
                      AS w(type_key, id, partition, epoch, expected, codec, schema, checksum,
                           state)
                 LEFT JOIN (SELECT partition, epoch FROM acteur_fences
                            WHERE partition = ANY($3::int8[]) FOR SHARE) AS f
                      ON f.partition = w.partition
                 WHERE COALESCE(f.epoch, 0) = w.epoch
                   AND (w.expected = 0 OR EXISTS (
                       SELECT 1 FROM acteur_states x
                       WHERE x.type_key = w.type_key AND x.id = w.id))
                 ON CONFLICT (type_key, id) DO UPDATE SET
                     version = EXCLUDED.version, epoch = EXCLUDED.epoch,
                     codec = EXCLUDED.codec, schema = EXCLUDED.schema,
                     checksum = EXCLUDED.checksum, state = EXCLUDED.state,
                     updated_at = EXCLUDED.updated_at
                 WHERE s.version = EXCLUDED.version - 1
                 RETURNING s.type_key, s.id, s.version",
            )
            .await,
            // Each row's version and fence after the round, for the writes
            // it refused: why.
            rows: prepared(
                "SELECT w.n, COALESCE(s.version, 0), COALESCE(f.epoch, 0)
                 FROM unnest($1::text[], $2::bytea[], $3::int8[]) WITH ORDINALITY
                      AS w(type_key, id, partition, n)
                 LEFT JOIN acteur_states s ON s.type_key = w.type_key AND s.id = w.id
                 LEFT JOIN acteur_fences f ON f.partition = w.partition",
            )
            .await,
        };
        let statements = match statements {
            Prepared {
                transaction_id: Ok(transaction_id),
                claim: Ok(claim),
                write: Ok(write),
                rows: Ok(rows),
            } => Statements {
                transaction_id,
                claim,
                write,
                rows,
            },
            Prepared {
                transaction_id,
                claim,
                write,
                rows,
            } => {
                let error = [transaction_id.err(), claim.err(), write.err(), rows.err()]
                    .into_iter()
                    .flatten()
                    .next();
                return Err(error.map_or_else(
                    || StoreError::Failed {
                        reason: "the writer's statements could not be prepared".to_string(),
                    },
                    |error| classify(&error),
                ));
            }
        };
        Ok(Writer { client, statements })
    }
}

/// Statements prepared, or the errors of their preparation.
struct Prepared<T> {
    transaction_id: T,
    claim: T,
    write: T,
    rows: T,
}

/// How a group's transaction failed.
pub(super) enum Commit {
    /// Rolled back, or never begun: nothing of the group was written.
    Failed(StoreError),
    /// The connection broke with the commit sent: it may have committed.
    /// The transaction's ID, if its answer arrived, to ask the server what
    /// became of it; the outcomes the writes had inside it, if known.
    Unknown {
        error: StoreError,
        transaction: Option<i64>,
        outcomes: Option<Vec<Vec<WriteOutcome>>>,
    },
}

impl Commit {
    /// What a caller that cannot resolve an unknown commit is told.
    pub(super) fn into_error(self) -> StoreError {
        match self {
            Commit::Failed(error) | Commit::Unknown { error, .. } => error,
        }
    }
}

/// The writes of `group`, each with its request's index and its index in
/// that request's batch.
pub(super) fn writes_of(group: &[WriteRequest]) -> Vec<(usize, usize, &StateWrite)> {
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
pub(super) fn empty_outcomes(group: &[WriteRequest]) -> Vec<Vec<Option<WriteOutcome>>> {
    group
        .iter()
        .map(|request| match request {
            WriteRequest::Claim { .. } => Vec::new(),
            WriteRequest::Write { batch, .. } => vec![None; batch.len()],
        })
        .collect()
}

/// The outcomes of a group whose every write was settled.
pub(super) fn settled(outcomes: Vec<Vec<Option<WriteOutcome>>>) -> Vec<Vec<WriteOutcome>> {
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

/// The columns of one round's writes, as the write statement takes them.
struct Columns<'a> {
    type_keys: Vec<&'a str>,
    ids: Vec<&'a [u8]>,
    partitions: Vec<i64>,
    epochs: Vec<i64>,
    expected: Vec<i64>,
    codecs: Vec<Option<i16>>,
    schemas: Vec<Option<i64>>,
    checksums: Vec<Option<i64>>,
    states: Vec<Option<&'a [u8]>>,
}

impl<'a> Columns<'a> {
    fn of(round: &[(usize, usize, &'a StateWrite)]) -> Result<Columns<'a>, StoreError> {
        let mut columns = Columns {
            type_keys: Vec::with_capacity(round.len()),
            ids: Vec::with_capacity(round.len()),
            partitions: Vec::with_capacity(round.len()),
            epochs: Vec::with_capacity(round.len()),
            expected: Vec::with_capacity(round.len()),
            codecs: Vec::with_capacity(round.len()),
            schemas: Vec::with_capacity(round.len()),
            checksums: Vec::with_capacity(round.len()),
            states: Vec::with_capacity(round.len()),
        };
        for (_, _, write) in round {
            let value = write.value.as_ref();
            columns.type_keys.push(write.type_key);
            columns.ids.push(write.id.as_slice());
            columns.partitions.push(to_sql(write.partition)?);
            columns.epochs.push(to_sql(write.epoch)?);
            columns.expected.push(to_sql(write.expected_version)?);
            columns
                .codecs
                .push(value.map(|value| i16::from(value.codec)));
            columns
                .schemas
                .push(value.map(|value| i64::from(value.schema)));
            columns
                .checksums
                .push(value.map(|value| i64::from(value.checksum)));
            columns
                .states
                .push(value.map(|value| value.bytes.as_slice()));
        }
        Ok(columns)
    }

    fn write_parameters(&self) -> [&(dyn ToSql + Sync); 9] {
        [
            &self.type_keys,
            &self.ids,
            &self.partitions,
            &self.epochs,
            &self.expected,
            &self.codecs,
            &self.schemas,
            &self.checksums,
            &self.states,
        ]
    }

    fn row_parameters(&self) -> [&(dyn ToSql + Sync); 3] {
        [&self.type_keys, &self.ids, &self.partitions]
    }
}

/// A statement's answer: its rows (none for `BEGIN` and `COMMIT`).
type Answer<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

impl Writer {
    /// Applies `group` in one transaction; each write's outcome, per
    /// request.
    pub(super) async fn commit(
        &self,
        group: &[WriteRequest],
    ) -> Result<Vec<Vec<WriteOutcome>>, Commit> {
        let claims: Vec<(i64, i64)> = group
            .iter()
            .filter_map(|request| match request {
                WriteRequest::Claim {
                    partition, epoch, ..
                } => Some((to_sql(*partition), to_sql(*epoch))),
                WriteRequest::Write { .. } => None,
            })
            .map(|(partition, epoch)| Ok((partition?, epoch?)))
            .collect::<Result<_, StoreError>>()
            .map_err(Commit::Failed)?;
        // Rounds of distinct rows: one statement cannot update a row twice.
        let mut rounds: Vec<Vec<(usize, usize, &StateWrite)>> = Vec::new();
        let mut seen: HashMap<(&str, &[u8]), usize> = HashMap::new();
        for write in writes_of(group) {
            let round = seen.entry((write.2.type_key, &write.2.id)).or_insert(0);
            if rounds.len() <= *round {
                rounds.push(Vec::new());
            }
            rounds[*round].push(write);
            *round += 1;
        }
        let columns = rounds
            .iter()
            .map(|round| Columns::of(round))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Commit::Failed)?;
        let claim_parameters: Vec<[&(dyn ToSql + Sync); 2]> = claims
            .iter()
            .map(|(partition, epoch)| [partition as &(dyn ToSql + Sync), epoch])
            .collect();
        let write_parameters: Vec<_> = columns.iter().map(Columns::write_parameters).collect();
        let row_parameters: Vec<_> = columns.iter().map(Columns::row_parameters).collect();

        let client = &self.client;
        let statements = &self.statements;
        let mut steps: Vec<Answer<'_>> = Vec::new();
        steps.push(Box::pin(async {
            client.simple_query("BEGIN").await.map(|_| Vec::new())
        }));
        steps.push(Box::pin(client.query(&statements.transaction_id, &[])));
        for parameters in &claim_parameters {
            steps.push(Box::pin(client.query(&statements.claim, parameters)));
        }
        for (write, rows) in write_parameters.iter().zip(&row_parameters) {
            steps.push(Box::pin(client.query(&statements.write, write)));
            steps.push(Box::pin(client.query(&statements.rows, rows)));
        }
        steps.push(Box::pin(async {
            client.simple_query("COMMIT").await.map(|_| Vec::new())
        }));
        // Sent in order, together: one round trip.
        let mut answers = crate::runtime::join_all(steps).await;
        let committed = answers.pop();

        // A statement the server refused aborted the transaction: its
        // COMMIT rolled back, and nothing was written.
        if let Some(refused) = answers
            .iter()
            .chain(committed.iter())
            .filter_map(|answer| answer.as_ref().err())
            .find(|error| error.as_db_error().is_some())
        {
            return Err(Commit::Failed(classify(refused)));
        }
        let transaction = match answers.first().zip(answers.get(1)) {
            Some((Ok(_), Ok(rows))) => rows.first().map(|row| row.get::<_, i64>(0)),
            _ => None,
        };
        let outcomes = outcomes_of(group, &rounds, &answers[2 + claims.len()..]);
        match committed {
            Some(Ok(_)) => match outcomes {
                Some(outcomes) => Ok(outcomes),
                // Every statement answered: the rounds' answers are there.
                None => Err(Commit::Failed(StoreError::Failed {
                    reason: "the server's answers to a commit did not match its statements"
                        .to_string(),
                })),
            },
            Some(Err(error)) => Err(Commit::Unknown {
                error: classify(&error),
                transaction,
                outcomes,
            }),
            None => Err(Commit::Failed(StoreError::Failed {
                reason: "a commit had no statements".to_string(),
            })),
        }
    }
}

/// The outcome of each write of `group`, from the answers of its rounds
/// (the write statement's, then the refused rows' look, per round); `None`
/// if an answer is missing.
fn outcomes_of(
    group: &[WriteRequest],
    rounds: &[Vec<(usize, usize, &StateWrite)>],
    answers: &[Result<Vec<Row>, tokio_postgres::Error>],
) -> Option<Vec<Vec<WriteOutcome>>> {
    let mut outcomes = empty_outcomes(group);
    for (round, answers) in rounds.iter().zip(answers.chunks(2)) {
        let [Ok(written), Ok(rows)] = answers else {
            return None;
        };
        let mut versions: HashMap<(&str, &[u8]), u64> = HashMap::with_capacity(written.len());
        for row in written {
            let (type_key, id, version): (&str, &[u8], i64) = (row.get(0), row.get(1), row.get(2));
            // The keys come back as they were sent: find the borrowed ones.
            if let Some((_, _, write)) = round
                .iter()
                .find(|(_, _, write)| write.type_key == type_key && write.id == id)
            {
                versions.insert((write.type_key, write.id.as_slice()), from_sql(version));
            }
        }
        let mut found: Vec<(u64, u64)> = vec![(0, 0); round.len()];
        for row in rows {
            let n: i64 = row.get(0);
            if let Some(slot) = usize::try_from(n - 1).ok().and_then(|at| found.get_mut(at)) {
                *slot = (from_sql(row.get(1)), from_sql(row.get(2)));
            }
        }
        for ((request, at, write), (stored_version, fence_epoch)) in round.iter().zip(found) {
            let outcome = match versions.get(&(write.type_key, write.id.as_slice())) {
                Some(version) => WriteOutcome::Written { version: *version },
                None => match outcome(write, stored_version, fence_epoch) {
                    // Refused by the statement, yet allowed now: a writer
                    // committed in between. It is a conflict.
                    WriteOutcome::Written { .. } => WriteOutcome::Conflict { stored_version },
                    refused => refused,
                },
            };
            outcomes[*request][*at] = Some(outcome);
        }
    }
    Some(settled(outcomes))
}
