//! The torture suite: random workloads from several threads at once
//! (sends, calls, `try_send`s, scheduled sends, publishes, service calls,
//! panicking messages, actors that stop themselves, call themselves or call
//! another actor with a short timeout),
//! under random settings (tiny idle timeouts, small mailboxes and service
//! capacities, tiny `max_actors`). After `stop` and `wait_until_stopped`:
//!
//! 1. every accepted message was handled exactly once, and every refused
//!    one never (both sides are counted);
//! 2. each ID saw each sender's messages in the order sent;
//! 3. `activate` and `deactivate` alternate strictly per ID, no handler ran
//!    outside an activation or beside another of its ID, and every
//!    activation ended (deactivated, or abandoned by a panic);
//! 4. every call returned, none timed out, and none outlived the timeout;
//! 5. no actor is left, and `Statistics` agree with what the actors saw.
//!
//! Proptest shrinks a failure to a small workload, printed with the
//! settings. `ACTEUR_TORTURE_CASES` sets the number of cases (default 256).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Listen, Receive, Respond,
    Serve, Service, ServiceAssistant, ServiceConcurrency, ServiceConfiguration,
};
use futures_lite::future::yield_now;
use proptest::prelude::*;

const THREADS: usize = 3;
const IDS: u32 = 6;
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings of one case.
#[derive(Clone, Debug)]
struct Setup {
    idle_timeout_ms: Option<u64>,
    mailbox_capacity: Option<usize>,
    max_actors: Option<usize>,
    max_consecutive_panics: u32,
    service_concurrency: ServiceConcurrency,
    service_capacity: Option<usize>,
}

/// One step of a producer thread.
#[derive(Clone, Debug)]
enum Op {
    Send { id: u32, action: Action },
    Call { id: u32, action: Action },
    TrySend { id: u32 },
    Schedule { id: u32, after_ms: u64 },
    Publish,
    CallService,
}

/// What the actor does with a message besides recording it.
#[derive(Clone, Copy, Debug)]
enum Action {
    Nothing,
    Panic,
    StopSelf,
    CallSelf,
    /// Calls this actor, with `NESTED_TIMEOUT`: answered, a deadlock if it
    /// is itself, or a timeout if it waits, through another request, for
    /// the caller.
    CallOther(u32),
}

const NESTED_TIMEOUT: Duration = Duration::from_millis(20);
/// Senders above this are actors (calls between them), by ID.
const ACTOR_SENDERS: usize = 1_000;

/// Every message's identity: a key unique in the case, increasing along
/// each sender's sends, and who sent it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stamp {
    key: u64,
    /// The producer thread, or `SCHEDULER` for scheduled sends, whose order
    /// is not defined against direct ones.
    from: usize,
}
const SCHEDULER: usize = usize::MAX;

/// What the actors and the service saw, recorded from inside.
#[derive(Default, Debug)]
struct Seen {
    /// Per message key, how often a handler took it.
    handled: HashMap<u64, u32>,
    /// Per ID, its lifecycle: "activate", "deactivate", "abandon".
    lifecycle: HashMap<u32, Vec<&'static str>>,
    /// Per ID, whether a handler runs now.
    running: HashMap<u32, bool>,
    /// Per (ID, sender), the last key handled.
    last_key: HashMap<(u32, usize), u64>,
    violations: Vec<String>,
    activations: u64,
    deactivations: u64,
    abandons: u64,
    service_handled: u64,
    /// What calls between actors learnt of their messages.
    nested: HashMap<u64, Fate>,
}

static SEEN: Mutex<Option<Seen>> = Mutex::new(None);
static SETUP: Mutex<Option<Setup>> = Mutex::new(None);
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

fn seen() -> MutexGuard<'static, Option<Seen>> {
    SEEN.lock().unwrap_or_else(|e| e.into_inner())
}

fn record(f: impl FnOnce(&mut Seen)) {
    f(seen().get_or_insert_with(Seen::default));
}

fn setup() -> Setup {
    SETUP.lock().unwrap().clone().expect("a case is running")
}

struct Subject;

impl Actor for Subject {
    type Id = u32;
    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        record(|seen| {
            seen.activations += 1;
            let events = seen.lifecycle.entry(id).or_default();
            if events.last().is_some_and(|last| *last == "activate") {
                seen.violations
                    .push(format!("id {id}: activated twice: {events:?}"));
            }
            events.push("activate");
        });
        Ok(Subject)
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        // A second activation started too early would record itself here.
        yield_now().await;
        let id = *assistant.id();
        record(|seen| {
            seen.deactivations += 1;
            seen.lifecycle.entry(id).or_default().push("deactivate");
        });
    }

    fn configuration() -> ActorConfiguration {
        let setup = setup();
        ActorConfiguration {
            idle_timeout: setup.idle_timeout_ms.map(Duration::from_millis),
            mailbox_capacity: setup.mailbox_capacity,
            max_actors: setup.max_actors,
            max_consecutive_panics: setup.max_consecutive_panics,
            ..Default::default()
        }
    }
}

