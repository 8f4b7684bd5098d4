//! Shutdown: always returns, refuses new work, finishes queued work, and
//! deactivates every live activation exactly once.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Error, Listen, Receive, Respond, Serve, Service,
    ServiceAssistant, ServiceConfiguration,
};
use futures_lite::future::block_on;

use crate::helpers::{shut_down, wait_stopped};

static HANDLED: AtomicUsize = AtomicUsize::new(0);
static DEACTIVATED: AtomicUsize = AtomicUsize::new(0);

/// Counts handled messages and deactivations (for the queued-work test only).
struct Worker;
impl Actor for Worker {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Worker)
    }
    async fn deactivate(&mut self, _: &ActorAssistant<Self>) {
        DEACTIVATED.fetch_add(1, SeqCst);
    }
}
#[derive(Clone)]
struct Job;
impl Receive<Job> for Worker {
    async fn handle(&mut self, _: Job, _: &ActorAssistant<Self>) {
        HANDLED.fetch_add(1, SeqCst);
    }
}

#[test]
fn queued_messages_are_handled_before_each_actor_is_deactivated_once() {
    let sys = Acteur::new();
    for i in 0..5_000 {
        sys.send_to_actor_sync::<Worker, Job>(i % 10, Job).unwrap();
    }
    shut_down(&sys);
    assert_eq!(HANDLED.load(SeqCst), 5_000);
    assert_eq!(DEACTIVATED.load(SeqCst), 10);
    let stats = sys.statistics();
    let worker = stats.actor::<Worker>().unwrap();
    assert_eq!(
        (
            worker.activations,
            worker.deactivations,
            worker.active_actors
        ),
        (10, 10, 0)
    );
}

struct Idle;
impl Actor for Idle {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Idle)
    }
}
impl Receive<Job> for Idle {
    async fn handle(&mut self, _: Job, _: &ActorAssistant<Self>) {}
}
impl Respond<Job> for Idle {
    type Response = ();
    async fn handle(&mut self, _: Job, _: &ActorAssistant<Self>) {}
}

#[derive(Clone)]
struct Note;
struct Desk;
impl Service for Desk {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Desk, ServiceConfiguration::default()))
    }
}
impl Listen<Note> for Desk {
    async fn handle(&self, _: Note, _: &ServiceAssistant<Self>) {}
}
impl Serve<Note> for Desk {
    type Response = ();
    async fn handle(&self, _: Note, _: &ServiceAssistant<Self>) {}
}

#[track_caller]
fn stopped(result: Result<(), Error>) {
    assert_eq!(result, Err(Error::Stopped));
}

#[test]
fn after_stop_every_method_returns_stopped() {
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Idle, Job>(1, Job).unwrap();
    sys.send_to_service_sync::<Desk, Note>(Note).unwrap();
    shut_down(&sys);
    stopped(sys.send_to_actor_sync::<Idle, Job>(1, Job));
    stopped(sys.call_actor_sync::<Idle, Job>(1, Job));
    stopped(sys.send_to_all_actors_sync::<Idle, Job>(Job));
    stopped(
        sys.schedule_send_to_actor_sync::<Idle, Job>(1, Duration::from_millis(1), Job)
            .map(drop),
    );
    stopped(sys.send_to_service_sync::<Desk, Note>(Note));
    stopped(sys.call_service_sync::<Desk, Note>(Note));
    stopped(sys.publish_sync(Note));
    stopped(sys.preload_service_sync::<Desk>());
    // Types never seen before are refused too.
    stopped(sys.send_to_actor_sync::<Worker, Job>(1, Job));
    block_on(async {
        stopped(sys.send_to_actor::<Idle, Job>(1, Job).await);
        stopped(sys.call_actor::<Idle, Job>(1, Job).await);
        stopped(sys.publish(Note).await);
        stopped(sys.preload_service::<Desk>().await);
    });
}

#[test]
fn stop_returns_in_every_state() {
    // Nothing ever started.
    let fresh = Acteur::new();
    shut_down(&fresh);
    // Twice, and waiting again.
    shut_down(&fresh);
    wait_stopped(&fresh);

    // After every actor already deactivated itself.
    let sys = Acteur::new();
    sys.call_actor_sync::<Idle, Job>(1, Job).unwrap();
    shut_down(&sys);
    block_on(sys.stopped());
}

#[test]
fn stopping_right_after_calls_does_not_wait_for_their_deadlines() {
    // Each call here has a 60 s deadline, past the 20 s patience of
    // `shut_down`: a shutdown that waited for a deadline of a call already
    // answered would fail. The race it guards against (a call ending just
    // as the system stops, while the timeout sweeper looks) is narrow, hence
    // many systems, from several threads at once so that they preempt one
    // another.
    let rounds: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for round in 0..100 {
                    let sys = Acteur::builder()
                        .call_timeout(Duration::from_secs(60))
                        .build();
                    sys.call_actor_sync::<Idle, Job>(round, Job).unwrap();
                    sys.call_service_sync::<Desk, Note>(Note).unwrap();
                    shut_down(&sys);
                }
            })
        })
        .collect();
    for round in rounds {
        round.join().unwrap();
    }
}

#[test]
fn several_threads_stop_and_wait_at_once() {
    let sys = Acteur::new();
    for id in 0..100 {
        sys.send_to_actor_sync::<Idle, Job>(id, Job).unwrap();
    }
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let sys = sys.clone();
            thread::spawn(move || {
                sys.stop();
                wait_stopped(&sys);
            })
        })
        .collect();
    for waiter in waiters {
        waiter.join().unwrap();
    }
    assert_eq!(sys.statistics().actor::<Idle>().unwrap().active_actors, 0);
}

/// Stops the system from inside a handler.
struct Stopper;
impl Actor for Stopper {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Stopper)
    }
}
impl Respond<Job> for Stopper {
    type Response = Result<(), Error>;
    async fn handle(&mut self, _: Job, assistant: &ActorAssistant<Self>) -> Result<(), Error> {
        assistant.stop_system();
        // Already stopping: new messages are refused, even from handlers.
        assistant.send_to_actor::<Idle, Job>(1, Job).await
    }
}

#[test]
fn a_handler_can_stop_the_system() {
    let sys = Acteur::new();
    assert_eq!(
        sys.call_actor_sync::<Stopper, Job>(1, Job).unwrap(),
        Err(Error::Stopped)
    );
    wait_stopped(&sys);
}

#[test]
fn stop_returns_after_panics() {
    struct Doomed;
    impl Actor for Doomed {
        type Id = u32;
        async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
            if id == 0 {
                panic!("activation fails (expected by the test)");
            }
            Ok(Doomed)
        }
    }
    impl Receive<Job> for Doomed {
        async fn handle(&mut self, _: Job, _: &ActorAssistant<Self>) {
            panic!("handler fails (expected by the test)");
        }
    }
    let sys = Acteur::new();
    for id in 0..10 {
        sys.send_to_actor_sync::<Doomed, Job>(id, Job).unwrap();
    }
    shut_down(&sys);
    let stats = sys.statistics();
    let doomed = stats.actor::<Doomed>().unwrap();
    // ID 0's activation is tried three times (the default
    // `max_consecutive_panics`) before its message is dropped.
    assert_eq!(doomed.activation_failures, 3);
    assert_eq!(doomed.panics, 9);
    assert_eq!(doomed.dropped_messages, 1);
}
