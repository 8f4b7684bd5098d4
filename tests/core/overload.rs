//! Bounded mailboxes and service capacities, and call timeouts: what a
//! producer faster than its consumer, or a consumer that hangs, meets.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Listen, Receive, Respond,
    Serve, Service, ServiceAssistant, ServiceConcurrency, ServiceConfiguration, TrySendError,
};
use futures_channel::oneshot;

use crate::helpers::{Reports, eventually, next, shut_down};

/// Keeps its handler busy until the test releases it, after saying it began.
struct Hold {
    began: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// A `Hold` and the two ends the test keeps.
fn hold() -> (Hold, oneshot::Receiver<()>, oneshot::Sender<()>) {
    let (began, began_rx) = oneshot::channel();
    let (release_tx, release) = oneshot::channel();
    (Hold { began, release }, began_rx, release_tx)
}

fn wait_began(began: oneshot::Receiver<()>) {
    futures_lite::future::block_on(began).expect("the held handler began");
}

/// An actor with a mailbox of two that notes what it handles.
struct Narrow {
    seen: Vec<u32>,
}
impl Actor for Narrow {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Narrow { seen: Vec::new() })
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            mailbox_capacity: Some(2),
            ..Default::default()
        }
    }
}
impl Receive<Hold> for Narrow {
    async fn handle(&mut self, m: Hold, _: &ActorAssistant<Self>) {
        let _ = m.began.send(());
        let _ = m.release.await;
    }
}
impl Respond<Hold> for Narrow {
    type Response = ();
    async fn handle(&mut self, m: Hold, _: &ActorAssistant<Self>) {
        let _ = m.began.send(());
        let _ = m.release.await;
    }
}
#[derive(Clone, Debug, PartialEq)]
struct Note(u32);
impl Receive<Note> for Narrow {
    async fn handle(&mut self, m: Note, _: &ActorAssistant<Self>) {
        self.seen.push(m.0);
    }
}
struct Seen;
impl Respond<Seen> for Narrow {
    type Response = Vec<u32>;
    async fn handle(&mut self, _: Seen, _: &ActorAssistant<Self>) -> Vec<u32> {
        self.seen.clone()
    }
}

fn queued<A: Actor>(sys: &Acteur) -> usize {
    sys.statistics()
        .actor::<A>()
        .map_or(0, |stats| stats.queued_messages)
}

#[test]
fn a_full_mailbox_refuses_try_send_and_makes_send_wait_for_room() {
    let sys = Acteur::new();
    let (held, began, release) = hold();
    sys.send_to_actor_sync::<Narrow, Hold>(1, held).unwrap();
    wait_began(began);
    sys.try_send_to_actor::<Narrow, Note>(1, Note(1)).unwrap();
    sys.try_send_to_actor::<Narrow, Note>(1, Note(2)).unwrap();
    // Refused, and handed back.
    assert_eq!(
        sys.try_send_to_actor::<Narrow, Note>(1, Note(3))
            .map_err(TrySendError::into_parts),
        Err((Error::MailboxFull, Note(3)))
    );
    assert_eq!(queued::<Narrow>(&sys), 2);

    // A waiting sender: it returns once the actor has taken a message.
    let producer = sys.clone();
    let (sent, sent_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = producer.send_to_actor_sync::<Narrow, Note>(1, Note(4));
        let _ = sent.send(result);
    });
    // Whatever the producer thread has done by now, the mailbox has not
    // grown past its capacity.
    // Refused, and handed back.
    assert_eq!(
        sys.try_send_to_actor::<Narrow, Note>(1, Note(5))
            .map_err(TrySendError::into_parts),
        Err((Error::MailboxFull, Note(5)))
    );
    assert_eq!(queued::<Narrow>(&sys), 2);
    release.send(()).unwrap();
    assert_eq!(next(&sent_rx, "the waiting send"), Ok(()));
    assert_eq!(
        sys.call_actor_sync::<Narrow, Seen>(1, Seen).unwrap(),
        vec![1, 2, 4]
    );
    shut_down(&sys);
}

#[test]
fn a_call_to_a_full_mailbox_waits_like_a_send() {
    let sys = Acteur::new();
    let (held, began, release) = hold();
    sys.send_to_actor_sync::<Narrow, Hold>(7, held).unwrap();
    wait_began(began);
    sys.try_send_to_actor::<Narrow, Note>(7, Note(1)).unwrap();
    sys.try_send_to_actor::<Narrow, Note>(7, Note(2)).unwrap();
    let caller = sys.clone();
    let (answered, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = answered.send(caller.call_actor_sync::<Narrow, Seen>(7, Seen));
    });
    release.send(()).unwrap();
    assert_eq!(next(&answer, "the call's answer"), Ok(vec![1, 2]));
    shut_down(&sys);
}

