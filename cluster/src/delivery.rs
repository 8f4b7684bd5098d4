//! Carrying one message to the node that owns its actor, whatever happens
//! on the way: an owner that moved, a partition that nobody holds for a
//! moment, a connection that failed before the message left. A message is
//! sent again only when it certainly was not queued, so it is never handled
//! twice; past the cluster's `unavailable_wait` the sender gets
//! `Unavailable`.

use std::sync::Arc;
use std::time::Duration;

use acteur::{Error, RemoteErrorKind, routing};
use tokio::time::Instant;

use crate::inbound::Accepted;
use crate::node::{Node, Target};
use crate::transport::peer::{Identity, Lost};
use crate::transport::server::accept;
use crate::wire::failure::Kind;
use crate::wire::{Failure, Outcome, Request};

/// How long a sender waits before it looks for an owner again, if the
/// table does not change first.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// A message on its way: everything but the target.
pub(crate) struct Outgoing {
    pub(crate) actor: &'static str,
    pub(crate) message: &'static str,
    pub(crate) partition: u32,
    pub(crate) id: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    /// For a call, how long the caller waits in all.
    pub(crate) call: Option<Duration>,
}

impl Outgoing {
    fn request(&self, timeout: Duration) -> Request {
        Request {
            seq: 0,
            actor: self.actor.to_owned(),
            message: self.message.to_owned(),
            id: self.id.clone(),
            payload: self.payload.clone(),
            call: self.call.is_some(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            epoch: 0,
        }
    }
}

/// What came of one attempt.
enum Attempt {
    /// The final answer: a response (empty for a tell), or an error.
    Done(Result<Vec<u8>, Error>),
    /// Certainly not queued: look for the owner again.
    Again(String),
}

/// Delivers `outgoing` to its owner: `Ok` with the encoded response (empty
/// for a tell) once it was queued (tell) or answered (call).
pub(crate) async fn deliver(node: Arc<Node>, outgoing: Outgoing) -> Result<Vec<u8>, Error> {
    let started = Instant::now();
    let give_up = started + node.timings.unavailable_wait;
    let deadline = outgoing.call.map(|timeout| started + timeout);
    let mut changes = node.changes.subscribe();
    loop {
        changes.mark_unchanged();
        let timeout = deadline.map_or(Duration::ZERO, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        // A tell waits for its acknowledgment no longer than the cluster's
        // unavailable_wait; a call, no longer than its own timeout.
        let patience = deadline
            .unwrap_or(give_up)
            .saturating_duration_since(Instant::now());
        let why = match attempt(&node, &outgoing, timeout, patience).await {
            Attempt::Done(result) => return result,
            Attempt::Again(why) => why,
        };
        let now = Instant::now();
        let stop = deadline.map_or(give_up, |deadline| deadline.min(give_up));
        if now >= stop {
            if deadline.is_some_and(|deadline| now >= deadline) && now < give_up {
                return Err(Error::Timeout);
            }
            return Err(routing::unavailable(
                outgoing.actor,
                format!(
                    "{why}, for {:?} (the cluster's unavailable_wait)",
                    node.timings.unavailable_wait
                ),
            ));
        }
        let pause = RETRY_PAUSE.min(stop - now);
        let _ = tokio::time::timeout(pause, changes.changed()).await;
    }
}

async fn attempt(
    node: &Arc<Node>,
    outgoing: &Outgoing,
    timeout: Duration,
    patience: Duration,
) -> Attempt {
    match node.target(outgoing.partition) {
        Target::Nobody => Attempt::Again(format!(
            "no node serves partition {} of `{}`",
            outgoing.partition, outgoing.actor
        )),
        Target::Here => match accept(node, outgoing.request(timeout)).await {
            Accepted::Queued => Attempt::Done(Ok(Vec::new())),
            Accepted::Reply(reply) => match reply.await {
                Ok(response) => Attempt::Done(Ok(response)),
                Err(failure) => outcome_failure(outgoing, failure),
            },
            Accepted::Failed(failure) => outcome_failure(outgoing, failure),
        },
        Target::Peer {
            node: peer_id,
            address,
        } => {
            let identity = identity(node);
            let peer = node.peers.get(&peer_id, address, &identity, &node.runtime);
            let answer = tokio::time::timeout(patience, peer.request(outgoing.request(timeout)));
            let Ok(answer) = answer.await else {
                // No outcome in time: it may have been queued (a peer that
                // stopped answering, a network that drops everything).
                return Attempt::Done(Err(Error::Timeout));
            };
            match answer {
                Ok(Outcome {
                    failure: None,
                    response,
                    ..
                }) => Attempt::Done(Ok(response)),
                Ok(Outcome {
                    failure: Some(failure),
                    ..
                }) => outcome_failure(outgoing, failure),
                Err(Lost::NotSent) => {
                    Attempt::Again(format!("the owner {peer_id} at {address} is unreachable"))
                }
                // It may have been queued: sending it again could handle it
                // twice, so the outcome stays unknown.
                Err(Lost::AfterSend) => Attempt::Done(Err(Error::Timeout)),
            }
        }
    }
}

/// A failure the receiver reported, as the sender's answer.
fn outcome_failure(outgoing: &Outgoing, failure: Failure) -> Attempt {
    let kind = Kind::try_from(failure.kind).unwrap_or(Kind::Handler);
    match kind {
        Kind::NotOwner | Kind::Stopped => Attempt::Again(failure.detail),
        Kind::Timeout => Attempt::Done(Err(Error::Timeout)),
        Kind::UnknownType => Attempt::Done(Err(routing::remote_error(
            RemoteErrorKind::UnknownType,
            failure.detail,
        ))),
        Kind::Codec => Attempt::Done(Err(routing::remote_error(
            RemoteErrorKind::Codec,
            failure.detail,
        ))),
        Kind::Handler => Attempt::Done(Err(routing::remote_error(
            RemoteErrorKind::Handler,
            format!(
                "`{}` for `{}` failed on its node: {}",
                outgoing.message, outgoing.actor, failure.detail
            ),
        ))),
    }
}

/// What this node's connections present to their peers.
pub(crate) fn identity(node: &Node) -> Identity {
    Identity {
        cluster: node.config.name.clone(),
        node: node.id().clone(),
        max_message_bytes: node.config.max_message_bytes,
    }
}
