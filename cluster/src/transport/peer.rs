//! The sending side of the node-to-node streams.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;

use crate::wire::node_client::NodeClient;
use crate::wire::{CLUSTER_HEADER, Frame, NODE_HEADER, Outcome, Request};

/// The most requests sent in one frame.
const MAX_BATCH: usize = 512;
/// Requests waiting for a connection's writer, per peer.
const QUEUE: usize = 4096;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// The least time between two connections opened to one peer. A killed
/// node refuses connections at once, and every lane with a message for it
/// asks for a connection until its lease ends: without this pause, each
/// ask opened one, tens of thousands a second, and starved the machine.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// Why a request got no outcome from its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// It never left this node: sending it again cannot duplicate it.
    NotSent,
    /// The connection failed after it was handed to the stream: it may have
    /// been queued there.
    AfterSend,
}

/// What is told a request's outcome, once: called by the connection's
/// reader (or when the connection ends), so that no task waits per request.
pub(crate) type Answer = Box<dyn FnOnce(Result<Outcome, Lost>) + Send>;

/// One connection to a peer node.
pub(crate) struct Peer {
    queue: mpsc::Sender<(Request, Answer)>,
    alive: Arc<AtomicBool>,
    /// When the connection was asked for.
    opened_at: Instant,
}

impl Peer {
    /// Queues `request`, waiting for room; `answer` is told its outcome
    /// (`NotSent` at once if the connection is gone).
    pub(crate) async fn submit(&self, request: Request, answer: Answer) {
        if let Err(refused) = self.queue.send((request, answer)).await {
            let (_, answer) = refused.0;
            answer(Err(Lost::NotSent));
        }
    }

    /// Queues `request` if the connection's queue has room; otherwise hands
    /// both back.
    pub(crate) fn try_submit(&self, request: Request, answer: Answer) -> Result<(), Answer> {
        self.queue
            .try_send((request, answer))
            .map_err(|refused| match refused {
                mpsc::error::TrySendError::Full((_, answer))
                | mpsc::error::TrySendError::Closed((_, answer)) => answer,
            })
    }

    /// Queues `request`, waiting for room, not for its outcome (a published
    /// message: at most once per node, in order per connection).
    pub(crate) async fn enqueue(&self, request: Request) {
        self.submit(request, Box::new(drop)).await;
    }
}

/// The connections of this node to its peers, by node ID.
#[derive(Default)]
pub(crate) struct Peers {
    connections: Mutex<HashMap<Arc<str>, Arc<Peer>>>,
}

/// What a connection sends with its stream.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) cluster: String,
    pub(crate) node: Arc<str>,
    pub(crate) max_message_bytes: usize,
}

