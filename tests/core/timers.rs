//! Scheduled messages, and the `Timer` that cancels them.

use std::sync::Mutex;
use std::sync::mpsc::Sender;
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Error, Listen, Receive, Service, ServiceAssistant,
    ServiceConfiguration,
};

use crate::helpers::{next, shut_down};

/// Reports every message it receives, through `data`.
struct Clock;
impl Actor for Clock {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Clock)
    }
}
struct Ring(&'static str);
impl Receive<Ring> for Clock {
    async fn handle(&mut self, ring: Ring, assistant: &ActorAssistant<Self>) {
        report(assistant.data(), ring.0);
    }
}

fn report(reports: Result<&Mutex<Sender<&'static str>>, Error>, what: &'static str) {
    reports.unwrap().lock().unwrap().send(what).unwrap();
}

struct Bell;
impl Service for Bell {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Bell, ServiceConfiguration::default()))
    }
}
impl Listen<Ring> for Bell {
    async fn handle(&self, ring: Ring, assistant: &ServiceAssistant<Self>) {
        report(assistant.data(), ring.0);
    }
}

fn system() -> (Acteur, std::sync::mpsc::Receiver<&'static str>) {
    let (reports, rings) = std::sync::mpsc::channel();
    (Acteur::builder().data(Mutex::new(reports)).build(), rings)
}

const LATER: Duration = Duration::from_secs(3600);
const SOON: Duration = Duration::from_millis(5);

#[test]
fn a_cancelled_timer_delivers_nothing() {
    let (sys, rings) = system();
    let to_actor = sys
        .schedule_send_to_actor_sync::<Clock, Ring>(1, SOON, Ring("actor, cancelled"))
        .unwrap();
    let to_service = sys
        .schedule_send_to_service_sync::<Bell, Ring>(SOON, Ring("service, cancelled"))
        .unwrap();
    assert!(to_actor.cancel());
    assert!(to_service.cancel());
    assert!(!to_actor.cancel(), "cancelled once");
    assert_eq!(sys.statistics().scheduled_pending, 0);
    // Scheduled after, due after: once they arrive, the cancelled ones
    // would have.
    sys.schedule_send_to_actor_sync::<Clock, Ring>(1, SOON * 2, Ring("actor"))
        .unwrap();
    sys.schedule_send_to_service_sync::<Bell, Ring>(SOON * 2, Ring("service"))
        .unwrap();
    let mut rings = [next(&rings, "a ring"), next(&rings, "a ring")];
    rings.sort_unstable();
    assert_eq!(rings, ["actor", "service"]);
    shut_down(&sys);
}

#[test]
fn a_timer_that_fired_cannot_be_cancelled() {
    let (sys, rings) = system();
    let timer = sys
        .schedule_send_to_actor_sync::<Clock, Ring>(1, SOON, Ring("rang"))
        .unwrap();
    assert_eq!(next(&rings, "the ring"), "rang");
    assert!(!timer.cancel());
    shut_down(&sys);
}

#[test]
fn dropping_a_timer_keeps_it_running() {
    let (sys, rings) = system();
    drop(
        sys.schedule_send_to_service_sync::<Bell, Ring>(SOON, Ring("still rang"))
            .unwrap(),
    );
    assert_eq!(next(&rings, "the ring"), "still rang");
    shut_down(&sys);
}

#[test]
fn messages_are_delivered_in_the_order_they_are_due() {
    let (sys, rings) = system();
    for (delay, name) in [(30, "third"), (10, "first"), (20, "second")] {
        sys.schedule_send_to_actor_sync::<Clock, Ring>(1, Duration::from_millis(delay), Ring(name))
            .unwrap();
    }
    let order = [next(&rings, "1"), next(&rings, "2"), next(&rings, "3")];
    assert_eq!(order, ["first", "second", "third"]);
    shut_down(&sys);
}

#[test]
fn shutdown_cancels_what_is_pending() {
    let (sys, _rings) = system();
    let pending = sys
        .schedule_send_to_actor_sync::<Clock, Ring>(1, LATER, Ring("never"))
        .unwrap();
    let cancelled = sys
        .schedule_send_to_service_sync::<Bell, Ring>(LATER, Ring("never"))
        .unwrap();
    assert!(cancelled.cancel());
    assert_eq!(sys.statistics().scheduled_pending, 1);
    shut_down(&sys);
    assert!(!pending.cancel(), "cancelled by the shutdown");
    let stats = sys.statistics();
    assert_eq!((stats.scheduled_pending, stats.scheduled_cancelled), (0, 1));
    assert_eq!(
        sys.schedule_send_to_service_sync::<Bell, Ring>(SOON, Ring("late"))
            .map(drop),
        Err(Error::Stopped)
    );
}

#[test]
fn schedules_and_cancels_in_a_loop_leave_nothing_pending() {
    let (sys, _rings) = system();
    for _ in 0..10_000 {
        let timeout = sys
            .schedule_send_to_actor_sync::<Clock, Ring>(1, LATER, Ring("never"))
            .unwrap();
        assert!(timeout.cancel());
    }
    assert_eq!(sys.statistics().scheduled_pending, 0);
    shut_down(&sys);
    assert_eq!(sys.statistics().scheduled_cancelled, 0);
}
