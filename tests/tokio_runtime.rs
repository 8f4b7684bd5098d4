//! The `tokio` feature: actors and services run on the system's own worker
//! threads, inside a tokio runtime's context, so that handlers can use
//! tokio-based libraries; and blocking a tokio thread no longer holds the
//! system back. Run with `cargo test --features tokio`.
#![cfg(feature = "tokio")]

use std::thread;
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Receive, Respond,
};

struct Probe;
impl Actor for Probe {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Probe)
    }
}

/// Where the handler ran, and where a task it spawned on tokio ran, after
/// using tokio's timer, as a handler built on tokio-based libraries would.
#[derive(Debug)]
struct Places {
    handler: Option<String>,
    spawned: Option<String>,
}

fn thread_name() -> Option<String> {
    thread::current().name().map(str::to_owned)
}

struct WhereAmI;
impl Respond<WhereAmI> for Probe {
    type Response = Places;
    async fn handle(&mut self, _: WhereAmI, _: &ActorAssistant<Self>) -> Places {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let spawned = tokio::spawn(async { thread_name() }).await.unwrap();
        Places {
            handler: thread_name(),
            spawned,
        }
    }
}

fn on_a_worker(places: &Places) -> bool {
    places
        .handler
        .as_deref()
        .is_some_and(|name| name.starts_with("acteur-worker-"))
}

#[test]
fn inside_a_runtime_handlers_run_on_the_pool_and_spawn_on_that_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("callers-runtime")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sys = Acteur::new();
        let places = sys
            .call_actor::<Probe, WhereAmI>(1, WhereAmI)
            .await
            .unwrap();
        assert!(on_a_worker(&places), "{places:?}");
        assert_eq!(places.spawned.as_deref(), Some("callers-runtime"));
        sys.stop();
        sys.stopped().await;
    });
}

#[test]
fn a_runtime_given_to_the_builder_is_the_one_entered() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("given-runtime")
        .enable_all()
        .build()
        .unwrap();
    let sys = Acteur::builder()
        .tokio_handle(runtime.handle().clone())
        .build();
    let places = sys.call_actor_sync::<Probe, WhereAmI>(1, WhereAmI).unwrap();
    assert!(on_a_worker(&places), "{places:?}");
    assert_eq!(places.spawned.as_deref(), Some("given-runtime"));
    sys.stop();
    sys.wait_until_stopped();
}

#[test]
fn outside_any_runtime_a_system_starts_a_small_one_of_its_own() {
    let sys = Acteur::new();
    let places = sys.call_actor_sync::<Probe, WhereAmI>(1, WhereAmI).unwrap();
    assert!(on_a_worker(&places), "{places:?}");
    assert_eq!(places.spawned.as_deref(), Some("acteur-tokio"));
    sys.stop();
    sys.wait_until_stopped();
}

#[tokio::test]
async fn a_current_thread_runtime_serves_async_calls_and_refuses_blocking_ones() {
    let sys = Acteur::new();
    let places = sys
        .call_actor::<Probe, WhereAmI>(1, WhereAmI)
        .await
        .unwrap();
    assert!(on_a_worker(&places), "{places:?}");
    // Blocking here would block the one thread that drives the handlers'
    // timers and I/O.
    let blocked = sys.call_actor_sync::<Probe, WhereAmI>(1, WhereAmI);
    assert!(
        matches!(
            blocked,
            Err(Error::BlockingCallOnRuntimeThread {
                method: "call_actor_sync",
                ..
            })
        ),
        "{blocked:?}"
    );
    sys.stop();
    sys.wait_until_stopped(); // Logs an error and returns instead of hanging.
    sys.stopped().await;
}

#[test]
fn the_global_system_outlives_the_runtime_it_was_first_used_in() {
    for _ in 0..2 {
        // Each runtime is dropped at the end of its round, as a
        // `#[tokio::test]`'s is at the end of its test.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let places = runtime.block_on(async {
            Acteur::global()
                .call_actor::<Probe, WhereAmI>(7, WhereAmI)
                .await
                .unwrap()
        });
        assert!(on_a_worker(&places), "{places:?}");
        assert_eq!(places.spawned.as_deref(), Some("acteur-tokio"));
    }
}

/// One message waits at most.
struct Narrow;
impl Actor for Narrow {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Narrow)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            mailbox_capacity: Some(1),
            ..Default::default()
        }
    }
}
struct Note;
impl Receive<Note> for Narrow {
    async fn handle(&mut self, _: Note, _: &ActorAssistant<Self>) {}
}
struct Ping;
impl Respond<Ping> for Narrow {
    type Response = ();
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

/// A multi-thread runtime with a system built inside it: `_sync` calls
/// made from its tasks block tokio's workers, which the system's tasks no
/// longer run on, so each returns. Before, a task the system spawned from a
/// blocked worker waited in that worker's slot, and the call with it.
fn runtime_and_system() -> (tokio::runtime::Runtime, Acteur) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A hang shows as a timeout, not as a test that never ends.
    let sys = runtime.block_on(async {
        Acteur::builder()
            .call_timeout(Duration::from_secs(20))
            .build()
    });
    (runtime, sys)
}

#[test]
fn blocking_calls_from_tasks_on_the_systems_runtime_are_answered() {
    let (runtime, sys) = runtime_and_system();
    let calls: Vec<_> = (0..5)
        .map(|id| {
            let sys = sys.clone();
            runtime.spawn(async move { sys.call_actor_sync::<Narrow, Ping>(id, Ping) })
        })
        .collect();
    runtime.block_on(async {
        for call in calls {
            assert_eq!(call.await.unwrap(), Ok(()));
        }
    });
    sys.stop();
    sys.wait_until_stopped();
}

#[test]
fn blocking_sends_into_a_full_mailbox_from_tasks_on_the_systems_runtime_return() {
    let (runtime, sys) = runtime_and_system();
    let sends: Vec<_> = (0..3)
        .map(|_| {
            let sys = sys.clone();
            runtime.spawn(async move {
                (0..100).try_for_each(|_| sys.send_to_actor_sync::<Narrow, Note>(9, Note))
            })
        })
        .collect();
    runtime.block_on(async {
        for send in sends {
            assert_eq!(send.await.unwrap(), Ok(()));
        }
    });
    sys.stop();
    sys.wait_until_stopped();
}

#[test]
fn stopping_and_waiting_from_a_task_on_the_systems_runtime_returns() {
    let (runtime, sys) = runtime_and_system();
    sys.call_actor_sync::<Narrow, Ping>(1, Ping).unwrap();
    let stopped = runtime.spawn(async move {
        sys.stop();
        sys.wait_until_stopped();
    });
    runtime.block_on(stopped).unwrap();
}
