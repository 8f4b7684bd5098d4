//! Actors: activation, messages, requests, self-stop, send to all,
//! scheduling, idle deactivation, and the handle's forms.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Receive, Respond,
};
use futures_lite::future::block_on;

use crate::helpers::{next, shut_down};

/// A counter per ID; records activations and deactivations on a channel
/// when one is installed for its ID range.
struct Counter {
    count: u64,
}

struct Add(u64);
struct Get;

impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Counter { count: 0 })
    }
}

impl Receive<Add> for Counter {
    async fn handle(&mut self, m: Add, _: &ActorAssistant<Self>) {
        self.count += m.0;
    }
}

impl Respond<Get> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u64 {
        self.count
    }
}

// `Receive` and `Respond` for the same message type.
impl Receive<Get> for Counter {
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) {
        self.count += 1000;
    }
}

#[test]
fn first_message_activates_and_state_stays_in_ram() {
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Counter, Add>(1, Add(2)).unwrap();
    sys.send_to_actor_sync::<Counter, Add>(1, Add(3)).unwrap();
    sys.send_to_actor_sync::<Counter, Add>(2, Add(10)).unwrap();
    assert_eq!(sys.call_actor_sync::<Counter, Get>(1, Get).unwrap(), 5);
    assert_eq!(sys.call_actor_sync::<Counter, Get>(2, Get).unwrap(), 10);
    let stats = sys.statistics();
    let counters = stats.actor::<Counter>().unwrap();
    assert_eq!(counters.activations, 2);
    assert_eq!(counters.active_actors, 2);
    shut_down(&sys);
    assert_eq!(
        sys.statistics().actor::<Counter>().unwrap().deactivations,
        2
    );
}

#[test]
fn async_forms_match_sync_forms() {
    let sys = Acteur::new();
    block_on(async {
        sys.send_to_actor::<Counter, Add>(7, Add(4)).await.unwrap();
        // The `Receive<Get>` implementation, then the `Respond<Get>` one.
        sys.send_to_actor::<Counter, Get>(7, Get).await.unwrap();
        assert_eq!(sys.call_actor::<Counter, Get>(7, Get).await.unwrap(), 1004);
    });
    sys.stop();
    block_on(sys.stopped());
}

#[test]
fn two_systems_share_nothing() {
    let a = Acteur::new();
    let b = Acteur::new();
    a.send_to_actor_sync::<Counter, Add>(1, Add(1)).unwrap();
    b.send_to_actor_sync::<Counter, Add>(1, Add(100)).unwrap();
    assert_eq!(a.call_actor_sync::<Counter, Get>(1, Get).unwrap(), 1);
    assert_eq!(b.call_actor_sync::<Counter, Get>(1, Get).unwrap(), 100);
    shut_down(&a);
    // `b` runs on after `a` stopped.
    assert_eq!(b.call_actor_sync::<Counter, Get>(1, Get).unwrap(), 100);
    shut_down(&b);
}

#[test]
fn global_returns_one_shared_system() {
    // The process-wide system is never stopped here: other tests may use it.
    Acteur::global()
        .send_to_actor_sync::<Counter, Add>(900, Add(9))
        .unwrap();
    assert_eq!(
        Acteur::global()
            .call_actor_sync::<Counter, Get>(900, Get)
            .unwrap(),
        9
    );
}

#[test]
fn handle_is_clone_send_sync_default_debug() {
    fn check<T: Clone + Send + Sync + Default + std::fmt::Debug>() {}
    check::<Acteur>();
    let text = format!("{:?}", Acteur::default());
    assert!(text.contains("Acteur"), "{text}");
}

/// An actor that is neither `Sync` nor `Debug` nor `Default`, with messages
/// that are neither: all the assistant's futures must still be `Send`.
struct Lonely {
    seen: Cell<u32>,
}
struct Poke;

impl Actor for Lonely {
    type Id = u8;
    async fn activate(_: u8, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Lonely { seen: Cell::new(0) })
    }
}

impl Respond<Poke> for Lonely {
    type Response = u32;
    async fn handle(&mut self, _: Poke, assistant: &ActorAssistant<Self>) -> u32 {
        fn send_sync_clone<T: Send + Sync + Clone>(_: &T) {}
        send_sync_clone(assistant);
        self.seen.set(self.seen.get() + 1);
        // Awaiting assistant methods inside a handler keeps its future `Send`.
        assistant
            .send_to_actor::<Counter, Add>(1, Add(1))
            .await
            .unwrap();
        assistant.call_actor::<Counter, Get>(1, Get).await.unwrap();
        assistant.publish(5u8).await.unwrap();
        self.seen.get()
    }
}

