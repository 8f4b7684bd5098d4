//! The drain task of one actor slot: activates the actor when needed,
//! handles its queued messages one at a time, and deactivates it. This is
//! the only place that runs an actor's code, so one ID never runs
//! concurrently with itself, and a new activation can only start after the
//! previous `deactivate` has returned.

use std::any::type_name;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use std::future::Future;
use std::pin::Pin;

use super::ActorType;
use super::activate::{Activation, activate};
use super::deactivate::deactivate;
use super::slot::{Inbox, Resumed, Slot, Step};
use crate::runtime;
use crate::system::System;
use crate::system::calls::chain::run_with_chain;
use crate::system::calls::envelope::ActorEnvelope;
use crate::system::calls::handler_span;
use crate::system::lifecycle::Lifecycle;
use crate::system::tasks::panics::{catch, catch_sync};
use crate::{Acteur, Actor, ActorAssistant, Error};

/// What a drain task holds for its whole life: the assistant of its
/// actor, which holds the system and the slot. Dropped with the task, ended
/// or not, it uncounts the task (see `SystemTask::counting_itself`).
pub(crate) struct Drainer<A: Actor> {
    assistant: ActorAssistant<A>,
}

impl<A: Actor> Drainer<A> {
    /// For the drain task of `slot`, counted already.
    pub(crate) fn new(system: Arc<System>, slot: Arc<Slot<A>>) -> Self {
        Drainer {
            assistant: ActorAssistant::new(Acteur::from_system(system), slot),
        }
    }
}

impl<A: Actor> Drop for Drainer<A> {
    fn drop(&mut self) {
        self.assistant.system().lifecycle.task_finished();
    }
}

