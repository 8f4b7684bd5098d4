//! Registering the types that travel, then joining.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;

use acteur::routing::{self, Erased};
use acteur::{Acteur, Receive, Respond};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::inbound::Inbound;
use crate::node::{ClusterState, Node, TypeAgent};
use crate::router::{Agent, ClusterRouter, Codec};
use crate::transport::server;
use crate::{
    Cluster, ClusterConfig, ClusterError, RemoteActor, RemoteMessage, membership, ownership,
};

/// Installs one actor type's router on the node, once it exists.
type Install = Box<dyn FnOnce(&Arc<Node>) -> Result<Arc<dyn TypeAgent>, ClusterError> + Send>;
/// Installs one published message type's forwarder on the node.
type Forward = Box<dyn FnOnce(&Arc<Node>) -> Result<(), ClusterError> + Send>;

/// Collects what a node hosts before it joins: from [`Cluster::builder`].
///
/// Register every actor type that should have one activation per ID in the
/// whole cluster with [`actor`](ClusterBuilder::actor), and on it every
/// message and request other nodes may send it. Other actor types stay
/// local to each node, and so do services: each node runs its own.
pub struct ClusterBuilder {
    acteur: Acteur,
    config: ClusterConfig,
    inbound: Inbound,
    installs: Vec<Install>,
    forwards: Vec<Forward>,
    actor_names: HashSet<&'static str>,
    published_names: HashSet<&'static str>,
    errors: Vec<String>,
}

impl ClusterBuilder {
    pub(crate) fn new(acteur: Acteur, config: ClusterConfig) -> ClusterBuilder {
        ClusterBuilder {
            acteur,
            config,
            inbound: Inbound::default(),
            installs: Vec::new(),
            forwards: Vec::new(),
            actor_names: HashSet::new(),
            published_names: HashSet::new(),
            errors: Vec::new(),
        }
    }

    /// Registers actor type `A`: from `join` on, each of its IDs has one
    /// activation in the cluster, on the node that owns the ID's partition.
    /// Add its messages and requests on what this returns.
    pub fn actor<A>(mut self) -> ActorRegistration<A>
    where
        A: RemoteActor,
        A::Id: Serialize + DeserializeOwned,
    {
        if !self.actor_names.insert(A::NAME) {
            self.errors.push(format!(
                "the actor name `{}` is registered twice (two types, or one type twice)",
                A::NAME
            ));
        }
        ActorRegistration {
            builder: self,
            codecs: HashMap::new(),
            actor: PhantomData,
        }
    }

    /// Makes `publish` of `M` span the cluster: a published `M` reaches the
    /// subscribed services of every live node, at most once per node, in
    /// publish order per publisher. Unregistered message types stay local
    /// to the publishing node. Register it on every node.
    ///
    /// A published message is sent without waiting for the other nodes'
    /// acknowledgment: a node that is unreachable, or joins meanwhile, may
    /// miss it.
    pub fn published<M>(mut self) -> Self
    where
        M: RemoteMessage + Clone,
    {
        if !self.published_names.insert(M::NAME) {
            self.errors.push(format!(
                "the published message name `{}` is registered twice",
                M::NAME
            ));
        }
        self.inbound.publish::<M>();
        self.forwards.push(Box::new(|node: &Arc<Node>| {
            let weak = Arc::downgrade(node);
            routing::forward_publish::<M>(
                &node.acteur,
                Arc::new(move |message: M| forward_published(&weak, &message)),
            )
            .map_err(|error| ClusterError::Registration {
                detail: format!("`{}` could not be published across nodes: {error}", M::NAME),
            })
        }));
        self
    }

