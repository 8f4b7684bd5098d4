//! Type-erased messages: what sits in a mailbox. Each envelope knows how to
//! run its handler and how to refuse itself (telling a waiting caller why).

use std::any::{Any, type_name};
use std::future::Future;
use std::pin::Pin;

use std::sync::Arc;

use crate::system::calls::chain::{Link, run_with_chain};
use crate::system::calls::reply::{self, ReplyTo};
use crate::timer::TimerShared;
use crate::{
    Actor, ActorAssistant, Error, Listen, Receive, Respond, Serve, Service, ServiceAssistant,
};

/// A handler run, borrowing the actor or service for its duration.
pub(crate) type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A message queued for an actor of type `A`.
/// What every envelope tells about itself, whoever it is for.
pub(crate) trait Envelope: Send {
    /// The message's type name, for logs and traces.
    fn message_type(&self) -> &'static str;

    /// The envelope as its concrete type, for a refused `try_send_*` that
    /// hands its message back (see [`Tell::open`]).
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

pub(crate) trait ActorMessage<A: Actor>: Envelope {
    fn handle<'a>(
        self: Box<Self>,
        actor: &'a mut A,
        assistant: &'a ActorAssistant<A>,
    ) -> HandlerFuture<'a>;

    /// Drops the message unhandled; true if a waiting caller was told `error`,
    /// false for a fire-and-forget message nobody waits for.
    fn refuse(self: Box<Self>, error: Error) -> bool;

    /// The calls waiting for this message's answer, if it is a request
    /// made from code that others wait for (see `calls/chain.rs`).
    fn chain(&self) -> Option<&Arc<Link>> {
        None
    }
}

pub(crate) type ActorEnvelope<A> = Box<dyn ActorMessage<A>>;

/// A message queued for a service of type `S`.
pub(crate) trait ServiceMessage<S: Service>: Envelope {
    fn handle<'a>(
        self: Box<Self>,
        service: &'a S,
        assistant: &'a ServiceAssistant<S>,
    ) -> HandlerFuture<'a>;

    /// As [`ActorMessage::refuse`].
    fn refuse(self: Box<Self>, error: Error) -> bool;
}

pub(crate) type ServiceEnvelope<S> = Box<dyn ServiceMessage<S>>;

/// A fire-and-forget message.
pub(crate) struct Tell<M>(pub(crate) M);

/// A request whose answer goes back to the caller.
pub(crate) struct Ask<M, R> {
    message: M,
    reply: ReplyTo<Result<R, Error>>,
    chain: Option<Arc<Link>>,
}

/// The caller's end of an [`Ask`].
pub(crate) struct Reply<R>(reply::Reply<Result<R, Error>>);

/// A request envelope carrying `chain`, and the end where its answer arrives.
pub(crate) fn ask<M, R>(message: M, chain: Option<Arc<Link>>) -> (Ask<M, R>, Reply<R>) {
    let (reply, receiver) = reply::channel();
    (
        Ask {
            message,
            reply,
            chain,
        },
        Reply(receiver),
    )
}

impl<M: Send + 'static> Envelope for Tell<M> {
    fn message_type(&self) -> &'static str {
        type_name::<M>()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl<M: Send + 'static, R: Send + 'static> Envelope for Ask<M, R> {
    fn message_type(&self) -> &'static str {
        type_name::<M>()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl<M: Send + 'static> Tell<M> {
    /// The message of an envelope that was made as a `Tell<M>` and refused.
    pub(crate) fn open(envelope: Box<dyn Any + Send>) -> M {
        match envelope.downcast::<Tell<M>>() {
            Ok(tell) => tell.0,
            // Every caller passes back the envelope it made itself.
            Err(_) => unreachable!("a refused envelope comes back as it was sent"),
        }
    }
}

