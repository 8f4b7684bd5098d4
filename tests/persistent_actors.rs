//! Persistent actors on every state store the crate has: a state survives
//! a stop and comes back with its version, another writer (a second
//! process, a zombie) makes an activation drop its stale state instead of
//! overwriting the stored one, a state that cannot be read is an error and
//! is never replaced, and a state that cannot be saved at shutdown is handed
//! to `on_unsaved`.
//!
//! Each check is a function of a [`Stores`], which opens a store and a
//! second handle on the same database (a second process), so that every
//! store runs the same suite.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use acteur::persistence::{
    Backoff, BoxFuture, Envelope, MemoryStore, PersistenceConfiguration, StateError, StateKeyRef,
    StateStore, StateWrite, StoreError, StoredRecord, StoredState, UnsavedState, UpgradeError,
    WriteMode, WriteOutcome,
};
use acteur::{
    Acteur, ActorAssistant, ActorConfiguration, BoxError, Error, PersistentActor, Respond,
};
use serde::{Deserialize, Serialize};

/// Opens the stores of one database.
trait Stores {
    type Store: StateStore + Clone;
    /// The first handle on the database.
    fn first(&self) -> Self::Store;
    /// A handle opened later, as by a second process: it fences the
    /// earlier ones.
    fn reopen(&self) -> Self::Store;
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
struct Balance {
    cents: i64,
    deposits: u32,
}

struct Account {
    balance: Balance,
}

impl PersistentActor for Account {
    type Id = u64;
    type State = Balance;
    const TYPE_KEY: &'static str = "account";

    async fn activate(
        _: u64,
        stored: Option<Balance>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(Account {
            balance: stored.unwrap_or_default(),
        })
    }

    fn state(&self) -> &Balance {
        &self.balance
    }

    fn persistence() -> PersistenceConfiguration {
        // Quick retries: the interleavings below fail the store often.
        PersistenceConfiguration {
            retry: Backoff {
                first: Duration::from_millis(1),
                max: Duration::from_millis(5),
            },
            ..PersistenceConfiguration::default()
        }
    }
}

/// Adds cents; answers the balance.
struct Deposit(i64);

impl Respond<Deposit> for Account {
    type Response = i64;
    async fn handle(&mut self, Deposit(cents): Deposit, _: &ActorAssistant<Self>) -> i64 {
        self.balance.cents += cents;
        self.balance.deposits += 1;
        self.balance.cents
    }
}

/// The state as the activation holds it, and its stored version.
struct Show;

impl Respond<Show> for Account {
    type Response = (Balance, u64);
    async fn handle(&mut self, _: Show, assistant: &ActorAssistant<Self>) -> (Balance, u64) {
        assistant.mark_unchanged();
        (self.balance.clone(), assistant.state_version())
    }
}

/// Clears the stored state.
struct Close;

impl Respond<Close> for Account {
    type Response = Result<(), StateError>;
    async fn handle(&mut self, _: Close, assistant: &ActorAssistant<Self>) -> Self::Response {
        assistant.clear_state().await
    }
}

fn system(store: impl StateStore) -> Acteur {
    Acteur::builder().state_store(store).build()
}

fn stop(sys: Acteur) {
    sys.stop();
    sys.wait_until_stopped();
}

fn deposit(sys: &Acteur, id: u64, cents: i64) -> Result<i64, Error> {
    sys.call_actor_sync::<Account, Deposit>(id, Deposit(cents))
}

fn show(sys: &Acteur, id: u64) -> (Balance, u64) {
    sys.call_actor_sync::<Account, Show>(id, Show).unwrap()
}

/// The row key of account `id`.
fn key(id: &[u8]) -> StateKeyRef<'_> {
    StateKeyRef {
        type_key: Account::TYPE_KEY,
        id,
    }
}

fn a_state_survives_a_stop_with_its_version(stores: &impl Stores) {
    let store = stores.first();
    let sys = system(store.clone());
    assert_eq!(deposit(&sys, 1, 100).unwrap(), 100);
    assert_eq!(deposit(&sys, 1, 50).unwrap(), 150);
    // Every turn that changed the state saved it; a read saved nothing.
    let shown = show(&sys, 1);
    assert_eq!(shown.1, 2);
    let state = sys.statistics().actor::<Account>().unwrap().state.unwrap();
    assert_eq!((state.loads, state.saves, state.dirty), (1, 2, 0));
    // An actor only read creates no row, even when deactivated.
    assert_eq!(show(&sys, 77), (Balance::default(), 0));
    stop(sys);
    assert_eq!(stored_version(&store, "account", 77), 0);

    let sys = system(store);
    assert_eq!(
        show(&sys, 1),
        (
            Balance {
                cents: 150,
                deposits: 2
            },
            2
        )
    );
    assert_eq!(deposit(&sys, 1, 1).unwrap(), 151);
    assert_eq!(show(&sys, 1).1, 3);
    stop(sys);
}

