//! The application's values, given to the builder, reach every hook and
//! handler by their type; a missing one is an error naming it.

use std::sync::{Arc, Mutex};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Error, Listen, Receive, Respond, Serve, Service,
    ServiceAssistant, ServiceConfiguration,
};

use crate::helpers::shut_down;

/// The value every hook looks for.
struct Pool(&'static str);

/// Which hooks found the pool, and what it held.
#[derive(Default)]
struct Found(Mutex<Vec<(&'static str, &'static str)>>);

fn found(data: Result<&Pool, Error>, journal: Result<&Arc<Found>, Error>, hook: &'static str) {
    let pool = data.map_or("missing", |pool| pool.0);
    journal.unwrap().0.lock().unwrap().push((hook, pool));
}

struct Customer;
impl Actor for Customer {
    type Id = u32;
    async fn activate(_: u32, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        found(assistant.data(), assistant.data(), "activate");
        Ok(Customer)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        found(assistant.data(), assistant.data(), "deactivate");
    }
}
struct Visit;
impl Receive<Visit> for Customer {
    async fn handle(&mut self, _: Visit, assistant: &ActorAssistant<Self>) {
        found(assistant.data(), assistant.data(), "Receive::handle");
    }
}
impl Respond<Visit> for Customer {
    type Response = ();
    async fn handle(&mut self, _: Visit, assistant: &ActorAssistant<Self>) {
        found(assistant.data(), assistant.data(), "Respond::handle");
    }
}

struct Desk;
impl Service for Desk {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        found(assistant.data(), assistant.data(), "initialize");
        Ok((Desk, ServiceConfiguration::default()))
    }
    async fn shutdown(&self, assistant: &ServiceAssistant<Self>) {
        found(assistant.data(), assistant.data(), "shutdown");
    }
}
impl Listen<Visit> for Desk {
    async fn handle(&self, _: Visit, assistant: &ServiceAssistant<Self>) {
        found(assistant.data(), assistant.data(), "Listen::handle");
    }
}
impl Serve<Visit> for Desk {
    type Response = ();
    async fn handle(&self, _: Visit, assistant: &ServiceAssistant<Self>) {
        found(assistant.data(), assistant.data(), "Serve::handle");
    }
}

#[test]
fn every_hook_and_handler_kind_finds_the_data() {
    let journal = Arc::new(Found::default());
    let sys = Acteur::builder()
        .data(Pool("first"))
        .data(journal.clone())
        // One value per type: this one replaces the first.
        .data(Pool("second"))
        .build();
    assert_eq!(sys.data::<Pool>().map(|pool| pool.0), Ok("second"));
    sys.send_to_actor_sync::<Customer, Visit>(1, Visit).unwrap();
    sys.call_actor_sync::<Customer, Visit>(1, Visit).unwrap();
    sys.send_to_service_sync::<Desk, Visit>(Visit).unwrap();
    sys.call_service_sync::<Desk, Visit>(Visit).unwrap();
    shut_down(&sys);
    let mut entries = journal.0.lock().unwrap().clone();
    entries.sort_unstable();
    assert_eq!(
        entries,
        [
            ("Listen::handle", "second"),
            ("Receive::handle", "second"),
            ("Respond::handle", "second"),
            ("Serve::handle", "second"),
            ("activate", "second"),
            ("deactivate", "second"),
            ("initialize", "second"),
            ("shutdown", "second"),
        ]
    );
}

#[test]
fn a_missing_type_is_an_error_that_names_it() {
    let journal = Arc::new(Found::default());
    let sys = Acteur::builder().data(journal.clone()).build();
    let missing = sys.data::<Pool>().map(|_| ());
    assert_eq!(
        missing,
        Err(Error::MissingData {
            type_name: std::any::type_name::<Pool>()
        })
    );
    let text = missing.unwrap_err().to_string();
    assert!(text.contains("application_data::Pool"), "{text}");
    assert!(text.contains("Acteur::builder().data(..)"), "{text}");
    sys.call_actor_sync::<Customer, Visit>(1, Visit).unwrap();
    shut_down(&sys);
    let entries = journal.0.lock().unwrap().clone();
    assert!(
        entries.iter().all(|(_, pool)| *pool == "missing"),
        "{entries:?}"
    );
}