/// Runs until the slot is idle or retired. The caller counted this task;
/// `drainer` uncounts it.
pub(crate) async fn drain<A: Actor>(drainer: Drainer<A>) {
    // The assistant holds the system and the slot (which holds the ID) for
    // the whole task; they are borrowed from it rather than cloned (each
    // clone of an `Arc` is an atomic write, and this runs for every actor
    // that wakes up), and so is the type's machinery, from the system,
    // which holds it as long as it lives.
    let assistant = &drainer.assistant;
    let (system, id, slot) = (assistant.system(), assistant.id(), assistant.slot());
    // Registered before the slot was made, and never removed while the
    // system lives: always found.
    let Some(actors) = system.actors.get::<ActorType<A>>() else {
        return;
    };
    // The activation this task holds, its last memory estimate, and the
    // panics in a row so far.
    let Resumed {
        mut actor,
        mut memory,
        mut consecutive_panics,
        mut inbox,
    } = slot.resume();
    // Whether the task already let the others run since it last handled a
    // message, and the thread's count of messages sent when that message's
    // turn began (see below).
    let mut lingered = false;
    let mut turn_began = runtime::messages_out();
    // An activation that was there before this task: its actor has been
    // getting messages, and may get more soon (see below).
    let returning = actor.is_some();
    loop {
        // Read once per step: every handled message pays for it.
        let stopping = system.lifecycle.is_stopping();
        if stopping && system.lifecycle.is_abandoning() {
            abandon(system, &actors, id, slot, actor.take(), memory, inbox);
            // Nothing is let in any more, so the slot is empty.
            actors.retire(slot);
            break;
        }
        if inbox.is_empty()
            && actor.is_some()
            && !lingered
            && !stopping
            && (returning || runtime::messages_out() != turn_began)
            && runtime::may_linger()
        {
            // About to go idle while this worker has other tasks to run,
            // most likely the one the actor just sent to: let them run
            // first. If one answers, the answer finds this task still
            // running instead of spawning a new one, which in a request
            // and reply between two actors saves a task per message; an
            // actor that keeps getting messages finds the next ones
            // queued. But an actor just activated whose turn sent nothing
            // (see `runtime::messages_out`) has no answer and no habit to
            // wait for: it goes idle at once (spawn_many about +17 %).
            lingered = true;
            runtime::linger().await;
            continue;
        }
        match slot.next_step(
            &mut inbox,
            &mut actor,
            memory,
            consecutive_panics,
            &system.lifecycle,
        ) {
            Step::Handle(envelope) => {
                lingered = false;
                turn_began = runtime::messages_out();
                if actors.fenced_out(id) {
                    fenced_out(system, &actors, id, slot, actor.take(), memory, envelope);
                    memory = 0;
                    continue;
                }
                if actor.is_some() && actors.state_lost(id) {
                    // A save of an earlier turn met another writer (see
                    // `persistence/pipeline.rs`, which logged it): this
                    // message gets the stored state, not the stale one, and
                    // the stale one goes without `deactivate` (as it does
                    // in `deactivate.rs` if no message comes).
                    drop_activation(system, &actors, id, slot, actor.take(), memory);
                    memory = 0;
                }
                if actor.is_none() {
                    // The calls waiting for this message wait for `activate`
                    // too (the handler gets them from its envelope).
                    let chain = envelope.chain().cloned();
                    let activation = activate(system, &actors, id, slot, assistant);
                    // In a block of its own, which ends before the evictions
                    // are awaited: nothing of the outcome then stays in every
                    // drain task's future.
                    let evictions = {
                        let activation = Box::pin(run_with_chain(chain, activation)).await;
                        match activation {
                            Activation::Ready(fresh) => {
                                memory = estimate_memory(&fresh, 0);
                                actor = Some(fresh);
                                actors.resized(system, 0, memory)
                            }
                            Activation::Failed(cause) => {
                                consecutive_panics = consecutive_panics.saturating_add(1);
                                activation_failed(
                                    &actors,
                                    id,
                                    &mut inbox,
                                    envelope,
                                    consecutive_panics,
                                    cause,
                                );
                                continue;
                            }
                            Activation::StateFailed(error) => {
                                // Not a panic: the next message tries again.
                                if !envelope.refuse(error) {
                                    actors.counters.messages_dropped(1);
                                }
                                continue;
                            }
                            Activation::Abandoned => {
                                // Abandoned with the rest at the loop's top.
                                inbox.push_front(envelope);
                                continue;
                            }
                        }
                    };
                    if let Some(evictions) = evictions {
                        evictions.await;
                    }
                }
                let Some(current) = actor.as_mut() else {
                    continue;
                };
                let message = envelope.message_type();
                let handler =
                    handler_span::actor::<A>(id, message, envelope.handle(current, assistant));
                // In a block that ends before the evictions are awaited: the
                // outcome then takes no room in every drain task's future.
                let evictions = {
                    let outcome = if stopping {
                        // Cold: a handler started during shutdown may be cut
                        // short by its deadline (its caller gets `Stopped`).
                        match cut_short(&system.lifecycle, handler).await {
                            Some(outcome) => outcome,
                            None => {
                                actors.counters.abandoned(0, 1);
                                continue;
                            }
                        }
                    } else {
                        catch(handler).await
                    };
                    match outcome {
                        Err(panic) => {
                            consecutive_panics = consecutive_panics.saturating_add(1);
                            log::error!(
                                "the handler of {message} in actor {} {id:?} panicked \
                                 ({consecutive_panics} panic(s) in a row): {panic}; the \
                                 message is dropped (its caller gets an error), and the \
                                 activation too, without deactivate: the next message \
                                 activates the actor afresh",
                                type_name::<A>()
                            );
                            actors.counters.handler_panicked();
                            drop_activation(system, &actors, id, slot, actor.take(), memory);
                            memory = 0;
                            None
                        }
                        Ok(()) => {
                            consecutive_panics = 0;
                            let estimate = estimate_memory(current, memory);
                            let evictions = actors.resized(system, memory, estimate);
                            memory = estimate;
                            evictions
                        }
                    }
                };
                if let Some(evictions) = evictions {
                    evictions.await;
                }
            }
            Step::Deactivate(reason) => {
                if let Some(current) = actor.take() {
                    // Boxed, as is `activate`: cold paths whose futures hold
                    // the user's own `deactivate` future, of any size, which
                    // every drain task would otherwise carry.
                    Box::pin(deactivate(
                        system, &actors, assistant, current, memory, reason,
                    ))
                    .await;
                    memory = 0;
                }
            }
            Step::Retire => {
                if actors.retire(slot) {
                    break;
                }
            }
            Step::Idle => {
                // Within limits this is a few loads. Over them (every
                // activation was busy, or this one grew), this actor being
                // idle now may let the budget be enforced.
                if let Some(evictions) = actors.enforce_limits(system, Some(slot)) {
                    evictions.await;
                }
                break;
            }
        }
    }
}

/// A handler's outcome (`Err` with the panic's message), or `None` if the
/// shutdown deadline cut it short.
type CutShort<'a> = Pin<Box<dyn Future<Output = Option<Result<(), String>>> + Send + 'a>>;

/// A handler started during shutdown, raced against the deadline (see
/// `Lifecycle::unless_abandoned`). Cold, boxed and kept out of line, so
/// that the drain task's poll, which every message goes through, holds only
/// a pointer and a call for it.
#[cold]
#[inline(never)]
fn cut_short<'a>(
    lifecycle: &'a Lifecycle,
    handler: impl Future<Output = ()> + Send + 'a,
) -> CutShort<'a> {
    Box::pin(lifecycle.unless_abandoned(catch(handler)))
}

