//! The seam through which a cluster routes messages of an actor type to the
//! node that owns each ID: crate `acteur-cluster` implements [`Router`] and
//! [installs](install) it per actor type.
//!
//! Hidden from the documentation and **not covered by semantic
//! versioning**: it moves with `acteur-cluster`, whose version names the
//! `acteur` it works with. An application never uses it directly; it uses
//! `send_to_actor`, `call_actor` and the rest as on a single node.
//!
//! What it changes for an actor type with a router:
//! - `send_*`, `try_send_*`, `call_*` and scheduled sends ask
//!   [`Router::route`] first; for [`Route::Elsewhere`] the message is handed
//!   to the router (type-erased: [`Erased`] holds the message itself, and
//!   the router finds its codec by the message's `TypeId`).
//! - Each activation learns its place (store partition and fencing epoch)
//!   from [`Router::placement`]: its epoch is
//!   [`ActorAssistant::activation_epoch`](crate::ActorAssistant::activation_epoch),
//!   and a persistent actor's writes carry both.
//! - `send_to_all_actors` reaches the activations of this node only.
//!
//! A type without a router pays one atomic load per send for the check.

use std::any::{Any, TypeId, type_name};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::{Acteur, Actor, DeactivationReason, Error, Receive, RemoteErrorKind, Respond};

/// A message, a response or an ID, with its type erased.
pub type Erased = Box<dyn Any + Send>;

/// A boxed future that the router returns for a message it carries.
pub type RemoteFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Where a message for an ID goes, as the router sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// This node owns the ID: the message is queued here as usual.
    Here,
    /// Another node owns it (or none does yet): the router carries the
    /// message, and its answer is the send's.
    Elsewhere,
}

/// An activation's place in a cluster: what its persistent state's writes
/// carry, so that a store refuses those of a stale activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The state store partition of the actor's ID. Partition 0 is that of
    /// every actor of a system outside a cluster (its store's own epoch
    /// fences it), so a cluster numbers its partitions from 1.
    pub partition: u64,
    /// The epoch under which the node holds that partition, which the
    /// node claimed in the store (`claim_partition`) before any activation.
    pub epoch: u64,
}

/// Routes the messages of actor type `A` between the nodes of a cluster.
///
/// Every method is called on the sender's thread, inside or outside
/// handlers; none may block.
pub trait Router<A: Actor>: Send + Sync + 'static {
    /// Where a message of type `message` for `id` goes. Called for every
    /// send, so it must be cheap: a lookup in a table kept up to date
    /// elsewhere. A message type the router does not carry should go
    /// [`Route::Elsewhere`] too, so that the router's refusal is the same
    /// whichever node owns `id`.
    fn route(&self, id: &A::Id, message: TypeId) -> Route;

    /// Carries the fire-and-forget `message` (an `M` for which
    /// `A: Receive<M>`) to `id`'s owner. The future ends once the owner
    /// queued it, or with the reason it was not.
    fn send(&self, id: A::Id, message: Erased) -> RemoteFuture<Result<(), Error>>;

    /// As [`send`](Router::send), without waiting for anything: queued for
    /// the network or handed back with the reason.
    fn try_send(&self, id: A::Id, message: Erased) -> Result<(), (Error, Erased)>;

    /// Carries the request `message` (an `M` for which `A: Respond<M>`) to
    /// `id`'s owner and waits at most `timeout` for its response, which
    /// must hold an `<A as Respond<M>>::Response`.
    fn call(
        &self,
        id: A::Id,
        message: Erased,
        timeout: Duration,
    ) -> RemoteFuture<Result<Erased, Error>>;

    /// Where a new activation of `id` on this node stands: the state
    /// store partition its persistent state belongs to, and the epoch under
    /// which this node holds it. `None` if this node holds none.
    fn placement(&self, id: &A::Id) -> Option<Placement>;

    /// Whether a message queued here for `id` may start now. Asked before
    /// every message of a routed type; when it says no (the node lost the
    /// ID, or its fencing deadline passed), the message is not handled (a
    /// call gets [`Error::Unavailable`]) and the activation is dropped
    /// without `deactivate`.
    fn admits(&self, id: &A::Id) -> bool;
}

/// Installs `router` for actor type `A` on `acteur`'s system. From then on
/// every send to `A` is routed by it.
///
/// # Errors
///
/// [`Error::InvalidConfiguration`] if `A` has a router already, or if `A`'s
/// configuration is invalid; [`Error::Stopped`] if the system is stopping.
pub fn install<A: Actor>(acteur: &Acteur, router: Arc<dyn Router<A>>) -> Result<(), Error> {
    let system = acteur.system();
    let actors = system.actor_type::<A>()?;
    actors
        .router
        .set(router)
        .map_err(|_| Error::InvalidConfiguration {
            type_name: type_name::<A>(),
            field: "router",
            reason: "is installed already: join one cluster per actor system",
        })
}

/// Queues `message` for `id` on this node, whatever the router says: for
/// the router's receiving side, once it checked that this node owns `id`.
///
/// # Errors
///
/// As [`Acteur::send_to_actor`].
///
/// # Cancel safety
///
/// As [`Acteur::send_to_actor`]: the message is queued by the first poll
/// unless the mailbox is full; dropped while it waits for room, it is
/// dropped with the future.
pub async fn send_here<A: Receive<M>, M: Send + 'static>(
    acteur: &Acteur,
    id: A::Id,
    message: M,
) -> Result<(), Error> {
    let wait_for_room = acteur.system().send_here::<A, M>(id, message)?;
    match wait_for_room {
        None => Ok(()),
        Some(wait_for_room) => wait_for_room.await,
    }
}