#[test]
fn a_broadcast_waits_for_room_in_each_full_mailbox() {
    let sys = Acteur::new();
    // Actor 2 idle, actor 9 busy with a full mailbox. A broadcast reaches
    // the actors active when it is sent: the answer to a call tells that
    // actor 2's activation has finished (a send alone only queues).
    sys.send_to_actor_sync::<Narrow, Note>(2, Note(0)).unwrap();
    assert_eq!(
        sys.call_actor_sync::<Narrow, Seen>(2, Seen).unwrap(),
        vec![0]
    );
    let (held, began, release) = hold();
    sys.send_to_actor_sync::<Narrow, Hold>(9, held).unwrap();
    wait_began(began);
    sys.try_send_to_actor::<Narrow, Note>(9, Note(1)).unwrap();
    sys.try_send_to_actor::<Narrow, Note>(9, Note(2)).unwrap();
    let broadcaster = sys.clone();
    let (sent, sent_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(broadcaster.send_to_all_actors_sync::<Narrow, Note>(Note(7)));
    });
    release.send(()).unwrap();
    assert_eq!(next(&sent_rx, "the broadcast"), Ok(()));
    assert_eq!(
        sys.call_actor_sync::<Narrow, Seen>(2, Seen).unwrap(),
        vec![0, 7]
    );
    assert_eq!(
        sys.call_actor_sync::<Narrow, Seen>(9, Seen).unwrap(),
        vec![1, 2, 7]
    );
    shut_down(&sys);
}

/// Checks, from inside, that its mailbox never holds more than allowed.
struct Gauge;
const GAUGE_CAPACITY: usize = 8;
static GAUGE_PEAK: AtomicUsize = AtomicUsize::new(0);
impl Actor for Gauge {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Gauge)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            mailbox_capacity: Some(GAUGE_CAPACITY),
            ..Default::default()
        }
    }
}
#[derive(Debug, PartialEq)]
struct Tick;
impl Receive<Tick> for Gauge {
    async fn handle(&mut self, _: Tick, assistant: &ActorAssistant<Self>) {
        let queued = queued::<Gauge>(&assistant.acteur());
        GAUGE_PEAK.fetch_max(queued, SeqCst);
    }
}

#[test]
fn producers_are_slowed_to_the_pace_of_the_actor() {
    let sys = Acteur::new();
    let producers: Vec<_> = (0..3)
        .map(|_| {
            let sys = sys.clone();
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    sys.send_to_actor_sync::<Gauge, Tick>(1, Tick).unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    shut_down(&sys);
    let stats = sys.statistics();
    let gauge = stats.actor::<Gauge>().unwrap();
    assert_eq!(gauge.queued_messages, 0);
    let peak = GAUGE_PEAK.load(SeqCst);
    assert!(
        peak <= GAUGE_CAPACITY,
        "{peak} messages waited, capacity {GAUGE_CAPACITY}"
    );
}

#[test]
fn an_actor_sending_to_itself_never_waits_for_its_own_room() {
    struct Echo;
    impl Actor for Echo {
        type Id = u32;
        async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
            Ok(Echo)
        }
        fn configuration() -> ActorConfiguration {
            ActorConfiguration {
                mailbox_capacity: Some(1),
                ..Default::default()
            }
        }
    }
    struct Burst;
    impl Respond<Burst> for Echo {
        type Response = Result<(), Error>;
        async fn handle(&mut self, _: Burst, assistant: &ActorAssistant<Self>) -> Self::Response {
            for _ in 0..5 {
                assistant.send_to_actor::<Echo, Tick>(1, Tick).await?;
            }
            Ok(())
        }
    }
    impl Receive<Tick> for Echo {
        async fn handle(&mut self, _: Tick, _: &ActorAssistant<Self>) {}
    }
    let sys = Acteur::new();
    assert_eq!(
        sys.call_actor_sync::<Echo, Burst>(1, Burst).unwrap(),
        Ok(())
    );
    shut_down(&sys);
}

#[test]
fn a_zero_capacity_is_a_configuration_error() {
    struct Closed;
    impl Actor for Closed {
        type Id = u32;
        async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
            Ok(Closed)
        }
        fn configuration() -> ActorConfiguration {
            ActorConfiguration {
                mailbox_capacity: Some(0),
                ..Default::default()
            }
        }
    }
    impl Receive<Tick> for Closed {
        async fn handle(&mut self, _: Tick, _: &ActorAssistant<Self>) {}
    }
    struct ClosedService;
    impl Service for ClosedService {
        async fn initialize(
            _: &ServiceAssistant<Self>,
        ) -> Result<(Self, ServiceConfiguration), BoxError> {
            let config = ServiceConfiguration {
                capacity: Some(0),
                ..Default::default()
            };
            Ok((ClosedService, config))
        }
    }
    impl Listen<Tick> for ClosedService {
        async fn handle(&self, _: Tick, _: &ServiceAssistant<Self>) {}
    }
    let sys = Acteur::new();
    let refused = sys.send_to_actor_sync::<Closed, Tick>(1, Tick).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::InvalidConfiguration {
                field: "mailbox_capacity",
                ..
            }
        ),
        "{refused:?}"
    );
    let refused = sys
        .send_to_service_sync::<ClosedService, Tick>(Tick)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::InvalidConfiguration {
                field: "capacity",
                ..
            }
        ),
        "{refused:?}"
    );
    shut_down(&sys);
}