fn a_fenced_system_drops_its_activation_and_the_stored_state_stays(stores: &impl Stores) {
    let first = system(stores.first());
    assert_eq!(deposit(&first, 2, 10).unwrap(), 10);
    // A second process opens the database: the first is fenced.
    let second = system(stores.reopen());
    assert_eq!(deposit(&second, 2, 5).unwrap(), 15);
    match deposit(&first, 2, 1000) {
        Err(Error::State(StateError::Fenced { .. })) => {}
        other => panic!("a fenced writer's save must fail with Fenced, not {other:?}"),
    }
    // The stale activation was dropped: the next message reloads, and
    // its save is fenced again; the stored state is the second system's.
    assert!(matches!(
        deposit(&first, 2, 1000),
        Err(Error::State(StateError::Fenced { .. }))
    ));
    assert_eq!(show(&second, 2).0.cents, 15);
    stop(first);
    stop(second);
}

fn two_writers_of_one_id_lose_no_update(stores: &impl Stores) {
    // Two systems sharing one handle (one epoch): only versions decide.
    let store = stores.first();
    let one = system(store.clone());
    let two = system(store);
    assert_eq!(deposit(&one, 3, 1).unwrap(), 1);
    assert_eq!(deposit(&two, 3, 10).unwrap(), 11);
    // `one` still holds version 1: its save conflicts, and it reloads.
    match deposit(&one, 3, 100) {
        Err(Error::State(StateError::Conflict { stored_version: 2 })) => {}
        other => panic!("a stale writer's save must conflict, not {other:?}"),
    }
    let state = one.statistics().actor::<Account>().unwrap().state.unwrap();
    assert_eq!(state.conflicts, 1);
    assert_eq!(deposit(&one, 3, 100).unwrap(), 111);
    stop(one);
    stop(two);
}

fn after_a_clear_the_actor_starts_afresh_above_the_tombstone(stores: &impl Stores) {
    let store = stores.first();
    let one = system(store.clone());
    let two = system(store);
    assert_eq!(deposit(&one, 4, 70).unwrap(), 70);
    // `two` loads version 1 and keeps it in RAM.
    assert_eq!(show(&two, 4).1, 1);
    one.call_actor_sync::<Account, Close>(4, Close)
        .unwrap()
        .unwrap();
    // The clear was a tombstone at version 2: `two`, expecting 1, conflicts
    // instead of bringing the state back.
    assert!(matches!(
        deposit(&two, 4, 1),
        Err(Error::State(StateError::Conflict { stored_version: 2 }))
    ));
    // Both start afresh now, above the tombstone.
    assert_eq!(show(&one, 4), (Balance::default(), 2));
    assert_eq!(deposit(&two, 4, 3).unwrap(), 3);
    assert_eq!(show(&two, 4).1, 3);
    stop(one);
    stop(two);
}

/// Account in schema 2, whose schema 1 stored cents only.
struct AccountV2 {
    balance: Balance,
}

impl PersistentActor for AccountV2 {
    type Id = u64;
    type State = Balance;
    const TYPE_KEY: &'static str = "account";
    const SCHEMA: u32 = 2;

    async fn activate(
        _: u64,
        stored: Option<Balance>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(AccountV2 {
            balance: stored.unwrap_or_default(),
        })
    }

    fn state(&self) -> &Balance {
        &self.balance
    }

    fn upgrade(old: StoredState<'_>) -> Result<Balance, UpgradeError> {
        #[derive(Deserialize)]
        struct V1 {
            cents: i64,
            deposits: u32,
        }
        let v1: V1 = old.decode()?;
        Ok(Balance {
            cents: v1.cents * 100,
            deposits: v1.deposits,
        })
    }
}

impl Respond<Show> for AccountV2 {
    type Response = (Balance, u64);
    async fn handle(&mut self, _: Show, assistant: &ActorAssistant<Self>) -> (Balance, u64) {
        (self.balance.clone(), assistant.state_version())
    }
}

fn an_older_schema_is_upgraded_and_a_newer_one_refused(stores: &impl Stores) {
    let store = stores.first();
    let sys = system(store.clone());
    assert_eq!(deposit(&sys, 5, 7).unwrap(), 7);
    stop(sys);
    let sys = system(store.clone());
    let (upgraded, version) = sys.call_actor_sync::<AccountV2, Show>(5, Show).unwrap();
    assert_eq!((upgraded.cents, version), (700, 1));
    // The upgraded state was written back at schema 2.
    stop(sys);
    let sys = system(store.clone());
    assert_eq!(
        sys.call_actor_sync::<AccountV2, Show>(5, Show).unwrap().1,
        2
    );
    stop(sys);
    // Schema 1 code cannot read it any more: an error, and nothing written.
    let sys = system(store);
    match sys.call_actor_sync::<Account, Show>(5, Show) {
        Err(Error::State(StateError::SchemaTooNew {
            found: 2,
            supported: 1,
            ..
        })) => {}
        other => panic!("a newer schema must be refused, not {other:?}"),
    }
    assert!(matches!(
        deposit(&sys, 5, 1),
        Err(Error::State(StateError::SchemaTooNew { .. }))
    ));
    stop(sys);
}

/// Collects what `on_unsaved` is given.
#[derive(Clone, Default)]
struct Unsaved(Arc<Mutex<Vec<UnsavedState>>>);

