//! Acteur's routing seam for one registered actor type: a send to an ID
//! this node serves is queued here as on a single node (no encoding); any
//! other is encoded and carried to its owner (`delivery.rs`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use acteur::routing::{Erased, Placement, RemoteFuture, Route, Router};
use acteur::{Acteur, DeactivationReason, Error, RemoteErrorKind, routing};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::RemoteActor;
use crate::delivery::{Outgoing, submit};
use crate::inbound::BoxFuture;
use crate::node::{Node, TypeAgent};
use crate::partition::{partition_of_encoded, store_partition};

/// Encodes a message given as `&dyn Any`.
pub(crate) type Encode = fn(&(dyn Any + Send)) -> Result<Vec<u8>, String>;
/// Decodes a response into its erased value.
pub(crate) type DecodeResponse = fn(&[u8]) -> Result<Erased, String>;

/// How one message type travels to an actor type.
#[derive(Clone, Copy)]
pub(crate) struct Codec {
    pub(crate) name: &'static str,
    pub(crate) encode: Encode,
    /// For requests: how their response comes back.
    pub(crate) decode_response: Option<DecodeResponse>,
    /// Whether it may be sent as a tell.
    pub(crate) tell: bool,
}

/// Routes actor type `A` through the cluster.
pub(crate) struct ClusterRouter<A> {
    pub(crate) node: Arc<Node>,
    pub(crate) codecs: HashMap<TypeId, Codec>,
    /// The keys of `codecs`, scanned by `route` on every send.
    pub(crate) message_types: Vec<TypeId>,
    pub(crate) actor: PhantomData<fn() -> A>,
}

impl<A> ClusterRouter<A>
where
    A: RemoteActor,
    A::Id: Serialize + DeserializeOwned,
{
    fn partition(&self, id: &[u8]) -> u32 {
        partition_of_encoded(A::NAME, id, self.node.config.partitions)
    }

    /// The partition of `id`, encoded on the stack when it fits (this runs
    /// for every send and every handled message); `None` if it does not
    /// encode.
    fn partition_of(&self, id: &A::Id) -> Option<u32> {
        let mut buffer = [0u8; 64];
        match postcard::to_slice(id, &mut buffer) {
            Ok(encoded) => Some(self.partition(encoded)),
            Err(_) => postcard::to_stdvec(id)
                .ok()
                .map(|encoded| self.partition(&encoded)),
        }
    }

    /// The ID and message encoded, with the message's codec, or why not.
    fn outgoing(
        &self,
        id: &A::Id,
        message: &Erased,
        call: Option<Duration>,
    ) -> Result<Outgoing, Error> {
        let message_type = (**message).type_id();
        let codec = self.codecs.get(&message_type).copied().filter(|codec| {
            if call.is_some() {
                codec.decode_response.is_some()
            } else {
                codec.tell
            }
        });
        let Some(codec) = codec else {
            let how = if call.is_some() { "request" } else { "message" };
            return Err(routing::remote_error(
                RemoteErrorKind::UnknownType,
                format!(
                    "this {how} type is not registered for the clustered actor `{}`; add \
                     `.actor::<..>().{how}::<..>()` when joining the cluster",
                    A::NAME
                ),
            ));
        };
        let id = postcard::to_stdvec(id).map_err(|error| {
            routing::remote_error(
                RemoteErrorKind::Codec,
                format!("an ID of `{}` did not encode: {error}", A::NAME),
            )
        })?;
        let payload = (codec.encode)(&**message).map_err(|error| {
            routing::remote_error(
                RemoteErrorKind::Codec,
                format!("a `{}` did not encode: {error}", codec.name),
            )
        })?;
        let limit = self.node.config.max_message_bytes;
        if payload.len() + id.len() > limit {
            return Err(routing::remote_error(
                RemoteErrorKind::TooLarge,
                format!(
                    "a `{}` for `{}` is {} bytes encoded, over the cluster's limit of {limit} \
                     (`ClusterConfig::max_message_bytes`)",
                    codec.name,
                    A::NAME,
                    payload.len() + id.len()
                ),
            ));
        }
        Ok(Outgoing {
            actor: A::NAME,
            message: codec.name,
            partition: self.partition(&id),
            id,
            payload,
            call,
        })
    }
}