/// Sends the request `message` to `id` on this node, whatever the router
/// says, and waits at most `timeout` for its response: for the router's
/// receiving side.
///
/// # Errors
///
/// As [`Acteur::call_actor`].
///
/// # Cancel safety
///
/// As [`Acteur::call_actor`]: dropping the future cancels the wait, not a
/// request already queued.
pub async fn call_here<A: Respond<M>, M: Send + 'static>(
    acteur: &Acteur,
    id: A::Id,
    message: M,
    timeout: Duration,
) -> Result<<A as Respond<M>>::Response, Error> {
    acteur
        .system()
        .call_here::<A, M>(id, message, timeout)
        .await
}

/// Queues the request `message` for `id` on this node, whatever the router
/// says, and returns the wait for its response once it is queued: for the
/// router's receiving side, which queues a stream's requests in order and
/// waits for their responses concurrently. No deadline: the caller bounds
/// the wait.
///
/// # Errors
///
/// As [`Acteur::call_actor`], for the queueing.
///
/// # Cancel safety
///
/// Dropped before it returns, the request was not queued (it waited for
/// room) and is dropped. The returned wait may be dropped at any time: the
/// actor still handles the request, and its answer is dropped.
pub async fn ask_here<A: Respond<M>, M: Send + 'static>(
    acteur: &Acteur,
    id: A::Id,
    message: M,
) -> Result<impl Future<Output = Result<<A as Respond<M>>::Response, Error>> + Send + 'static, Error>
{
    acteur.system().ask_here::<A, M>(id, message).await
}

/// Deactivates, with `reason` ([`DeactivationReason::Handoff`] or
/// [`DeactivationReason::LeaseLost`]), every activation of `A` whose ID
/// `belongs`, each once its mailbox is empty, and ends when none is left.
/// The router must already route those IDs elsewhere, or the hand-off may
/// not end.
///
/// # Errors
///
/// As [`install`], if `A`'s configuration is invalid or the system stops.
///
/// # Cancel safety
///
/// Dropping the future stops the waiting, not what started: activations
/// already claimed are still deactivated by tasks of the system's own; the
/// others stay.
pub async fn hand_off<A: Actor>(
    acteur: &Acteur,
    belongs: impl Fn(&A::Id) -> bool + Send + Sync,
    reason: DeactivationReason,
) -> Result<(), Error> {
    let system = acteur.system();
    let actors = std::sync::Arc::clone(&*system.actor_type::<A>()?);
    actors.hand_off(system, &belongs, Some(reason)).await;
    Ok(())
}

/// As [`hand_off`], but the activations are dropped **without**
/// `deactivate`: for a node past its fencing deadline, whose writes could
/// land after another node took the IDs. Counted as abandoned.
///
/// # Errors
///
/// As [`hand_off`].
///
/// # Cancel safety
///
/// As [`hand_off`]: what was claimed is still dropped, the rest stays.
pub async fn discard<A: Actor>(
    acteur: &Acteur,
    belongs: impl Fn(&A::Id) -> bool + Send + Sync,
) -> Result<(), Error> {
    let system = acteur.system();
    let actors = std::sync::Arc::clone(&*system.actor_type::<A>()?);
    actors.hand_off(system, &belongs, None).await;
    Ok(())
}

/// Stands for a cluster's forwarder among the subscribers of a message
/// type.
struct RemotePublisher;

/// Makes every `publish` of `M` on `acteur`'s system also call `forward`,
/// after the local subscribers (as one more subscriber: the publish waits
/// for the future it returns, if any). For a cluster that carries `M` to
/// the other nodes.
///
/// # Errors
///
/// [`Error::Stopped`] if the system is stopping.
pub fn forward_publish<M: Clone + Send + 'static>(
    acteur: &Acteur,
    forward: std::sync::Arc<dyn Fn(M) -> Option<RemoteFuture<()>> + Send + Sync>,
) -> Result<(), Error> {
    acteur.system().subscribe_as::<M>(
        TypeId::of::<RemotePublisher>(),
        std::sync::Arc::new(move |_, message| forward(message)),
    )
}

/// Publishes `message` to this node's subscribers only: for a message that
/// another node published, which must not travel again.
///
/// # Errors
///
/// As [`Acteur::publish`].
///
/// # Cancel safety
///
/// As [`Acteur::publish`]: subscribers already served keep their copy;
/// dropped while it waits for room in one, the others do not get it.
pub async fn publish_here<M: Clone + Send + 'static>(
    acteur: &Acteur,
    message: M,
) -> Result<(), Error> {
    acteur
        .system()
        .publish_skipping(message, Some(TypeId::of::<RemotePublisher>()))
        .await
}

/// Raises the fence of `partition` to `epoch` in the system's state store,
/// if it has one (feature `persistence`): from then on only writes of that
/// epoch land there. A cluster node calls it after it took a partition and
/// before it activates any of its actors.
///
/// # Errors
///
/// [`Error::State`] if the store refused or could not be reached.
///
/// # Cancel safety
///
/// Dropped, the claim may or may not have reached the store: claim again
/// (a claim is idempotent, and never lowers a fence).
pub async fn claim_partition(acteur: &Acteur, partition: u64, epoch: u64) -> Result<(), Error> {
    #[cfg(feature = "persistence")]
    {
        acteur.system().claim_partition(partition, epoch).await
    }
    #[cfg(not(feature = "persistence"))]
    {
        let _ = (acteur, partition, epoch);
        Ok(())
    }
}

/// [`Error::Unavailable`], which only this crate can build: the message to
/// `actor` was not delivered, because of `reason`.
pub fn unavailable(actor: &'static str, reason: String) -> Error {
    Error::Unavailable { actor, reason }
}

/// [`Error::Remote`], which only this crate can build.
pub fn remote_error(kind: RemoteErrorKind, detail: String) -> Error {
    Error::Remote { kind, detail }
}
