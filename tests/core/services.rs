//! Services: start-up, concurrency limits, no head-of-line blocking, failed
//! and misconfigured starts, panics, and messages from `initialize`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{Sender, channel};

use acteur::{
    Acteur, BoxError, Error, Listen, Serve, Service, ServiceAssistant, ServiceConcurrency,
    ServiceConfiguration,
};
use futures_channel::oneshot;

use crate::helpers::{next, shut_down, wait_stopped};

/// Handlers that wait for a release, to hold messages in flight.
struct Gate;

/// A message that reports its start, then waits for `release`.
struct Hold {
    started: Sender<()>,
    release: oneshot::Receiver<()>,
}

static GATE_CONCURRENCY: Mutex<ServiceConcurrency> = Mutex::new(ServiceConcurrency::None);
static GATE_TEST: Mutex<()> = Mutex::new(());
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

impl Service for Gate {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let concurrency = *GATE_CONCURRENCY.lock().unwrap();
        Ok((
            Gate,
            ServiceConfiguration {
                concurrency,
                ..Default::default()
            },
        ))
    }
}

impl Listen<Hold> for Gate {
    async fn handle(&self, m: Hold, _: &ServiceAssistant<Self>) {
        let now = IN_FLIGHT.fetch_add(1, SeqCst) + 1;
        MOST_IN_FLIGHT.fetch_max(now, SeqCst);
        let _ = m.started.send(());
        let _ = m.release.await;
        IN_FLIGHT.fetch_sub(1, SeqCst);
    }
}

struct Quick;
impl Serve<Quick> for Gate {
    type Response = &'static str;
    async fn handle(&self, _: Quick, _: &ServiceAssistant<Self>) -> &'static str {
        "quick"
    }
}

/// Sends `count` held messages to a `Gate` with `concurrency`; returns the
/// system, the start events and the releases.
fn hold_many(
    concurrency: ServiceConcurrency,
    count: usize,
) -> (
    Acteur,
    std::sync::mpsc::Receiver<()>,
    Vec<oneshot::Sender<()>>,
) {
    *GATE_CONCURRENCY.lock().unwrap() = concurrency;
    IN_FLIGHT.store(0, SeqCst);
    MOST_IN_FLIGHT.store(0, SeqCst);
    let sys = Acteur::new();
    let (started, starts) = channel();
    let mut releases = Vec::new();
    for _ in 0..count {
        let (release_tx, release) = oneshot::channel();
        releases.push(release_tx);
        sys.send_to_service_sync::<Gate, Hold>(Hold {
            started: started.clone(),
            release,
        })
        .unwrap();
    }
    (sys, starts, releases)
}

#[test]
fn fixed_concurrency_runs_that_many_handlers_at_once_and_no_more() {
    let _serial = GATE_TEST.lock().unwrap();
    let (sys, starts, releases) = hold_many(ServiceConcurrency::Fixed(3), 8);
    for _ in 0..3 {
        next(&starts, "held handler start");
    }
    assert_eq!(sys.statistics().service::<Gate>().unwrap().in_flight, 3);
    for release in releases {
        let _ = release.send(());
    }
    shut_down(&sys);
    assert_eq!(MOST_IN_FLIGHT.load(SeqCst), 3);
    assert_eq!(sys.statistics().service::<Gate>().unwrap().handled, 8);
}

#[test]
fn concurrency_none_runs_one_handler_at_a_time() {
    let _serial = GATE_TEST.lock().unwrap();
    let (sys, starts, releases) = hold_many(ServiceConcurrency::None, 4);
    for release in releases {
        next(&starts, "held handler start");
        let _ = release.send(());
    }
    shut_down(&sys);
    assert_eq!(MOST_IN_FLIGHT.load(SeqCst), 1);
}

#[test]
fn unlimited_concurrency_runs_every_message_at_once_and_stop_awaits_them() {
    let _serial = GATE_TEST.lock().unwrap();
    let count = 50;
    let (sys, starts, releases) = hold_many(ServiceConcurrency::Unlimited, count);
    // All 50 are in flight together: none is released before all started.
    for _ in 0..count {
        next(&starts, "held handler start");
    }
    sys.stop();
    for release in releases {
        let _ = release.send(());
    }
    wait_stopped(&sys);
    assert_eq!(MOST_IN_FLIGHT.load(SeqCst), count);
    assert_eq!(
        IN_FLIGHT.load(SeqCst),
        0,
        "stop returned before in-flight handlers ended"
    );
    assert_eq!(
        sys.statistics().service::<Gate>().unwrap().handled,
        count as u64
    );
}

#[test]
fn a_slow_message_does_not_hold_back_others_while_a_worker_is_free() {
    let _serial = GATE_TEST.lock().unwrap();
    let (sys, starts, mut releases) = hold_many(ServiceConcurrency::Fixed(2), 1);
    next(&starts, "slow handler start");
    for _ in 0..5 {
        assert_eq!(
            sys.call_service_sync::<Gate, Quick>(Quick).unwrap(),
            "quick"
        );
    }
    let _ = releases.remove(0).send(());
    shut_down(&sys);
}