#[test]
fn non_sync_actor_with_assistant_calls() {
    let sys = Acteur::new();
    assert_eq!(sys.call_actor_sync::<Lonely, Poke>(0, Poke).unwrap(), 1);
    assert_eq!(sys.call_actor_sync::<Lonely, Poke>(0, Poke).unwrap(), 2);
    shut_down(&sys);
}

/// Records lifecycle events of its IDs on the channel installed for the test.
struct Tracked;
static TRACKED_EVENTS: Mutex<Option<Sender<(&'static str, u32)>>> = Mutex::new(None);

fn track(event: &'static str, id: u32) {
    if let Some(events) = TRACKED_EVENTS.lock().unwrap().as_ref() {
        let _ = events.send((event, id));
    }
}

impl Actor for Tracked {
    type Id = u32;
    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        track("activate", id);
        Ok(Tracked)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        track("deactivate", *assistant.id());
    }
}

struct StopAfterThis;
impl Receive<StopAfterThis> for Tracked {
    async fn handle(&mut self, _: StopAfterThis, assistant: &ActorAssistant<Self>) {
        assistant.stop();
    }
}

struct Ping;
impl Respond<Ping> for Tracked {
    type Response = u32;
    async fn handle(&mut self, _: Ping, assistant: &ActorAssistant<Self>) -> u32 {
        *assistant.id()
    }
}

#[derive(Clone)]
struct Broadcast;
impl Receive<Broadcast> for Tracked {
    async fn handle(&mut self, _: Broadcast, assistant: &ActorAssistant<Self>) {
        track("broadcast", *assistant.id());
    }
}

static TRACKED_TEST: Mutex<()> = Mutex::new(());

#[test]
fn stop_from_the_assistant_deactivates_then_reactivates() {
    let _serial = TRACKED_TEST.lock().unwrap();
    let (events, seen) = channel();
    *TRACKED_EVENTS.lock().unwrap() = Some(events);
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Tracked, StopAfterThis>(3, StopAfterThis)
        .unwrap();
    assert_eq!(next(&seen, "activation"), ("activate", 3));
    assert_eq!(next(&seen, "deactivation"), ("deactivate", 3));
    assert_eq!(sys.call_actor_sync::<Tracked, Ping>(3, Ping).unwrap(), 3);
    assert_eq!(next(&seen, "second activation"), ("activate", 3));
    shut_down(&sys);
    assert_eq!(next(&seen, "shutdown deactivation"), ("deactivate", 3));
    *TRACKED_EVENTS.lock().unwrap() = None;
}

#[test]
fn send_to_all_reaches_each_active_actor_once_and_activates_no_one() {
    let _serial = TRACKED_TEST.lock().unwrap();
    let (events, seen) = channel();
    *TRACKED_EVENTS.lock().unwrap() = Some(events);
    let sys = Acteur::new();
    for id in 0..5 {
        sys.call_actor_sync::<Tracked, Ping>(id, Ping).unwrap();
    }
    sys.send_to_all_actors_sync::<Tracked, Broadcast>(Broadcast)
        .unwrap();
    // A call after the broadcast is handled after it: each actor has seen it.
    for id in 0..5 {
        sys.call_actor_sync::<Tracked, Ping>(id, Ping).unwrap();
    }
    shut_down(&sys);
    *TRACKED_EVENTS.lock().unwrap() = None;
    let events: Vec<_> = seen.try_iter().collect();
    let mut broadcasts: Vec<u32> = events
        .iter()
        .filter(|e| e.0 == "broadcast")
        .map(|e| e.1)
        .collect();
    broadcasts.sort();
    assert_eq!(broadcasts, vec![0, 1, 2, 3, 4]);
    assert_eq!(events.iter().filter(|e| e.0 == "activate").count(), 5);
    assert_eq!(sys.statistics().actor::<Tracked>().unwrap().activations, 5);
}

/// Delayed messages: what arrives, and when.
struct Alarm;
struct Ring(Instant);
struct SetAlarm(Duration);
static RINGS: Mutex<Option<Sender<Instant>>> = Mutex::new(None);

impl Actor for Alarm {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Alarm)
    }
}

impl Receive<Ring> for Alarm {
    async fn handle(&mut self, m: Ring, _: &ActorAssistant<Self>) {
        if let Some(rings) = RINGS.lock().unwrap().as_ref() {
            let _ = rings.send(m.0);
        }
    }
}

impl Respond<SetAlarm> for Alarm {
    type Response = ();
    async fn handle(&mut self, m: SetAlarm, assistant: &ActorAssistant<Self>) {
        let id = *assistant.id();
        assistant
            .schedule_send_to_actor::<Alarm, Ring>(id, m.0, Ring(Instant::now()))
            .await
            .unwrap();
    }
}

