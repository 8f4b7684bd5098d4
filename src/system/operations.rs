//! Every operation a handle offers, written once: sends, tries, calls (with
//! their deadline and chain), sends to every live actor, publishing and
//! subscribing, preloading a service, and the blocking forms. `Acteur` and
//! both assistants call these; what differs inside a handler (the call
//! chain that deadlock detection follows, the blocking forms refused) is
//! read from the task context here, not passed in by the handle.

use std::any::{TypeId, type_name};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::System;
use crate::routing::Erased;
use crate::runtime;
use crate::system::actors::{Delivery, RoomWait};
use crate::system::calls::chain::{Link, OutgoingCall};
use crate::system::calls::deadlines::Expiry;
use crate::system::calls::envelope::{Tell, ask};
use crate::system::tasks::context;
use crate::{Error, Listen, Receive, RemoteErrorKind, Respond, Serve, Service, TrySendError};

impl System {
    /// Queues `message` for actor `id` of type `A` now; if its mailbox is
    /// full, returns the wait for room, which the handle awaits. Not an
    /// `async fn`, and the wait is not wrapped in a future of its own: the
    /// handle's `async fn` awaits it only when there is one, so a send that
    /// finds room runs no `await` at all (a wrapping future cost 16 to 20
    /// instructions a send, measured with callgrind on the peers' tell_one).
    #[inline]
    pub(crate) fn send_to_actor<A: Receive<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
    ) -> Result<Option<RoomWait>, Error> {
        let actors = self.actor_type::<A>()?;
        if let Some(router) = actors.routed_elsewhere::<M>(&id) {
            return Ok(Some(router.send(id, Box::new(message))));
        }
        actors.deliver(self, id, Box::new(Tell(message)), None)
    }

    /// As [`System::send_to_actor`], on this node whatever a cluster's
    /// router says (`routing::send_here`).
    pub(crate) fn send_here<A: Receive<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
    ) -> Result<Option<RoomWait>, Error> {
        self.deliver_to_actor::<A>(id, Box::new(Tell(message)))
    }

    /// Queues `message` for actor `id` of type `A` at once, or hands it
    /// back with the reason: a full mailbox, or any refusal.
    pub(crate) fn try_send_to_actor<A: Receive<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
    ) -> Result<(), TrySendError<M>> {
        let actors = match self.actor_type::<A>() {
            Ok(actors) => actors,
            Err(error) => return Err(TrySendError::new(error, message)),
        };
        if let Some(router) = actors.routed_elsewhere::<M>(&id) {
            return router
                .try_send(id, Box::new(message))
                .map_err(|(error, message)| TrySendError::new(error, handed_back(message)));
        }
        let (error, envelope) = match actors.try_deliver(self, id, Box::new(Tell(message)), None) {
            Delivery::Queued => return Ok(()),
            Delivery::Full { envelope, .. } => (Error::MailboxFull, envelope),
            Delivery::Refused { error, envelope } => (error, envelope),
        };
        Err(TrySendError::new(error, Tell::open(envelope.into_any())))
    }

    /// Sends the request `message` to actor `id` of type `A` and waits for
    /// its answer, at most `timeout`.
    pub(crate) async fn call_actor<A: Respond<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
        timeout: Duration,
    ) -> Result<A::Response, Error> {
        self.call_actor_routed::<A, M>(id, message, timeout, true)
            .await
    }

    /// As [`System::call_actor`], on this node whatever a cluster's router
    /// says (`routing::call_here`).
    pub(crate) async fn call_here<A: Respond<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
        timeout: Duration,
    ) -> Result<A::Response, Error> {
        self.call_actor_routed::<A, M>(id, message, timeout, false)
            .await
    }

    /// Queues the request `message` for actor `id` of type `A` on this node
    /// and returns the wait for its answer (`routing::ask_here`).
    pub(crate) async fn ask_here<A: Respond<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
    ) -> Result<impl Future<Output = Result<A::Response, Error>> + Send + 'static, Error> {
        let (request, reply) = ask(message, None);
        let wait_for_room = self.deliver_to_actor::<A>(id, Box::new(request))?;
        if let Some(wait_for_room) = wait_for_room {
            wait_for_room.await?;
        }
        Ok(reply.receive::<M>(type_name::<A>()))
    }

    /// A call to an actor, asking a cluster's router where `id` lives if
    /// `routed`; the type is looked up once either way.
    async fn call_actor_routed<A: Respond<M>, M: Send + 'static>(
        self: &Arc<Self>,
        id: A::Id,
        message: M,
        timeout: Duration,
        routed: bool,
    ) -> Result<A::Response, Error> {
        self.call(timeout, async |chain| {
            let actors = self.actor_type::<A>()?;
            if let Some(router) = actors.routed_elsewhere::<M>(&id).filter(|_| routed) {
                // Deadlock detection stays within a node: the chain is not
                // carried.
                let remote = router.call(id, Box::new(message), timeout);
                drop(actors);
                return remote.await.and_then(remote_response::<A, M>);
            }
            let (request, reply) = ask(message, chain.cloned());
            // The deadlock check is the delivery's, under the map's guard.
            let wait_for_room = actors.deliver(self, id, Box::new(request), chain)?;
            drop(actors);
            if let Some(wait_for_room) = wait_for_room {
                wait_for_room.await?;
            }
            reply.receive::<M>(type_name::<A>()).await
        })
        .await
    }

    /// Gives every live activation of `A` its own clone of `message`.
    pub(crate) async fn send_to_all_actors<A: Receive<M>, M: Clone + Send + 'static>(
        self: &Arc<Self>,
        message: M,
    ) -> Result<(), Error> {
        let actors = self.actor_type::<A>()?;
        actors
            .deliver_to_all(self, || Box::new(Tell(message.clone())))
            .await
    }

    /// Queues `message` for service `S`, starting it if needed and waiting
    /// for room if it is full.
    pub(crate) async fn send_to_service<S: Listen<M>, M: Send + 'static>(
        self: &Arc<Self>,
        message: M,
    ) -> Result<(), Error> {
        let pool = self.service_pool::<S>()?;
        pool.deliver(self, Some(Box::new(Tell(message)))).await
    }

    /// Queues `message` for service `S` at once, or hands it back.
    pub(crate) fn try_send_to_service<S: Listen<M>, M: Send + 'static>(
        self: &Arc<Self>,
        message: M,
    ) -> Result<(), TrySendError<M>> {
        match self.service_pool::<S>() {
            Ok(pool) => pool.try_deliver(self, message),
            Err(error) => Err(TrySendError::new(error, message)),
        }
    }

    /// Sends the request `message` to service `S` and waits for its answer,
    /// at most `timeout`.
    pub(crate) async fn call_service<S: Serve<M>, M: Send + 'static>(
        self: &Arc<Self>,
        message: M,
        timeout: Duration,
    ) -> Result<S::Response, Error> {
        self.call(timeout, async |chain| {
            let pool = self.service_pool::<S>()?;
            // Checked before the request is queued: a pool's queue has no
            // guard to check it under, and it may wait for the service to
            // start.
            if let Some(chain) = chain {
                pool.check_deadlock(self, chain)?;
            }
            let (request, reply) = ask(message, chain.cloned());
            pool.deliver(self, Some(Box::new(request))).await?;
            reply.receive::<M>(type_name::<S>()).await
        })
        .await
    }

    /// The call protocol, for actors and services alike: `request` (which
    /// delivers a request carrying the chain it is given, and waits for the
    /// answer) runs with the chain of the code making the call, and is
    /// dropped at `timeout` with [`Error::Timeout`].
    ///
    /// The chain's link is alive until the answer arrives or the call is
    /// dropped: while it is, the caller waits, for deadlock detection.
    async fn call<R>(
        self: &Arc<Self>,
        timeout: Duration,
        request: impl AsyncFnOnce(Option<&Arc<Link>>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let call = async {
            let outgoing = OutgoingCall::begin();
            let answer = request(outgoing.chain()).await;
            drop(outgoing);
            answer
        };
        futures_lite::future::or(call, async {
            Expiry::after(self, timeout).await;
            Err(Error::Timeout)
        })
        .await
    }

    /// Starts service `S` if it has not started, and waits for its
    /// `initialize` (from outside the system only: see `ServicePool::deliver`).
    pub(crate) async fn preload_service<S: Service>(self: &Arc<Self>) -> Result<(), Error> {
        let pool = self.service_pool::<S>()?;
        pool.deliver(self, None).await
    }

    /// Subscribes service `S` to published `M`.
    pub(crate) fn subscribe<S: Listen<M>, M: Clone + Send + 'static>(
        self: &Arc<Self>,
    ) -> Result<(), Error> {
        if self.lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        let pool = Arc::clone(&*self.service_pool::<S>()?);
        let deliver = move |system: &Arc<System>, message: M| {
            pool.enqueue_published(system, Box::new(Tell(message)))
                .unwrap_or_else(|error| {
                    log::debug!("a published message was not delivered: {error}");
                    None
                })
        };
        self.subscribe_as::<M>(TypeId::of::<S>(), Arc::new(deliver))
    }

    /// Subscribes `deliver`, standing for `subscriber` (a service, or a
    /// cluster's forwarder: `routing::forward_publish`), to published `M`.
    pub(crate) fn subscribe_as<M: Clone + Send + 'static>(
        self: &Arc<Self>,
        subscriber: TypeId,
        deliver: crate::system::services::subscriptions::Deliver<M>,
    ) -> Result<(), Error> {
        if self.lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        self.subscriptions.subscribe::<M>(subscriber, deliver);
        Ok(())
    }

    /// Gives every subscriber of `M` its own clone of `message`, waiting
    /// for room in each full one in turn.
    pub(crate) async fn publish<M: Clone + Send + 'static>(
        self: &Arc<Self>,
        message: M,
    ) -> Result<(), Error> {
        self.publish_skipping(message, None).await
    }

    /// As [`System::publish`], to every subscriber but `skip`.
    pub(crate) async fn publish_skipping<M: Clone + Send + 'static>(
        self: &Arc<Self>,
        message: M,
        skip: Option<TypeId>,
    ) -> Result<(), Error> {
        if !self.serves_caller() {
            return Err(Error::Stopped);
        }
        let subscribers = self.subscriptions.subscribers::<M>(skip);
        if let Some((last, others)) = subscribers.split_last() {
            for deliver in others {
                if let Some(wait) = deliver(self, message.clone()) {
                    wait.await;
                }
            }
            if let Some(wait) = last(self, message) {
                wait.await;
            }
        }
        Ok(())
    }

    /// The blocking form of an operation, `method`: runs `operation` to
    /// completion on the calling thread, unless that would stall the system
    /// (inside one of its handlers, or on the one thread of the
    /// current-thread tokio runtime it uses).
    pub(crate) fn blocking<T>(
        &self,
        method: &'static str,
        operation: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        if context::current().is_some() {
            return Err(Error::BlockingCallInHandler { method });
        }
        if self.blocking_here_would_hang() {
            return Err(Error::BlockingCallOnRuntimeThread { method });
        }
        runtime::block_on(operation)
    }
}

/// The message a router handed back with a refused `try_send`: the one it
/// was given, as the `Router` contract says.
fn handed_back<M: 'static>(message: Erased) -> M {
    match message.downcast::<M>() {
        Ok(message) => *message,
        Err(_) => unreachable!("a cluster router handed back another message than it was given"),
    }
}

/// A cluster router's answer to a call to `A`, which must be `A`'s response
/// to `M`.
fn remote_response<A: Respond<M>, M: Send + 'static>(
    response: Erased,
) -> Result<A::Response, Error> {
    response
        .downcast::<A::Response>()
        .map(|response| *response)
        .map_err(|_| Error::Remote {
            kind: RemoteErrorKind::Codec,
            detail: format!(
                "the cluster's router answered a call to `{}` with another type than `{}`",
                type_name::<A>(),
                type_name::<A::Response>()
            ),
        })
}