/// An account that hands its unsaved states to an `Unsaved`, saving only
/// when deactivated (`Explicit`), so that every deposit stays unsaved until
/// the shutdown.
struct Wallet {
    balance: Balance,
}

static WALLET_UNSAVED: Mutex<Option<Unsaved>> = Mutex::new(None);

impl PersistentActor for Wallet {
    type Id = u64;
    type State = Balance;
    const TYPE_KEY: &'static str = "wallet";

    async fn activate(
        _: u64,
        stored: Option<Balance>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(Wallet {
            balance: stored.unwrap_or_default(),
        })
    }

    fn state(&self) -> &Balance {
        &self.balance
    }

    fn persistence() -> PersistenceConfiguration {
        let unsaved = WALLET_UNSAVED.lock().unwrap().clone().unwrap_or_default();
        PersistenceConfiguration {
            write: WriteMode::Explicit,
            on_unsaved: Some(Arc::new(move |state: &UnsavedState| {
                unsaved.0.lock().unwrap().push(state.clone());
            })),
            ..PersistenceConfiguration::default()
        }
    }
}

impl Respond<Deposit> for Wallet {
    type Response = i64;
    async fn handle(&mut self, Deposit(cents): Deposit, _: &ActorAssistant<Self>) -> i64 {
        self.balance.cents += cents;
        self.balance.cents
    }
}

fn the_shutdown_hands_every_unsaved_state_to_on_unsaved(store: MemoryStore) {
    let unsaved = Unsaved::default();
    *WALLET_UNSAVED.lock().unwrap() = Some(unsaved.clone());
    let sys = Acteur::builder()
        .state_store(store.clone())
        .shutdown_timeout(Duration::from_millis(300))
        .build();
    for id in 0..5 {
        assert_eq!(
            sys.call_actor_sync::<Wallet, Deposit>(id, Deposit(10))
                .unwrap(),
            10
        );
    }
    // The store is down for the whole shutdown.
    store.fail_next(usize::MAX);
    stop(sys);
    let mut ids: Vec<String> = unsaved
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|state| state.id.clone())
        .collect();
    ids.sort();
    assert_eq!(ids, ["0", "1", "2", "3", "4"]);
    for state in unsaved.0.lock().unwrap().iter() {
        // Never saved: after version 0, with the deposit in its bytes.
        assert_eq!((state.type_key, state.version), ("wallet", 0));
        assert!(!state.bytes.is_empty());
    }
    // Nothing was written.
    store.fail_next(0);
    for id in 0u64..5 {
        let loaded = futures_lite::future::block_on(store.load(StateKeyRef {
            type_key: Wallet::TYPE_KEY,
            id: &id.to_be_bytes(),
        }))
        .unwrap();
        assert_eq!(loaded, None);
    }
}

/// An account saved behind its messages: `Slow` waits an hour, so that only
/// its deactivation saves it; `Quick` 10 ms.
macro_rules! write_behind_account {
    ($name:ident, $key:literal, $delay:expr) => {
        struct $name {
            balance: Balance,
        }

        impl PersistentActor for $name {
            type Id = u64;
            type State = Balance;
            const TYPE_KEY: &'static str = $key;

            async fn activate(
                _: u64,
                stored: Option<Balance>,
                _: &ActorAssistant<Self>,
            ) -> Result<Self, BoxError> {
                Ok($name {
                    balance: stored.unwrap_or_default(),
                })
            }

            fn state(&self) -> &Balance {
                &self.balance
            }

            fn persistence() -> PersistenceConfiguration {
                PersistenceConfiguration {
                    write: WriteMode::WriteBehind { max_delay: $delay },
                    ..PersistenceConfiguration::default()
                }
            }
        }

        impl Respond<Deposit> for $name {
            type Response = (i64, u64);
            async fn handle(
                &mut self,
                Deposit(cents): Deposit,
                assistant: &ActorAssistant<Self>,
            ) -> (i64, u64) {
                self.balance.cents += cents;
                self.balance.deposits += 1;
                (self.balance.cents, assistant.state_version())
            }
        }
    };
}

write_behind_account!(Slow, "slow", Duration::from_secs(3600));
write_behind_account!(Quick, "quick", Duration::from_millis(10));

fn stored_version(store: &impl StateStore, type_key: &str, id: u64) -> u64 {
    let id = id.to_be_bytes();
    let key = StateKeyRef { type_key, id: &id };
    futures_lite::future::block_on(store.load(key))
        .unwrap()
        .map_or(0, |record| record.version)
}