#[test]
fn scheduled_message_arrives_after_its_delay_and_blocks_no_one() {
    let (rings, rung) = channel();
    *RINGS.lock().unwrap() = Some(rings);
    let sys = Acteur::new();
    let delay = Duration::from_millis(50);
    // The actor schedules and answers at once: scheduling does not block it.
    sys.call_actor_sync::<Alarm, SetAlarm>(1, SetAlarm(delay))
        .unwrap();
    sys.schedule_send_to_actor_sync::<Alarm, Ring>(2, delay, Ring(Instant::now()))
        .unwrap();
    for _ in 0..2 {
        let scheduled_at = next(&rung, "scheduled ring");
        assert!(
            scheduled_at.elapsed() >= delay,
            "a ring arrived before its delay"
        );
    }
    shut_down(&sys);
    assert_eq!(sys.statistics().scheduled_cancelled, 0);
}

#[test]
fn scheduled_messages_not_yet_due_are_cancelled_by_stop() {
    let sys = Acteur::new();
    let hour = Duration::from_secs(3600);
    for id in 0..3 {
        sys.schedule_send_to_actor_sync::<Alarm, Ring>(id, hour, Ring(Instant::now()))
            .unwrap();
    }
    shut_down(&sys);
    assert_eq!(sys.statistics().scheduled_cancelled, 3);
    assert!(
        sys.statistics()
            .actor::<Alarm>()
            .is_none_or(|a| a.activations == 0)
    );
}

/// Deactivated after 20 ms without messages.
struct Sleepy;
static SLEEPY_DEACTIVATIONS: Mutex<Option<Sender<u32>>> = Mutex::new(None);

impl Actor for Sleepy {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Sleepy)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        if let Some(events) = SLEEPY_DEACTIVATIONS.lock().unwrap().as_ref() {
            let _ = events.send(*assistant.id());
        }
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_millis(20)),
            ..Default::default()
        }
    }
}

impl Respond<Ping> for Sleepy {
    type Response = ();
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

#[test]
fn idle_actors_are_deactivated_by_the_sweeper() {
    let (events, deactivated) = channel();
    *SLEEPY_DEACTIVATIONS.lock().unwrap() = Some(events);
    let sys = Acteur::new();
    sys.call_actor_sync::<Sleepy, Ping>(1, Ping).unwrap();
    assert_eq!(next(&deactivated, "idle deactivation"), 1);
    // The next message activates afresh.
    sys.call_actor_sync::<Sleepy, Ping>(1, Ping).unwrap();
    assert_eq!(next(&deactivated, "second idle deactivation"), 1);
    shut_down(&sys);
    let stats = sys.statistics();
    let sleepy = stats.actor::<Sleepy>().unwrap();
    assert_eq!(
        (
            sleepy.activations,
            sleepy.deactivations,
            sleepy.active_actors
        ),
        (2, 2, 0)
    );
}

struct ZeroTimeout;
impl Actor for ZeroTimeout {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(ZeroTimeout)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::ZERO),
            ..Default::default()
        }
    }
}
impl Receive<Ping> for ZeroTimeout {
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

#[test]
fn zero_idle_timeout_is_an_invalid_configuration() {
    let sys = Acteur::new();
    let error = sys
        .send_to_actor_sync::<ZeroTimeout, Ping>(1, Ping)
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidConfiguration {
                field: "idle_timeout",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("ZeroTimeout"), "{error}");
    shut_down(&sys);
}

/// Counts handled messages to show deactivation races lose nothing.
static RACE_HANDLED: AtomicUsize = AtomicUsize::new(0);
struct Racer;
impl Actor for Racer {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Racer)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_millis(1)),
            ..Default::default()
        }
    }
}
impl Receive<Add> for Racer {
    async fn handle(&mut self, _: Add, _: &ActorAssistant<Self>) {
        RACE_HANDLED.fetch_add(1, SeqCst);
    }
}

#[test]
fn messages_racing_with_idle_deactivation_are_all_handled() {
    let sys = Acteur::new();
    let total = 20_000;
    for i in 0..total {
        sys.send_to_actor_sync::<Racer, Add>(i % 7, Add(1)).unwrap();
        if i % 500 == 0 {
            // Let the sweeper catch actors idle now and then.
            std::thread::yield_now();
        }
    }
    shut_down(&sys);
    assert_eq!(RACE_HANDLED.load(SeqCst), total as usize);
    let stats = sys.statistics();
    let racer = stats.actor::<Racer>().unwrap();
    assert_eq!(racer.activations, racer.deactivations);
    assert_eq!(racer.active_actors, 0);
}