    /// Joins the cluster: connects to etcd, checks the cluster's partition
    /// count, takes a lease, starts the node-to-node server, registers the
    /// node and claims the partitions it should own. Call it inside a tokio
    /// runtime (the cluster's connections run on it).
    ///
    /// # Errors
    ///
    /// [`ClusterError::InvalidConfig`] for a refused setting (a lease under
    /// 2 s, 0 partitions, ...), [`ClusterError::Registration`] for a name
    /// registered twice, [`ClusterError::EtcdUnreachable`] if etcd did not
    /// answer within `etcd_connect_timeout`,
    /// [`ClusterError::PartitionsMismatch`], [`ClusterError::Listen`],
    /// [`ClusterError::Etcd`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the join: it runs as a task of its
    /// own, so that a node is never left half registered (a member that
    /// claims nothing would leave partitions without an owner). A node
    /// that joined after its caller went leaves when its actor system
    /// stops.
    pub async fn join(self) -> Result<Cluster, ClusterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ClusterError::InvalidConfig {
                field: "runtime",
                reason: "is missing: call `join` inside a tokio runtime".to_owned(),
            })?;
        runtime
            .spawn(self.join_here(runtime.clone()))
            .await
            .unwrap_or(Err(ClusterError::Stopped))
    }

    /// The join itself, on `runtime`.
    async fn join_here(self, runtime: tokio::runtime::Handle) -> Result<Cluster, ClusterError> {
        let ClusterBuilder {
            acteur,
            config,
            inbound,
            installs,
            forwards,
            errors,
            ..
        } = self;
        config.validate()?;
        if let Some(detail) = errors.into_iter().next() {
            return Err(ClusterError::Registration { detail });
        }
        let mut etcd = membership::connect(&config).await?;
        let keys = crate::node::Keys::new(&config.name);
        membership::check_partitions(&mut etcd, &config, keys.config()).await?;
        let listener = server::bind(config.listen)
            .await
            .map_err(|error| ClusterError::Listen {
                address: config.listen,
                detail: error.to_string(),
            })?;
        let address = match config.advertise {
            Some(address) => address,
            None => listener
                .local_addr()
                .map_err(|error| ClusterError::Listen {
                    address: config.listen,
                    detail: error.to_string(),
                })?,
        };
        let granted_at = Instant::now();
        let (lease, ttl) = membership::grant(&mut etcd, &config).await?;
        let timings = config.timings(ttl);
        let id = membership::incarnation_id(&config);
        let node = Arc::new(Node::new(
            config.clone(),
            timings,
            acteur,
            id,
            address,
            lease,
            inbound,
            etcd,
            runtime.clone(),
            granted_at,
        ));
        let mut agents = Vec::new();
        for install in installs {
            agents.push(install(&node)?);
        }
        *node.agents.write().unwrap_or_else(|p| p.into_inner()) = agents;
        for forward in forwards {
            forward(&node)?;
        }
        let mut stopped = node.stop.subscribe();
        server::serve(
            Arc::downgrade(&node),
            config.name.clone(),
            config.max_message_bytes,
            listener,
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
            &runtime,
        );
        runtime.spawn(membership::keep_alive(Arc::downgrade(&node)));
        runtime.spawn(crate::delivery::sweep(Arc::downgrade(&node)));
        runtime.spawn(membership::leave_when_stopped(
            Arc::downgrade(&node),
            node.acteur.clone(),
        ));
        membership::register(&node).await?;
        let revision = membership::load(&node).await?;
        runtime.spawn(membership::follow(Arc::downgrade(&node), revision));
        node.set_state(ClusterState::Active);
        runtime.spawn(ownership::keep_in_line(node.clone()));
        log::info!(
            "{} joined cluster `{}` at {address}",
            node.id(),
            config.name
        );
        Ok(Cluster { node })
    }
}

/// The registration of actor type `A`, from [`ClusterBuilder::actor`]: add
/// its messages and requests, then another actor type or
/// [`join`](ActorRegistration::join).
pub struct ActorRegistration<A> {
    builder: ClusterBuilder,
    codecs: HashMap<TypeId, Codec>,
    actor: PhantomData<fn() -> A>,
}

