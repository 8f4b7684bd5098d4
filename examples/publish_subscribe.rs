//! Publish/subscribe: services subscribe to a message type in their
//! `initialize`, and anyone publishes. Run with
//! `cargo run --example publish_subscribe`.

#![allow(
    clippy::needless_update,
    reason = "configurations gain fields in later versions; `..Default::default()` keeps this code compiling"
)]

use std::sync::atomic::{AtomicU64, Ordering};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Listen, Respond, Serve, Service, ServiceAssistant,
    ServiceConcurrency, ServiceConfiguration,
};

/// Published whenever a user signs up. Subscribers each get a clone.
#[derive(Clone, Debug)]
struct SignedUp {
    user: u32,
    email: String,
}

/// Sends a welcome mail (here: prints it).
struct Mailer;

impl Service for Mailer {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant
            .subscribe::<SignedUp>()
            .await
            .expect("the system is running");
        Ok((Mailer, ServiceConfiguration::default()))
    }
}

impl Listen<SignedUp> for Mailer {
    async fn handle(&self, event: SignedUp, _: &ServiceAssistant<Self>) {
        println!("mailer: welcome mail to {}", event.email);
    }
}

/// Counts sign-ups, one at a time so the count can be read in order.
struct Metrics {
    sign_ups: AtomicU64,
}

impl Service for Metrics {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant
            .subscribe::<SignedUp>()
            .await
            .expect("the system is running");
        let config = ServiceConfiguration {
            concurrency: ServiceConcurrency::None,
            ..Default::default()
        };
        Ok((
            Metrics {
                sign_ups: AtomicU64::new(0),
            },
            config,
        ))
    }
}

impl Listen<SignedUp> for Metrics {
    async fn handle(&self, _: SignedUp, _: &ServiceAssistant<Self>) {
        self.sign_ups.fetch_add(1, Ordering::Relaxed);
    }
}

struct SignUps;

impl Serve<SignUps> for Metrics {
    type Response = u64;
    async fn handle(&self, _: SignUps, _: &ServiceAssistant<Self>) -> u64 {
        self.sign_ups.load(Ordering::Relaxed)
    }
}

/// A user actor publishes the event when it is created.
struct User;

impl Actor for User {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(User)
    }
}

struct SignUp(String);

impl Respond<SignUp> for User {
    type Response = Result<(), acteur::Error>;
    async fn handle(
        &mut self,
        message: SignUp,
        assistant: &ActorAssistant<Self>,
    ) -> Result<(), acteur::Error> {
        let event = SignedUp {
            user: *assistant.id(),
            email: message.0,
        };
        println!("user {}: signed up", event.user);
        assistant.publish(event).await
    }
}

fn main() -> Result<(), acteur::Error> {
    let sys = Acteur::new();
    // Start the subscribers first, so that no event is published before
    // they listen.
    sys.preload_service_sync::<Mailer>()?;
    sys.preload_service_sync::<Metrics>()?;
    // A call (not a send) so that the event is published before we go on:
    // once the system is stopping, even handlers cannot publish any more.
    sys.call_actor_sync::<User, _>(1, SignUp("ada@example.com".into()))??;
    sys.call_actor_sync::<User, _>(2, SignUp("alan@example.com".into()))??;
    // Publishing straight from the handle works too.
    sys.publish_sync(SignedUp {
        user: 3,
        email: "grace@example.com".into(),
    })?;
    // Metrics handles one message at a time, in order: this call is answered
    // after the three events queued before it.
    let sign_ups = sys.call_service_sync::<Metrics, _>(SignUps)?;
    println!("metrics counted {sign_ups} sign-ups");
    assert_eq!(sign_ups, 3);
    sys.stop();
    sys.wait_until_stopped();
    Ok(())
}
