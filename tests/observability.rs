//! What a system tells the outside about itself: `log` records for
//! lifecycle events, `tracing` spans around handled messages (the
//! `tracing` feature) and serialisable statistics (the `serde` feature).
//! Its own binary, since a logger and a tracing dispatcher are global.

use std::sync::{Mutex, PoisonError};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Receive, Respond, Service, ServiceAssistant,
};
use acteur::{Serve, ServiceConfiguration};

struct Account;
impl Actor for Account {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Account)
    }
}

struct Touch;
impl Respond<Touch> for Account {
    type Response = ();
    async fn handle(&mut self, _: Touch, _: &ActorAssistant<Self>) {
        // An event of the handler's own: a trace puts it inside its span.
        #[cfg(feature = "tracing")]
        tracing::info!("touched");
    }
}

struct Explode;
impl Receive<Explode> for Account {
    async fn handle(&mut self, _: Explode, _: &ActorAssistant<Self>) {
        panic!("boom");
    }
}

/// Its `deactivate` never returns.
struct Lingering;
impl Actor for Lingering {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Lingering)
    }
    async fn deactivate(&mut self, _: &ActorAssistant<Self>) {
        std::future::pending::<()>().await;
    }
}
impl Respond<Touch> for Lingering {
    type Response = ();
    async fn handle(&mut self, _: Touch, _: &ActorAssistant<Self>) {}
}

struct Clock;
impl Service for Clock {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Clock, ServiceConfiguration::default()))
    }
}
struct Now;
impl Serve<Now> for Clock {
    type Response = u64;
    async fn handle(&self, _: Now, _: &ServiceAssistant<Self>) -> u64 {
        42
    }
}

/// Every record, as "LEVEL message".
static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Collect;
impl log::Log for Collect {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{} {}", record.level(), record.args());
        RECORDS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }
    fn flush(&self) {}
}

fn records_with(words: &[&str]) -> Vec<String> {
    RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|line| words.iter().all(|word| line.contains(word)))
        .cloned()
        .collect()
}

/// One test, since the logger is set once per process. The records of this
/// test's system are told apart by the IDs and types they name, which the
/// other tests of this binary do not use.
#[test]
fn lifecycle_events_are_logged_at_their_levels() {
    log::set_logger(&Collect).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let sys = Acteur::new();
    sys.call_actor_sync::<Account, Touch>(7, Touch).unwrap();
    sys.send_to_actor_sync::<Account, Explode>(9, Explode)
        .unwrap();
    // Handled in order after the panic: the panic has been logged.
    let after = sys.call_actor_sync::<Account, Touch>(9, Touch);
    assert_eq!(after, Ok(()));
    assert_eq!(sys.call_service_sync::<Clock, Now>(Now), Ok(42));
    sys.stop();
    sys.wait_until_stopped();

    let account = std::any::type_name::<Account>();
    let explode = std::any::type_name::<Explode>();
    let clock = std::any::type_name::<Clock>();
    assert_eq!(
        records_with(&["DEBUG", "activated actor", account, " 7"]).len(),
        1
    );
    assert_eq!(
        records_with(&[
            "DEBUG",
            "deactivating actor",
            account,
            " 7",
            "system shutdown"
        ])
        .len(),
        1
    );
    let panics = records_with(&["ERROR", account, " 9", explode, "panicked", "boom"]);
    assert_eq!(panics.len(), 1, "{:?}", RECORDS.lock().unwrap());
    assert_eq!(
        records_with(&["INFO", "service", clock, "started"]).len(),
        1
    );
    assert_eq!(records_with(&["INFO", "service", clock, "stops"]).len(), 1);
    // Other tests in this binary stop systems of their own.
    assert!(!records_with(&["INFO", "stopping the actor system"]).is_empty());
    assert_eq!(
        records_with(&["INFO", "service", clock, "shuts down"]).len(),
        1
    );

    // A shutdown past its deadline says, in one line, what it abandoned.
    let sys = Acteur::builder()
        .shutdown_timeout(std::time::Duration::from_millis(50))
        .build();
    sys.call_actor_sync::<Lingering, Touch>(1, Touch).unwrap();
    sys.stop();
    sys.wait_until_stopped();
    let lingering = std::any::type_name::<Lingering>();
    let abandoned = records_with(&["ERROR", "shutdown_timeout of 50ms", lingering]);
    assert_eq!(abandoned.len(), 1, "{:?}", RECORDS.lock().unwrap());
    assert!(
        abandoned[0].contains("1 activation(s), 0 message(s)"),
        "{}",
        abandoned[0]
    );
}

