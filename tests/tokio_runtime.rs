//! The `tokio` feature: where a system's tasks run, and what handlers can
//! use there. Run with `cargo test --features tokio`.
#![cfg(feature = "tokio")]

use std::thread;
use std::time::Duration;

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, Respond};

struct Probe;
impl Actor for Probe {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Probe)
    }
}

/// Answers with the name of the thread that ran the handler, after using
/// tokio's timer and spawning a tokio task, as a handler built on
/// tokio-based libraries would.
struct WhereAmI;
impl Respond<WhereAmI> for Probe {
    type Response = Option<String>;
    async fn handle(&mut self, _: WhereAmI, _: &ActorAssistant<Self>) -> Option<String> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let spawned = tokio::spawn(async { thread::current().name().map(str::to_owned) });
        spawned.await.unwrap()
    }
}

#[test]
fn a_system_created_inside_a_runtime_runs_on_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("callers-runtime")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sys = Acteur::new();
        let name = sys
            .call_actor::<Probe, WhereAmI>(1, WhereAmI)
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("callers-runtime"));
        sys.stop();
        sys.stopped().await;
    });
}

#[test]
fn a_system_created_outside_any_runtime_starts_its_own() {
    let sys = Acteur::new();
    let name = sys.call_actor_sync::<Probe, WhereAmI>(1, WhereAmI).unwrap();
    assert_eq!(name.as_deref(), Some("acteur-worker"));
    sys.stop();
    sys.wait_until_stopped();
}

#[tokio::test]
async fn a_current_thread_runtime_serves_async_calls_and_refuses_blocking_ones() {
    let sys = Acteur::new();
    let name = sys
        .call_actor::<Probe, WhereAmI>(1, WhereAmI)
        .await
        .unwrap();
    assert!(
        name.is_some(),
        "the test's own thread is named after the test"
    );
    // Blocking here would block the one thread that runs the system.
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
        let name = runtime.block_on(async {
            Acteur::global()
                .call_actor::<Probe, WhereAmI>(7, WhereAmI)
                .await
                .unwrap()
        });
        assert_eq!(name.as_deref(), Some("acteur-worker"));
    }
}
