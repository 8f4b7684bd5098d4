//! The writer task: it takes every request queued at a moment (up to
//! [`GROUP_ROWS`] rows or [`GROUP_BYTES`] bytes), commits them in one
//! transaction on the writer connection (`writer.rs`), answers each, and
//! waits for more. A commit whose answer was lost is looked up
//! (`lost_commit.rs`); a connection that broke is opened again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use futures_channel::mpsc;
use futures_lite::StreamExt;

use super::lost_commit::resolve_group;
use super::writer::{Commit, WriteRequest, Writer};
use crate::persistence::store::{StoreError, WriteOutcome};

/// The most rows one group commit holds (a larger batch is committed
/// alone, since a batch is one transaction).
const GROUP_ROWS: usize = 1_024;
/// The most state bytes one group commit holds.
const GROUP_BYTES: usize = 8 << 20;

/// The writer task: takes what is queued, commits it in one transaction,
/// answers every request of the group, and waits for more. A connection
/// that broke is opened again for the next group.
pub(super) async fn write_loop(
    url: String,
    writer: Writer,
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
        if writer
            .as_ref()
            .is_none_or(|writer| writer.client.is_closed())
        {
            match Writer::open(&url).await {
                Ok(opened) => writer = Some(opened),
                Err(error) => {
                    answer_all(group, &error);
                    continue;
                }
            }
        }
        let Some(current) = writer.as_ref() else {
            continue;
        };
        match current.commit(&group).await {
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
                let resolved = match Writer::open(&url).await {
                    Ok(opened) => {
                        let resolved = resolve_group(&opened, &group, transaction, outcomes).await;
                        writer = Some(opened);
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