fn write_behind_saves_after_its_delay_and_at_deactivation(stores: &impl Stores) {
    let store = stores.first();
    let sys = system(store.clone());
    for round in 1..=20 {
        // Answered from RAM: nothing was saved yet.
        assert_eq!(
            sys.call_actor_sync::<Slow, Deposit>(1, Deposit(5)).unwrap(),
            (5 * round, 0)
        );
    }
    assert_eq!(stored_version(&store, "slow", 1), 0);
    // The quick one's flush saves it while it stays active: wait for the
    // row to appear (what is awaited is the store's state, not a time).
    assert_eq!(
        sys.call_actor_sync::<Quick, Deposit>(1, Deposit(5))
            .unwrap(),
        (5, 0)
    );
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while stored_version(&store, "quick", 1) == 0 {
        assert!(
            std::time::Instant::now() < give_up,
            "a WriteBehind flush of 10 ms did not save within 30 s"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        sys.call_actor_sync::<Quick, Deposit>(1, Deposit(5))
            .unwrap(),
        (10, 1)
    );
    stop(sys);
    // Deactivation saved the twenty deposits in one write, and the quick
    // one's second deposit.
    assert_eq!(stored_version(&store, "slow", 1), 1);
    assert_eq!(stored_version(&store, "quick", 1), 2);
    let sys = system(store);
    assert_eq!(
        sys.call_actor_sync::<Slow, Deposit>(1, Deposit(0)).unwrap(),
        (100, 1)
    );
    stop(sys);
}

/// At most ten in RAM, saved only when deactivated, with quick retries: an
/// evicted one must be stored before it leaves.
struct Crowded {
    balance: Balance,
}

impl PersistentActor for Crowded {
    type Id = u64;
    type State = Balance;
    const TYPE_KEY: &'static str = "crowded";

    async fn activate(
        _: u64,
        stored: Option<Balance>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(Crowded {
            balance: stored.unwrap_or_default(),
        })
    }

    fn state(&self) -> &Balance {
        &self.balance
    }

    fn persistence() -> PersistenceConfiguration {
        PersistenceConfiguration {
            write: WriteMode::Explicit,
            retry: Backoff {
                first: Duration::from_millis(1),
                max: Duration::from_millis(5),
            },
            ..PersistenceConfiguration::default()
        }
    }

    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            max_actors: Some(10),
            ..ActorConfiguration::default()
        }
    }
}

impl Respond<Deposit> for Crowded {
    type Response = i64;
    async fn handle(&mut self, Deposit(cents): Deposit, _: &ActorAssistant<Self>) -> i64 {
        self.balance.cents += cents;
        self.balance.cents
    }
}

/// 1,000 changed actors through a limit of ten, the store failing
/// `failures` operations from the first eviction on: every evicted state is
/// stored before it leaves RAM, none is dropped, and each is saved once;
/// while saves fail, activations that need room are refused.
fn evicted_states_are_stored_before_they_leave(store: MemoryStore, failures: usize) {
    let sys = system(store.clone());
    let mut refused = 0;
    for id in 0..1000u64 {
        if id == 10 {
            // From the first eviction on: saves fail too.
            store.fail_next(failures);
        }
        let cents = i64::try_from(id).unwrap();
        // Refused while the store fails the evicted states' saves (nothing
        // done then): sent again.
        let balance = loop {
            match sys.call_actor_sync::<Crowded, Deposit>(id, Deposit(cents)) {
                Err(Error::State(StateError::Unavailable { .. })) => refused += 1,
                other => break other.unwrap(),
            }
        };
        assert_eq!(balance, cents);
    }
    assert!(failures == 0 || refused > 0, "no activation was refused");
    let statistics = sys.statistics().actor::<Crowded>().unwrap().clone();
    assert!(statistics.active_actors <= 10);
    assert!(
        statistics.deactivations >= 990,
        "{} evicted",
        statistics.deactivations
    );
    // Every deactivation counted was stored first (one still under way
    // may be stored and not counted yet).
    let stored = (0..1000)
        .filter(|&id| stored_version(&store, "crowded", id) == 1)
        .count();
    assert!(stored >= usize::try_from(statistics.deactivations).unwrap());
    stop(sys);
    assert!((0..1000).all(|id| stored_version(&store, "crowded", id) == 1));
    let sys = system(store);
    for id in [0, 500, 999u64] {
        let cents = i64::try_from(id).unwrap();
        assert_eq!(
            sys.call_actor_sync::<Crowded, Deposit>(id, Deposit(1))
                .unwrap(),
            cents + 1
        );
    }
    stop(sys);
}

#[test]
fn evicted_states_are_stored_before_they_leave_ram() {
    evicted_states_are_stored_before_they_leave(MemoryStore::new(), 0);
}

#[test]
fn an_activation_that_needs_room_is_refused_while_the_store_fails_saves() {
    let store = MemoryStore::new();
    let sys = system(store.clone());
    for id in 0..10u64 {
        let cents = i64::try_from(id).unwrap();
        assert_eq!(
            sys.call_actor_sync::<Crowded, Deposit>(id, Deposit(cents))
                .unwrap(),
            cents
        );
    }
    // Ten changed actors in RAM, the limit. The store goes down: the
    // eleventh needs one of them evicted, whose state cannot be saved.
    store.fail_next(usize::MAX);
    match sys.call_actor_sync::<Crowded, Deposit>(100, Deposit(1)) {
        Err(Error::State(StateError::Unavailable { .. })) => {}
        other => panic!("an activation without room must be refused, not {other:?}"),
    }
    // The store comes back: the evicted state is saved, and there is room.
    store.fail_next(0);
    while (0..10).all(|id| stored_version(&store, "crowded", id) == 0) {
        std::thread::yield_now();
    }
    assert_eq!(
        sys.call_actor_sync::<Crowded, Deposit>(100, Deposit(1))
            .unwrap(),
        1
    );
    stop(sys);
    // Nothing was dropped.
    let sys = system(store.clone());
    for id in 0..10u64 {
        assert_eq!(stored_version(&store, "crowded", id), 1);
        let cents = i64::try_from(id).unwrap();
        assert_eq!(
            sys.call_actor_sync::<Crowded, Deposit>(id, Deposit(0))
                .unwrap(),
            cents
        );
    }
    stop(sys);
}

