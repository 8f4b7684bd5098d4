//! Call chains that would wait for themselves fail at once with
//! `Error::Deadlock` naming the chain; everything else waits as usual.

use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Error, Receive, Respond, Serve, Service,
    ServiceAssistant, ServiceConcurrency, ServiceConfiguration,
};
use futures_channel::oneshot;

use crate::helpers::{Reports, eventually, next, shut_down};

/// What a step of a chain does next.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Calls `Alice` with this ID.
    CallAlice(u32),
    /// Calls `Bob` with this ID.
    CallBob(u32),
    /// Calls the one-at-a-time service `Clerk`.
    CallClerk,
    /// Calls the concurrent service `Desk`.
    CallDesk,
    /// Answers.
    Answer,
}

/// A request that walks `route`, one step per hop; the answer is the
/// outcome of the first failed call, or `Ok(())`.
struct Walk(Vec<Then>);

type Outcome = Result<(), Error>;

/// Takes the next step of `route` from any actor or service.
async fn step(acteur: &Acteur, mut route: Vec<Then>) -> Outcome {
    if route.is_empty() {
        return Ok(());
    }
    let next = route.remove(0);
    let walk = Walk(route);
    match next {
        Then::CallAlice(id) => acteur.call_actor::<Alice, Walk>(id, walk).await?,
        Then::CallBob(id) => acteur.call_actor::<Bob, Walk>(id, walk).await?,
        Then::CallClerk => acteur.call_service::<Clerk, Walk>(walk).await?,
        Then::CallDesk => acteur.call_service::<Desk, Walk>(walk).await?,
        Then::Answer => Ok(()),
    }
}

struct Alice;
impl Actor for Alice {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Alice)
    }
}
impl Respond<Walk> for Alice {
    type Response = Outcome;
    async fn handle(&mut self, m: Walk, assistant: &ActorAssistant<Self>) -> Outcome {
        step(&assistant.acteur(), m.0).await
    }
}

struct Bob;
impl Actor for Bob {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Bob)
    }
}
impl Respond<Walk> for Bob {
    type Response = Outcome;
    async fn handle(&mut self, m: Walk, assistant: &ActorAssistant<Self>) -> Outcome {
        step(&assistant.acteur(), m.0).await
    }
}

/// One message at a time.
struct Clerk;
impl Service for Clerk {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let config = ServiceConfiguration {
            concurrency: ServiceConcurrency::None,
            ..Default::default()
        };
        Ok((Clerk, config))
    }
}
impl Serve<Walk> for Clerk {
    type Response = Outcome;
    async fn handle(&self, m: Walk, assistant: &ServiceAssistant<Self>) -> Outcome {
        step(&assistant.acteur(), m.0).await
    }
}

/// Several messages at once.
struct Desk;
impl Service for Desk {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let config = ServiceConfiguration {
            concurrency: ServiceConcurrency::Fixed(4),
            ..Default::default()
        };
        Ok((Desk, config))
    }
}
impl Serve<Walk> for Desk {
    type Response = Outcome;
    async fn handle(&self, m: Walk, assistant: &ServiceAssistant<Self>) -> Outcome {
        step(&assistant.acteur(), m.0).await
    }
}

fn walk(sys: &Acteur, route: Vec<Then>) -> Outcome {
    futures_lite::future::block_on(step(sys, route))
}

fn deadlock_chain(outcome: Outcome) -> String {
    match outcome {
        Err(Error::Deadlock { chain, .. }) => chain,
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

const ALICE: &str = "core::deadlocks::Alice";
const BOB: &str = "core::deadlocks::Bob";

#[test]
fn a_calls_b_calls_a_is_a_deadlock_naming_the_chain() {
    let sys = Acteur::new();
    let chain = deadlock_chain(walk(
        &sys,
        vec![Then::CallAlice(1), Then::CallBob(2), Then::CallAlice(1)],
    ));
    assert_eq!(chain, format!("{ALICE}(1) -> {BOB}(2) -> {ALICE}(1)"));
    shut_down(&sys);
}

#[test]
fn a_long_chain_through_a_one_at_a_time_service_is_a_deadlock() {
    let sys = Acteur::new();
    let chain = deadlock_chain(walk(
        &sys,
        vec![
            Then::CallClerk,
            Then::CallAlice(1),
            Then::CallBob(2),
            Then::CallAlice(3),
            Then::CallClerk,
        ],
    ));
    assert_eq!(
        chain,
        format!(
            "core::deadlocks::Clerk -> {ALICE}(1) -> {BOB}(2) -> {ALICE}(3) -> \
             core::deadlocks::Clerk"
        )
    );
    shut_down(&sys);
}

#[test]
fn a_concurrent_service_on_the_way_is_named_but_is_not_a_deadlock_itself() {
    let sys = Acteur::new();
    // Back to Alice through the desk: Alice waits for herself.
    let chain = deadlock_chain(walk(
        &sys,
        vec![Then::CallAlice(1), Then::CallDesk, Then::CallAlice(1)],
    ));
    assert_eq!(
        chain,
        format!("{ALICE}(1) -> core::deadlocks::Desk -> {ALICE}(1)")
    );
    // Back to the desk: another of its handlers answers.
    assert_eq!(
        walk(
            &sys,
            vec![
                Then::CallDesk,
                Then::CallAlice(1),
                Then::CallDesk,
                Then::Answer
            ]
        ),
        Ok(())
    );
    shut_down(&sys);
}

#[test]
fn chains_without_a_cycle_are_answered() {
    let sys = Acteur::new();
    let routes = [
        vec![Then::CallAlice(1), Then::CallAlice(2), Then::CallBob(1)],
        vec![Then::CallClerk, Then::CallBob(1), Then::CallAlice(1)],
        vec![Then::CallAlice(1), Then::CallBob(1), Then::CallAlice(2)],
    ];
    for route in routes {
        assert_eq!(walk(&sys, route.clone()), Ok(()), "{route:?}");
    }
    shut_down(&sys);
}

/// Tells Bob to call back, then waits for something else: not a deadlock,
/// since a fire-and-forget sender waits for nothing.
struct Caller;
static CALLED_BACK: Reports<Outcome> = Reports::new();
impl Actor for Caller {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Caller)
    }
}
struct Start;
impl Receive<Start> for Caller {
    async fn handle(&mut self, _: Start, assistant: &ActorAssistant<Self>) {
        assistant
            .send_to_actor::<Callee, Start>(1, Start)
            .await
            .unwrap();
    }
}
struct Back;
impl Respond<Back> for Caller {
    type Response = ();
    async fn handle(&mut self, _: Back, _: &ActorAssistant<Self>) {}
}
struct Callee;
impl Actor for Callee {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Callee)
    }
}
impl Receive<Start> for Callee {
    async fn handle(&mut self, _: Start, assistant: &ActorAssistant<Self>) {
        CALLED_BACK.report(assistant.call_actor::<Caller, Back>(1, Back).await);
    }
}