impl<A> ActorRegistration<A>
where
    A: RemoteActor,
    A::Id: Serialize + DeserializeOwned,
{
    /// `A` accepts the fire-and-forget message `M` from every node.
    pub fn message<M>(mut self) -> Self
    where
        A: Receive<M>,
        M: RemoteMessage,
    {
        self.builder.inbound.tell::<A, M>();
        let codec = self.codecs.entry(TypeId::of::<M>()).or_insert(Codec {
            name: M::NAME,
            encode: encode::<M>,
            decode_response: None,
            tell: false,
        });
        codec.tell = true;
        self
    }

    /// `A` answers the request `M` from every node; its response travels
    /// back with postcard.
    pub fn request<M>(mut self) -> Self
    where
        A: Respond<M>,
        <A as Respond<M>>::Response: Serialize + DeserializeOwned,
        M: RemoteMessage,
    {
        self.builder.inbound.call::<A, M>();
        let codec = self.codecs.entry(TypeId::of::<M>()).or_insert(Codec {
            name: M::NAME,
            encode: encode::<M>,
            decode_response: None,
            tell: false,
        });
        codec.decode_response = Some(decode::<<A as Respond<M>>::Response>);
        self
    }

    /// As [`ClusterBuilder::published`].
    pub fn published<M>(self) -> ClusterBuilder
    where
        M: RemoteMessage + Clone,
    {
        self.finish().published::<M>()
    }

    /// Registers another actor type.
    pub fn actor<B>(self) -> ActorRegistration<B>
    where
        B: RemoteActor,
        B::Id: Serialize + DeserializeOwned,
    {
        self.finish().actor::<B>()
    }

    /// Joins the cluster, as [`ClusterBuilder::join`].
    ///
    /// # Errors
    ///
    /// As [`ClusterBuilder::join`].
    ///
    /// # Cancel safety
    ///
    /// As [`ClusterBuilder::join`].
    pub async fn join(self) -> Result<Cluster, ClusterError> {
        self.finish().join().await
    }

    fn finish(self) -> ClusterBuilder {
        let ActorRegistration {
            mut builder,
            codecs,
            ..
        } = self;
        builder.installs.push(Box::new(move |node: &Arc<Node>| {
            let router = ClusterRouter::<A> {
                node: node.clone(),
                message_types: codecs.keys().copied().collect(),
                codecs,
                actor: PhantomData,
            };
            routing::install::<A>(&node.acteur, Arc::new(router)).map_err(|error| {
                ClusterError::Registration {
                    detail: format!("`{}` could not be routed: {error}", A::NAME),
                }
            })?;
            let agent: Arc<dyn TypeAgent> = Arc::new(Agent::<A> {
                partitions: node.config.partitions,
                actor: PhantomData,
            });
            Ok(agent)
        }));
        builder
    }
}

fn encode<M: RemoteMessage>(message: &(dyn Any + Send)) -> Result<Vec<u8>, String> {
    let message = message
        .downcast_ref::<M>()
        .ok_or_else(|| format!("not a `{}`", M::NAME))?;
    postcard::to_stdvec(message).map_err(|error| error.to_string())
}

fn decode<R: DeserializeOwned + Send + 'static>(bytes: &[u8]) -> Result<Erased, String> {
    postcard::from_bytes::<R>(bytes)
        .map(|response| Box::new(response) as Erased)
        .map_err(|error| error.to_string())
}

/// Sends a published `message` to every other live node's stream, in order
/// (the publish waits for room in each connection's queue, not for the
/// nodes' acknowledgment).
fn forward_published<M: RemoteMessage>(
    node: &std::sync::Weak<Node>,
    message: &M,
) -> Option<routing::RemoteFuture<()>> {
    let node = node.upgrade()?;
    let payload = match postcard::to_stdvec(message) {
        Ok(payload) => payload,
        Err(error) => {
            log::error!("a published `{}` did not encode: {error}", M::NAME);
            return None;
        }
    };
    let me = node.id();
    let others: Vec<_> = {
        let table = node.table.read().unwrap_or_else(|p| p.into_inner());
        table
            .members
            .iter()
            .filter(|(id, _)| **id != me)
            .map(|(id, address)| (id.clone(), *address))
            .collect()
    };
    if others.is_empty() {
        return None;
    }
    let identity = crate::delivery::identity(&node);
    let peers: Vec<_> = others
        .iter()
        .map(|(id, address)| node.peers.get(id, *address, &identity, &node.runtime))
        .collect();
    let request = crate::wire::Request {
        seq: 0,
        actor: crate::inbound::PUBLISHED.to_owned(),
        message: M::NAME.to_owned(),
        id: Vec::new(),
        payload,
        call: false,
        timeout_ms: 0,
        epoch: 0,
        generation: 0,
    };
    Some(Box::pin(async move {
        for peer in peers {
            peer.enqueue(request.clone()).await;
        }
    }))
}