#[test]
fn evicted_states_wait_in_ram_while_the_store_fails() {
    evicted_states_are_stored_before_they_leave(MemoryStore::new(), 200);
}

fn the_suite(stores: &impl Stores) {
    a_state_survives_a_stop_with_its_version(stores);
    two_writers_of_one_id_lose_no_update(stores);
    after_a_clear_the_actor_starts_afresh_above_the_tombstone(stores);
    an_older_schema_is_upgraded_and_a_newer_one_refused(stores);
    write_behind_saves_after_its_delay_and_at_deactivation(stores);
    // Last: it fences the first handle.
    a_fenced_system_drops_its_activation_and_the_stored_state_stays(stores);
}

struct Memory(MemoryStore);

impl Stores for Memory {
    type Store = MemoryStore;
    fn first(&self) -> MemoryStore {
        self.0.clone()
    }
    fn reopen(&self) -> MemoryStore {
        self.0.reopen()
    }
}

#[test]
fn persistent_actors_on_the_memory_store() {
    the_suite(&Memory(MemoryStore::new()));
}

#[test]
fn a_damaged_state_is_an_error_and_stays_as_it_is() {
    let store = MemoryStore::new();
    let sys = system(store.clone());
    assert_eq!(deposit(&sys, 9, 5).unwrap(), 5);
    stop(sys);
    let id = 9u64.to_be_bytes();
    assert!(store.corrupt(key(&id)));
    let before = futures_lite::future::block_on(store.load(key(&id))).unwrap();
    let sys = system(store.clone());
    match deposit(&sys, 9, 1) {
        Err(Error::State(StateError::Corrupt { type_key, .. })) => {
            assert_eq!(type_key, "account")
        }
        other => panic!("a damaged state must be reported as Corrupt, not {other:?}"),
    }
    stop(sys);
    let after = futures_lite::future::block_on(store.load(key(&id))).unwrap();
    assert_eq!(before, after, "a damaged row must never be replaced");
}

#[test]
fn a_truncated_state_or_an_unknown_codec_is_an_error_and_stays_as_it_is() {
    let store = MemoryStore::new();
    let sys = system(store.clone());
    assert_eq!(deposit(&sys, 10, 5).unwrap(), 5);
    stop(sys);
    let id = 10u64.to_be_bytes();
    let stored = futures_lite::future::block_on(store.load(key(&id)))
        .unwrap()
        .unwrap();
    let good = stored.value.unwrap();
    // Checksums that match: only decoding can tell what is wrong.
    let truncated = Envelope::new(
        good.codec,
        good.schema,
        good.bytes[..good.bytes.len() - 1].to_vec(),
    );
    let unknown_codec = Envelope::new(99, good.schema, good.bytes.clone());
    for (version, damaged) in [(1, truncated), (2, unknown_codec)] {
        let rewrite = StateWrite {
            type_key: Account::TYPE_KEY,
            id: id.to_vec(),
            partition: 0,
            epoch: 0,
            expected_version: version,
            value: Some(damaged),
        };
        assert_eq!(
            futures_lite::future::block_on(store.write(vec![rewrite])).unwrap(),
            [WriteOutcome::Written {
                version: version + 1
            }]
        );
        let before = futures_lite::future::block_on(store.load(key(&id))).unwrap();
        let sys = system(store.clone());
        match deposit(&sys, 10, 1) {
            Err(Error::State(StateError::Corrupt { .. })) => {}
            other => panic!("a damaged state must be reported as Corrupt, not {other:?}"),
        }
        stop(sys);
        let after = futures_lite::future::block_on(store.load(key(&id))).unwrap();
        assert_eq!(before, after, "a damaged row must never be replaced");
    }
}

#[test]
fn deposits_during_a_slow_write_share_the_next_one() {
    let store = MemoryStore::new();
    let sys = system(store.clone());
    assert_eq!(deposit(&sys, 11, 0).unwrap(), 0);
    store.delay_answers(Duration::from_millis(20));
    std::thread::scope(|scope| {
        let deposits: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| deposit(&sys, 11, 1).unwrap()))
            .collect();
        let mut balances: Vec<i64> = deposits.into_iter().map(|d| d.join().unwrap()).collect();
        balances.sort_unstable();
        assert_eq!(balances, (1..=50).collect::<Vec<_>>());
    });
    let state = sys.statistics().actor::<Account>().unwrap().state.unwrap();
    assert!(state.saves < 50, "{} writes for 50 deposits", state.saves);
    store.delay_answers(Duration::ZERO);
    stop(sys);
    let sys = system(store);
    assert_eq!(show(&sys, 11).0.cents, 50);
    stop(sys);
}

