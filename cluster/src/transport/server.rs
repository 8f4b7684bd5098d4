//! The receiving side of the node-to-node streams: for each request, check
//! that this node serves the ID's partition, queue it (in the stream's
//! order), and send back its outcome: queued, a response, or why not.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Status, Streaming};

use crate::inbound::{Accepted, PUBLISHED};
use crate::node::Node;
use crate::partition::partition_of_encoded;
use crate::wire::failure::Kind;
use crate::wire::node_server::{Node as NodeService, NodeServer};
use crate::wire::{CLUSTER_HEADER, Failure, Frame, Outcome, Outcomes, Request};

/// The most outcomes sent back in one message.
const MAX_BATCH: usize = 512;

/// Serves `Exchange` streams for `node` on `listener` until `shutdown`.
pub(crate) fn serve(
    node: Weak<Node>,
    cluster: String,
    max_message_bytes: usize,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    runtime: &tokio::runtime::Handle,
) {
    let service = NodeServer::new(Server { node, cluster })
        .max_decoding_message_size(max_message_bytes * 2)
        .max_encoding_message_size(max_message_bytes * 2);
    let incoming = TcpListenerStream::new(listener);
    runtime.spawn(async move {
        let served = tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        if let Err(error) = served {
            log::error!("the cluster's node-to-node server stopped: {error}");
        }
    });
}

/// Binds the node-to-node listener, so that its port is known before the
/// node registers its address.
pub(crate) async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

struct Server {
    node: Weak<Node>,
    cluster: String,
}

type OutcomeStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<Outcomes, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl NodeService for Server {
    type ExchangeStream = OutcomeStream;

    async fn exchange(
        &self,
        request: tonic::Request<Streaming<Frame>>,
    ) -> Result<tonic::Response<Self::ExchangeStream>, Status> {
        let cluster = request
            .metadata()
            .get(CLUSTER_HEADER)
            .and_then(|value| value.to_str().ok());
        if cluster != Some(self.cluster.as_str()) {
            return Err(Status::failed_precondition(format!(
                "this node belongs to cluster `{}`, not {cluster:?}",
                self.cluster
            )));
        }
        let Some(node) = self.node.upgrade() else {
            return Err(Status::unavailable("this node left its cluster"));
        };
        let frames = request.into_inner();
        let (outcomes, batches) = mpsc::channel::<Result<Outcomes, Status>>(16);
        let (single, singles) = mpsc::unbounded_channel::<Outcome>();
        let runtime = node.runtime.clone();
        runtime.spawn(batch_outcomes(singles, outcomes));
        runtime.spawn(read_requests(Arc::downgrade(&node), frames, single));
        Ok(tonic::Response::new(Box::pin(ReceiverStream::new(batches))))
    }
}

/// Gathers outcomes as they come into batches for the stream.
async fn batch_outcomes(
    mut singles: mpsc::UnboundedReceiver<Outcome>,
    outcomes: mpsc::Sender<Result<Outcomes, Status>>,
) {
    while let Some(first) = singles.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match singles.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if outcomes
            .send(Ok(Outcomes { outcomes: batch }))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Queues a stream's requests one after the other, so that the order of
/// one sender's messages to one actor is kept; calls' responses are waited
/// for apart.
async fn read_requests(
    node: Weak<Node>,
    mut frames: Streaming<Frame>,
    outcomes: mpsc::UnboundedSender<Outcome>,
) {
    // Per partition, the newest lane generation refused on this stream:
    // every later request of it is refused too, so that what this node
    // accepts of a sender's partition is a prefix of what it sent.
    let mut refused: HashMap<u32, u64> = HashMap::new();
    loop {
        let frame = match frames.message().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(status) => {
                log::debug!("a node-to-node stream failed: {status}");
                return;
            }
        };
        for request in frame.requests {
            let Some(node) = node.upgrade() else {
                return;
            };
            let seq = request.seq;
            let partition = (request.actor != PUBLISHED)
                .then(|| partition_of_encoded(&request.actor, &request.id, node.config.partitions));
            let generation = request.generation;
            let accepted = match partition.and_then(|p| refused.get(&p)) {
                Some(&newest) if generation <= newest => Accepted::Failed(Failure::new(
                    Kind::NotOwner,
                    "an earlier message of this partition was refused on this stream",
                )),
                _ => accept(&node, request).await,
            };
            if let (Some(partition), Accepted::Failed(failure)) = (partition, &accepted) {
                if matches!(
                    Kind::try_from(failure.kind),
                    Ok(Kind::NotOwner | Kind::Stopped)
                ) {
                    let newest = refused.entry(partition).or_insert(generation);
                    *newest = (*newest).max(generation);
                }
            }
            let failed = move |failure| Outcome {
                seq,
                response: Vec::new(),
                failure: Some(failure),
            };
            match accepted {
                Accepted::Queued => {
                    let _ = outcomes.send(Outcome {
                        seq,
                        response: Vec::new(),
                        failure: None,
                    });
                }
                Accepted::Failed(failure) => {
                    let _ = outcomes.send(failed(failure));
                }
                Accepted::Reply(reply) => {
                    let outcomes = outcomes.clone();
                    node.runtime.spawn(async move {
                        let outcome = match reply.await {
                            Ok(response) => Outcome {
                                seq,
                                response,
                                failure: None,
                            },
                            Err(failure) => failed(failure),
                        };
                        let _ = outcomes.send(outcome);
                    });
                }
            }
        }
    }
}

/// Checks and queues one request here: what the server does for a request
/// from another node, and what a sender does for one it routed to itself.
pub(crate) async fn accept(node: &Node, request: Request) -> Accepted {
    if request.actor == PUBLISHED {
        // Published: for this node's subscribers, whoever owns what.
        return node.inbound.accept(&node.acteur, &request).await;
    }
    let partition = partition_of_encoded(&request.actor, &request.id, node.config.partitions);
    // Served, under the epoch the sender knows (0: any): a sender's
    // messages accepted by one owner are a prefix of those it sent there.
    let serving = node.serving(partition);
    if serving.is_none() || (request.epoch != 0 && serving != Some(request.epoch)) {
        return Accepted::Failed(Failure::new(
            Kind::NotOwner,
            format!(
                "partition {partition} is not served by {} (serving {serving:?}, holding {:?}, asked epoch {}, within deadline {}, state {:?})",
                node.id(),
                node.holding(partition),
                request.epoch,
                node.within_deadline(),
                node.state()
            ),
        ));
    }
    node.inbound.accept(&node.acteur, &request).await
}