impl<M: Send + 'static, R: Send + 'static> Ask<M, R> {
    /// Runs `handler` on the message and sends its response to the caller.
    /// The handler runs with the calls waiting for it current, so that a
    /// call it makes back to one of them is seen as a deadlock.
    fn answer_with<'a, F>(self, handler: impl FnOnce(M) -> F + Send + 'a) -> HandlerFuture<'a>
    where
        F: Future<Output = R> + Send + 'a,
    {
        let Ask {
            message,
            reply,
            chain,
        } = self;
        Box::pin(run_with_chain(chain, async move {
            let reply = Unanswered(Some(reply));
            let response = handler(message).await;
            reply.answer(Ok(response));
        }))
    }
}

/// A request's reply channel while its handler runs. A handler that
/// panics drops it unanswered, which its caller reads as a panic; one
/// dropped where it stood (cancelled by the shutdown deadline) tells the
/// caller [`Error::Stopped`].
struct Unanswered<R>(Option<ReplyTo<Result<R, Error>>>);

impl<R> Unanswered<R> {
    fn answer(mut self, answer: Result<R, Error>) {
        if let Some(reply) = self.0.take() {
            // The caller may have given up waiting; the answer is then dropped.
            reply.send(answer);
        }
    }
}

impl<R> Drop for Unanswered<R> {
    fn drop(&mut self) {
        if let Some(reply) = self.0.take() {
            if !std::thread::panicking() {
                reply.send(Err(Error::Stopped));
            }
        }
    }
}

impl<R> Reply<R> {
    /// The answer. A request dropped without an answer was dropped by a
    /// panicking handler (every other path answers with an error), which is
    /// reported as [`Error::Panicked`] naming `handler_of` and `M`.
    pub(crate) async fn receive<M>(self, handler_of: &'static str) -> Result<R, Error> {
        self.0.await.unwrap_or_else(|| {
            Err(Error::Panicked {
                handler_of,
                message: type_name::<M>(),
            })
        })
    }
}

impl<A: Receive<M>, M: Send + 'static> ActorMessage<A> for Tell<M> {
    fn handle<'a>(
        self: Box<Self>,
        actor: &'a mut A,
        assistant: &'a ActorAssistant<A>,
    ) -> HandlerFuture<'a> {
        // A constant: a volatile type's path has no trace of saving.
        #[cfg(feature = "persistence")]
        if A::__PERSISTENT {
            return Box::pin(async move {
                <A as Receive<M>>::handle(&mut *actor, self.0, assistant).await;
                // Nobody waits for the outcome: a failed save is logged,
                // and the actor stays changed.
                turn_ended(actor, assistant, None);
            });
        }
        Box::pin(<A as Receive<M>>::handle(actor, self.0, assistant))
    }

    fn refuse(self: Box<Self>, _: Error) -> bool {
        false
    }
}

/// After a turn of a persistent actor: its state goes to be saved if its
/// type saves every turn and the turn changed it; `release` (the turn's
/// reply, if anyone waits for one) runs once it is durable, or at once if
/// there is nothing to save. The actor's next message does not wait.
#[cfg(feature = "persistence")]
fn turn_ended<A: Actor>(
    actor: &A,
    assistant: &ActorAssistant<A>,
    release: Option<crate::system::persistence::pipeline::Release>,
) {
    crate::system::persistence::save::after_turn(actor, assistant, release);
}

impl<A: Respond<M>, M: Send + 'static> ActorMessage<A> for Ask<M, <A as Respond<M>>::Response> {
    fn handle<'a>(
        self: Box<Self>,
        actor: &'a mut A,
        assistant: &'a ActorAssistant<A>,
    ) -> HandlerFuture<'a> {
        #[cfg(feature = "persistence")]
        if A::__PERSISTENT {
            let Ask {
                message,
                reply,
                chain,
            } = *self;
            return Box::pin(run_with_chain(chain, async move {
                let reply = Unanswered(Some(reply));
                let response = <A as Respond<M>>::handle(&mut *actor, message, assistant).await;
                // Answered once the turn's state is durable: the caller
                // gets the save's error instead, if it fails.
                let release = Box::new(move |saved: Result<(), Error>| {
                    reply.answer(saved.map(|()| response));
                });
                turn_ended(actor, assistant, Some(release));
            }));
        }
        self.answer_with(move |message| <A as Respond<M>>::handle(actor, message, assistant))
    }

    fn refuse(self: Box<Self>, error: Error) -> bool {
        self.reply.send(Err(error));
        true
    }

    fn chain(&self) -> Option<&Arc<Link>> {
        self.chain.as_ref()
    }
}