#[test]
fn a_store_down_longer_than_the_load_timeout_fails_the_call_with_unavailable() {
    struct Patient;
    impl PersistentActor for Patient {
        type Id = u64;
        type State = u64;
        const TYPE_KEY: &'static str = "patient";
        async fn activate(
            _: u64,
            _: Option<u64>,
            _: &ActorAssistant<Self>,
        ) -> Result<Self, BoxError> {
            Ok(Patient)
        }
        fn state(&self) -> &u64 {
            &0
        }
        fn persistence() -> PersistenceConfiguration {
            PersistenceConfiguration {
                load_timeout: Duration::from_millis(200),
                ..PersistenceConfiguration::default()
            }
        }
    }
    impl Respond<Show> for Patient {
        type Response = ();
        async fn handle(&mut self, _: Show, _: &ActorAssistant<Self>) {}
    }
    let store = MemoryStore::new();
    store.fail_next(usize::MAX);
    let sys = system(store.clone());
    assert!(matches!(
        sys.call_actor_sync::<Patient, Show>(1, Show),
        Err(Error::State(StateError::Unavailable { .. }))
    ));
    // Back up: the next message loads.
    store.fail_next(0);
    sys.call_actor_sync::<Patient, Show>(1, Show).unwrap();
    stop(sys);
}

#[test]
fn failed_and_ambiguous_commits_neither_lose_nor_repeat_a_version() {
    let store = MemoryStore::new();
    let sys = system(store.clone());
    let mut expected = 0;
    for (round, fault) in ["none", "applied", "not applied", "failed", "none"]
        .into_iter()
        .enumerate()
    {
        match fault {
            "applied" => store.lose_next_commit_result(true),
            "not applied" => store.lose_next_commit_result(false),
            // The actor is active already: the next operation is its save.
            "failed" => store.fail_next(1),
            _ => {}
        }
        expected += 10;
        assert_eq!(deposit(&sys, 6, 10).unwrap(), expected, "round {round}");
        assert_eq!(
            show(&sys, 6).1,
            u64::try_from(round).unwrap() + 1,
            "after a {fault} commit, one version per deposit"
        );
        assert_eq!(
            stored_version(&store, "account", 6),
            u64::try_from(round).unwrap() + 1
        );
    }
    let state = sys.statistics().actor::<Account>().unwrap().state.unwrap();
    assert_eq!((state.saves, state.retries), (5, 1));
    stop(sys);
    let sys = system(store);
    assert_eq!(
        show(&sys, 6),
        (
            Balance {
                cents: 50,
                deposits: 5
            },
            5
        )
    );
    stop(sys);
}

/// What a writer does to the store before a deposit of its plan.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    /// The next commit applies, and its answer is lost.
    LostApplied,
    /// The next commit does not apply, and its answer is lost.
    LostNotApplied,
    /// The next operation fails as if the store were unreachable.
    Unreachable,
}

fn faults() -> impl proptest::strategy::Strategy<Value = Fault> {
    use proptest::prelude::*;
    prop_oneof![
        4 => Just(Fault::None),
        1 => Just(Fault::LostApplied),
        1 => Just(Fault::LostNotApplied),
        1 => Just(Fault::Unreachable),
    ]
}

