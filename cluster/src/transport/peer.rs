//! The sending side of the node-to-node streams.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
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

/// Why a request got no outcome from its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// It never left this node: sending it again cannot duplicate it.
    NotSent,
    /// The connection failed after it was handed to the stream: it may have
    /// been queued there.
    AfterSend,
}

type Answer = oneshot::Sender<Result<Outcome, Lost>>;

/// One connection to a peer node.
pub(crate) struct Peer {
    queue: mpsc::Sender<(Request, Answer)>,
    alive: Arc<AtomicBool>,
}

impl Peer {
    /// Sends `request` and waits for its outcome.
    pub(crate) async fn request(&self, request: Request) -> Result<Outcome, Lost> {
        let (answer, outcome) = oneshot::channel();
        if self.queue.send((request, answer)).await.is_err() {
            return Err(Lost::NotSent);
        }
        outcome.await.unwrap_or(Err(Lost::NotSent))
    }

    /// Queues `request`, waiting for room, not for its outcome (a published
    /// message: at most once per node, in order per connection).
    pub(crate) async fn enqueue(&self, request: Request) {
        let (answer, _) = oneshot::channel();
        let _ = self.queue.send((request, answer)).await;
    }

    /// Queues `request` without waiting for room or for its outcome, for
    /// `try_send`: false if the connection's queue is full or closed.
    pub(crate) fn try_request(&self, request: Request) -> bool {
        let (answer, _) = oneshot::channel();
        self.queue.try_send((request, answer)).is_ok()
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
    /// the last one failed.
    pub(crate) fn get(
        &self,
        node: &Arc<str>,
        address: SocketAddr,
        identity: &Identity,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Peer> {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(peer) = connections.get(node) {
            if peer.alive.load(Ordering::Acquire) {
                return peer.clone();
            }
        }
        let (queue, requests) = mpsc::channel(QUEUE);
        let alive = Arc::new(AtomicBool::new(true));
        runtime.spawn(run(address, identity.clone(), requests, alive.clone()));
        let peer = Arc::new(Peer { queue, alive });
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
    for (_, answer) in pending.lock().unwrap_or_else(|p| p.into_inner()).drain() {
        let _ = answer.send(Err(Lost::AfterSend));
    }
    requests.close();
    while let Some((_, answer)) = requests.recv().await {
        let _ = answer.send(Err(Lost::NotSent));
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
                    let mut pending = reader_pending.lock().unwrap_or_else(|p| p.into_inner());
                    for outcome in batch.outcomes {
                        if let Some(answer) = pending.remove(&outcome.seq) {
                            let _ = answer.send(Ok(outcome));
                        }
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
