//! Business state survives a clean stop: shutdown runs in phases, so that
//! `deactivate` saves through a service and services flush in `shutdown`;
//! and it is bounded, so that a hook that never returns cannot hold it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Listen, Receive, Respond,
    Serve, Service, ServiceAssistant, ServiceConfiguration,
};
use futures_channel::oneshot;

use crate::helpers::{next, shut_down, wait_stopped};

/// The bank's "database": account ID to balance, shared through `data`.
#[derive(Default)]
struct Ledger(Mutex<HashMap<u32, i64>>);

impl Ledger {
    fn balance(&self, id: u32) -> Option<i64> {
        self.0.lock().unwrap().get(&id).copied()
    }
    fn write(&self, id: u32, balance: i64) {
        self.0.lock().unwrap().insert(id, balance);
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// An account loads in `activate` and saves in `deactivate`, through a
/// store service `S`.
struct Account<S> {
    id: u32,
    balance: i64,
    store: std::marker::PhantomData<fn() -> S>,
}

#[derive(Clone, Copy)]
struct Save {
    id: u32,
    balance: i64,
}

impl<S: Store + Serve<Save, Response = ()> + Listen<Save>> Actor for Account<S> {
    type Id = u32;
    async fn activate(id: u32, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let ledger = assistant.data::<Arc<Ledger>>()?;
        Ok(Account {
            id,
            balance: ledger.balance(id).unwrap_or(0),
            store: std::marker::PhantomData,
        })
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        let save = Save {
            id: self.id,
            balance: self.balance,
        };
        if S::SAVES_BY_CALL {
            assistant.call_service::<S, Save>(save).await.unwrap();
        } else {
            assistant.send_to_service::<S, Save>(save).await.unwrap();
        }
    }
}

struct Deposit(i64);
impl<S: Store + Serve<Save, Response = ()> + Listen<Save>> Receive<Deposit> for Account<S> {
    async fn handle(&mut self, deposit: Deposit, _: &ActorAssistant<Self>) {
        self.balance += deposit.0;
    }
}

/// How an account hands its state to its store.
trait Store {
    /// By a call (the save is done when it returns), or fire-and-forget.
    const SAVES_BY_CALL: bool;
}

/// Writes every save at once; started by the first save, during shutdown.
struct DirectStore;
impl Store for DirectStore {
    const SAVES_BY_CALL: bool = true;
}
impl Service for DirectStore {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((DirectStore, ServiceConfiguration::default()))
    }
}
impl Serve<Save> for DirectStore {
    type Response = ();
    async fn handle(&self, save: Save, assistant: &ServiceAssistant<Self>) {
        let ledger = assistant.data::<Arc<Ledger>>().unwrap();
        ledger.write(save.id, save.balance);
    }
}
impl Listen<Save> for DirectStore {
    async fn handle(&self, save: Save, assistant: &ServiceAssistant<Self>) {
        <Self as Serve<Save>>::handle(self, save, assistant).await;
    }
}

/// Buffers saves in memory and writes them only in its `shutdown` hook.
struct BufferedStore {
    buffer: Mutex<Vec<Save>>,
    flushes: AtomicUsize,
}
impl Store for BufferedStore {
    const SAVES_BY_CALL: bool = false;
}
impl Service for BufferedStore {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let store = BufferedStore {
            buffer: Mutex::new(Vec::new()),
            flushes: AtomicUsize::new(0),
        };
        Ok((store, ServiceConfiguration::default()))
    }
    async fn shutdown(&self, assistant: &ServiceAssistant<Self>) {
        assert_eq!(self.flushes.fetch_add(1, SeqCst), 0, "shutdown runs once");
        let ledger = assistant.data::<Arc<Ledger>>().unwrap();
        for save in self.buffer.lock().unwrap().drain(..) {
            ledger.write(save.id, save.balance);
        }
    }
}
impl Listen<Save> for BufferedStore {
    async fn handle(&self, save: Save, _: &ServiceAssistant<Self>) {
        self.buffer.lock().unwrap().push(save);
    }
}
impl Serve<Save> for BufferedStore {
    type Response = ();
    async fn handle(&self, save: Save, _: &ServiceAssistant<Self>) {
        self.buffer.lock().unwrap().push(save);
    }
}

