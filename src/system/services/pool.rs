//! Everything the system keeps for one service type: its start-up, its
//! shared queue, and the workers that drain it.
//!
//! Messages wait in one queue shared by all workers, and a worker is spawned
//! for a new message whenever fewer than the concurrency limit run: a slow
//! message never holds back others while the limit allows more handlers.
//! Workers end when the queue is empty, so an idle service costs no task.

use std::any::type_name;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use event_listener::Event;
use futures_channel::oneshot;
use futures_lite::future;

use crate::runtime;
use crate::runtime::worker_count;
use crate::statistics::ServiceStatistics;
use crate::system::System;
use crate::system::calls::chain::{self, Link};
use crate::system::calls::envelope::{ServiceEnvelope, Tell};
use crate::system::calls::handler_span;
use crate::system::tasks::context::Waiter;
use crate::system::tasks::context::{self, TaskContext};
use crate::system::tasks::panics::{catch, catch_sync};
use crate::{Error, Service, ServiceAssistant, TrySendError};

pub(crate) struct ServicePool<S: Service> {
    state: Mutex<PoolState<S>>,
    /// Senders waiting for room in a full service listen here; told, while
    /// `PoolState::senders_waiting`, when a handler finishes, and all at
    /// once when the system stops.
    room: Event,
}

struct PoolState<S: Service> {
    phase: Phase<S>,
    queue: VecDeque<ServiceEnvelope<S>>,
    workers: usize,
    in_flight: usize,
    /// A sender found the service full since it was last empty (as
    /// `SlotState::senders_waiting` for actors).
    senders_waiting: bool,
    /// The service's `shutdown` hook has been started.
    told_to_shut_down: bool,
    handled: u64,
    panics: u64,
    dropped: u64,
    abandoned: u64,
}

enum Phase<S> {
    /// Not started, or the last `initialize` failed.
    Down,
    /// `initialize` runs; the senders waiting for its outcome.
    Starting(Vec<oneshot::Sender<Result<(), Error>>>),
    Up {
        service: Arc<S>,
        handler_limit: usize,
        /// The most messages queued and in flight together, if bounded.
        capacity: Option<usize>,
    },
}

/// Why a message could not be queued yet.
enum Wait {
    /// The service is starting: the outcome of its `initialize` arrives here.
    Start(oneshot::Receiver<Result<(), Error>>),
    /// The service holds its capacity.
    Room,
}

/// The type-independent view of a service pool, for shutdown and statistics.
pub(crate) trait ServicePoolControl: Send + Sync {
    /// Takes and releases the pool's lock, so that every sender that saw the
    /// system running has counted its workers before shutdown waits for them.
    fn fence(&self);
    /// Starts the service's `shutdown` hook in a task of its own, if the
    /// service is up and has not been told yet; true if it did.
    fn begin_shutdown(self: Arc<Self>, system: &Arc<System>) -> bool;
    /// At the shutdown deadline: drops every queued message, telling the
    /// callers of requests [`Error::Stopped`], and counts them.
    fn abandon(&self);
    fn statistics(&self) -> ServiceStatistics;
}