impl<S: Listen<M>, M: Send + 'static> ServiceMessage<S> for Tell<M> {
    fn handle<'a>(
        self: Box<Self>,
        service: &'a S,
        assistant: &'a ServiceAssistant<S>,
    ) -> HandlerFuture<'a> {
        Box::pin(<S as Listen<M>>::handle(service, self.0, assistant))
    }

    fn refuse(self: Box<Self>, _: Error) -> bool {
        false
    }
}

impl<S: Serve<M>, M: Send + 'static> ServiceMessage<S> for Ask<M, <S as Serve<M>>::Response> {
    fn handle<'a>(
        self: Box<Self>,
        service: &'a S,
        assistant: &'a ServiceAssistant<S>,
    ) -> HandlerFuture<'a> {
        self.answer_with(move |message| <S as Serve<M>>::handle(service, message, assistant))
    }

    fn refuse(self: Box<Self>, error: Error) -> bool {
        self.reply.send(Err(error));
        true
    }
}

/// An interval's tick: its message, and its timer, told when the tick is
/// handled or dropped so that the next may be queued. A tick of an interval
/// cancelled meanwhile is dropped unhandled.
pub(crate) struct IntervalTick<M> {
    pub(crate) message: M,
    pub(crate) queued: QueuedTick,
}

/// Marks its interval's tick handled (or dropped) when dropped.
pub(crate) struct QueuedTick(pub(crate) Arc<TimerShared>);

impl Drop for QueuedTick {
    fn drop(&mut self) {
        self.0.tick_done();
    }
}

impl<M: Send + 'static> Envelope for IntervalTick<M> {
    fn message_type(&self) -> &'static str {
        type_name::<M>()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl<M> IntervalTick<M> {
    /// The message, unless its interval was cancelled; the tick is done.
    fn open(self) -> Option<M> {
        let IntervalTick { message, queued } = self;
        let live = !queued.0.is_cancelled();
        drop(queued);
        live.then_some(message)
    }
}

impl<A: Receive<M>, M: Send + 'static> ActorMessage<A> for IntervalTick<M> {
    fn handle<'a>(
        self: Box<Self>,
        actor: &'a mut A,
        assistant: &'a ActorAssistant<A>,
    ) -> HandlerFuture<'a> {
        match (*self).open() {
            #[cfg(feature = "persistence")]
            Some(message) if A::__PERSISTENT => Box::pin(async move {
                <A as Receive<M>>::handle(&mut *actor, message, assistant).await;
                turn_ended(actor, assistant, None);
            }),
            Some(message) => Box::pin(<A as Receive<M>>::handle(actor, message, assistant)),
            None => Box::pin(std::future::ready(())),
        }
    }

    fn refuse(self: Box<Self>, _: Error) -> bool {
        false
    }
}

impl<S: Listen<M>, M: Send + 'static> ServiceMessage<S> for IntervalTick<M> {
    fn handle<'a>(
        self: Box<Self>,
        service: &'a S,
        assistant: &'a ServiceAssistant<S>,
    ) -> HandlerFuture<'a> {
        match (*self).open() {
            Some(message) => Box::pin(<S as Listen<M>>::handle(service, message, assistant)),
            None => Box::pin(std::future::ready(())),
        }
    }

    fn refuse(self: Box<Self>, _: Error) -> bool {
        false
    }
}
