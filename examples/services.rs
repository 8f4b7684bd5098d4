//! Two services: a stateful one (a tally behind a mutex, one message at a
//! time) and a stateless one (a calculation that runs on every core), and an
//! actor that uses both. Run with `cargo run --example services`.

#![allow(
    clippy::needless_update,
    reason = "configurations gain fields in later versions; `..Default::default()` keeps this code compiling"
)]

use std::collections::HashMap;
use std::sync::Mutex;

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Listen, Respond, Serve, Service, ServiceAssistant,
    ServiceConcurrency, ServiceConfiguration,
};

/// Stateful: counts orders per product. `ServiceConcurrency::None` keeps the
/// handlers one at a time, so the mutex is never contended.
struct OrderTally {
    per_product: Mutex<HashMap<String, u32>>,
}

impl Service for OrderTally {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let tally = OrderTally {
            per_product: Mutex::new(HashMap::new()),
        };
        let config = ServiceConfiguration {
            concurrency: ServiceConcurrency::None,
            ..Default::default()
        };
        Ok((tally, config))
    }
}

struct Ordered(String);

impl Listen<Ordered> for OrderTally {
    async fn handle(&self, message: Ordered, _: &ServiceAssistant<Self>) {
        let mut per_product = self.per_product.lock().unwrap_or_else(|e| e.into_inner());
        *per_product.entry(message.0).or_default() += 1;
    }
}

struct TallyOf(String);

impl Serve<TallyOf> for OrderTally {
    type Response = u32;
    async fn handle(&self, message: TallyOf, _: &ServiceAssistant<Self>) -> u32 {
        let per_product = self.per_product.lock().unwrap_or_else(|e| e.into_inner());
        per_product.get(&message.0).copied().unwrap_or(0)
    }
}

/// Stateless: prices an order; as many at once as there are cores.
struct Pricing;

impl Service for Pricing {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let config = ServiceConfiguration {
            concurrency: ServiceConcurrency::OnePerCore,
            ..Default::default()
        };
        Ok((Pricing, config))
    }
}

struct PriceOf {
    quantity: u32,
    unit_cents: u64,
}

impl Serve<PriceOf> for Pricing {
    type Response = u64;
    async fn handle(&self, m: PriceOf, _: &ServiceAssistant<Self>) -> u64 {
        let gross = u64::from(m.quantity) * m.unit_cents;
        // 10% off from ten items on.
        if m.quantity >= 10 {
            gross * 9 / 10
        } else {
            gross
        }
    }
}

/// A customer's basket, which prices through one service and reports to the other.
struct Basket {
    total_cents: u64,
}

impl Actor for Basket {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Basket { total_cents: 0 })
    }
}

struct Buy {
    product: &'static str,
    quantity: u32,
    unit_cents: u64,
}

impl Respond<Buy> for Basket {
    type Response = Result<u64, acteur::Error>;
    async fn handle(
        &mut self,
        m: Buy,
        assistant: &ActorAssistant<Self>,
    ) -> Result<u64, acteur::Error> {
        let price = PriceOf {
            quantity: m.quantity,
            unit_cents: m.unit_cents,
        };
        self.total_cents += assistant.call_service::<Pricing, _>(price).await?;
        assistant
            .send_to_service::<OrderTally, _>(Ordered(m.product.to_string()))
            .await?;
        Ok(self.total_cents)
    }
}

fn main() -> Result<(), acteur::Error> {
    let sys = Acteur::new();
    let purchases = [(1, "tea", 2, 350), (2, "tea", 12, 350), (1, "cake", 1, 420)];
    for (customer, product, quantity, unit_cents) in purchases {
        let buy = Buy {
            product,
            quantity,
            unit_cents,
        };
        let total = sys.call_actor_sync::<Basket, _>(customer, buy)??;
        println!("customer {customer} bought {quantity} x {product}; basket now {total} cents");
    }
    // OrderTally handles one message at a time, in order: the call below is
    // answered after every order sent before it.
    let teas = sys.call_service_sync::<OrderTally, _>(TallyOf("tea".into()))?;
    println!("tea was ordered {teas} times");
    assert_eq!(teas, 2);
    sys.stop();
    sys.wait_until_stopped();
    Ok(())
}
