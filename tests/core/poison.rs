//! Poison messages: a message that makes its handler or `activate` panic
//! costs a bounded number of attempts, its caller gets an error, and the
//! actor goes on with the rest of its queue.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Receive, Respond,
};
use futures_channel::oneshot;

use crate::helpers::shut_down;

/// Panics on `Poison`, counts `Note`s in its own state.
struct Patient {
    notes: u32,
}
impl Actor for Patient {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Patient { notes: 0 })
    }
}
struct Poison;
impl Receive<Poison> for Patient {
    async fn handle(&mut self, _: Poison, _: &ActorAssistant<Self>) {
        panic!("poison (expected by the test)");
    }
}
impl Respond<Poison> for Patient {
    type Response = ();
    async fn handle(&mut self, _: Poison, _: &ActorAssistant<Self>) {
        panic!("poison (expected by the test)");
    }
}
struct Note;
impl Receive<Note> for Patient {
    async fn handle(&mut self, _: Note, _: &ActorAssistant<Self>) {
        self.notes += 1;
    }
}
struct Gate(oneshot::Receiver<()>);
impl Receive<Gate> for Patient {
    async fn handle(&mut self, m: Gate, _: &ActorAssistant<Self>) {
        let _ = m.0.await;
    }
}
struct Notes;
impl Respond<Notes> for Patient {
    type Response = u32;
    async fn handle(&mut self, _: Notes, _: &ActorAssistant<Self>) -> u32 {
        self.notes
    }
}

#[test]
fn a_poison_message_is_dropped_and_the_rest_of_the_queue_is_served() {
    let sys = Acteur::new();
    let (open, gate) = oneshot::channel();
    sys.send_to_actor_sync::<Patient, Gate>(1, Gate(gate))
        .unwrap();
    // Queued behind the gate: poison, note, poison, note, note.
    sys.send_to_actor_sync::<Patient, Poison>(1, Poison)
        .unwrap();
    sys.send_to_actor_sync::<Patient, Note>(1, Note).unwrap();
    sys.send_to_actor_sync::<Patient, Poison>(1, Poison)
        .unwrap();
    sys.send_to_actor_sync::<Patient, Note>(1, Note).unwrap();
    sys.send_to_actor_sync::<Patient, Note>(1, Note).unwrap();
    open.send(()).unwrap();
    // Each panic dropped the activation: the last one saw two notes.
    assert_eq!(sys.call_actor_sync::<Patient, Notes>(1, Notes).unwrap(), 2);
    let poisoned = sys.call_actor_sync::<Patient, Poison>(1, Poison);
    assert!(
        matches!(poisoned, Err(Error::Panicked { .. })),
        "{poisoned:?}"
    );
    assert_eq!(sys.call_actor_sync::<Patient, Notes>(1, Notes).unwrap(), 0);
    shut_down(&sys);
    let stats = sys.statistics();
    let patient = stats.actor::<Patient>().unwrap();
    // Every poison message was tried once: handlers consume their message.
    assert_eq!(patient.panics, 3);
    assert_eq!(patient.activations, 4);
}

/// `activate` panics while `FAILURES_LEFT` is above zero.
struct Flaky;
static FAILURES_LEFT: AtomicU32 = AtomicU32::new(0);
static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static FLAKY_TEST: Mutex<()> = Mutex::new(());
static FLAKY_LIMIT: AtomicU32 = AtomicU32::new(3);
impl Actor for Flaky {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        ATTEMPTS.fetch_add(1, SeqCst);
        let failing = FAILURES_LEFT
            .fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1))
            .is_ok();
        if failing {
            panic!("activation fails (expected by the test)");
        }
        Ok(Flaky)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            max_consecutive_panics: FLAKY_LIMIT.load(SeqCst),
            ..Default::default()
        }
    }
}
struct Work;
impl Respond<Work> for Flaky {
    type Response = &'static str;
    async fn handle(&mut self, _: Work, _: &ActorAssistant<Self>) -> &'static str {
        "done"
    }
}

/// A fresh system whose `Flaky` fails `failures` activations in a row and
/// gives each message `limit` attempts.
fn flaky(failures: u32, limit: u32) -> (Acteur, std::sync::MutexGuard<'static, ()>) {
    let serial = FLAKY_TEST.lock().unwrap_or_else(|e| e.into_inner());
    FAILURES_LEFT.store(failures, SeqCst);
    ATTEMPTS.store(0, SeqCst);
    FLAKY_LIMIT.store(limit, SeqCst);
    (Acteur::new(), serial)
}

#[test]
fn a_failed_activation_is_retried_for_the_same_message() {
    let (sys, _serial) = flaky(2, 3);
    assert_eq!(sys.call_actor_sync::<Flaky, Work>(1, Work), Ok("done"));
    assert_eq!(ATTEMPTS.load(SeqCst), 3);
    shut_down(&sys);
    let stats = sys.statistics();
    assert_eq!(stats.actor::<Flaky>().unwrap().activation_failures, 2);
}

#[test]
fn a_message_is_dropped_after_max_consecutive_panics_failed_activations() {
    let (sys, _serial) = flaky(u32::MAX, 3);
    let failed = sys.call_actor_sync::<Flaky, Work>(1, Work);
    assert!(
        matches!(failed, Err(Error::ActivationFailed { ref id, .. }) if id == "1"),
        "{failed:?}"
    );
    assert_eq!(ATTEMPTS.load(SeqCst), 3);
    // Once activations succeed again, so do messages.
    FAILURES_LEFT.store(0, SeqCst);
    assert_eq!(sys.call_actor_sync::<Flaky, Work>(1, Work), Ok("done"));
    shut_down(&sys);
}

#[test]
fn a_limit_of_one_gives_each_message_a_single_attempt() {
    let (sys, _serial) = flaky(1, 1);
    let failed = sys.call_actor_sync::<Flaky, Work>(1, Work);
    assert!(
        matches!(failed, Err(Error::ActivationFailed { .. })),
        "{failed:?}"
    );
    assert_eq!(sys.call_actor_sync::<Flaky, Work>(1, Work), Ok("done"));
    assert_eq!(ATTEMPTS.load(SeqCst), 2);
    shut_down(&sys);
}

#[test]
fn zero_max_consecutive_panics_is_a_configuration_error() {
    let (sys, _serial) = flaky(0, 0);
    let refused = sys.call_actor_sync::<Flaky, Work>(1, Work).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::InvalidConfiguration {
                field: "max_consecutive_panics",
                ..
            }
        ),
        "{refused:?}"
    );
    shut_down(&sys);
}