/// A service that holds its handlers until released, with a capacity of
/// three and the concurrency the test sets.
struct Turnstile;
static TURNSTILE_CONCURRENCY: Mutex<ServiceConcurrency> = Mutex::new(ServiceConcurrency::None);
static TURNSTILE_TEST: Mutex<()> = Mutex::new(());
impl Service for Turnstile {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let config = ServiceConfiguration {
            concurrency: *TURNSTILE_CONCURRENCY.lock().unwrap(),
            capacity: Some(3),
        };
        Ok((Turnstile, config))
    }
}
impl Listen<Hold> for Turnstile {
    async fn handle(&self, m: Hold, _: &ServiceAssistant<Self>) {
        let _ = m.began.send(());
        let _ = m.release.await;
    }
}
impl Listen<Tick> for Turnstile {
    async fn handle(&self, _: Tick, _: &ServiceAssistant<Self>) {}
}
struct Ping;
impl Serve<Ping> for Turnstile {
    type Response = &'static str;
    async fn handle(&self, _: Ping, _: &ServiceAssistant<Self>) -> &'static str {
        "pong"
    }
}

fn turnstile_with(concurrency: ServiceConcurrency) -> (Acteur, std::sync::MutexGuard<'static, ()>) {
    let serial = TURNSTILE_TEST.lock().unwrap_or_else(|e| e.into_inner());
    *TURNSTILE_CONCURRENCY.lock().unwrap() = concurrency;
    (Acteur::new(), serial)
}

#[test]
fn a_full_service_refuses_try_send_and_makes_calls_wait() {
    let (sys, _serial) = turnstile_with(ServiceConcurrency::None);
    let (held, began, release) = hold();
    sys.send_to_service_sync::<Turnstile, Hold>(held).unwrap();
    wait_began(began);
    // One in flight and two waiting make three, the capacity.
    sys.try_send_to_service::<Turnstile, Tick>(Tick).unwrap();
    sys.try_send_to_service::<Turnstile, Tick>(Tick).unwrap();
    assert_eq!(
        sys.try_send_to_service::<Turnstile, Tick>(Tick)
            .map_err(TrySendError::into_parts),
        Err((Error::MailboxFull, Tick))
    );
    let caller = sys.clone();
    let (answered, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = answered.send(caller.call_service_sync::<Turnstile, Ping>(Ping));
    });
    release.send(()).unwrap();
    assert_eq!(next(&answer, "the call's answer"), Ok("pong"));
    shut_down(&sys);
}

#[test]
fn capacity_is_the_ceiling_of_an_unlimited_service() {
    let (sys, _serial) = turnstile_with(ServiceConcurrency::Unlimited);
    let mut releases = Vec::new();
    for _ in 0..3 {
        let (held, began, release) = hold();
        sys.send_to_service_sync::<Turnstile, Hold>(held).unwrap();
        wait_began(began);
        releases.push(release);
    }
    assert_eq!(
        sys.try_send_to_service::<Turnstile, Tick>(Tick)
            .map_err(TrySendError::into_parts),
        Err((Error::MailboxFull, Tick))
    );
    let stats = sys.statistics();
    let turnstile = stats.service::<Turnstile>().unwrap();
    assert_eq!(turnstile.in_flight, 3);
    for release in releases {
        release.send(()).unwrap();
    }
    eventually("room in the service", || {
        sys.try_send_to_service::<Turnstile, Tick>(Tick).is_ok()
    });
    shut_down(&sys);
}