/// Two systems on one store deposit into one account at the same time,
/// each from a thread of its own, with store faults on the way; then a
/// third reads it. Every acknowledged deposit is there once, and nothing
/// else: a deposit refused with `Conflict` left no trace.
///
/// The two systems share one store handle, so they write under one epoch;
/// their deposits differ in parity, so that their states never encode to
/// the same bytes. Two writers of one epoch writing the same bytes at the
/// same version are what a store resolving a lost commit result by reading
/// the row back cannot tell apart (see `StateStore`): in production each
/// process or node writes under an epoch of its own.
fn two_writers_race<S: StateStore + Clone>(
    store: &S,
    id: u64,
    inject: &(dyn Fn(Fault) + Sync),
    plans: [Vec<(i64, Fault)>; 2],
) -> Result<(), String> {
    let systems = [system(store.clone()), system(store.clone())];
    let acked: Vec<(i64, u64)> = std::thread::scope(|scope| {
        let writers: Vec<_> = systems
            .iter()
            .zip(&plans)
            .map(|(sys, plan)| {
                scope.spawn(move || {
                    let (mut sum, mut count) = (0, 0);
                    for &(cents, fault) in plan {
                        inject(fault);
                        match deposit(sys, id, cents) {
                            Ok(_) => (sum, count) = (sum + cents, count + 1),
                            Err(Error::State(StateError::Conflict { .. })) => {}
                            Err(other) => return Err(format!("a deposit failed: {other}")),
                        }
                    }
                    Ok((sum, count))
                })
            })
            .collect();
        writers
            .into_iter()
            .map(|writer| writer.join().unwrap())
            .collect::<Result<_, _>>()
    })?;
    for sys in systems {
        stop(sys);
    }
    let (sum, count) = acked
        .iter()
        .fold((0, 0), |(sum, count), (s, c)| (sum + s, count + c));
    let sys = system(store.clone());
    let (balance, version) = show(&sys, id);
    stop(sys);
    let expected = (
        Balance {
            cents: sum,
            deposits: u32::try_from(count).unwrap(),
        },
        count,
    );
    if (balance.clone(), version) == expected {
        Ok(())
    } else {
        Err(format!(
            "acknowledged {expected:?} (balance, version), stored {:?}",
            (balance, version)
        ))
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("ACTEUR_INTERLEAVING_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(1000),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn two_writers_of_one_account_lose_no_acknowledged_deposit(
        first in proptest::collection::vec((1..100i64, faults()), 0..12),
        second in proptest::collection::vec((1..100i64, faults()), 0..12),
    ) {
        // Even amounts from one, odd from the other: see `two_writers_race`.
        let first = first.into_iter().map(|(cents, fault)| (cents * 2, fault)).collect();
        let second = second.into_iter().map(|(cents, fault)| (cents * 2 + 1, fault)).collect();
        let store = MemoryStore::new();
        let inject = |fault| match fault {
            Fault::None => {}
            Fault::LostApplied => store.lose_next_commit_result(true),
            Fault::LostNotApplied => store.lose_next_commit_result(false),
            Fault::Unreachable => store.fail_next(1),
        };
        if let Err(problem) = two_writers_race(&store, 1, &inject, [first, second]) {
            proptest::prop_assert!(false, "{}", problem);
        }
    }
}

/// A store whose writes wait at a gate until it opens: to see what an
/// actor does while its save is in flight.
#[derive(Clone, Default)]
struct Gated {
    store: MemoryStore,
    gate: Arc<Mutex<GateState>>,
}

#[derive(Default)]
struct GateState {
    open: bool,
    /// Writes that reached the gate so far.
    arrived: usize,
    wakers: Vec<std::task::Waker>,
}

impl Gated {
    fn open(&self) {
        let mut gate = self.gate.lock().unwrap();
        gate.open = true;
        gate.wakers.drain(..).for_each(std::task::Waker::wake);
    }

    fn arrived(&self) -> usize {
        self.gate.lock().unwrap().arrived
    }
}

impl StateStore for Gated {
    fn claim(&self, partition: u64, epoch: u64) -> BoxFuture<'_, Result<(), StoreError>> {
        self.store.claim(partition, epoch)
    }

    fn load(
        &self,
        key: StateKeyRef<'_>,
    ) -> BoxFuture<'_, Result<Option<StoredRecord>, StoreError>> {
        self.store.load(key)
    }

    fn write(
        &self,
        batch: Vec<StateWrite>,
    ) -> BoxFuture<'_, Result<Vec<WriteOutcome>, StoreError>> {
        self.gate.lock().unwrap().arrived += 1;
        Box::pin(async move {
            std::future::poll_fn(|cx| {
                let mut gate = self.gate.lock().unwrap();
                if gate.open {
                    std::task::Poll::Ready(())
                } else {
                    gate.wakers.push(cx.waker().clone());
                    std::task::Poll::Pending
                }
            })
            .await;
            self.store.write(batch).await
        })
    }
}

#[test]
fn every_turn_replies_wait_for_their_save_but_the_next_messages_do_not() {
    let gated = Gated::default();
    let sys = system(gated.clone());
    assert_eq!(show(&sys, 1).0.cents, 0);
    std::thread::scope(|scope| {
        // The first deposit's save waits at the gate, and so its reply.
        let first = scope.spawn(|| deposit(&sys, 1, 5));
        while gated.arrived() == 0 {
            std::thread::yield_now();
        }
        // Meanwhile the actor goes on: a read is answered at once, and
        // sees the deposit.
        assert_eq!(
            show(&sys, 1),
            (
                Balance {
                    cents: 5,
                    deposits: 1
                },
                0
            )
        );
        // Five more deposits, their replies waiting too.
        let more: Vec<_> = (0..5)
            .map(|_| scope.spawn(|| deposit(&sys, 1, 1)))
            .collect();
        while sys.statistics().actor::<Account>().unwrap().queued_messages > 0
            || show(&sys, 1).0.deposits < 6
        {
            std::thread::yield_now();
        }
        assert!(!first.is_finished());
        gated.open();
        assert_eq!(first.join().unwrap().unwrap(), 5);
        let mut balances: Vec<i64> = more
            .into_iter()
            .map(|d| d.join().unwrap().unwrap())
            .collect();
        balances.sort_unstable();
        assert_eq!(balances, [6, 7, 8, 9, 10]);
    });
    // The five deposits made while the first was saved shared one write.
    assert_eq!(gated.arrived(), 2);
    assert_eq!(
        show(&sys, 1),
        (
            Balance {
                cents: 10,
                deposits: 6
            },
            2
        )
    );
    stop(sys);
}

/// The race of two writers on `store`, without injected faults (only
/// `MemoryStore` injects them), `cases` times: each case on an account of
/// its own.
fn two_writers_race_on(store: &(impl StateStore + Clone), cases: u32) {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let plan = proptest::collection::vec((1..100i64).prop_map(|cents| (cents, Fault::None)), 0..12);
    for case in 0..cases {
        let first = plan.new_tree(&mut runner).unwrap().current();
        let second = plan.new_tree(&mut runner).unwrap().current();
        let first = first
            .into_iter()
            .map(|(cents, fault)| (cents * 2, fault))
            .collect();
        let second = second
            .into_iter()
            .map(|(cents, fault)| (cents * 2 + 1, fault))
            .collect();
        if let Err(problem) =
            two_writers_race(store, 1000 + u64::from(case), &|_| {}, [first, second])
        {
            panic!("case {case}: {problem}");
        }
    }
}