/// Configured with zero workers.
struct Misconfigured;
impl Service for Misconfigured {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let concurrency = ServiceConcurrency::Fixed(0);
        Ok((
            Misconfigured,
            ServiceConfiguration {
                concurrency,
                ..Default::default()
            },
        ))
    }
}
impl Listen<Quick> for Misconfigured {
    async fn handle(&self, _: Quick, _: &ServiceAssistant<Self>) {}
}

#[test]
fn zero_concurrency_is_an_invalid_configuration_for_every_sender() {
    let sys = Acteur::new();
    for _ in 0..2 {
        let error = sys
            .send_to_service_sync::<Misconfigured, Quick>(Quick)
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidConfiguration {
                    field: "concurrency",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("Misconfigured"), "{error}");
    }
    assert!(matches!(
        sys.preload_service_sync::<Misconfigured>(),
        Err(Error::InvalidConfiguration { .. })
    ));
    shut_down(&sys);
}

/// `initialize` panics while `FAIL_INIT` is set.
struct Flaky;
static FAIL_INIT: AtomicBool = AtomicBool::new(true);

impl Service for Flaky {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        if FAIL_INIT.load(SeqCst) {
            panic!("initialize fails (expected by the test)");
        }
        Ok((Flaky, ServiceConfiguration::default()))
    }
}
impl Serve<Quick> for Flaky {
    type Response = &'static str;
    async fn handle(&self, _: Quick, _: &ServiceAssistant<Self>) -> &'static str {
        "up"
    }
}
struct Crash;
impl Serve<Crash> for Flaky {
    type Response = ();
    async fn handle(&self, _: Crash, _: &ServiceAssistant<Self>) {
        panic!("handler fails (expected by the test)");
    }
}

#[test]
fn failed_initialize_is_reported_and_the_next_message_retries() {
    let sys = Acteur::new();
    let error = sys.call_service_sync::<Flaky, Quick>(Quick).unwrap_err();
    assert!(
        matches!(error, Error::ServiceInitFailed { .. }),
        "{error:?}"
    );
    FAIL_INIT.store(false, SeqCst);
    assert_eq!(sys.call_service_sync::<Flaky, Quick>(Quick).unwrap(), "up");
    // A panicking handler fails its call; the service goes on.
    assert!(matches!(
        sys.call_service_sync::<Flaky, Crash>(Crash),
        Err(Error::Panicked { .. })
    ));
    assert_eq!(sys.call_service_sync::<Flaky, Quick>(Quick).unwrap(), "up");
    shut_down(&sys);
    let stats = sys.statistics();
    let flaky = stats.service::<Flaky>().unwrap();
    assert_eq!((flaky.handled, flaky.panics), (2, 1));
}

/// Sends to itself and calls another service from `initialize`.
struct SelfStarter {
    greetings: AtomicUsize,
}
struct Greet;

impl Service for SelfStarter {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        // Queued until this `initialize` has returned: no deadlock.
        assistant
            .send_to_service::<SelfStarter, Greet>(Greet)
            .await
            .unwrap();
        // Another service starts and answers meanwhile.
        assert_eq!(
            assistant
                .call_service::<Helper, Quick>(Quick)
                .await
                .unwrap(),
            "helped"
        );
        let concurrency = ServiceConcurrency::None;
        Ok((
            SelfStarter {
                greetings: AtomicUsize::new(0),
            },
            ServiceConfiguration {
                concurrency,
                ..Default::default()
            },
        ))
    }
}
impl Listen<Greet> for SelfStarter {
    async fn handle(&self, _: Greet, _: &ServiceAssistant<Self>) {
        self.greetings.fetch_add(1, SeqCst);
    }
}
impl Serve<Quick> for SelfStarter {
    type Response = usize;
    async fn handle(&self, _: Quick, _: &ServiceAssistant<Self>) -> usize {
        self.greetings.load(SeqCst)
    }
}

struct Helper;
impl Service for Helper {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Helper, ServiceConfiguration::default()))
    }
}
impl Serve<Quick> for Helper {
    type Response = &'static str;
    async fn handle(&self, _: Quick, _: &ServiceAssistant<Self>) -> &'static str {
        "helped"
    }
}

#[test]
fn initialize_can_send_to_itself_and_call_other_services() {
    let sys = Acteur::new();
    sys.preload_service_sync::<SelfStarter>().unwrap();
    // Concurrency None: the greeting queued first is handled before this call.
    assert_eq!(
        sys.call_service_sync::<SelfStarter, Quick>(Quick).unwrap(),
        1
    );
    shut_down(&sys);
}

#[test]
fn assistants_are_send_sync_clone_for_any_service() {
    fn check<T: Send + Sync + Clone>() {}
    check::<ServiceAssistant<Gate>>();
}
