//! Panics, failed activations, self-calls and blocking calls in handlers:
//! contained, reported to the caller, and nothing hangs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, Receive, Respond};

use crate::helpers::shut_down;

/// Its handler panics on `Explode`.
struct Fragile {
    handled: u32,
}

impl Actor for Fragile {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Fragile { handled: 0 })
    }
}

struct Explode;
impl Respond<Explode> for Fragile {
    type Response = ();
    async fn handle(&mut self, _: Explode, _: &ActorAssistant<Self>) {
        panic!("boom (expected by the test)");
    }
}
impl Receive<Explode> for Fragile {
    async fn handle(&mut self, _: Explode, _: &ActorAssistant<Self>) {
        panic!("boom (expected by the test)");
    }
}

struct Handled;
impl Respond<Handled> for Fragile {
    type Response = u32;
    async fn handle(&mut self, _: Handled, _: &ActorAssistant<Self>) -> u32 {
        self.handled += 1;
        self.handled
    }
}
impl Receive<Handled> for Fragile {
    async fn handle(&mut self, _: Handled, _: &ActorAssistant<Self>) {
        self.handled += 1;
    }
}

#[test]
fn handler_panic_fails_the_call_and_drops_the_activation_without_deactivate() {
    let sys = Acteur::new();
    assert_eq!(
        sys.call_actor_sync::<Fragile, Handled>(1, Handled).unwrap(),
        1
    );
    let error = sys
        .call_actor_sync::<Fragile, Explode>(1, Explode)
        .unwrap_err();
    assert!(matches!(error, Error::Panicked { .. }), "{error:?}");
    assert!(error.to_string().contains("Explode"), "{error}");
    // A fresh activation: its state starts over.
    assert_eq!(
        sys.call_actor_sync::<Fragile, Handled>(1, Handled).unwrap(),
        1
    );
    shut_down(&sys);
    let stats = sys.statistics();
    let fragile = stats.actor::<Fragile>().unwrap();
    assert_eq!(
        (fragile.activations, fragile.panics, fragile.deactivations),
        (2, 1, 1)
    );
}

#[test]
fn messages_queued_behind_a_panic_go_to_the_next_activation() {
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Fragile, Explode>(2, Explode)
        .unwrap();
    for _ in 0..10 {
        sys.send_to_actor_sync::<Fragile, Handled>(2, Handled)
            .unwrap();
    }
    assert_eq!(
        sys.call_actor_sync::<Fragile, Handled>(2, Handled).unwrap(),
        11
    );
    shut_down(&sys);
}

/// `activate` panics while `FAIL_ACTIVATION` is set.
struct Unlucky;
static FAIL_ACTIVATION: AtomicBool = AtomicBool::new(true);
static UNLUCKY_TEST: Mutex<()> = Mutex::new(());

impl Actor for Unlucky {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        if FAIL_ACTIVATION.load(SeqCst) {
            panic!("activation fails (expected by the test)");
        }
        Ok(Unlucky)
    }
}
impl Respond<Handled> for Unlucky {
    type Response = &'static str;
    async fn handle(&mut self, _: Handled, _: &ActorAssistant<Self>) -> &'static str {
        "handled"
    }
}
impl Receive<Handled> for Unlucky {
    async fn handle(&mut self, _: Handled, _: &ActorAssistant<Self>) {}
}

#[test]
fn failed_activation_fails_calls_drops_sends_and_the_next_message_retries() {
    let _serial = UNLUCKY_TEST.lock().unwrap();
    FAIL_ACTIVATION.store(true, SeqCst);
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Unlucky, Handled>(5, Handled)
        .unwrap();
    sys.send_to_actor_sync::<Unlucky, Handled>(5, Handled)
        .unwrap();
    let error = sys
        .call_actor_sync::<Unlucky, Handled>(5, Handled)
        .unwrap_err();
    assert!(
        matches!(error, Error::ActivationFailed { ref id, .. } if id == "5"),
        "{error:?}"
    );
    FAIL_ACTIVATION.store(false, SeqCst);
    assert_eq!(
        sys.call_actor_sync::<Unlucky, Handled>(5, Handled).unwrap(),
        "handled"
    );
    shut_down(&sys);
    let stats = sys.statistics();
    let unlucky = stats.actor::<Unlucky>().unwrap();
    // The first activation failed once for the three messages queued for it,
    // or more often if the sends were handled before the call arrived.
    assert!(unlucky.activation_failures >= 1);
    assert_eq!(unlucky.dropped_messages, 2);
    assert_eq!(unlucky.activations, 1);
}