#[test]
fn shutdown_with_the_store_down_hands_states_to_on_unsaved() {
    the_shutdown_hands_every_unsaved_state_to_on_unsaved(MemoryStore::new());
}

#[test]
fn a_persistent_type_needs_a_store_and_a_type_key_of_its_own() {
    let sys = Acteur::new();
    match deposit(&sys, 1, 1) {
        Err(Error::InvalidConfiguration { field, .. }) => assert_eq!(field, "state_store"),
        other => panic!("a missing store must be reported, not {other:?}"),
    }
    stop(sys);

    struct Thief;
    impl PersistentActor for Thief {
        type Id = u64;
        type State = ();
        // Account's key.
        const TYPE_KEY: &'static str = "account";
        async fn activate(
            _: u64,
            _: Option<()>,
            _: &ActorAssistant<Self>,
        ) -> Result<Self, BoxError> {
            Ok(Thief)
        }
        fn state(&self) -> &() {
            &()
        }
    }
    impl Respond<Show> for Thief {
        type Response = ();
        async fn handle(&mut self, _: Show, _: &ActorAssistant<Self>) {}
    }
    struct Nameless;
    impl PersistentActor for Nameless {
        type Id = u64;
        type State = ();
        const TYPE_KEY: &'static str = "";
        async fn activate(
            _: u64,
            _: Option<()>,
            _: &ActorAssistant<Self>,
        ) -> Result<Self, BoxError> {
            Ok(Nameless)
        }
        fn state(&self) -> &() {
            &()
        }
    }
    impl Respond<Show> for Nameless {
        type Response = ();
        async fn handle(&mut self, _: Show, _: &ActorAssistant<Self>) {}
    }
    let sys = system(MemoryStore::new());
    assert_eq!(deposit(&sys, 1, 1).unwrap(), 1);
    for outcome in [
        sys.call_actor_sync::<Thief, Show>(1, Show),
        sys.call_actor_sync::<Nameless, Show>(1, Show),
    ] {
        match outcome {
            Err(Error::InvalidConfiguration { field, .. }) => assert_eq!(field, "TYPE_KEY"),
            other => panic!("a taken or empty TYPE_KEY must be refused, not {other:?}"),
        }
    }
    stop(sys);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;

    use acteur::persistence::SqliteStore;

    use super::*;

    /// A database file in a directory of its own, removed when done.
    struct Database(PathBuf);

    impl Database {
        fn new(test: &str) -> Database {
            let directory = std::env::temp_dir()
                .join(format!("acteur-persistent-{test}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&directory);
            std::fs::create_dir_all(&directory).unwrap();
            Database(directory)
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// One SQLite file; each handle opens it anew, as a process would, so
    /// that only the one `first` opened shares its epoch.
    struct Sqlite {
        database: Database,
        first: Arc<SqliteStore>,
    }

    impl Stores for Sqlite {
        type Store = Arc<SqliteStore>;
        fn first(&self) -> Arc<SqliteStore> {
            self.first.clone()
        }
        fn reopen(&self) -> Arc<SqliteStore> {
            Arc::new(SqliteStore::open(self.database.0.join("states.db")).unwrap())
        }
    }

    #[test]
    fn persistent_actors_on_the_sqlite_store() {
        let database = Database::new("suite");
        let first = Arc::new(SqliteStore::open(database.0.join("states.db")).unwrap());
        the_suite(&Sqlite { database, first });
    }

    #[test]
    fn two_writers_of_one_account_on_sqlite_lose_no_acknowledged_deposit() {
        let database = Database::new("race");
        let store = Arc::new(SqliteStore::open(database.0.join("states.db")).unwrap());
        two_writers_race_on(&store, 100);
    }
}

#[cfg(feature = "postgres")]
#[path = "support/postgres.rs"]
mod postgres_server;

#[cfg(feature = "postgres")]
mod postgres {
    use acteur::persistence::PostgresStore;

    use super::postgres_server::fresh_database;
    use super::*;

    /// One database; each handle connects anew, as a process would.
    struct Postgres {
        url: String,
        first: Arc<PostgresStore>,
    }

    impl Stores for Postgres {
        type Store = Arc<PostgresStore>;
        fn first(&self) -> Arc<PostgresStore> {
            self.first.clone()
        }
        fn reopen(&self) -> Arc<PostgresStore> {
            Arc::new(PostgresStore::connect(&self.url).unwrap())
        }
    }

    #[test]
    fn persistent_actors_on_the_postgres_store() {
        let Some(url) = fresh_database("actors") else {
            return;
        };
        let first = Arc::new(PostgresStore::connect(&url).unwrap());
        the_suite(&Postgres { url, first });
    }

    #[test]
    fn two_writers_of_one_account_on_postgres_lose_no_acknowledged_deposit() {
        let Some(url) = fresh_database("race") else {
            return;
        };
        let store = Arc::new(PostgresStore::connect(&url).unwrap());
        two_writers_race_on(&store, 100);
    }
}