impl Peers {
    /// The connection to `node` at `address`, opened if there is none or
    /// the last one failed, but not within [`RECONNECT_PAUSE`] of the last
    /// one's opening: a failed connection answers `NotSent` at once.
    pub(crate) fn get(
        &self,
        node: &Arc<str>,
        address: SocketAddr,
        identity: &Identity,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Peer> {
        self.get_at(node, address, identity, runtime, Instant::now())
    }

    /// [`Peers::get`] at `now`.
    fn get_at(
        &self,
        node: &Arc<str>,
        address: SocketAddr,
        identity: &Identity,
        runtime: &tokio::runtime::Handle,
        now: Instant,
    ) -> Arc<Peer> {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(peer) = connections.get(node) {
            if peer.alive.load(Ordering::Acquire)
                || now.saturating_duration_since(peer.opened_at) < RECONNECT_PAUSE
            {
                return peer.clone();
            }
        }
        let (queue, requests) = mpsc::channel(QUEUE);
        let alive = Arc::new(AtomicBool::new(true));
        runtime.spawn(run(address, identity.clone(), requests, alive.clone()));
        let peer = Arc::new(Peer {
            queue,
            alive,
            opened_at: now,
        });
        connections.insert(node.clone(), peer.clone());
        peer
    }

    /// Forgets every connection (they end when their last sender is gone).
    pub(crate) fn clear(&self) {
        self.connections
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }
}

/// Pending requests of a connection, by sequence number.
type Pending = Arc<Mutex<HashMap<u64, Answer>>>;

/// A connection's life: connect, then write batches and read outcomes until
/// either side fails. Requests still queued when it ends were never sent.
async fn run(
    address: SocketAddr,
    identity: Identity,
    mut requests: mpsc::Receiver<(Request, Answer)>,
    alive: Arc<AtomicBool>,
) {
    let pending: Pending = Arc::default();
    if let Err(error) = exchange(address, &identity, &mut requests, &pending).await {
        log::debug!("the stream to {address} ended: {error}");
    }
    alive.store(false, Ordering::Release);
    // Whatever is pending may have left; whatever is queued did not.
    let pending: Vec<_> = pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    // In the order they were sent, as each lane expects its outcomes.
    let mut pending = pending;
    pending.sort_by_key(|(seq, _)| *seq);
    for (_, answer) in pending {
        answer(Err(Lost::AfterSend));
    }
    requests.close();
    while let Some((_, answer)) = requests.recv().await {
        answer(Err(Lost::NotSent));
    }
}

async fn exchange(
    address: SocketAddr,
    identity: &Identity,
    requests: &mut mpsc::Receiver<(Request, Answer)>,
    pending: &Pending,
) -> Result<(), String> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|error| error.to_string())?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        // A peer that stops answering (paused, or cut off) is found out,
        // and the connection's pending requests fail, within seconds.
        .http2_keep_alive_interval(KEEP_ALIVE)
        .keep_alive_timeout(KEEP_ALIVE)
        .keep_alive_while_idle(true);
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| error.to_string())?;
    let mut client = NodeClient::new(channel)
        .max_decoding_message_size(identity.max_message_bytes * 2)
        .max_encoding_message_size(identity.max_message_bytes * 2);
    let (frames, frames_out) = mpsc::channel::<Frame>(16);
    let mut call = tonic::Request::new(ReceiverStream::new(frames_out));
    let metadata = call.metadata_mut();
    metadata.insert(
        CLUSTER_HEADER,
        MetadataValue::try_from(identity.cluster.as_str()).map_err(|e| e.to_string())?,
    );
    metadata.insert(
        NODE_HEADER,
        MetadataValue::try_from(&*identity.node).map_err(|e| e.to_string())?,
    );
    let mut outcomes = client
        .exchange(call)
        .await
        .map_err(|status| status.to_string())?
        .into_inner();
    let reader_pending = pending.clone();
    let reader = async move {
        loop {
            match outcomes.message().await {
                Ok(Some(batch)) => {
                    let answered: Vec<_> = {
                        let mut pending = reader_pending.lock().unwrap_or_else(|p| p.into_inner());
                        batch
                            .outcomes
                            .into_iter()
                            .filter_map(|outcome| {
                                pending.remove(&outcome.seq).map(|answer| (answer, outcome))
                            })
                            .collect()
                    };
                    // Told outside the lock: an answer may submit more.
                    for (answer, outcome) in answered {
                        answer(Ok(outcome));
                    }
                }
                Ok(None) => return "the peer closed the stream".to_owned(),
                Err(status) => return status.to_string(),
            }
        }
    };
    let writer = async move {
        let mut seq = 0u64;
        while let Some(first) = requests.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let batch: Vec<Request> = {
                let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
                batch
                    .into_iter()
                    .map(|(mut request, answer)| {
                        seq += 1;
                        request.seq = seq;
                        pending.insert(seq, answer);
                        request
                    })
                    .collect()
            };
            if frames.send(Frame { requests: batch }).await.is_err() {
                return "the stream closed".to_owned();
            }
        }
        "this node dropped the connection".to_owned()
    };
    let ended = tokio::select! {
        ended = reader => ended,
        ended = writer => ended,
    };
    Err(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An address nothing listens on: connections to it are refused.
    fn refusing_address() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[test]
    fn a_refused_connection_is_not_opened_again_within_the_pause() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let peers = Peers::default();
        let node: Arc<str> = Arc::from("dead");
        let address = refusing_address();
        let identity = Identity {
            cluster: "test".into(),
            node: Arc::from("me"),
            max_message_bytes: 1024,
        };
        let handle = runtime.handle();
        let opened = Instant::now();
        let first = peers.get_at(&node, address, &identity, handle, opened);
        // Its connection is refused: the queued request was never sent.
        let (told, outcome) = std::sync::mpsc::channel();
        let answer: Answer = Box::new(move |outcome| {
            let _ = told.send(outcome.err());
        });
        runtime.block_on(first.submit(Request::default(), answer));
        assert_eq!(outcome.recv().unwrap(), Some(Lost::NotSent));
        assert!(!first.alive.load(Ordering::Acquire));

        let soon = peers.get_at(
            &node,
            address,
            &identity,
            handle,
            opened + RECONNECT_PAUSE / 2,
        );
        assert!(
            Arc::ptr_eq(&first, &soon),
            "a connection was opened again within the pause"
        );
        let later = peers.get_at(&node, address, &identity, handle, opened + RECONNECT_PAUSE);
        assert!(
            !Arc::ptr_eq(&first, &later),
            "no new connection after the pause"
        );
    }
}