#[test]
fn a_call_back_to_a_fire_and_forget_sender_is_not_a_deadlock() {
    let called_back = CALLED_BACK.listen();
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Caller, Start>(1, Start).unwrap();
    assert_eq!(next(&called_back, "the call back"), Ok(()));
    shut_down(&sys);
}

/// Calls the slow Tortoise with a short timeout and gives up.
struct Hare;
impl Actor for Hare {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Hare)
    }
}
struct Race(oneshot::Receiver<()>);
impl Respond<Race> for Hare {
    type Response = Outcome;
    async fn handle(&mut self, m: Race, assistant: &ActorAssistant<Self>) -> Outcome {
        assistant
            .call_actor_with_timeout::<Tortoise, Race>(1, m, Duration::from_millis(10))
            .await?
    }
}
impl Respond<Back> for Hare {
    type Response = ();
    async fn handle(&mut self, _: Back, _: &ActorAssistant<Self>) {}
}
struct Tortoise;
static TORTOISE: Reports<Outcome> = Reports::new();
impl Actor for Tortoise {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Tortoise)
    }
}
impl Respond<Race> for Tortoise {
    type Response = Outcome;
    async fn handle(&mut self, m: Race, assistant: &ActorAssistant<Self>) -> Outcome {
        let _ = m.0.await;
        // Hare gave up waiting long ago: calling it back is fine.
        let outcome = assistant.call_actor::<Hare, Back>(1, Back).await;
        TORTOISE.report(outcome.clone());
        outcome
    }
}

#[test]
fn a_caller_that_timed_out_no_longer_waits_on_the_chain() {
    let tortoise = TORTOISE.listen();
    let sys = Acteur::new();
    let (go, gate) = oneshot::channel();
    assert_eq!(
        sys.call_actor_sync::<Hare, Race>(1, Race(gate)).unwrap(),
        Err(Error::Timeout)
    );
    go.send(()).unwrap();
    assert_eq!(next(&tortoise, "the tortoise's call back"), Ok(()));
    shut_down(&sys);
}

/// Calls its partner, which calls it at the same time: a cycle across two
/// requests, which no chain shows, so only the timeout ends it.
struct Twin;
static TWINS_BEGAN: Reports<u32> = Reports::new();
impl Actor for Twin {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Twin)
    }
}
struct Cross {
    partner: u32,
    go: oneshot::Receiver<()>,
}
impl Respond<Cross> for Twin {
    type Response = Outcome;
    async fn handle(&mut self, m: Cross, assistant: &ActorAssistant<Self>) -> Outcome {
        TWINS_BEGAN.report(*assistant.id());
        let _ = m.go.await;
        // Its gate's sender is dropped at once: it never waits there.
        let (_, go) = oneshot::channel();
        let cross = Cross {
            partner: *assistant.id(),
            go,
        };
        assistant
            .call_actor_with_timeout::<Twin, Cross>(m.partner, cross, Duration::from_millis(200))
            .await?
    }
}

#[test]
fn a_cycle_across_requests_ends_by_timeout_even_during_shutdown() {
    let began = TWINS_BEGAN.listen();
    let sys = Acteur::new();
    let mut gates = Vec::new();
    let mut answers = Vec::new();
    for (id, partner) in [(1, 2), (2, 1)] {
        let (open, go) = oneshot::channel();
        gates.push(open);
        let caller = sys.clone();
        let (answer, answered) = std::sync::mpsc::channel();
        answers.push(answered);
        std::thread::spawn(move || {
            let _ = answer.send(caller.call_actor_sync::<Twin, Cross>(id, Cross { partner, go }));
        });
    }
    next(&began, "the first twin");
    next(&began, "the second twin");
    for gate in gates {
        gate.send(()).unwrap();
    }
    // Both calls between the twins wait in the partner's mailbox.
    eventually("both calls queued", || {
        sys.statistics()
            .actor::<Twin>()
            .is_some_and(|twins| twins.queued_messages == 2)
    });
    // Stopping does not end their timeouts: shutdown waits for them.
    shut_down(&sys);
    let answers: Vec<_> = answers
        .iter()
        .map(|answered| next(answered, "a twin's answer").unwrap())
        .collect();
    // The first call to time out frees its twin, which then takes the other
    // twin's call and, calling back, finds the one still waiting for it: a
    // deadlock, if that call has not timed out too by then.
    assert!(answers.contains(&Err(Error::Timeout)), "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|answer| matches!(answer, Err(Error::Timeout | Error::Deadlock { .. }))),
        "{answers:?}"
    );
}