/// 1,000 accounts, each changed, then `stop`: the ledger holds every one.
fn every_account_is_saved_at_stop<S: Store + Serve<Save, Response = ()> + Listen<Save>>() {
    let ledger = Arc::new(Ledger::default());
    let sys = Acteur::builder().data(ledger.clone()).build();
    for id in 0..1_000 {
        sys.send_to_actor_sync::<Account<S>, Deposit>(id, Deposit(i64::from(id) + 1))
            .unwrap();
    }
    shut_down(&sys);
    assert_eq!(ledger.len(), 1_000);
    for id in 0..1_000 {
        assert_eq!(ledger.balance(id), Some(i64::from(id) + 1), "account {id}");
    }
    let stats = sys.statistics();
    let accounts = stats.actor::<Account<S>>().unwrap();
    assert_eq!(accounts.deactivations_by_reason.system_shutdown, 1_000);
    assert_eq!(accounts.abandoned_activations, 0);
}

#[test]
fn deactivate_saves_through_a_service_at_stop() {
    every_account_is_saved_at_stop::<DirectStore>();
}

#[test]
fn a_service_flushes_what_deactivate_gave_it_in_its_shutdown_hook() {
    every_account_is_saved_at_stop::<BufferedStore>();
}

/// What happened during a shutdown, in order.
#[derive(Default)]
struct Journal(Mutex<Vec<String>>);
impl Journal {
    fn record(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }
    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Clerk;
impl Actor for Clerk {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Clerk)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        // Awaits a service, so that a shutdown that did not wait for
        // deactivations would let `shutdown` hooks in before this returns.
        let answer = assistant.call_service::<Archive, Stamp>(Stamp).await;
        assert_eq!(answer, Ok(1));
        let journal = assistant.data::<Arc<Journal>>().unwrap();
        journal.record("deactivated");
    }
}
impl Receive<Stamp> for Clerk {
    async fn handle(&mut self, _: Stamp, _: &ActorAssistant<Self>) {}
}

#[derive(Clone, Copy)]
struct Stamp;

struct Archive;
impl Service for Archive {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Archive, ServiceConfiguration::default()))
    }
    async fn shutdown(&self, assistant: &ServiceAssistant<Self>) {
        let journal = assistant.data::<Arc<Journal>>().unwrap();
        journal.record("shutdown Archive");
    }
}
impl Serve<Stamp> for Archive {
    type Response = u32;
    async fn handle(&self, _: Stamp, _: &ServiceAssistant<Self>) -> u32 {
        1
    }
}

/// Its `shutdown` still gets answers from `Archive`, whose own `shutdown`
/// may have returned already: services serve each other until all are done.
struct Mailroom;
impl Service for Mailroom {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Mailroom, ServiceConfiguration::default()))
    }
    async fn shutdown(&self, assistant: &ServiceAssistant<Self>) {
        let journal = assistant.data::<Arc<Journal>>().unwrap();
        journal.record("shutdown Mailroom");
        let answer = assistant.call_service::<Archive, Stamp>(Stamp).await;
        journal.record(format!("Archive answered {answer:?}"));
    }
}

#[test]
fn every_deactivate_returns_before_any_service_shutdown_starts_and_each_runs_once() {
    let journal = Arc::new(Journal::default());
    let sys = Acteur::builder().data(journal.clone()).build();
    sys.preload_service_sync::<Mailroom>().unwrap();
    sys.preload_service_sync::<Archive>().unwrap();
    for id in 0..50 {
        sys.send_to_actor_sync::<Clerk, Stamp>(id, Stamp).unwrap();
    }
    shut_down(&sys);
    let entries = journal.entries();
    assert_eq!(entries.len(), 53, "{entries:?}");
    // Each hook records as it starts: none before the last deactivation.
    assert!(
        entries[..50].iter().all(|entry| entry == "deactivated"),
        "{entries:?}"
    );
    let mut hooks = entries[50..].to_vec();
    hooks.sort();
    assert_eq!(
        hooks,
        [
            "Archive answered Ok(1)",
            "shutdown Archive",
            "shutdown Mailroom"
        ]
    );
}

/// What the code inside the system saw during the first phase.
#[derive(Debug, PartialEq)]
enum Seen {
    Holding,
    FromHandler {
        to_inactive_actor: Result<(), Error>,
        to_itself: Result<(), Error>,
    },
    TheirOwnMessage,
    FromDeactivate(Result<u32, Error>),
}