impl Subject {
    /// Records `stamp` as handled by `id`, checking the invariants that can
    /// be seen from inside, then acts.
    async fn take(
        &mut self,
        id: u32,
        stamp: Stamp,
        action: Action,
        assistant: &ActorAssistant<Self>,
    ) -> bool {
        record(|seen| {
            *seen.handled.entry(stamp.key).or_default() += 1;
            let events = seen.lifecycle.entry(id).or_default();
            if events.last() != Some(&"activate") {
                let message = format!("id {id}: a handler ran outside an activation: {events:?}");
                seen.violations.push(message);
            }
            if seen.running.insert(id, true) == Some(true) {
                seen.violations
                    .push(format!("id {id}: two handlers at once"));
            }
            if stamp.from != SCHEDULER {
                let last = seen.last_key.insert((id, stamp.from), stamp.key);
                if last.is_some_and(|last| last >= stamp.key) {
                    seen.violations.push(format!(
                        "id {id}: sender {} sent {} after {last:?}, handled before",
                        stamp.from, stamp.key
                    ));
                }
            }
        });
        // Lets a second handler of this ID run now, if one wrongly could.
        yield_now().await;
        record(|seen| {
            seen.running.insert(id, false);
        });
        match action {
            Action::Nothing => true,
            Action::Panic => {
                record(|seen| {
                    seen.abandons += 1;
                    seen.lifecycle.entry(id).or_default().push("abandon");
                });
                panic!("a poison message (expected by the torture suite)");
            }
            Action::StopSelf => {
                assistant.stop();
                true
            }
            Action::CallSelf => matches!(
                assistant.call_actor::<Subject, Probe>(id, Probe).await,
                Err(Error::Deadlock { .. })
            ),
            Action::CallOther(other) => {
                let inner = Stamp {
                    key: NEXT_KEY.fetch_add(1, SeqCst),
                    from: ACTOR_SENDERS + id as usize,
                };
                let answer = assistant
                    .call_actor_with_timeout::<Subject, Ask>(
                        other,
                        Ask(inner, Action::Nothing),
                        NESTED_TIMEOUT,
                    )
                    .await;
                let (fate, expected) = match &answer {
                    Ok(true) => (Fate::Handled, true),
                    // Only a call to itself waits for itself: each request
                    // here makes at most this one call.
                    Err(Error::Deadlock { .. }) => (Fate::Refused, other == id),
                    Err(Error::Timeout) => (Fate::Maybe, other != id),
                    Err(Error::Stopped) => (Fate::Refused, true),
                    _ => (Fate::Refused, false),
                };
                record(|seen| {
                    seen.nested.insert(inner.key, fate);
                    if !expected {
                        let problem = format!("id {id} calling {other} got {answer:?}");
                        seen.violations.push(problem);
                    }
                });
                expected
            }
        }
    }
}

struct Tell(Stamp, Action);
impl Receive<Tell> for Subject {
    async fn handle(&mut self, m: Tell, assistant: &ActorAssistant<Self>) {
        self.take(*assistant.id(), m.0, m.1, assistant).await;
    }
}

/// Answers whether the action went as expected.
struct Ask(Stamp, Action);
impl Respond<Ask> for Subject {
    type Response = bool;
    async fn handle(&mut self, m: Ask, assistant: &ActorAssistant<Self>) -> bool {
        self.take(*assistant.id(), m.0, m.1, assistant).await
    }
}

/// Only ever refused: an actor calling itself.
struct Probe;
impl Respond<Probe> for Subject {
    type Response = ();
    async fn handle(&mut self, _: Probe, _: &ActorAssistant<Self>) {
        record(|seen| seen.violations.push("a call to itself was handled".into()));
    }
}

struct Clerk;
impl Service for Clerk {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.subscribe::<Bulletin>().await.unwrap();
        let setup = setup();
        let config = ServiceConfiguration {
            concurrency: setup.service_concurrency,
            capacity: setup.service_capacity,
        };
        Ok((Clerk, config))
    }
}
#[derive(Clone)]
struct Bulletin(Stamp);
impl Listen<Bulletin> for Clerk {
    async fn handle(&self, m: Bulletin, _: &ServiceAssistant<Self>) {
        record(|seen| {
            seen.service_handled += 1;
            *seen.handled.entry(m.0.key).or_default() += 1;
        });
    }
}
struct Query(Stamp);
impl Serve<Query> for Clerk {
    type Response = ();
    async fn handle(&self, m: Query, _: &ServiceAssistant<Self>) {
        record(|seen| {
            seen.service_handled += 1;
            *seen.handled.entry(m.0.key).or_default() += 1;
        });
    }
}

