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

use futures_channel::oneshot;

use crate::runtime::worker_count;
use crate::statistics::ServiceStatistics;
use crate::system::System;
use crate::system::context::{self, TaskContext};
use crate::system::envelope::ServiceEnvelope;
use crate::system::panics::{catch, catch_sync};
use crate::{Error, Service, ServiceAssistant};

pub(crate) struct ServicePool<S: Service> {
    state: Mutex<PoolState<S>>,
}

struct PoolState<S: Service> {
    phase: Phase<S>,
    queue: VecDeque<ServiceEnvelope<S>>,
    workers: usize,
    in_flight: usize,
    handled: u64,
    panics: u64,
    dropped: u64,
}

enum Phase<S> {
    /// Not started, or the last `initialize` failed.
    Down,
    /// `initialize` runs; the senders waiting for its outcome.
    Starting(Vec<oneshot::Sender<Result<(), Error>>>),
    Up {
        service: Arc<S>,
        handler_limit: usize,
    },
}

/// The type-independent view of a service pool, for shutdown and statistics.
pub(crate) trait ServicePoolControl: Send + Sync {
    /// Takes and releases the pool's lock, so that every sender that saw the
    /// system running has counted its workers before shutdown waits for them.
    fn fence(&self);
    fn statistics(&self) -> ServiceStatistics;
}

impl<S: Service> ServicePool<S> {
    pub(crate) fn new() -> Self {
        ServicePool {
            state: Mutex::new(PoolState {
                phase: Phase::Down,
                queue: VecDeque::new(),
                workers: 0,
                in_flight: 0,
                handled: 0,
                panics: 0,
                dropped: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn address(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Queues `envelope` (or, with `None`, only makes sure the service is
    /// up), starting the service first if needed; a sender from outside the
    /// service's own `initialize` waits for it to finish.
    pub(crate) async fn deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        mut envelope: Option<ServiceEnvelope<S>>,
    ) -> Result<(), Error> {
        let inside_own_start = context::current().is_some_and(|c| c.initializing == self.address());
        loop {
            let Some(start_outcome) = self.enqueue(system, &mut envelope, inside_own_start)? else {
                return Ok(());
            };
            // A failed start is this sender's error; after a successful one
            // (or a lost outcome), look at the phase again.
            if let Ok(Err(error)) = start_outcome.await {
                return Err(error);
            }
        }
    }

    /// Queues a published message at once, whatever the phase: a failed
    /// start drops it, as nobody waits for it.
    pub(crate) fn enqueue_published(
        self: &Arc<Self>,
        system: &Arc<System>,
        envelope: ServiceEnvelope<S>,
    ) -> Result<(), Error> {
        self.enqueue(system, &mut Some(envelope), true).map(drop)
    }

    /// Starts the service if it is down. Queues `envelope` if the service is
    /// up or if `queue_while_starting`; otherwise returns where the outcome
    /// of the start in progress will arrive.
    fn enqueue(
        self: &Arc<Self>,
        system: &Arc<System>,
        envelope: &mut Option<ServiceEnvelope<S>>,
        queue_while_starting: bool,
    ) -> Result<Option<oneshot::Receiver<Result<(), Error>>>, Error> {
        let mut state = self.lock();
        if system.lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        if matches!(state.phase, Phase::Down) {
            state.phase = Phase::Starting(Vec::new());
            system.lifecycle.task_started();
            self.spawn_initialize(system);
        }
        match &mut state.phase {
            Phase::Starting(waiters) if !queue_while_starting => {
                let (sender, receiver) = oneshot::channel();
                waiters.push(sender);
                Ok(Some(receiver))
            }
            _ => {
                if let Some(envelope) = envelope.take() {
                    state.queue.push_back(envelope);
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
            system.spawn_counted(
                TaskContext::default(),
                self.clone().work(system.clone(), service.clone()),
            );
        }
    }

    fn spawn_initialize(self: &Arc<Self>, system: &Arc<System>) {
        let context = TaskContext {
            initializing: self.address(),
            ..TaskContext::default()
        };
        system.spawn_counted(context, self.clone().initialize(system.clone()));
    }

    /// Runs `initialize`, then opens the pool or reports the failure.
    async fn initialize(self: Arc<Self>, system: Arc<System>) {
        let assistant = ServiceAssistant::new(system.handle());
        let started = match catch(S::initialize(&assistant)).await {
            Ok((service, configuration)) => match configuration
                .concurrency
                .handler_limit(worker_count(), type_name::<S>())
            {
                Ok(handler_limit) => Ok((service, handler_limit)),
                Err(error) => {
                    catch_sync("dropping a misconfigured service", || drop(service));
                    Err(error)
                }
            },
            Err(panic) => {
                log::error!(
                    "initialize of service {} panicked: {panic}",
                    type_name::<S>()
                );
                Err(Error::ServiceInitFailed {
                    service: type_name::<S>(),
                })
            }
        };
        let (waiters, refused, result) = {
            let mut state = self.lock();
            let waiters = match std::mem::replace(&mut state.phase, Phase::Down) {
                Phase::Starting(waiters) => waiters,
                _ => Vec::new(),
            };
            match started {
                Ok((service, handler_limit)) => {
                    log::debug!("service {} started", type_name::<S>());
                    state.phase = Phase::Up {
                        service: Arc::new(service),
                        handler_limit,
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
            let envelope = {
                let mut state = self.lock();
                if let Some(panicked) = finished {
                    state.in_flight -= 1;
                    if panicked {
                        state.panics += 1;
                    } else {
                        state.handled += 1;
                    }
                }
                match state.queue.pop_front() {
                    Some(envelope) => {
                        state.in_flight += 1;
                        envelope
                    }
                    None => {
                        state.workers -= 1;
                        return;
                    }
                }
            };
            let outcome = catch(envelope.handle(&service, &assistant)).await;
            if let Err(panic) = &outcome {
                log::error!(
                    "a handler of service {} panicked: {panic}; the service goes on",
                    type_name::<S>()
                );
            }
            finished = Some(outcome.is_err());
        }
    }
}

impl<S: Service> ServicePoolControl for ServicePool<S> {
    fn fence(&self) {
        drop(self.lock());
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
        }
    }
}
