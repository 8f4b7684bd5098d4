//! What makes an actor type and a message type travel between nodes: a
//! stable name and a serde codec.

use acteur::Actor;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An actor type that the cluster places on one node per ID and reaches
/// from every node.
///
/// `NAME` identifies the type on the wire and in the partition hash, so it
/// must be the same on every node and must not change while the cluster
/// holds state for it: choose a stable, qualified name such as
/// `"shop.Order"`, not `std::any::type_name` (which may change between
/// compiler releases). The ID travels with postcard, so its `Serialize`
/// must give the same bytes on every node.
///
/// ```
/// use acteur::{Actor, ActorAssistant, BoxError};
/// use acteur_cluster::RemoteActor;
///
/// struct Order;
/// impl Actor for Order {
///     type Id = u64;
///     async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Order)
///     }
/// }
/// impl RemoteActor for Order {
///     const NAME: &'static str = "shop.Order";
/// }
/// ```
pub trait RemoteActor: Actor
where
    Self::Id: Serialize + DeserializeOwned,
{
    /// The type's name on the wire, the same on every node.
    const NAME: &'static str;
}

/// A message (or request) that travels to actors on other nodes, and a
/// published message that reaches every node's services.
///
/// `NAME` identifies it on the wire, as [`RemoteActor::NAME`] does its
/// actor. A request's response travels back with postcard too, so it must
/// be `Serialize + DeserializeOwned` as well.
///
/// ```
/// use acteur_cluster::RemoteMessage;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct AddItem {
///     sku: String,
///     quantity: u32,
/// }
/// impl RemoteMessage for AddItem {
///     const NAME: &'static str = "shop.AddItem";
/// }
/// ```
pub trait RemoteMessage: Serialize + DeserializeOwned + Send + 'static {
    /// The message's name on the wire, the same on every node.
    const NAME: &'static str;
}