/// What a producer knows of one of its messages.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    /// Accepted: handled exactly once.
    Handled,
    /// Refused: never handled.
    Refused,
    /// Scheduled: handled once, or cancelled by the shutdown.
    Scheduled,
    /// Its call timed out: handled once, or never if it was not queued yet.
    Maybe,
}

/// What the producers learnt, for the checks.
#[derive(Default)]
struct Sent {
    fates: HashMap<u64, (Fate, Op)>,
    problems: Vec<String>,
}

fn produce(sys: &Acteur, from: usize, ops: &[Op]) -> Sent {
    let mut sent = Sent::default();
    for op in ops {
        let stamp = Stamp {
            key: NEXT_KEY.fetch_add(1, SeqCst),
            from,
        };
        let started = Instant::now();
        let fate = match *op {
            Op::Send { id, action } => {
                accepted(sys.send_to_actor_sync::<Subject, Tell>(id, Tell(stamp, action)))
            }
            Op::TrySend { id } => {
                match sys.try_send_to_actor::<Subject, Tell>(id, Tell(stamp, Action::Nothing)) {
                    Err(refused) if refused.error() == &Error::MailboxFull => {
                        // Handed back as it was sent.
                        assert_eq!(refused.into_message().0, stamp);
                        Fate::Refused
                    }
                    other => accepted(other.map_err(Error::from)),
                }
            }
            Op::Schedule { id, after_ms } => {
                let stamp = Stamp {
                    from: SCHEDULER,
                    ..stamp
                };
                let delay = Duration::from_millis(after_ms);
                match sys.schedule_send_to_actor_sync::<Subject, Tell>(
                    id,
                    delay,
                    Tell(stamp, Action::Nothing),
                ) {
                    Ok(_timer) => Fate::Scheduled,
                    Err(_) => Fate::Refused,
                }
            }
            Op::Publish => accepted(sys.publish_sync(Bulletin(stamp))),
            Op::Call { id, action } => {
                let answer = sys.call_actor_sync::<Subject, Ask>(id, Ask(stamp, action));
                match (answer, action) {
                    (Ok(true), _) => Fate::Handled,
                    (Err(Error::Panicked { .. }), Action::Panic) => Fate::Handled,
                    (Err(Error::Stopped), _) => Fate::Refused,
                    (other, _) => {
                        sent.problems.push(format!("{op:?} answered {other:?}"));
                        Fate::Refused
                    }
                }
            }
            Op::CallService => match sys.call_service_sync::<Clerk, Query>(Query(stamp)) {
                Ok(()) => Fate::Handled,
                Err(Error::Stopped) => Fate::Refused,
                Err(other) => {
                    sent.problems.push(format!("{op:?} answered {other:?}"));
                    Fate::Refused
                }
            },
        };
        if started.elapsed() > CALL_TIMEOUT {
            sent.problems.push(format!(
                "{op:?} took {:?}, over the call timeout",
                started.elapsed()
            ));
        }
        sent.fates.insert(stamp.key, (fate, op.clone()));
    }
    sent
}

/// A send's result as a fate; only `Stopped` may refuse it in this suite.
fn accepted(result: Result<(), Error>) -> Fate {
    match result {
        Ok(()) => Fate::Handled,
        Err(Error::Stopped) => Fate::Refused,
        Err(other) => panic!("a send failed: {other:?}"),
    }
}

/// Runs one case and returns what went wrong, if anything.
fn run(setup: Setup, workload: Vec<Vec<Op>>) -> Result<(), String> {
    *SETUP.lock().unwrap() = Some(setup);
    *seen() = Some(Seen::default());
    let sys = Acteur::builder().call_timeout(CALL_TIMEOUT).build();
    sys.preload_service_sync::<Clerk>()
        .map_err(|e| e.to_string())?;
    let producers: Vec<_> = workload
        .into_iter()
        .enumerate()
        .map(|(from, ops)| {
            let sys = sys.clone();
            thread::spawn(move || produce(&sys, from, &ops))
        })
        .collect();
    let mut sent = Sent::default();
    for producer in producers {
        let part = producer
            .join()
            .map_err(|_| "a producer panicked".to_string())?;
        sent.fates.extend(part.fates);
        sent.problems.extend(part.problems);
    }
    sys.stop();
    let (done, stopped) = mpsc::channel();
    let waiter = sys.clone();
    thread::spawn(move || {
        waiter.wait_until_stopped();
        let _ = done.send(());
    });
    stopped
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "wait_until_stopped hung".to_string())?;
    let seen = seen().take().unwrap_or_default();
    check(&sys, &sent, &seen)
}