#[cfg(feature = "serde")]
#[test]
fn statistics_serialize_with_their_field_names() {
    let sys = Acteur::new();
    sys.call_actor_sync::<Account, Touch>(1, Touch).unwrap();
    let json = serde_json::to_value(sys.statistics()).unwrap();
    let accounts = &json["actors"][0];
    assert_eq!(accounts["name"], std::any::type_name::<Account>());
    assert_eq!(accounts["active_actors"], 1);
    assert_eq!(accounts["deactivations_by_reason"]["idle_timeout"], 0);
    assert_eq!(accounts["idle_timeout"]["secs"], 300);
    assert_eq!(json["max_actors"], serde_json::Value::Null);
    sys.stop();
    sys.wait_until_stopped();
}

#[cfg(feature = "tracing")]
mod spans {
    //! A minimal subscriber that keeps each span's fields and, for each
    //! event, the fields of the span it happened in.

    use std::cell::RefCell;
    use std::fmt::Debug;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use super::*;

    /// A service of this test's own (the log test counts `Clock`'s records).
    struct Calendar;
    impl Service for Calendar {
        async fn initialize(
            _: &ServiceAssistant<Self>,
        ) -> Result<(Self, ServiceConfiguration), BoxError> {
            Ok((Calendar, ServiceConfiguration::default()))
        }
    }
    impl Serve<Now> for Calendar {
        type Response = u64;
        async fn handle(&self, _: Now, _: &ServiceAssistant<Self>) -> u64 {
            2026
        }
    }

    #[derive(Default)]
    struct Seen {
        /// Per span (index = ID - 1): its name and "field=value" pairs.
        spans: Vec<String>,
        /// Per event: its message, and the span it happened in.
        events: Vec<(String, Option<String>)>,
    }

    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }

    thread_local! {
        static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    }

    struct Keep(Arc<Mutex<Seen>>, AtomicU64);
    impl Subscriber for Keep {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut fields = Fields(span.metadata().name().to_owned());
            span.record(&mut fields);
            let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            seen.spans.push(fields.0);
            Id::from_u64(self.1.fetch_add(1, Ordering::SeqCst) + 1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let inside = ENTERED
                .with(|entered| entered.borrow().last().copied())
                .map(|id| seen.spans[id as usize - 1].clone());
            seen.events.push((fields.0, inside));
        }
        fn enter(&self, span: &Id) {
            ENTERED.with(|entered| entered.borrow_mut().push(span.into_u64()));
        }
        fn exit(&self, _: &Id) {
            ENTERED.with(|entered| entered.borrow_mut().pop());
        }
    }

    #[test]
    fn a_handled_message_runs_in_a_span_naming_actor_id_and_message() {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let keep = Keep(seen.clone(), AtomicU64::new(0));
        tracing::subscriber::set_global_default(keep).unwrap();

        let sys = Acteur::new();
        sys.call_actor_sync::<Account, Touch>(12, Touch).unwrap();
        assert_eq!(sys.call_service_sync::<Calendar, Now>(Now), Ok(2026));
        sys.stop();
        sys.wait_until_stopped();

        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let actor_span = format!(
            "acteur::actor actor={:?} id=12 message={:?}",
            std::any::type_name::<Account>(),
            std::any::type_name::<Touch>()
        );
        assert!(seen.spans.contains(&actor_span), "{:?}", seen.spans);
        let service_span = format!(
            "acteur::service service={:?} message={:?}",
            std::any::type_name::<Calendar>(),
            std::any::type_name::<Now>()
        );
        assert!(seen.spans.contains(&service_span), "{:?}", seen.spans);
        // Other tests' handlers touch other IDs; each event sits in the
        // span of the actor that handled it.
        let touched: Vec<_> = seen
            .events
            .iter()
            .filter(|(message, _)| message.contains("touched"))
            .map(|(_, inside)| inside.clone())
            .collect();
        assert!(touched.contains(&Some(actor_span)), "{touched:?}");
        assert!(
            touched.iter().all(|inside| inside
                .as_ref()
                .is_some_and(|span| span.starts_with("acteur::actor "))),
            "{touched:?}"
        );
    }
}
