//! The trait a user implements for an actor whose state the system keeps in
//! a state store (feature `persistence`), and how such an actor becomes an
//! [`Actor`].

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::persistence::{PersistenceConfiguration, StateKey, StoredState, UpgradeError};
use crate::system::persistence::load::load_state;
use crate::{Actor, ActorAssistant, ActorConfiguration, BoxError};

/// An actor whose state survives its deactivation, a restart and a crash:
/// the system loads it before [`activate`](PersistentActor::activate) and
/// saves it when it changed, in the state store given to
/// `Acteur::builder().state_store(..)`.
///
/// Implement `PersistentActor` *instead of* [`Actor`]: every
/// `PersistentActor` is an `Actor`, so its messages are handled by the same
/// [`Receive`](crate::Receive) and [`Respond`](crate::Respond)
/// implementations, and it is sent to and called like any other actor.
/// Implementing both is a compile error, so the saving cannot be forgotten.
///
/// The state is a value of its own ([`State`](PersistentActor::State)),
/// which the actor keeps and shows through [`state`](PersistentActor::state);
/// what else the actor holds (connections, caches) is rebuilt by `activate`.
/// When it is saved depends on the type's
/// [`persistence`](PersistentActor::persistence) configuration: by default
/// after every message that changed it, before the message's reply leaves,
/// so that an answer means the change is durable.
///
/// ```
/// use acteur::persistence::MemoryStore;
/// use acteur::{Acteur, ActorAssistant, BoxError, PersistentActor, Respond};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Default)]
/// struct Balance {
///     cents: i64,
/// }
///
/// struct Account {
///     balance: Balance,
/// }
///
/// impl PersistentActor for Account {
///     type Id = u64;
///     type State = Balance;
///     // Stored with every row: never change it once states were saved.
///     const TYPE_KEY: &'static str = "account";
///
///     async fn activate(
///         _: u64,
///         stored: Option<Balance>,
///         _: &ActorAssistant<Self>,
///     ) -> Result<Self, BoxError> {
///         Ok(Account { balance: stored.unwrap_or_default() })
///     }
///
///     fn state(&self) -> &Balance {
///         &self.balance
///     }
/// }
///
/// struct Deposit(i64);
///
/// impl Respond<Deposit> for Account {
///     type Response = i64;
///     async fn handle(&mut self, deposit: Deposit, _: &ActorAssistant<Self>) -> i64 {
///         self.balance.cents += deposit.0;
///         self.balance.cents
///     }
/// }
///
/// let store = MemoryStore::new();
/// let sys = Acteur::builder().state_store(store.clone()).build();
/// assert_eq!(sys.call_actor_sync::<Account, Deposit>(7, Deposit(250)).unwrap(), 250);
/// sys.stop();
/// sys.wait_until_stopped();
///
/// // Another system on the same store finds the balance.
/// let sys = Acteur::builder().state_store(store).build();
/// assert_eq!(sys.call_actor_sync::<Account, Deposit>(7, Deposit(50)).unwrap(), 300);
/// # sys.stop();
/// # sys.wait_until_stopped();
/// ```
///
/// A type cannot be both kinds of actor:
///
/// ```compile_fail,E0119
/// use acteur::{Actor, ActorAssistant, BoxError, PersistentActor};
///
/// struct Both(u32);
/// impl PersistentActor for Both {
///     type Id = u32;
///     type State = u32;
///     const TYPE_KEY: &'static str = "both";
///     async fn activate(_: u32, stored: Option<u32>, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Both(stored.unwrap_or(0)))
///     }
///     fn state(&self) -> &u32 {
///         &self.0
///     }
/// }
/// impl Actor for Both {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Both(0))
///     }
/// }
/// ```
pub trait PersistentActor: Sized + Send + 'static {
    /// The ID that tells the actors of this type apart, as for
    /// [`Actor::Id`]; it is also the key of the actor's stored state, so its
    /// [`StateKey`] encoding must never change once states were saved.
    type Id: Eq + Hash + Clone + Send + Sync + Debug + StateKey + 'static;

    /// The state that is saved: loaded before `activate`, written when it
    /// changed. Encoded with postcard, so any `serde` type works; keep it to
    /// what must survive.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The type's name in the store, written into every row. It must be
    /// stable across releases and renames (so never `type_name()`), unique
    /// in the system, 1 to 64 bytes: anything else is an
    /// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration).
    const TYPE_KEY: &'static str;

    /// The version of the [`State`](PersistentActor::State)'s shape. Raise
    /// it when the shape changes incompatibly, and convert older states in
    /// [`upgrade`](PersistentActor::upgrade). 1 by default.
    const SCHEMA: u32 = 1;

    /// Builds the actor from its stored state: `None` if nothing was ever
    /// saved for this ID, or its state was cleared. Called on the actor's
    /// first message, after the state was loaded.
    ///
    /// # Errors
    ///
    /// As [`Actor::activate`]: the message that activated the actor gets
    /// [`Error::ActivationFailed`](crate::Error::ActivationFailed) once the
    /// type's attempts are spent.
    fn activate(
        id: <Self as PersistentActor>::Id,
        stored: Option<Self::State>,
        assistant: &ActorAssistant<Self>,
    ) -> impl Future<Output = Result<Self, BoxError>> + Send
    where
        Self: Actor;

    /// The state as it is now. The system reads it between messages, to
    /// save it if it changed.
    fn state(&self) -> &Self::State;

    /// Converts a state stored with an older [`SCHEMA`](PersistentActor::SCHEMA)
    /// into the current one; [`StoredState::decode`] reads it as the old
    /// type. By default every older state is refused, and the message that
    /// activated the actor fails with `StateError::Upgrade`.
    ///
    /// # Errors
    ///
    /// [`UpgradeError`] if the state cannot be converted; the stored row is
    /// left unchanged.
    fn upgrade(old: StoredState<'_>) -> Result<Self::State, UpgradeError> {
        let _ = old;
        Err(UpgradeError::Unsupported)
    }

    /// When the state is saved, and how loads and saves are retried. Read
    /// once, when the type is first used.
    fn persistence() -> PersistenceConfiguration {
        PersistenceConfiguration::default()
    }

    /// As [`Actor::deactivate`]. The state is saved after it returns if it
    /// changed, so it need not save anything itself.
    fn deactivate(&mut self, assistant: &ActorAssistant<Self>) -> impl Future<Output = ()> + Send
    where
        Self: Actor,
    {
        let _ = assistant;
        async {}
    }

    /// As [`Actor::configuration`].
    fn configuration() -> ActorConfiguration {
        ActorConfiguration::default()
    }

    /// As [`Actor::memory_size`].
    fn memory_size(&self) -> usize {
        size_of::<Self>()
    }
}