fn check(sys: &Acteur, sent: &Sent, seen: &Seen) -> Result<(), String> {
    let mut problems = sent.problems.clone();
    problems.extend(seen.violations.iter().cloned());
    let mut scheduled_handled = 0;
    let mut scheduled = 0;
    for (key, (fate, op)) in &sent.fates {
        let handled = seen.handled.get(key).copied().unwrap_or(0);
        let fine = match fate {
            Fate::Handled => handled == 1,
            Fate::Refused => handled == 0,
            Fate::Scheduled => {
                scheduled += 1;
                scheduled_handled += u64::from(handled);
                handled <= 1
            }
            Fate::Maybe => handled <= 1,
        };
        if !fine {
            problems.push(format!("{op:?} ({fate:?}) was handled {handled} time(s)"));
        }
    }
    for (key, fate) in &seen.nested {
        let handled = seen.handled.get(key).copied().unwrap_or(0);
        let fine = match fate {
            Fate::Handled => handled == 1,
            Fate::Refused => handled == 0,
            Fate::Scheduled | Fate::Maybe => handled <= 1,
        };
        if !fine {
            problems.push(format!(
                "a call between actors ({fate:?}) was handled {handled} time(s)"
            ));
        }
    }
    for (id, events) in &seen.lifecycle {
        let alternates = events
            .iter()
            .enumerate()
            .all(|(i, event)| (i % 2 == 0) == (*event == "activate"));
        if !alternates || events.len() % 2 != 0 {
            problems.push(format!("id {id}: lifecycle {events:?}"));
        }
    }
    let stats = sys.statistics();
    if let Some(subject) = stats.actor::<Subject>() {
        if subject.active_actors != 0 || subject.queued_messages != 0 {
            problems.push(format!("left after shutdown: {subject:?}"));
        }
        let counted = (subject.activations, subject.deactivations, subject.panics);
        let expected = (seen.activations, seen.deactivations, seen.abandons);
        if counted != expected {
            problems.push(format!(
                "statistics (activations, deactivations, panics) {counted:?}, seen {expected:?}"
            ));
        }
        if subject.dropped_messages != 0 {
            problems.push(format!("{} message(s) dropped", subject.dropped_messages));
        }
    }
    if scheduled_handled + stats.scheduled_cancelled != scheduled {
        problems.push(format!(
            "{scheduled} scheduled: {scheduled_handled} handled, {} cancelled",
            stats.scheduled_cancelled
        ));
    }
    if let Some(clerk) = stats.service::<Clerk>() {
        if clerk.handled != seen.service_handled || clerk.queued_messages != 0 {
            problems.push(format!(
                "service statistics {clerk:?}, seen {}",
                seen.service_handled
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn setups() -> impl Strategy<Value = Setup> {
    (
        prop::option::of(1u64..5),
        prop::option::of(1usize..4),
        prop::option::of(1usize..4),
        1u32..4,
        prop_oneof![
            Just(ServiceConcurrency::None),
            Just(ServiceConcurrency::Fixed(2)),
            Just(ServiceConcurrency::Unlimited),
        ],
        prop::option::of(1usize..4),
    )
        .prop_map(
            |(
                idle_timeout_ms,
                mailbox_capacity,
                max_actors,
                max_consecutive_panics,
                service_concurrency,
                service_capacity,
            )| Setup {
                idle_timeout_ms,
                mailbox_capacity,
                max_actors,
                max_consecutive_panics,
                service_concurrency,
                service_capacity,
            },
        )
}

fn actions() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => Just(Action::Nothing),
        1 => Just(Action::Panic),
        1 => Just(Action::StopSelf),
        1 => Just(Action::CallSelf),
        2 => (0..IDS).prop_map(Action::CallOther),
    ]
}

fn ops() -> impl Strategy<Value = Op> {
    let id = 0..IDS;
    prop_oneof![
        4 => (id.clone(), actions()).prop_map(|(id, action)| Op::Send { id, action }),
        3 => (id.clone(), actions()).prop_map(|(id, action)| Op::Call { id, action }),
        2 => id.clone().prop_map(|id| Op::TrySend { id }),
        1 => (id, 0u64..3).prop_map(|(id, after_ms)| Op::Schedule { id, after_ms }),
        1 => Just(Op::Publish),
        1 => Just(Op::CallService),
    ]
}

fn cases() -> u32 {
    std::env::var("ACTEUR_TORTURE_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_workloads_keep_every_invariant(
        setup in setups(),
        workload in prop::collection::vec(prop::collection::vec(ops(), 0..60), THREADS),
    ) {
        if let Err(problems) = run(setup, workload) {
            prop_assert!(false, "{}", problems);
        }
    }
}