struct Teller;
impl Actor for Teller {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Teller)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        let answer = assistant.call_service::<Archive, Stamp>(Stamp).await;
        report(assistant, Seen::FromDeactivate(answer));
    }
}

fn report(assistant: &ActorAssistant<Teller>, seen: Seen) {
    let reports = assistant.data::<Mutex<Sender<Seen>>>().unwrap();
    reports.lock().unwrap().send(seen).unwrap();
}

/// Holds its actor busy until the test has called `stop`.
struct Hold(oneshot::Receiver<()>);
impl Receive<Hold> for Teller {
    async fn handle(&mut self, hold: Hold, assistant: &ActorAssistant<Self>) {
        report(assistant, Seen::Holding);
        hold.0.await.unwrap();
        let to_inactive_actor = assistant.send_to_actor::<Teller, Stamp>(99, Stamp).await;
        let to_itself = assistant.send_to_actor::<Teller, Stamp>(1, Stamp).await;
        report(
            assistant,
            Seen::FromHandler {
                to_inactive_actor,
                to_itself,
            },
        );
    }
}
impl Receive<Stamp> for Teller {
    async fn handle(&mut self, _: Stamp, assistant: &ActorAssistant<Self>) {
        report(assistant, Seen::TheirOwnMessage);
    }
}

#[test]
fn while_actors_drain_only_the_code_inside_reaches_services_and_active_actors() {
    let (reports, seen) = std::sync::mpsc::channel::<Seen>();
    let sys = Acteur::builder().data(Mutex::new(reports)).build();
    let (release, hold) = oneshot::channel();
    sys.send_to_actor_sync::<Teller, Hold>(1, Hold(hold))
        .unwrap();
    assert_eq!(next(&seen, "the handler holding"), Seen::Holding);
    sys.stop();
    assert_eq!(
        sys.send_to_actor_sync::<Teller, Stamp>(1, Stamp),
        Err(Error::Stopped)
    );
    assert_eq!(
        sys.call_service_sync::<Archive, Stamp>(Stamp),
        Err(Error::Stopped)
    );
    assert_eq!(sys.publish_sync(Stamp), Err(Error::Stopped));
    release.send(()).unwrap();
    assert_eq!(
        next(&seen, "the handler's sends"),
        Seen::FromHandler {
            to_inactive_actor: Err(Error::Stopped),
            to_itself: Ok(()),
        }
    );
    assert_eq!(next(&seen, "the message to itself"), Seen::TheirOwnMessage);
    assert_eq!(
        next(&seen, "the call from deactivate"),
        Seen::FromDeactivate(Ok(1))
    );
    wait_stopped(&sys);
}

/// Its `deactivate` never returns, and may be dropped after
/// `DEACTIVATE_TIMEOUT_MS`.
struct Stuck<const DEACTIVATE_TIMEOUT_MS: u64 = 60_000>;
impl<const T: u64> Actor for Stuck<T> {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Stuck)
    }
    async fn deactivate(&mut self, _: &ActorAssistant<Self>) {
        std::future::pending::<()>().await;
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            deactivate_timeout: Duration::from_millis(T),
            ..Default::default()
        }
    }
}
/// Its `deactivate` is dropped after 100 ms.
type QuicklyDropped = Stuck<100>;
struct Touch;
impl<const T: u64> Respond<Touch> for Stuck<T> {
    type Response = usize;
    async fn handle(&mut self, _: Touch, assistant: &ActorAssistant<Self>) -> usize {
        assistant.data::<AtomicUsize>().unwrap().load(SeqCst)
    }
}
struct Quit;
impl<const T: u64> Respond<Quit> for Stuck<T> {
    type Response = ();
    async fn handle(&mut self, _: Quit, assistant: &ActorAssistant<Self>) {
        assistant.stop();
    }
}
/// Waits for the test, then forever.
struct Hang(oneshot::Receiver<()>, bool);
impl<const T: u64> Receive<Hang> for Stuck<T> {
    async fn handle(&mut self, hang: Hang, assistant: &ActorAssistant<Self>) {
        if let Ok(started) = assistant.data::<Mutex<Sender<()>>>() {
            started.lock().unwrap().send(()).unwrap();
        }
        hang.0.await.unwrap();
        if hang.1 {
            std::future::pending::<()>().await;
        }
    }
}

