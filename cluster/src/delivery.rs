//! Carrying messages to the node that owns their actor, in order.
//!
//! Every message for a partition that this node does not serve goes
//! through that partition's **lane**: a queue, in send order, of the
//! messages not yet settled. While the lane is idle and the owner known, a
//! message is queued on the owner's stream at once, on the sender's thread.
//! Otherwise (no owner for a moment, a connection not yet open, an earlier
//! message to resend) the lane's pump sends what waits, in order.
//!
//! A receiver queues the messages of one stream in order and refuses
//! (`NOT_OWNER`) every one after it stopped serving the partition, so what
//! it accepted is a prefix of what was sent. When a message is refused, it
//! and every later one sent to that owner are sent again, in order, to the
//! next owner: the order of one sender's messages to one actor holds across
//! a hand-off. A target that refused a message, or could not be reached
//! (a killed node, until its lease ends), is sent to again only after
//! `RETRY_PAUSE`, and a new owner at once, so that nothing retries in a
//! hot loop. A message is sent again only when it certainly was not
//! queued, so it is never handled twice; an outcome lost after a message
//! left is `Timeout`. A message that finds no owner within the cluster's
//! `unavailable_wait` fails with `Unavailable` (not delivered).
//!
//! While a partition's lane is busy, this node does not queue messages of
//! that partition directly even once it serves it (`Router::route` asks
//! [`Lanes::is_idle`]), so that local sends cannot overtake remote ones.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use acteur::{Error, RemoteErrorKind, routing};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::inbound::Accepted;
use crate::node::{Node, Target};
use crate::transport::peer::{Answer, Identity, Lost};
use crate::transport::server::accept;
use crate::wire::failure::Kind;
use crate::wire::{Failure, Outcome, Request};

/// How long a pump waits before it looks for an owner again, if the table
/// does not change first; also how long a lane waits before it sends again
/// to a target that refused its messages or could not be reached.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// How often expired messages are looked for.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_millis(100);

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

/// The answer a sender waits for: the encoded response (empty for a tell).
pub(crate) type Settled = oneshot::Receiver<Result<Vec<u8>, Error>>;

/// Every partition's lane.
pub(crate) struct Lanes {
    lanes: Vec<Mutex<Lane>>,
    /// Per partition: the lane holds unsettled messages.
    busy: Vec<AtomicBool>,
}

#[derive(Default)]
struct Lane {
    entries: VecDeque<Entry>,
    /// Lane order of the next message.
    next: u64,
    /// Bumped when sent messages are taken back to be sent again, so that
    /// their late outcomes are ignored.
    generation: u64,
    /// A pump task runs for this lane (and only it sends while it does).
    pumping: bool,
    /// Where this generation's messages went: a lane sends to a new target
    /// only once nothing sent to the previous one is unsettled, so that no
    /// message overtakes an earlier one on another path.
    target: Option<Destination>,
    /// The target that last refused a message or could not be reached, and
    /// when: sent to again only after `RETRY_PAUSE`, so that a killed node
    /// (until its lease ends) or one that no longer serves the partition
    /// (until the table says so) is not asked again in a hot loop.
    refused: Option<(Destination, Instant)>,
}

/// A target, as a lane compares them.
#[derive(Clone, PartialEq, Eq)]
enum Destination {
    Here,
    Peer(Arc<str>, u64),
}

struct Entry {
    order: u64,
    outgoing: Outgoing,
    state: State,
    /// Told the outcome; `None` once told, or for a `try_send`.
    answer: Option<oneshot::Sender<Result<Vec<u8>, Error>>>,
    /// Not sent by then: `Unavailable`.
    give_up: Instant,
    /// Sent, and no outcome by then: `Timeout`.
    deadline: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Sent { generation: u64 },
}