impl<S: Service> ServicePool<S> {
    pub(crate) fn new() -> Self {
        ServicePool {
            room: Event::new(),
            state: Mutex::new(PoolState {
                phase: Phase::Down,
                queue: VecDeque::new(),
                workers: 0,
                in_flight: 0,
                senders_waiting: false,
                told_to_shut_down: false,
                handled: 0,
                panics: 0,
                dropped: 0,
                abandoned: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn address(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// This service as a member of call chains; `blocks` if nothing else of
    /// it runs while its code waits.
    fn waiter(self: &Arc<Self>, blocks: bool) -> Waiter {
        Waiter::new(self.address(), blocks, |_, _| describe::<S>())
    }

    /// Queues `envelope` (or, with `None`, only makes sure the service is
    /// up), starting the service first if needed. A sender from outside the
    /// system waits for `initialize` to finish, to learn whether it failed,
    /// unless the system begins stopping meanwhile; code inside the system
    /// never does, since `initialize` may be waiting for it (two services
    /// whose `initialize`s send to each other). A sender from outside the
    /// service itself waits while it is full.
    pub(crate) async fn deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        mut envelope: Option<ServiceEnvelope<S>>,
    ) -> Result<(), Error> {
        let queue_while_starting = system.is_inside();
        let bounded = self.bounded_for_caller();
        let mut room = None;
        loop {
            match self.enqueue(system, &mut envelope, queue_while_starting, bounded)? {
                None => return Ok(()),
                // A failed start is this sender's error; after a successful
                // one (or a lost outcome), look at the phase again.
                Some(Wait::Start(outcome)) => {
                    let stopping = async {
                        system.lifecycle.stopping().await;
                        Ok(Err(Error::Stopped))
                    };
                    if let Ok(Err(error)) = future::or(outcome, stopping).await {
                        return Err(error);
                    }
                }
                // Listen first, then look again: room made in between is seen.
                Some(Wait::Room) => match room.take() {
                    None => room = Some(self.room.listen()),
                    Some(listener) => listener.await,
                },
            }
        }
    }

    /// The error if a request carrying `chain` to this service would wait
    /// for itself (see `calls/chain.rs`); checked before it is queued.
    pub(crate) fn check_deadlock(
        self: &Arc<Self>,
        system: &System,
        chain: &Arc<Link>,
    ) -> Result<(), Error> {
        chain::check(system, chain, self.address(), describe::<S>)
    }

    /// Queues `message` now, or hands it back with the reason:
    /// [`Error::MailboxFull`] if the service holds its capacity, or any
    /// refusal. A service not up yet is started, and the message waits in
    /// its queue meanwhile; if the start fails, it is dropped (or its caller
    /// told) like every message queued for it.
    pub(crate) fn try_deliver<M: Send + 'static>(
        self: &Arc<Self>,
        system: &Arc<System>,
        message: M,
    ) -> Result<(), TrySendError<M>>
    where
        S: crate::Listen<M>,
    {
        let mut envelope: Option<ServiceEnvelope<S>> = Some(Box::new(Tell(message)));
        let error = match self.enqueue(system, &mut envelope, true, self.bounded_for_caller()) {
            Ok(None) => return Ok(()),
            Ok(Some(_)) => Error::MailboxFull,
            Err(error) => error,
        };
        let message = envelope.map(|envelope| Tell::open(envelope.into_any()));
        match message {
            Some(message) => Err(TrySendError::new(error, message)),
            // `enqueue` takes the envelope only when it queues it.
            None => unreachable!("a refused message is still in hand"),
        }
    }

    /// Queues an interval's tick for the service, whatever its capacity (the
    /// interval queues one tick at a time); hands it back if refused.
    pub(crate) fn push_tick(
        self: &Arc<Self>,
        system: &Arc<System>,
        envelope: ServiceEnvelope<S>,
    ) -> Result<(), ServiceEnvelope<S>> {
        let mut envelope = Some(envelope);
        match self.enqueue(system, &mut envelope, true, false) {
            Ok(None) => Ok(()),
            Ok(Some(_)) | Err(_) => {
                Err(envelope.unwrap_or_else(|| unreachable!("a refused tick is still in hand")))
            }
        }
    }

    /// Queues a published message: at once if there is room or the service
    /// is not up yet (a failed start drops it, as nobody waits for it);
    /// otherwise returns the wait for room, to be awaited by the publisher.
    pub(crate) fn enqueue_published(
        self: &Arc<Self>,
        system: &Arc<System>,
        envelope: ServiceEnvelope<S>,
    ) -> Result<Option<PublishWait>, Error> {
        let mut envelope = Some(envelope);
        match self.enqueue(system, &mut envelope, true, self.bounded_for_caller())? {
            None => Ok(None),
            Some(_) => {
                let (pool, system) = (self.clone(), system.clone());
                Ok(Some(Box::pin(async move {
                    if let Err(error) = pool.deliver(&system, envelope).await {
                        log::debug!("a published message was not delivered: {error}");
                    }
                })))
            }
        }
    }

    /// Whether the service's capacity applies to the code running now: not
    /// to the service's own code, which waiting for room in it could make
    /// wait for itself.
    fn bounded_for_caller(self: &Arc<Self>) -> bool {
        context::current().is_none_or(|current| current.service != self.address())
    }

    /// Starts the service if it is down. Queues `envelope` if the service
    /// is up and, when `bounded`, has room; or if it is starting and
    /// `queue_while_starting`. Otherwise says what to wait for.
    fn enqueue(
        self: &Arc<Self>,
        system: &Arc<System>,
        envelope: &mut Option<ServiceEnvelope<S>>,
        queue_while_starting: bool,
        bounded: bool,
    ) -> Result<Option<Wait>, Error> {
        let mut state = self.lock();
        if system.lifecycle.is_stopping() && !system.serves_caller() {
            return Err(Error::Stopped);
        }
        if matches!(state.phase, Phase::Down) {
            state.phase = Phase::Starting(Vec::new());
            system.lifecycle.task_started();
            self.spawn_initialize(system);
        }
        let held = state.queue.len() + state.in_flight;
        match &mut state.phase {
            Phase::Starting(waiters) if !queue_while_starting => {
                let (sender, receiver) = oneshot::channel();
                waiters.push(sender);
                Ok(Some(Wait::Start(receiver)))
            }
            Phase::Up {
                capacity: Some(capacity),
                ..
            } if bounded && envelope.is_some() && held >= *capacity => {
                state.senders_waiting = true;
                Ok(Some(Wait::Room))
            }
            _ => {
                if let Some(envelope) = envelope.take() {
                    state.queue.push_back(envelope);
                    runtime::note_message_out();
                    self.spawn_workers(&mut state, system);
                }
                Ok(None)
            }
        }
    }

    /// Spawns workers for the queued messages, up to the handler limit.
    fn spawn_workers(self: &Arc<Self>, state: &mut PoolState<S>, system: &Arc<System>) {
        let Phase::Up {
            service,
            handler_limit,
            ..
        } = &state.phase
        else {
            return;
        };
        // Workers not in flight are about to take a message: spawn only for
        // messages beyond them.
        while state.workers < *handler_limit && state.workers - state.in_flight < state.queue.len()
        {
            state.workers += 1;
            system.lifecycle.task_started();
            let context = TaskContext {
                // One handler at a time: while it awaits a call, nothing
                // else of this service runs.
                waiter: Some(self.waiter(*handler_limit == 1)),
                service: self.address(),
                ..TaskContext::default()
            };
            system.spawn_counted(context, self.clone().work(system.clone(), service.clone()));
        }
    }

    fn spawn_initialize(self: &Arc<Self>, system: &Arc<System>) {
        // Nothing else of the service runs before `initialize` returns.
        let context = TaskContext {
            waiter: Some(self.waiter(true)),
            service: self.address(),
            ..TaskContext::default()
        };
        system.spawn_counted(context, self.clone().initialize(system.clone()));
    }

    /// Runs `initialize`, then opens the pool or reports the failure.
    async fn initialize(self: Arc<Self>, system: Arc<System>) {
        let assistant = ServiceAssistant::new(system.handle());
        let attempt = catch(S::initialize(&assistant));
        let outcome = system.lifecycle.within_shutdown_deadline(attempt).await;
        let failed = |cause: String| Error::ServiceInitFailed {
            service: type_name::<S>(),
            cause,
        };
        let started = match outcome {
            Some(Ok(Ok((service, configuration)))) => match configuration.check(type_name::<S>()) {
                Ok(()) => Ok((
                    service,
                    configuration.concurrency.handler_limit(worker_count()),
                    configuration.capacity,
                )),
                Err(error) => {
                    catch_sync("dropping a misconfigured service", || drop(service));
                    Err(error)
                }
            },
            Some(Ok(Err(error))) => {
                let cause = error.to_string();
                log::error!(
                    "initialize of service {} returned an error: {cause}",
                    type_name::<S>()
                );
                Err(failed(cause))
            }
            Some(Err(panic)) => {
                log::error!(
                    "initialize of service {} panicked: {panic}",
                    type_name::<S>()
                );
                Err(failed(panic))
            }
            None => Err(Error::Stopped),
        };
        let (waiters, refused, result) = {
            let mut state = self.lock();
            let waiters = match std::mem::replace(&mut state.phase, Phase::Down) {
                Phase::Starting(waiters) => waiters,
                _ => Vec::new(),
            };
            match started {
                Ok((service, handler_limit, capacity)) => {
                    log::info!("service {} started", type_name::<S>());
                    state.phase = Phase::Up {
                        service: Arc::new(service),
                        handler_limit,
                        capacity,
                    };
                    self.spawn_workers(&mut state, &system);
                    (waiters, VecDeque::new(), Ok(()))
                }
                Err(error) => {
                    let refused = std::mem::take(&mut state.queue);
                    (waiters, refused, Err(error))
                }
            }
        };
        if let Err(error) = &result {
            let told = refused
                .into_iter()
                .map(|envelope| envelope.refuse(error.clone()));
            let dropped = told.filter(|told| !told).count() as u64;
            if dropped > 0 {
                log::error!("{dropped} fire-and-forget message(s) dropped: {error}");
                self.lock().dropped += dropped;
            }
        }
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
    }

    /// One worker: handles queued messages until the queue is empty.
    async fn work(self: Arc<Self>, system: Arc<System>, service: Arc<S>) {
        let assistant = ServiceAssistant::new(system.handle());
        let mut finished: Option<bool> = None;
        loop {
            let next = {
                let mut state = self.lock();
                if let Some(panicked) = finished {
                    state.in_flight -= 1;
                    if panicked {
                        state.panics += 1;
                    } else {
                        state.handled += 1;
                    }
                }
                let next = state.queue.pop_front();
                match next {
                    Some(_) => state.in_flight += 1,
                    None => state.workers -= 1,
                }
                if finished.is_some() && state.senders_waiting {
                    // A message left, and the count shows it: room for one
                    // waiting sender; for all of them once the service is
                    // empty. The pool lock orders this with their checks.
                    if state.queue.len() + state.in_flight == 0 {
                        state.senders_waiting = false;
                        self.room.notify_relaxed(usize::MAX);
                    } else {
                        self.room.notify_additional_relaxed(1);
                    }
                }
                next
            };
            let Some(envelope) = next else {
                return;
            };
            let message = envelope.message_type();
            let handler =
                handler_span::service::<S>(message, envelope.handle(&service, &assistant));
            // A handler started during shutdown may be cut short by its
            // deadline (its caller then gets `Stopped`).
            let handled = catch(handler);
            let Some(outcome) = system.lifecycle.within_shutdown_deadline(handled).await else {
                let mut state = self.lock();
                state.in_flight -= 1;
                state.workers -= 1;
                state.abandoned += 1;
                return;
            };
            if let Err(panic) = &outcome {
                log::error!(
                    "the handler of {message} in service {} panicked: {panic}; the service goes on",
                    type_name::<S>()
                );
            }
            finished = Some(outcome.is_err());
        }
    }
}

/// A service as named in errors.
fn describe<S: Service>() -> String {
    type_name::<S>().to_string()
}

/// The publisher's wait for room in a full subscriber.
pub(crate) type PublishWait = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl<S: Service> ServicePoolControl for ServicePool<S> {
    fn fence(&self) {
        drop(self.lock());
        log::info!(
            "service {} stops: it takes no new message, and finishes those it holds",
            type_name::<S>()
        );
        // Senders waiting for room now find the system stopping.
        self.room.notify(usize::MAX);
    }

    fn begin_shutdown(self: Arc<Self>, system: &Arc<System>) -> bool {
        let service = {
            let mut state = self.lock();
            let Phase::Up { service, .. } = &state.phase else {
                return false;
            };
            let service = service.clone();
            if std::mem::replace(&mut state.told_to_shut_down, true) {
                return false;
            }
            // Counted under the pool lock, as workers are.
            system.lifecycle.task_started();
            service
        };
        let context = TaskContext {
            waiter: Some(self.waiter(true)),
            service: self.address(),
            ..TaskContext::default()
        };
        let assistant = ServiceAssistant::new(system.handle());
        let lifecycle = system.lifecycle.clone();
        system.spawn_counted(context, async move {
            log::info!("service {} shuts down", type_name::<S>());
            let hook = catch(service.shutdown(&assistant));
            match lifecycle.unless_abandoned(hook).await {
                Some(Ok(())) => {}
                Some(Err(panic)) => {
                    log::error!("shutdown of service {} panicked: {panic}", type_name::<S>())
                }
                None => log::error!(
                    "shutdown of service {} was cut short by the shutdown deadline",
                    type_name::<S>()
                ),
            }
        });
        true
    }

    fn abandon(&self) {
        let refused = std::mem::take(&mut self.lock().queue);
        let count = refused.len() as u64;
        for envelope in refused {
            envelope.refuse(Error::Stopped);
        }
        self.lock().abandoned += count;
    }

    fn statistics(&self) -> ServiceStatistics {
        let state = self.lock();
        ServiceStatistics {
            name: type_name::<S>(),
            workers: state.workers,
            in_flight: state.in_flight,
            queued_messages: state.queue.len(),
            handled: state.handled,
            panics: state.panics,
            dropped_messages: state.dropped,
            abandoned_messages: state.abandoned,
        }
    }
}
