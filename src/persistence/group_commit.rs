//! What the stores with a writer of their own (`SqliteStore`'s thread,
//! `PostgresStore`'s task) share: the requests queued for the writer, how
//! the writer gathers the ones queued at a moment into one transaction,
//! and how it answers them.

use futures_channel::oneshot;

use super::store::{BoxFuture, StateWrite, StoreError, WriteOutcome};

/// The most rows one group commit holds (a larger batch is committed
/// alone, since a batch is one transaction).
pub(crate) const GROUP_ROWS: usize = 1_024;
/// The most state bytes one group commit holds.
pub(crate) const GROUP_BYTES: usize = 8 << 20;

/// What a store asks of its writer.
pub(crate) enum WriteRequest {
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

impl WriteRequest {
    /// The rows and state bytes the request adds to a group.
    fn size(&self) -> (usize, usize) {
        match self {
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
}

/// Hands a request to a store's thread or task with `send` (false if it is
/// gone) and returns the wait for its answer; `gone` is the error when
/// there is none.
pub(crate) fn ask<T: Send + 'static, R>(
    send: impl FnOnce(R) -> bool,
    request: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> R,
    gone: fn() -> StoreError,
) -> BoxFuture<'static, Result<T, StoreError>> {
    let (done, answer) = oneshot::channel();
    let sent = send(request(done));
    Box::pin(async move {
        if !sent {
            return Err(gone());
        }
        answer.await.unwrap_or_else(|_| Err(gone()))
    })
}

/// A group: `first`, then what `queued` yields while the group stays within
/// [`GROUP_ROWS`] and [`GROUP_BYTES`]. The request that did not fit, if
/// any, starts the next group.
pub(crate) fn gather(
    first: WriteRequest,
    mut queued: impl FnMut() -> Option<WriteRequest>,
) -> (Vec<WriteRequest>, Option<WriteRequest>) {
    let (mut rows, mut bytes) = first.size();
    let mut group = vec![first];
    while let Some(request) = queued() {
        let (more_rows, more_bytes) = request.size();
        if rows + more_rows > GROUP_ROWS || bytes + more_bytes > GROUP_BYTES {
            return (group, Some(request));
        }
        (rows, bytes) = (rows + more_rows, bytes + more_bytes);
        group.push(request);
    }
    (group, None)
}

/// Answers every request of a committed `group` with its outcomes, in
/// order (none for a claim).
pub(crate) fn answer(group: Vec<WriteRequest>, outcomes: Vec<Vec<WriteOutcome>>) {
    for (request, outcomes) in group.into_iter().zip(outcomes) {
        match request {
            WriteRequest::Claim { done, .. } => drop(done.send(Ok(()))),
            WriteRequest::Write { done, .. } => drop(done.send(Ok(outcomes))),
        }
    }
}

/// Answers every request of `group` with `error`: nothing of it was
/// written.
pub(crate) fn answer_all(group: Vec<WriteRequest>, error: &StoreError) {
    for request in group {
        match request {
            WriteRequest::Claim { done, .. } => drop(done.send(Err(error.clone()))),
            WriteRequest::Write { done, .. } => drop(done.send(Err(error.clone()))),
        }
    }
}