impl Lanes {
    pub(crate) fn new(partitions: u32) -> Lanes {
        Lanes {
            lanes: (0..partitions).map(|_| Mutex::default()).collect(),
            busy: (0..partitions).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// True if no message of `partition` is on its way: a message may then
    /// be queued directly where the partition is served.
    #[inline]
    pub(crate) fn is_idle(&self, partition: u32) -> bool {
        self.busy
            .get(partition as usize)
            .is_some_and(|busy| !busy.load(Ordering::Acquire))
    }

    /// How many messages of `partition` are on their way.
    pub(crate) fn len(&self, partition: u32) -> usize {
        self.lane(partition).entries.len()
    }

    fn lane(&self, partition: u32) -> std::sync::MutexGuard<'_, Lane> {
        self.lanes[partition as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn mark(&self, partition: u32, lane: &Lane) {
        self.busy[partition as usize].store(!lane.entries.is_empty(), Ordering::Release);
    }
}

/// Sends `outgoing` through its partition's lane; the receiver gets its
/// outcome. `answer: false` (a `try_send`) wants none.
pub(crate) fn submit(node: &Arc<Node>, outgoing: Outgoing, answer: bool) -> Settled {
    let (told, settled) = oneshot::channel();
    let partition = outgoing.partition;
    let now = Instant::now();
    let timings = node.timings;
    let mut lane = node.lanes.lane(partition);
    let order = lane.next;
    lane.next += 1;
    let deadline = now + outgoing.call.unwrap_or(timings.unavailable_wait);
    lane.entries.push_back(Entry {
        order,
        state: State::Waiting,
        answer: answer.then_some(told),
        give_up: (now + timings.unavailable_wait).min(deadline),
        deadline,
        outgoing,
    });
    node.lanes.mark(partition, &lane);
    // Messages wait only while a pump runs (it is started with the first,
    // and ends only once none waits): without one, none waits before this.
    if !lane.pumping {
        // The fast way: queued on the owner's stream now, in order, since
        // the lane's lock is held and no pump sends; only to the target of
        // the messages still unsettled, if any.
        let peer_target = match node.target(partition) {
            Target::Peer {
                node: peer_id,
                address,
                epoch,
            } if lane.may_send_to(&Destination::Peer(peer_id.clone(), epoch), now) => {
                Some((peer_id, address, epoch))
            }
            _ => None,
        };
        if let Some((peer_id, address, epoch)) = peer_target {
            let peer = node
                .peers
                .get(&peer_id, address, &identity(node), &node.runtime);
            let generation = lane.send_to(Destination::Peer(peer_id, epoch));
            let entry = lane.entries.back_mut().expect("just pushed");
            let request = request(&entry.outgoing, now, entry.deadline, epoch, generation);
            let answer = outcome_of(node, partition, order, generation);
            if peer.try_submit(request, answer).is_ok() {
                entry.state = State::Sent { generation };
                return settled;
            }
        }
    }
    if !lane.pumping {
        lane.pumping = true;
        node.runtime.spawn(pump(Arc::downgrade(node), partition));
    }
    settled
}

impl Lane {
    /// True if the lane may send to `destination` at `now`: it is where the
    /// unsettled messages went, or none is unsettled; and it did not refuse
    /// a message (or could not be reached) within `RETRY_PAUSE`.
    fn may_send_to(&self, destination: &Destination, now: Instant) -> bool {
        let refused_lately = self.refused.as_ref().is_some_and(|(refused, at)| {
            refused == destination && now.saturating_duration_since(*at) < RETRY_PAUSE
        });
        !refused_lately
            && (self.target.as_ref() == Some(destination)
                || !self
                    .entries
                    .iter()
                    .any(|entry| matches!(entry.state, State::Sent { .. })))
    }

    /// Starts sending to `destination`, in a new generation if it is a new
    /// target.
    fn send_to(&mut self, destination: Destination) -> u64 {
        if self.target.as_ref() != Some(&destination) {
            self.generation += 1;
            self.target = Some(destination);
        }
        self.generation
    }
}

fn request(
    outgoing: &Outgoing,
    now: Instant,
    deadline: Instant,
    epoch: u64,
    generation: u64,
) -> Request {
    let timeout = deadline.saturating_duration_since(now);
    Request {
        seq: 0,
        actor: outgoing.actor.to_owned(),
        message: outgoing.message.to_owned(),
        id: outgoing.id.clone(),
        payload: outgoing.payload.clone(),
        call: outgoing.call.is_some(),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        epoch,
        generation,
    }
}

/// The callback that settles entry `order` of `partition`'s lane, sent in
/// `generation`.
fn outcome_of(node: &Arc<Node>, partition: u32, order: u64, generation: u64) -> Answer {
    let node = Arc::downgrade(node);
    Box::new(move |outcome| {
        if let Some(node) = node.upgrade() {
            settle(&node, partition, order, generation, outcome);
        }
    })
}

/// What came of a message that was sent: told to its sender, or the
/// message (and every later one sent to the same owner) taken back to be
/// sent again.
fn settle(
    node: &Arc<Node>,
    partition: u32,
    order: u64,
    generation: u64,
    outcome: Result<Outcome, Lost>,
) {
    let mut lane = node.lanes.lane(partition);
    let Some(index) = lane.entries.iter().position(|entry| entry.order == order) else {
        return;
    };
    if lane.entries[index].state != (State::Sent { generation }) {
        // Taken back already: this is the late outcome of an old send.
        return;
    }
    let result = match outcome {
        Ok(Outcome {
            failure: None,
            response,
            ..
        }) => Ok(response),
        Ok(Outcome {
            failure: Some(failure),
            ..
        }) => match Kind::try_from(failure.kind).unwrap_or(Kind::Handler) {
            Kind::NotOwner | Kind::Stopped => {
                take_back(node, partition, &mut lane, index, generation);
                return;
            }
            _ => Err(failure_error(&lane.entries[index].outgoing, failure)),
        },
        Err(Lost::NotSent) => {
            take_back(node, partition, &mut lane, index, generation);
            return;
        }
        // It may have been queued: sending it again could handle it twice.
        Err(Lost::AfterSend) => Err(Error::Timeout),
    };
    let entry = lane.entries.remove(index).expect("found above");
    node.lanes.mark(partition, &lane);
    drop(lane);
    if let Some(answer) = entry.answer {
        let _ = answer.send(result);
    }
}

/// The message at `index` was certainly not queued: it and every later one
/// sent in the same generation (to the same owner, after it, so refused
/// too) wait to be sent again, in order.
fn take_back(node: &Arc<Node>, partition: u32, lane: &mut Lane, index: usize, generation: u64) {
    for entry in lane.entries.iter_mut().skip(index) {
        if entry.state == (State::Sent { generation }) {
            entry.state = State::Waiting;
        }
    }
    lane.generation += 1;
    lane.refused = lane.target.take().map(|target| (target, Instant::now()));
    if !lane.pumping {
        lane.pumping = true;
        node.runtime.spawn(pump(Arc::downgrade(node), partition));
    }
}

/// Sends what waits in `partition`'s lane, in order, until nothing does.
async fn pump(node: Weak<Node>, partition: u32) {
    loop {
        let Some(strong) = node.upgrade() else { return };
        let mut changes = strong.changes.subscribe();
        changes.mark_unchanged();
        expire(&strong, partition, Instant::now());
        {
            let mut lane = strong.lanes.lane(partition);
            if !lane
                .entries
                .iter()
                .any(|entry| entry.state == State::Waiting)
            {
                lane.pumping = false;
                return;
            }
        }
        let sent = match strong.target(partition) {
            Target::Nobody => false,
            Target::Here => send_here(&strong, partition).await,
            Target::Peer {
                node: peer_id,
                address,
                epoch,
            } => {
                let peer = strong
                    .peers
                    .get(&peer_id, address, &identity(&strong), &strong.runtime);
                let now = Instant::now();
                let destination = Destination::Peer(peer_id, epoch);
                let batch: Option<Vec<_>> = {
                    let mut lane = strong.lanes.lane(partition);
                    if lane.may_send_to(&destination, now) {
                        let generation = lane.send_to(destination);
                        let batch = lane
                            .entries
                            .iter_mut()
                            .filter(|entry| entry.state == State::Waiting)
                            .map(|entry| {
                                entry.state = State::Sent { generation };
                                let request = request(
                                    &entry.outgoing,
                                    now,
                                    entry.deadline,
                                    epoch,
                                    generation,
                                );
                                (
                                    request,
                                    outcome_of(&strong, partition, entry.order, generation),
                                )
                            })
                            .collect();
                        Some(batch)
                    } else {
                        // Messages sent elsewhere are still unsettled, or
                        // this target refused lately: looked at again
                        // after a pause or a change of the table.
                        None
                    }
                };
                let sent = batch.is_some();
                for (request, answer) in batch.into_iter().flatten() {
                    peer.submit(request, answer).await;
                }
                sent
            }
        };
        if !sent {
            drop(strong);
            let _ = tokio::time::timeout(RETRY_PAUSE, changes.changed()).await;
        }
    }
}

/// Queues the lane's waiting messages on this node, which serves their
/// partition now, in order; false if it stopped serving it meanwhile.
async fn send_here(node: &Arc<Node>, partition: u32) -> bool {
    loop {
        let (order, request, generation) = {
            let mut lane = node.lanes.lane(partition);
            if !lane.may_send_to(&Destination::Here, Instant::now()) {
                return false;
            }
            let generation = lane.send_to(Destination::Here);
            let Some(entry) = lane
                .entries
                .iter_mut()
                .find(|entry| entry.state == State::Waiting)
            else {
                return true;
            };
            entry.state = State::Sent { generation };
            let epoch = node.serving(partition).unwrap_or(0);
            let request = request(
                &entry.outgoing,
                Instant::now(),
                entry.deadline,
                epoch,
                generation,
            );
            (entry.order, request, generation)
        };
        match accept(node, request).await {
            Accepted::Queued => settle_local(node, partition, order, generation, Ok(Vec::new())),
            Accepted::Reply(reply) => {
                let node = node.clone();
                node.runtime.clone().spawn(async move {
                    let result = reply.await;
                    settle_local(&node, partition, order, generation, result);
                });
            }
            Accepted::Failed(failure) => {
                let not_owner = matches!(
                    Kind::try_from(failure.kind),
                    Ok(Kind::NotOwner | Kind::Stopped)
                );
                settle_local(node, partition, order, generation, Err(failure));
                if not_owner {
                    return false;
                }
            }
        }
    }
}

fn settle_local(
    node: &Arc<Node>,
    partition: u32,
    order: u64,
    generation: u64,
    result: Result<Vec<u8>, Failure>,
) {
    let outcome = match result {
        Ok(response) => Outcome {
            seq: 0,
            response,
            failure: None,
        },
        Err(failure) => Outcome {
            seq: 0,
            response: Vec::new(),
            failure: Some(failure),
        },
    };
    settle(node, partition, order, generation, Ok(outcome));
}

/// Fails what waited too long: `Unavailable` for a message never sent,
/// `Timeout` for one sent and not answered.
fn expire(node: &Node, partition: u32, now: Instant) {
    let mut lane = node.lanes.lane(partition);
    let mut expired = Vec::new();
    lane.entries.retain_mut(|entry| {
        let (late, error) = match entry.state {
            State::Waiting => (
                entry.give_up <= now,
                routing::unavailable(
                    entry.outgoing.actor,
                    format!(
                        "no node served partition {} of `{}` within {:?} (the cluster's \
                         unavailable_wait, or the call's timeout)",
                        entry.outgoing.partition,
                        entry.outgoing.actor,
                        node.timings.unavailable_wait
                    ),
                ),
            ),
            State::Sent { .. } => (entry.deadline <= now, Error::Timeout),
        };
        if late {
            expired.push((entry.answer.take(), error));
        }
        !late
    });
    node.lanes.mark(partition, &lane);
    drop(lane);
    for (answer, error) in expired {
        if let Some(answer) = answer {
            let _ = answer.send(Err(error));
        }
    }
}

/// Expires what waited too long in every busy lane, every `SWEEP_EVERY`,
/// until the node is gone.
pub(crate) async fn sweep(node: Weak<Node>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let Some(node) = node.upgrade() else { return };
        let now = Instant::now();
        for partition in 0..node.config.partitions {
            if !node.lanes.is_idle(partition) {
                expire(&node, partition, now);
            }
        }
    }
}

/// A failure the receiver reported, as the sender's answer.
fn failure_error(outgoing: &Outgoing, failure: Failure) -> Error {
    match Kind::try_from(failure.kind).unwrap_or(Kind::Handler) {
        Kind::Timeout => Error::Timeout,
        Kind::UnknownType => routing::remote_error(RemoteErrorKind::UnknownType, failure.detail),
        Kind::Codec => routing::remote_error(RemoteErrorKind::Codec, failure.detail),
        _ => routing::remote_error(
            RemoteErrorKind::Handler,
            format!(
                "`{}` for `{}` failed on its node: {}",
                outgoing.message, outgoing.actor, failure.detail
            ),
        ),
    }
}

/// What this node's connections present to their peers.
pub(crate) fn identity(node: &Node) -> Identity {
    Identity {
        cluster: node.config.name.clone(),
        node: node.id(),
        max_message_bytes: node.config.max_message_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> Destination {
        Destination::Peer(Arc::from(name), 7)
    }

    #[test]
    fn a_target_that_refused_is_sent_to_again_only_after_the_pause() {
        let now = Instant::now();
        let mut lane = Lane::default();
        lane.send_to(peer("a"));
        assert!(lane.may_send_to(&peer("a"), now));
        // What `take_back` leaves: "a" refused at `now`.
        lane.refused = lane.target.take().map(|target| (target, now));
        assert!(!lane.may_send_to(&peer("a"), now));
        assert!(!lane.may_send_to(&peer("a"), now + RETRY_PAUSE / 2));
        assert!(lane.may_send_to(&peer("a"), now + RETRY_PAUSE));
        // Another target (the table moved on) is sent to at once.
        assert!(lane.may_send_to(&peer("b"), now));
        assert!(lane.may_send_to(&Destination::Here, now));
    }
}
