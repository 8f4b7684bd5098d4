//! A commit whose answer was lost with its connection: the writer asks a
//! new connection what became of it. The server knows whether the
//! transaction committed (`txid_status`); only if it no longer does are the
//! rows read back, which cannot tell apart two writers of one epoch that
//! wrote the same bytes at one version (see `StateStore`).

use std::time::Duration;

use futures_channel::oneshot;

use super::writer::{Writer, empty_outcomes, settled, writes_of};
use super::{classify, from_sql, record, to_sql};
use crate::persistence::group_commit::WriteRequest;
use crate::persistence::store::{StoreError, WriteOutcome, resolve_ambiguous};

/// How long to wait, at most, for a transaction the broken connection's
/// server process has not finished yet.
const STILL_RUNNING_WAITS: u32 = 100;
const STILL_RUNNING_WAIT: Duration = Duration::from_millis(20);

/// What became of `group`, whose commit answer was lost, asked on the new
/// connection `writer`. If `transaction` (its ID, when known) committed,
/// the writes had `outcomes`; if it aborted, nothing was written and the
/// group is committed again; otherwise the rows are read back.
pub(super) async fn resolve_group(
    writer: &Writer,
    group: &[WriteRequest],
    transaction: Option<i64>,
    outcomes: Option<Vec<Vec<WriteOutcome>>>,
) -> Result<Vec<Vec<WriteOutcome>>, StoreError> {
    let Some(transaction) = transaction else {
        return read_back(writer, group).await;
    };
    let mut waits = 0;
    loop {
        let status: Option<String> = writer
            .client
            .query_one("SELECT txid_status($1)", &[&transaction])
            .await
            .map_err(|error| classify(&error))?
            .get(0);
        match status.as_deref() {
            Some("committed") => match outcomes {
                Some(outcomes) => return Ok(outcomes),
                None => return read_back(writer, group).await,
            },
            Some("aborted") => {
                return writer
                    .commit(group)
                    .await
                    .map_err(|error| error.into_error());
            }
            Some("in progress") if waits < STILL_RUNNING_WAITS => {
                waits += 1;
                tokio::time::sleep(STILL_RUNNING_WAIT).await;
            }
            Some("in progress") => {
                return Err(StoreError::Unavailable {
                    reason: "a transaction whose commit answer was lost is still running"
                        .to_string(),
                });
            }
            // Too old for the server to remember.
            _ => return read_back(writer, group).await,
        }
    }
}

/// What became of each write of `group`, read back from the rows. A write
/// that is not there, with nothing in its way, is written again; a claim is
/// applied again (claims never lower a fence).
async fn read_back(
    writer: &Writer,
    group: &[WriteRequest],
) -> Result<Vec<Vec<WriteOutcome>>, StoreError> {
    let failed = |error: tokio_postgres::Error| classify(&error);
    let mut outcomes = empty_outcomes(group);
    let mut again = Vec::new();
    for (request, at, write) in writes_of(group) {
        let row = writer
            .client
            .query_one(
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
    // The claims and the writes not there, applied again.
    let mut retry: Vec<WriteRequest> = Vec::new();
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
        retry.push(WriteRequest::Write {
            batch: again.iter().map(|(_, _, write)| (*write).clone()).collect(),
            done,
        });
    }
    if !retry.is_empty() {
        let applied = writer
            .commit(&retry)
            .await
            .map_err(|error| error.into_error())?;
        if let Some(rewritten) = applied.into_iter().last().filter(|_| !again.is_empty()) {
            for ((request, at, _), outcome) in again.into_iter().zip(rewritten) {
                outcomes[request][at] = Some(outcome);
            }
        }
    }
    Ok(settled(outcomes))
}