impl<A: PersistentActor> Actor for A {
    type Id = <A as PersistentActor>::Id;

    const __PERSISTENT: bool = true;

    async fn activate(id: Self::Id, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let stored = load_state::<A>(assistant).await?;
        <A as PersistentActor>::activate(id, stored, assistant).await
    }

    fn deactivate(&mut self, assistant: &ActorAssistant<Self>) -> impl Future<Output = ()> + Send {
        <A as PersistentActor>::deactivate(self, assistant)
    }

    fn configuration() -> ActorConfiguration {
        <A as PersistentActor>::configuration()
    }

    fn memory_size(&self) -> usize {
        <A as PersistentActor>::memory_size(self)
    }

    fn __persistence() -> Option<PersistenceHooks<Self>> {
        Some(PersistenceHooks {
            type_key: A::TYPE_KEY,
            schema: A::SCHEMA,
            configuration: A::persistence(),
            write_key: <<A as PersistentActor>::Id as StateKey>::write_key,
            encode: encode_state::<A>,
            start_flush: crate::system::persistence::write_behind::start::<A>,
        })
    }
}

/// The actor's state as postcard bytes.
fn encode_state<A: PersistentActor>(actor: &A) -> Result<Vec<u8>, String> {
    crate::persistence::codec::encode(actor.state())
}

/// What the machine needs of a persistent actor type, without its bounds:
/// the answer of the hidden `Actor::__persistence`, `None` for every actor
/// that is not persistent.
#[doc(hidden)]
pub struct PersistenceHooks<A: Actor> {
    pub(crate) type_key: &'static str,
    pub(crate) schema: u32,
    pub(crate) configuration: PersistenceConfiguration,
    pub(crate) write_key: fn(&A::Id, &mut Vec<u8>),
    pub(crate) encode: fn(&A) -> Result<Vec<u8>, String>,
    /// Starts the timer of a `WriteBehind` flush, due after the delay.
    pub(crate) start_flush: fn(&ActorAssistant<A>, std::time::Duration) -> crate::Timer,
}
