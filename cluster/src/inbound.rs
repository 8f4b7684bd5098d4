//! What a node does with a message that arrives for one of its actors:
//! decode it with the codecs registered for its names, and queue it here.
//! The same path serves messages from other nodes and messages this node
//! routed to itself while ownership moved.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use acteur::{Acteur, Error, Receive, Respond, routing};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::failure::Kind;
use crate::wire::{Failure, Request};
use crate::{RemoteActor, RemoteMessage};

/// The actor name of a published message on the wire: none.
pub(crate) const PUBLISHED: &str = "";

/// A boxed future, as the registry's entries return.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How far a message that arrived got.
pub(crate) enum Accepted {
    /// A tell, queued.
    Queued,
    /// A call, queued: its encoded response, or why it failed.
    Reply(BoxFuture<Result<Vec<u8>, Failure>>),
    /// Not queued, or failed.
    Failed(Failure),
}

/// Decodes and queues one message: for an actor type, a message type, and
/// tell or call.
type Accept = Arc<dyn Fn(&Acteur, &[u8], &[u8], Duration) -> BoxFuture<Accepted> + Send + Sync>;

/// Every message a node accepts, by actor NAME, then message NAME, then
/// `[tell, call]`.
#[derive(Default, Clone)]
pub(crate) struct Inbound {
    entries: HashMap<&'static str, HashMap<&'static str, [Option<Accept>; 2]>>,
}

impl Inbound {
    /// Accepts `M` for `A` as a tell.
    pub(crate) fn tell<A, M>(&mut self)
    where
        A: RemoteActor + Receive<M>,
        A::Id: Serialize + DeserializeOwned,
        M: RemoteMessage,
    {
        let accept: Accept = Arc::new(|acteur, id, payload, _| {
            let decoded = decode::<A, M>(id, payload);
            let acteur = acteur.clone();
            Box::pin(async move {
                let (id, message) = match decoded {
                    Ok(decoded) => decoded,
                    Err(failure) => return Accepted::Failed(failure),
                };
                match routing::send_here::<A, M>(&acteur, id, message).await {
                    Ok(()) => Accepted::Queued,
                    Err(error) => Accepted::Failed(not_queued(&error)),
                }
            })
        });
        self.insert(A::NAME, M::NAME, false, accept);
    }

    /// Accepts `M` for `A` as a call, and encodes its response.
    pub(crate) fn call<A, M>(&mut self)
    where
        A: RemoteActor + Respond<M>,
        A::Id: Serialize + DeserializeOwned,
        A::Response: Serialize + DeserializeOwned,
        M: RemoteMessage,
    {
        let accept: Accept = Arc::new(|acteur, id, payload, timeout| {
            let decoded = decode::<A, M>(id, payload);
            let acteur = acteur.clone();
            Box::pin(async move {
                let (id, message) = match decoded {
                    Ok(decoded) => decoded,
                    Err(failure) => return Accepted::Failed(failure),
                };
                let reply = match routing::ask_here::<A, M>(&acteur, id, message).await {
                    Ok(reply) => reply,
                    Err(error) => return Accepted::Failed(not_queued(&error)),
                };
                Accepted::Reply(Box::pin(async move {
                    match tokio::time::timeout(timeout, reply).await {
                        Err(_) => Err(Failure::new(Kind::Timeout, "no answer in time")),
                        Ok(Err(Error::Timeout)) => {
                            Err(Failure::new(Kind::Timeout, "no answer in time"))
                        }
                        Ok(Err(error)) => Err(Failure::new(Kind::Handler, error.to_string())),
                        Ok(Ok(response)) => postcard::to_stdvec(&response).map_err(|error| {
                            Failure::new(
                                Kind::Codec,
                                format!(
                                    "the response of `{}` to `{}` did not encode: {error}",
                                    A::NAME,
                                    M::NAME
                                ),
                            )
                        }),
                    }
                }))
            })
        });
        self.insert(A::NAME, M::NAME, true, accept);
    }

    /// Accepts published `M` from other nodes, for this node's subscribers.
    pub(crate) fn publish<M>(&mut self)
    where
        M: RemoteMessage + Clone,
    {
        let accept: Accept = Arc::new(|acteur, _, payload, _| {
            let decoded = postcard::from_bytes::<M>(payload).map_err(|error| {
                Failure::new(
                    Kind::Codec,
                    format!("a published `{}` did not decode: {error}", M::NAME),
                )
            });
            let acteur = acteur.clone();
            Box::pin(async move {
                let message = match decoded {
                    Ok(message) => message,
                    Err(failure) => return Accepted::Failed(failure),
                };
                match routing::publish_here(&acteur, message).await {
                    Ok(()) => Accepted::Queued,
                    Err(error) => Accepted::Failed(not_queued(&error)),
                }
            })
        });
        self.insert(PUBLISHED, M::NAME, false, accept);
    }

    fn insert(&mut self, actor: &'static str, message: &'static str, call: bool, accept: Accept) {
        self.entries
            .entry(actor)
            .or_default()
            .entry(message)
            .or_default()[usize::from(call)] = Some(accept);
    }

    /// Decodes and queues a message that arrived: `Failed` with
    /// `UNKNOWN_TYPE` for names not registered here.
    pub(crate) fn accept(&self, acteur: &Acteur, request: &Request) -> BoxFuture<Accepted> {
        let (actor, message, call) = (&*request.actor, &*request.message, request.call);
        let timeout = Duration::from_millis(request.timeout_ms);
        let found = self
            .entries
            .get(actor)
            .and_then(|messages| messages.get(message))
            .and_then(|entry| entry[usize::from(call)].as_ref());
        match found {
            Some(accept) => accept(acteur, &request.id, &request.payload, timeout),
            None => {
                let what = if call { "request" } else { "message" };
                let failure = Failure::new(
                    Kind::UnknownType,
                    format!(
                        "the node does not accept the {what} `{message}` for actor `{actor}`: \
                         register it with `.actor::<..>().{}::<..>()` on every node",
                        if call { "request" } else { "message" }
                    ),
                );
                Box::pin(async move { Accepted::Failed(failure) })
            }
        }
    }
}

/// The ID and message, decoded; a `CODEC` failure naming them if not.
fn decode<A, M>(id: &[u8], payload: &[u8]) -> Result<(A::Id, M), Failure>
where
    A: RemoteActor,
    A::Id: Serialize + DeserializeOwned,
    M: RemoteMessage,
{
    let id = postcard::from_bytes::<A::Id>(id).map_err(|error| {
        Failure::new(
            Kind::Codec,
            format!("an ID of `{}` did not decode: {error}", A::NAME),
        )
    })?;
    let message = postcard::from_bytes::<M>(payload).map_err(|error| {
        Failure::new(
            Kind::Codec,
            format!(
                "a `{}` for `{}` did not decode ({error}): do the nodes register different \
                 types under this name?",
                M::NAME,
                A::NAME
            ),
        )
    })?;
    Ok((id, message))
}

/// Why a message that decoded was not queued here.
fn not_queued(error: &Error) -> Failure {
    match error {
        Error::Stopped => Failure::new(Kind::Stopped, "the node's actor system is stopping"),
        other => Failure::new(Kind::Handler, other.to_string()),
    }
}