impl<A> Router<A> for ClusterRouter<A>
where
    A: RemoteActor,
    A::Id: Serialize + DeserializeOwned,
{
    fn route(&self, id: &A::Id, message: TypeId) -> Route {
        // A message type this router does not carry is refused by `send`
        // and `call`, wherever the ID lives (no hashing: a few types).
        if !self.message_types.contains(&message) {
            return Route::Elsewhere;
        }
        // An ID that does not encode: the send path reports it.
        let Some(partition) = self.partition_of(id) else {
            return Route::Elsewhere;
        };
        // Served here, and nothing on its way there: a message queued here
        // now cannot overtake an earlier one still in the lane.
        if self.node.serving(partition).is_some() && self.node.lanes.is_idle(partition) {
            Route::Here
        } else {
            Route::Elsewhere
        }
    }

    fn send(&self, id: A::Id, message: Erased) -> RemoteFuture<Result<(), Error>> {
        // Queued in the lane now, on the sender's thread: the order of one
        // sender's messages is the order of these calls.
        let settled = self
            .outgoing(&id, &message, None)
            .map(|outgoing| submit(&self.node, outgoing, true));
        Box::pin(async move { answer(settled?.await).map(drop) })
    }

    fn try_send(&self, id: A::Id, message: Erased) -> Result<(), (Error, Erased)> {
        let outgoing = match self.outgoing(&id, &message, None) {
            Ok(outgoing) => outgoing,
            Err(error) => return Err((error, message)),
        };
        if self.node.lanes.len(outgoing.partition) >= MAX_UNSETTLED {
            return Err((Error::MailboxFull, message));
        }
        drop(submit(&self.node, outgoing, false));
        Ok(())
    }

    fn call(
        &self,
        id: A::Id,
        message: Erased,
        timeout: Duration,
    ) -> RemoteFuture<Result<Erased, Error>> {
        let decode = self
            .codecs
            .get(&(*message).type_id())
            .and_then(|codec| codec.decode_response);
        let settled = self
            .outgoing(&id, &message, Some(timeout))
            .map(|outgoing| (outgoing.message, submit(&self.node, outgoing, true)));
        Box::pin(async move {
            let (name, settled) = settled?;
            let response = answer(settled.await)?;
            let decode = decode.ok_or_else(|| {
                routing::remote_error(RemoteErrorKind::UnknownType, name.to_owned())
            })?;
            decode(&response).map_err(|error| {
                routing::remote_error(
                    RemoteErrorKind::Codec,
                    format!(
                        "the response to `{name}` from `{}` did not decode ({error}): do the \
                         nodes register different types under this name?",
                        A::NAME
                    ),
                )
            })
        })
    }

    fn placement(&self, id: &A::Id) -> Option<Placement> {
        let partition = self.partition_of(id)?;
        let epoch = self.node.holding(partition)?;
        Some(Placement {
            partition: store_partition(partition),
            epoch,
        })
    }

    fn admits(&self, id: &A::Id) -> bool {
        // Held (serving, or draining for a hand-off), before the deadline.
        self.partition_of(id)
            .is_some_and(|p| self.node.holding(p).is_some() && self.node.within_deadline())
    }
}

/// A lane's answer; a lane dropped without one (its node is gone) left
/// the outcome unknown.
fn answer(
    settled: Result<Result<Vec<u8>, Error>, oneshot::error::RecvError>,
) -> Result<Vec<u8>, Error> {
    settled.unwrap_or(Err(Error::Timeout))
}

/// The most unsettled messages of one partition before `try_send` says
/// `MailboxFull`.
const MAX_UNSETTLED: usize = 65_536;

/// Hands off the IDs of `A` in some partitions.
pub(crate) struct Agent<A> {
    pub(crate) partitions: u32,
    pub(crate) actor: PhantomData<fn() -> A>,
}

impl<A> TypeAgent for Agent<A>
where
    A: RemoteActor,
    A::Id: Serialize + DeserializeOwned,
{
    fn hand_off(
        &self,
        acteur: &Acteur,
        partitions: Arc<Vec<bool>>,
        reason: Option<DeactivationReason>,
    ) -> BoxFuture<()> {
        let acteur = acteur.clone();
        let count = self.partitions;
        Box::pin(async move {
            let belongs = move |id: &A::Id| {
                postcard::to_stdvec(id).is_ok_and(|encoded| {
                    let p = partition_of_encoded(A::NAME, &encoded, count);
                    partitions.get(p as usize).copied().unwrap_or(false)
                })
            };
            let done = match reason {
                Some(reason) => routing::hand_off::<A>(&acteur, belongs, reason).await,
                None => routing::discard::<A>(&acteur, belongs).await,
            };
            if let Err(error) = done {
                log::warn!("handing off actors of `{}` failed: {error}", A::NAME);
            }
        })
    }
}
