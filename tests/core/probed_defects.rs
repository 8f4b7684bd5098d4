//! Regression tests for defects found by probing the 0.13 release.

use std::sync::Mutex;
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Listen, Receive, Service,
    ServiceAssistant, ServiceConfiguration,
};
use futures_lite::future::block_on;

use crate::helpers::shut_down;

#[derive(Clone)]
struct Hello;

/// `Left` and `Right` each send to the other from `initialize`.
struct Left;
impl Service for Left {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.send_to_service::<Right, Hello>(Hello).await?;
        Ok((Left, ServiceConfiguration::default()))
    }
}
impl Listen<Hello> for Left {
    async fn handle(&self, _: Hello, _: &ServiceAssistant<Self>) {}
}
struct Right;
impl Service for Right {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.send_to_service::<Left, Hello>(Hello).await?;
        Ok((Right, ServiceConfiguration::default()))
    }
}
impl Listen<Hello> for Right {
    async fn handle(&self, _: Hello, _: &ServiceAssistant<Self>) {}
}

#[test]
fn services_that_send_to_each_other_from_initialize_start_and_stop() {
    let sys = Acteur::new();
    sys.preload_service_sync::<Left>().unwrap();
    sys.preload_service_sync::<Right>().unwrap();
    shut_down(&sys);
    let stats = sys.statistics();
    assert_eq!(stats.service::<Left>().unwrap().handled, 1);
    assert_eq!(stats.service::<Right>().unwrap().handled, 1);
}

/// Its configuration is invalid.
struct Misconfigured;
impl Actor for Misconfigured {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Misconfigured)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            max_actors: Some(0),
            ..Default::default()
        }
    }
}
impl Receive<Hello> for Misconfigured {
    async fn handle(&mut self, _: Hello, _: &ActorAssistant<Self>) {}
}
struct Fine;
impl Actor for Fine {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Fine)
    }
}
impl Receive<Hello> for Fine {
    async fn handle(&mut self, _: Hello, _: &ActorAssistant<Self>) {}
}

#[test]
fn scheduling_to_an_invalid_configuration_is_refused_like_every_send() {
    let sys = Acteur::new();
    let refused =
        sys.schedule_send_to_actor_sync::<Misconfigured, Hello>(1, Duration::from_secs(1), Hello);
    assert!(
        matches!(
            refused,
            Err(Error::InvalidConfiguration {
                field: "max_actors",
                ..
            })
        ),
        "{refused:?}"
    );
    shut_down(&sys);
    assert_eq!(sys.statistics().scheduled_cancelled, 0);

    let limited = Acteur::builder().max_actors(0).build();
    let refused =
        limited.schedule_send_to_actor_sync::<Fine, Hello>(1, Duration::from_secs(1), Hello);
    assert!(
        matches!(
            refused,
            Err(Error::InvalidConfiguration {
                type_name: "acteur::ActeurBuilder",
                ..
            })
        ),
        "{refused:?}"
    );
    shut_down(&limited);
}

/// Keeps its assistant, to subscribe once the system is stopping.
struct Newsstand;
static NEWSSTAND: Mutex<Option<ServiceAssistant<Newsstand>>> = Mutex::new(None);
impl Service for Newsstand {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        *NEWSSTAND.lock().unwrap() = Some(assistant.clone());
        Ok((Newsstand, ServiceConfiguration::default()))
    }
}
impl Listen<Hello> for Newsstand {
    async fn handle(&self, _: Hello, _: &ServiceAssistant<Self>) {}
}

#[test]
fn subscribing_once_the_system_is_stopping_returns_stopped() {
    let sys = Acteur::new();
    sys.preload_service_sync::<Newsstand>().unwrap();
    let assistant = NEWSSTAND.lock().unwrap().take().unwrap();
    sys.stop();
    assert_eq!(
        block_on(assistant.subscribe::<Hello>()),
        Err(Error::Stopped)
    );
    shut_down(&sys);
}
