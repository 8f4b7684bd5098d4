//! The writer task: it takes every request queued at a moment (see
//! `group_commit.rs`), commits them in one
//! transaction on the writer connection (`writer.rs`), answers each, and
//! waits for more. A commit whose answer was lost is looked up
//! (`lost_commit.rs`); a connection that broke is opened again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use futures_channel::mpsc;
use futures_lite::StreamExt;

use super::lost_commit::resolve_group;
use super::writer::{Commit, Writer};
use crate::persistence::group_commit::{WriteRequest, answer, answer_all, gather};

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
        let group;
        (group, next) = gather(first, || requests.try_recv().ok());
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