#[test]
fn past_the_shutdown_deadline_what_is_left_is_abandoned_and_the_system_stops() {
    let sys = Acteur::builder()
        .shutdown_timeout(Duration::from_millis(100))
        .data(AtomicUsize::new(0))
        .build();
    assert_eq!(sys.call_actor_sync::<Stuck, Touch>(1, Touch), Ok(0));
    shut_down(&sys);
    let stats = sys.statistics();
    let stuck = stats.actor::<Stuck>().unwrap();
    assert_eq!(stuck.abandoned_activations, 1);
    assert_eq!(stuck.active_actors, 0);
}

#[test]
fn requests_queued_behind_a_handler_cut_short_by_the_deadline_get_stopped() {
    let (started, handling) = std::sync::mpsc::channel::<()>();
    let sys = Acteur::builder()
        .shutdown_timeout(Duration::from_millis(100))
        .data(AtomicUsize::new(0))
        .data(Mutex::new(started))
        .build();
    // The first message holds the actor until `stop`; the second starts
    // during shutdown and never ends; the call behind them is abandoned.
    let (release, hold) = oneshot::channel();
    let (_never, forever) = oneshot::channel();
    sys.send_to_actor_sync::<Stuck, Hang>(1, Hang(hold, false))
        .unwrap();
    sys.send_to_actor_sync::<Stuck, Hang>(1, Hang(forever, true))
        .unwrap();
    let caller = sys.clone();
    let (answered, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = answered.send(caller.call_actor_sync::<Stuck, Touch>(1, Touch));
    });
    next(&handling, "the first message handled");
    crate::helpers::eventually("the call queued", || {
        sys.statistics()
            .actor::<Stuck>()
            .is_some_and(|stuck| stuck.queued_messages == 2)
    });
    sys.stop();
    release.send(()).unwrap();
    assert_eq!(next(&answer, "the abandoned call"), Err(Error::Stopped));
    wait_stopped(&sys);
    let stats = sys.statistics();
    let stuck = stats.actor::<Stuck>().unwrap();
    assert_eq!(
        (stuck.abandoned_activations, stuck.abandoned_messages),
        (1, 2)
    );
}

#[test]
fn a_deactivate_past_its_timeout_is_dropped_and_the_actor_activates_again() {
    let sys = Acteur::builder().data(AtomicUsize::new(0)).build();
    sys.call_actor_sync::<QuicklyDropped, Quit>(1, Quit)
        .unwrap();
    // Waits for the stuck deactivation to be dropped, then activates anew.
    sys.call_actor_sync::<QuicklyDropped, Touch>(1, Touch)
        .unwrap();
    let stats = sys.statistics();
    let stuck = stats.actor::<QuicklyDropped>().unwrap();
    assert_eq!(stuck.activations, 2);
    assert_eq!(stuck.deactivate_timeouts, 1);
    assert_eq!(stuck.deactivations_by_reason.stopped_by_self, 1);
    sys.stop();
    // The second activation's `deactivate` is stuck too: dropped after its
    // own timeout, well within the shutdown deadline.
    wait_stopped(&sys);
    let stats = sys.statistics();
    assert_eq!(
        stats.actor::<QuicklyDropped>().unwrap().deactivate_timeouts,
        2
    );
}

/// Its `deactivate_timeout` is zero.
struct NoTimeToSave;
impl Actor for NoTimeToSave {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(NoTimeToSave)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            deactivate_timeout: Duration::ZERO,
            ..Default::default()
        }
    }
}
impl Receive<Stamp> for NoTimeToSave {
    async fn handle(&mut self, _: Stamp, _: &ActorAssistant<Self>) {}
}

#[test]
fn zero_timeouts_are_configuration_errors() {
    let sys = Acteur::new();
    let refused = sys.send_to_actor_sync::<NoTimeToSave, Stamp>(1, Stamp);
    assert!(
        matches!(
            refused,
            Err(Error::InvalidConfiguration {
                field: "deactivate_timeout",
                ..
            })
        ),
        "{refused:?}"
    );
    shut_down(&sys);

    let sys = Acteur::builder().shutdown_timeout(Duration::ZERO).build();
    let refused = sys.send_to_actor_sync::<Clerk, Stamp>(1, Stamp);
    assert!(
        matches!(
            refused,
            Err(Error::InvalidConfiguration {
                field: "shutdown_timeout",
                ..
            })
        ),
        "{refused:?}"
    );
    shut_down(&sys);
}