/// The shutdown deadline passed: drops the activation the drain task holds
/// without `deactivate`, and every message it holds or its mailbox holds,
/// telling their callers [`Error::Stopped`]; counts them all. Cold, and
/// kept out of the drain task's poll, which every message goes through.
#[cold]
#[inline(never)]
fn abandon<A: Actor>(
    system: &System,
    actors: &ActorType<A>,
    id: &A::Id,
    slot: &Slot<A>,
    actor: Option<A>,
    memory: usize,
    inbox: Inbox<A>,
) {
    let abandoned_activation = actor.is_some();
    if let Some(actor) = &actor {
        actors.state_abandoned(id, actor);
    }
    drop_activation(system, actors, id, slot, actor, memory);
    let mut messages = 0;
    for mut batch in [inbox, slot.take_all()] {
        while let Some(envelope) = batch.pop_front() {
            envelope.refuse(Error::Stopped);
            messages += 1;
        }
    }
    actors
        .counters
        .abandoned(u64::from(abandoned_activation), messages);
}

/// Drops the activation `actor` of `memory` bytes without `deactivate`
/// (its handler panicked, another writer saved its state, or the shutdown
/// deadline passed), and tells the budgets and the slot.
#[cold]
#[inline(never)]
fn drop_activation<A: Actor>(
    system: &System,
    actors: &ActorType<A>,
    id: &A::Id,
    slot: &Slot<A>,
    actor: Option<A>,
    memory: usize,
) {
    if let Some(actor) = actor {
        catch_sync("dropping an abandoned actor", || drop(actor));
        actors.activation_ended(system, memory, false);
        slot.activation_ended();
        actors.forget_state(id);
    }
}

/// A cluster's router forbids this node to start messages for `id` (it lost
/// the ID's partition, or its fencing deadline passed): the message is not
/// handled (its caller gets `Unavailable`, safe to send again), and the
/// activation is dropped without `deactivate`, as stale.
#[cold]
#[inline(never)]
fn fenced_out<A: Actor>(
    system: &System,
    actors: &ActorType<A>,
    id: &A::Id,
    slot: &Slot<A>,
    actor: Option<A>,
    memory: usize,
    envelope: ActorEnvelope<A>,
) {
    let error = Error::Unavailable {
        actor: type_name::<A>(),
        reason: format!(
            "this node no longer holds {id:?} (its partition moved, or its lease was lost) and \
             did not handle the message"
        ),
    };
    if !envelope.refuse(error) {
        actors.counters.messages_dropped(1);
    }
    if actor.is_some() {
        actors.counters.abandoned(1, 0);
    }
    drop_activation(system, actors, id, slot, actor, memory);
}

/// `activate` failed for `envelope` (already logged and counted) with
/// `cause`, the `consecutive_panics`th failure in a row: the message gets
/// another attempt first in line, or, at the type's limit, is dropped and
/// its caller told.
#[cold]
#[inline(never)]
fn activation_failed<A: Actor>(
    actors: &ActorType<A>,
    id: &A::Id,
    inbox: &mut Inbox<A>,
    envelope: ActorEnvelope<A>,
    consecutive_panics: u32,
    cause: String,
) {
    if consecutive_panics < actors.max_consecutive_panics {
        // First in line again; it still counts as in hand.
        inbox.push_front(envelope);
        return;
    }
    log::error!(
        "activate of actor {} {id:?} failed {consecutive_panics} time(s) in a row ({cause}): \
         a message is dropped, and the next one gets one activation attempt",
        type_name::<A>()
    );
    let failure = Error::ActivationFailed {
        actor: type_name::<A>(),
        id: format!("{id:?}"),
        cause,
    };
    if !envelope.refuse(failure) {
        actors.counters.messages_dropped(1);
    }
}

/// `actor.memory_size()`, capped at `u32::MAX` bytes (the slot keeps it in
/// 4 bytes), or `previous` if it panics.
fn estimate_memory<A: Actor>(actor: &A, previous: usize) -> usize {
    std::panic::catch_unwind(AssertUnwindSafe(|| actor.memory_size()))
        .map(|estimate| estimate.min(u32::MAX as usize))
        .unwrap_or_else(|_| {
            log::error!(
                "memory_size of actor {} panicked; its previous estimate is kept",
                type_name::<A>()
            );
            previous
        })
}
