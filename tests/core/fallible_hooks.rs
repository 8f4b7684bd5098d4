//! `activate` and `initialize` can fail with an error: handled as a panic
//! there is (retried, then reported), with its cause kept for the caller.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Respond, Serve, Service,
    ServiceAssistant, ServiceConfiguration,
};

use crate::helpers::shut_down;

/// How many more loads fail, shared through `data`.
struct Outage(AtomicU32);

impl Outage {
    fn new(failures: u32) -> Self {
        Outage(AtomicU32::new(failures))
    }
    /// Fails while failures are left.
    fn load(&self) -> Result<(), BoxError> {
        match self
            .0
            .fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1))
        {
            Ok(_) => Err("db down".into()),
            Err(_) => Ok(()),
        }
    }
}

/// Retries a failed `activate` up to `MAX` failures in a row.
struct Loaded<const MAX: u32>;
impl<const MAX: u32> Actor for Loaded<MAX> {
    type Id = u32;
    async fn activate(_: u32, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        assistant.data::<Outage>()?.load()?;
        Ok(Loaded)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            max_consecutive_panics: MAX,
            ..Default::default()
        }
    }
}
struct Read;
impl<const MAX: u32> Respond<Read> for Loaded<MAX> {
    type Response = &'static str;
    async fn handle(&mut self, _: Read, _: &ActorAssistant<Self>) -> &'static str {
        "loaded"
    }
}

#[test]
fn an_activation_that_fails_fewer_times_than_the_limit_serves_the_call() {
    let sys = Acteur::builder().data(Outage::new(3)).build();
    assert_eq!(
        sys.call_actor_sync::<Loaded<5>, Read>(1, Read),
        Ok("loaded")
    );
    let stats = sys.statistics();
    let loaded = stats.actor::<Loaded<5>>().unwrap();
    assert_eq!((loaded.activation_failures, loaded.activations), (3, 1));
    shut_down(&sys);
}

#[test]
fn an_activation_that_keeps_failing_gives_the_caller_its_cause() {
    let sys = Acteur::builder().data(Outage::new(3)).build();
    let failed = sys.call_actor_sync::<Loaded<2>, Read>(1, Read);
    let Err(Error::ActivationFailed { id, cause, .. }) = &failed else {
        panic!("expected ActivationFailed, got {failed:?}");
    };
    assert_eq!((id.as_str(), cause.as_str()), ("1", "db down"));
    let text = failed.unwrap_err().to_string();
    assert!(text.contains("db down"), "{text}");
    // One failure left: another actor's first attempt fails, and its retry
    // succeeds. (Actor 1 may still be at its limit: a message that reaches
    // it before its slot is cleared gets a single attempt.)
    assert_eq!(
        sys.call_actor_sync::<Loaded<2>, Read>(2, Read),
        Ok("loaded")
    );
    shut_down(&sys);
}

/// Initialises only once the outage is over.
struct Catalogue;
impl Service for Catalogue {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.data::<Outage>()?.load()?;
        Ok((Catalogue, ServiceConfiguration::default()))
    }
}
impl Serve<Read> for Catalogue {
    type Response = &'static str;
    async fn handle(&self, _: Read, _: &ServiceAssistant<Self>) -> &'static str {
        "up"
    }
}

#[test]
fn an_initialize_error_reaches_the_caller_and_a_later_message_retries() {
    let sys = Acteur::builder().data(Outage::new(1)).build();
    let failed = sys.call_service_sync::<Catalogue, Read>(Read);
    let Err(Error::ServiceInitFailed { service, cause, .. }) = &failed else {
        panic!("expected ServiceInitFailed, got {failed:?}");
    };
    assert_eq!(
        (*service, cause.as_str()),
        (std::any::type_name::<Catalogue>(), "db down")
    );
    assert_eq!(sys.call_service_sync::<Catalogue, Read>(Read), Ok("up"));
    shut_down(&sys);
}

#[test]
fn a_missing_dependency_fails_the_activation_with_its_name() {
    let sys = Acteur::new();
    let failed = sys.call_actor_sync::<Loaded<1>, Read>(1, Read);
    let Err(Error::ActivationFailed { cause, .. }) = &failed else {
        panic!("expected ActivationFailed, got {failed:?}");
    };
    assert!(cause.contains("Outage"), "{cause}");
    shut_down(&sys);
}
