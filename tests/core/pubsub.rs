//! Publish/subscribe: every subscriber gets its own clone, once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Listen, Respond, Serve, Service, ServiceAssistant,
    ServiceConcurrency, ServiceConfiguration,
};

use crate::helpers::{eventually, shut_down};

#[derive(Clone)]
struct Sale(u64);

/// Two subscribers of `Sale`; the first subscribes twice.
struct Ledger(AtomicUsize);
struct Audit(Mutex<Vec<u64>>);

impl Service for Ledger {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.subscribe::<Sale>().await.unwrap();
        assistant.subscribe::<Sale>().await.unwrap();
        Ok((Ledger(AtomicUsize::new(0)), ServiceConfiguration::default()))
    }
}
impl Listen<Sale> for Ledger {
    async fn handle(&self, _: Sale, _: &ServiceAssistant<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Service for Audit {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.subscribe::<Sale>().await.unwrap();
        // One at a time: a call queued after sales is answered after them.
        let concurrency = ServiceConcurrency::None;
        Ok((
            Audit(Mutex::new(Vec::new())),
            ServiceConfiguration {
                concurrency,
                ..Default::default()
            },
        ))
    }
}
impl Listen<Sale> for Audit {
    async fn handle(&self, sale: Sale, assistant: &ServiceAssistant<Self>) {
        self.0.lock().unwrap().push(sale.0);
        if sale.0 == 1 {
            // Publishing from a service.
            assistant.publish(Sale(2)).await.unwrap();
        }
    }
}

struct Count;
impl Serve<Count> for Audit {
    type Response = Vec<u64>;
    async fn handle(&self, _: Count, _: &ServiceAssistant<Self>) -> Vec<u64> {
        let mut seen = self.0.lock().unwrap().clone();
        seen.sort();
        seen
    }
}

/// Publishes from an actor.
struct Shop;
impl Actor for Shop {
    type Id = u8;
    async fn activate(_: u8, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Shop)
    }
}
impl Respond<Sale> for Shop {
    type Response = ();
    async fn handle(&mut self, sale: Sale, assistant: &ActorAssistant<Self>) {
        assistant.publish(sale).await.unwrap();
    }
}

#[test]
fn each_subscriber_gets_one_clone_from_every_publisher() {
    let sys = Acteur::new();
    sys.preload_service_sync::<Ledger>().unwrap();
    sys.preload_service_sync::<Audit>().unwrap();
    sys.publish_sync(Sale(1)).unwrap(); // Audit republishes Sale(2)
    sys.call_actor_sync::<Shop, Sale>(0, Sale(3)).unwrap();
    // Audit republishes while handling Sale(1): stopping before that would
    // make its publish fail, so wait until it has seen all three.
    eventually("Audit seeing every sale", || {
        sys.call_service_sync::<Audit, Count>(Count).unwrap() == [1, 2, 3]
    });
    shut_down(&sys);
    let stats = sys.statistics();
    assert_eq!(
        stats.service::<Ledger>().unwrap().handled,
        3,
        "Ledger subscribed twice but must get each sale once"
    );
    // Audit's sales were checked above; its `handled` also counts the calls.
}

#[test]
fn subscribers_see_what_was_published() {
    let sys = Acteur::new();
    sys.preload_service_sync::<Audit>().unwrap();
    sys.publish_sync(Sale(7)).unwrap();
    sys.publish_sync(Sale(8)).unwrap();
    assert_eq!(
        sys.call_service_sync::<Audit, Count>(Count).unwrap(),
        vec![7, 8]
    );
    shut_down(&sys);
}

#[test]
fn publishing_without_subscribers_is_fine() {
    let sys = Acteur::new();
    sys.publish_sync(Sale(1)).unwrap();
    sys.publish_sync("nobody listens").unwrap();
    shut_down(&sys);
}