/// Calls itself, directly or through the handle.
struct Narcissus;
impl Actor for Narcissus {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Narcissus)
    }
}

struct CallMyself {
    through_handle: bool,
}
impl Respond<CallMyself> for Narcissus {
    type Response = Result<u32, Error>;
    async fn handle(
        &mut self,
        m: CallMyself,
        assistant: &ActorAssistant<Self>,
    ) -> Result<u32, Error> {
        let me = *assistant.id();
        if m.through_handle {
            assistant
                .acteur()
                .call_actor::<Narcissus, Echo>(me, Echo)
                .await
        } else {
            assistant.call_actor::<Narcissus, Echo>(me, Echo).await
        }
    }
}

struct Echo;
impl Respond<Echo> for Narcissus {
    type Response = u32;
    async fn handle(&mut self, _: Echo, assistant: &ActorAssistant<Self>) -> u32 {
        *assistant.id()
    }
}

struct CallOther(u32);
impl Respond<CallOther> for Narcissus {
    type Response = Result<u32, Error>;
    async fn handle(
        &mut self,
        m: CallOther,
        assistant: &ActorAssistant<Self>,
    ) -> Result<u32, Error> {
        assistant.call_actor::<Narcissus, Echo>(m.0, Echo).await
    }
}

#[test]
fn an_actor_calling_itself_gets_a_deadlock_error_at_once() {
    let sys = Acteur::new();
    for through_handle in [false, true] {
        let answer = sys
            .call_actor_sync::<Narcissus, CallMyself>(1, CallMyself { through_handle })
            .unwrap();
        let error = answer.unwrap_err();
        assert!(
            matches!(error, Error::Deadlock { ref chain, .. } if chain.contains("Narcissus(1)")),
            "{error:?}"
        );
    }
    // Another ID of the same type is fine.
    assert_eq!(
        sys.call_actor_sync::<Narcissus, CallOther>(1, CallOther(2))
            .unwrap(),
        Ok(2)
    );
    shut_down(&sys);
}

struct Blocker;
impl Actor for Blocker {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Blocker)
    }
}
struct TryBlocking;
impl Respond<TryBlocking> for Blocker {
    type Response = Vec<Error>;
    async fn handle(&mut self, _: TryBlocking, assistant: &ActorAssistant<Self>) -> Vec<Error> {
        let sys = assistant.acteur();
        // Returns at once instead of waiting for itself.
        sys.wait_until_stopped();
        [
            sys.call_actor_sync::<Narcissus, Echo>(3, Echo).map(drop),
            sys.send_to_actor_sync::<Narcissus, Echo>(3, Echo),
            sys.publish_sync(1u16),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect()
    }
}
impl Receive<Echo> for Narcissus {
    async fn handle(&mut self, _: Echo, _: &ActorAssistant<Self>) {}
}

#[test]
fn sync_methods_inside_a_handler_are_refused() {
    let sys = Acteur::new();
    let errors = sys
        .call_actor_sync::<Blocker, TryBlocking>(1, TryBlocking)
        .unwrap();
    assert_eq!(errors.len(), 3, "{errors:?}");
    for error in &errors {
        assert!(
            matches!(error, Error::BlockingCallInHandler { .. }),
            "{error:?}"
        );
    }
    assert!(
        errors[0].to_string().contains("`call_actor`"),
        "{}",
        errors[0]
    );
    shut_down(&sys);
}