#[test]
fn a_publish_waits_for_room_in_a_full_subscriber() {
    struct Audit;
    static AUDITED: Reports<u32> = Reports::new();
    impl Service for Audit {
        async fn initialize(
            assistant: &ServiceAssistant<Self>,
        ) -> Result<(Self, ServiceConfiguration), BoxError> {
            assistant.subscribe::<Entry>().await.unwrap();
            let config = ServiceConfiguration {
                concurrency: ServiceConcurrency::None,
                capacity: Some(1),
            };
            Ok((Audit, config))
        }
    }
    #[derive(Clone)]
    struct Entry(u32);
    impl Listen<Entry> for Audit {
        async fn handle(&self, m: Entry, _: &ServiceAssistant<Self>) {
            AUDITED.report(m.0);
        }
    }
    let audited = AUDITED.listen();
    let sys = Acteur::new();
    sys.preload_service_sync::<Audit>().unwrap();
    for entry in 0..200 {
        sys.publish_sync(Entry(entry)).unwrap();
    }
    for entry in 0..200 {
        assert_eq!(next(&audited, "an audited entry"), entry);
    }
    let stats = sys.statistics();
    assert_eq!(stats.service::<Audit>().unwrap().dropped_messages, 0);
    shut_down(&sys);
}

#[test]
fn a_call_times_out_and_its_message_is_still_handled() {
    let sys = Acteur::new();
    let (held, began, release) = hold();
    sys.send_to_actor_sync::<Narrow, Hold>(3, held).unwrap();
    wait_began(began);
    sys.send_to_actor_sync::<Narrow, Note>(3, Note(1)).unwrap();
    let (late, _, _) = hold();
    let timed_out =
        sys.call_actor_with_timeout_sync::<Narrow, Hold>(3, late, Duration::from_millis(20));
    assert_eq!(timed_out, Err(Error::Timeout));
    release.send(()).unwrap();
    // The timed-out request was queued: it is handled, its answer dropped
    // (its `release` sender is gone, so it does not hold the actor).
    sys.send_to_actor_sync::<Narrow, Note>(3, Note(2)).unwrap();
    assert_eq!(
        sys.call_actor_sync::<Narrow, Seen>(3, Seen).unwrap(),
        vec![1, 2]
    );
    shut_down(&sys);
}

#[test]
fn the_builder_sets_the_default_call_timeout() {
    let sys = Acteur::builder()
        .call_timeout(Duration::from_millis(20))
        .build();
    let (held, began, release) = hold();
    sys.send_to_actor_sync::<Narrow, Hold>(1, held).unwrap();
    wait_began(began);
    assert_eq!(
        sys.call_actor_sync::<Narrow, Seen>(1, Seen),
        Err(Error::Timeout)
    );
    let (held_service, began, release_service) = hold();
    sys.send_to_service_sync::<ServiceGate, Hold>(held_service)
        .unwrap();
    wait_began(began);
    assert_eq!(
        sys.call_service_sync::<ServiceGate, Ping>(Ping),
        Err(Error::Timeout)
    );
    assert_eq!(
        sys.call_service_with_timeout_sync::<ServiceGate, Ping>(Ping, Duration::from_millis(5)),
        Err(Error::Timeout)
    );
    release.send(()).unwrap();
    release_service.send(()).unwrap();
    assert_eq!(
        sys.call_service_with_timeout_sync::<ServiceGate, Ping>(Ping, Duration::from_secs(20)),
        Ok("pong")
    );
    shut_down(&sys);
}

/// A one-at-a-time service without a capacity, for timeouts.
struct ServiceGate;
impl Service for ServiceGate {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let config = ServiceConfiguration {
            concurrency: ServiceConcurrency::None,
            ..Default::default()
        };
        Ok((ServiceGate, config))
    }
}
impl Listen<Hold> for ServiceGate {
    async fn handle(&self, m: Hold, _: &ServiceAssistant<Self>) {
        let _ = m.began.send(());
        let _ = m.release.await;
    }
}
impl Serve<Ping> for ServiceGate {
    type Response = &'static str;
    async fn handle(&self, _: Ping, _: &ServiceAssistant<Self>) -> &'static str {
        "pong"
    }
}

#[test]
fn a_zero_call_timeout_is_a_configuration_error() {
    let sys = Acteur::builder().call_timeout(Duration::ZERO).build();
    let refused = sys.call_actor_sync::<Narrow, Seen>(1, Seen).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::InvalidConfiguration {
                type_name: "acteur::ActeurBuilder",
                field: "call_timeout",
                ..
            }
        ),
        "{refused:?}"
    );
    let refused = sys
        .call_service_sync::<ServiceGate, Ping>(Ping)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::InvalidConfiguration {
                field: "call_timeout",
                ..
            }
        ),
        "{refused:?}"
    );
    shut_down(&sys);
}
