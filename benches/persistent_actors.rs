//! Persistent actors end to end on the SQLite store (feature `sqlite`),
//! against the targets of durable state:
//!
//! - 10,000 actors saving once at the same moment (`EveryTurn`): the time
//!   until every save is acknowledged, and the store's transactions;
//! - cold activations that load a 200-byte state: activations a second;
//! - what a message costs a `WriteBehind` and an `EveryTurn` actor, next to
//!   a volatile one (the same handler): calls one after the other, and
//!   fire-and-forget messages to one actor; volatile and `WriteBehind`
//!   alternate over five rounds, and the best round of each counts.
//!
//! Not a criterion bench: each figure is one pass, on a fresh file in the
//! temporary directory. `cargo bench --features sqlite --bench
//! persistent_actors`; `ACTEUR_BENCH_QUICK=1` measures a tenth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acteur::persistence::{PersistenceConfiguration, SqliteStore, StateStore, WriteMode};
use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, PersistentActor, Receive, Respond, StateStatistics,
};
use serde::{Deserialize, Serialize};

fn quick() -> bool {
    std::env::var_os("ACTEUR_BENCH_QUICK").is_some()
}

fn scaled(count: u64) -> u64 {
    if quick() { count / 10 } else { count }
}

/// 200 bytes once encoded, as the targets assume.
#[derive(Serialize, Deserialize, Clone)]
struct Account {
    balance: u64,
    history: Vec<u8>,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            balance: 0,
            history: vec![1; 190],
        }
    }
}

/// Adds one: a change.
#[derive(Clone)]
struct Deposit;
/// Reads: no change.
struct Balance;

macro_rules! persistent {
    ($name:ident, $key:literal, $write:expr) => {
        struct $name(Account);

        impl PersistentActor for $name {
            type Id = u64;
            type State = Account;
            const TYPE_KEY: &'static str = $key;

            async fn activate(
                _: u64,
                stored: Option<Account>,
                _: &ActorAssistant<Self>,
            ) -> Result<Self, BoxError> {
                Ok($name(stored.unwrap_or_default()))
            }

            fn state(&self) -> &Account {
                &self.0
            }

            fn persistence() -> PersistenceConfiguration {
                PersistenceConfiguration {
                    write: $write,
                    ..PersistenceConfiguration::default()
                }
            }
        }

        impl Receive<Deposit> for $name {
            async fn handle(&mut self, _: Deposit, _: &ActorAssistant<Self>) {
                self.0.balance += 1;
            }
        }

        impl Respond<Balance> for $name {
            type Response = u64;
            async fn handle(&mut self, _: Balance, _: &ActorAssistant<Self>) -> u64 {
                self.0.balance
            }
        }

        impl Respond<Deposit> for $name {
            type Response = u64;
            async fn handle(&mut self, _: Deposit, _: &ActorAssistant<Self>) -> u64 {
                self.0.balance += 1;
                self.0.balance
            }
        }
    };
}

persistent!(EveryTurn, "every_turn", WriteMode::EveryTurn);
persistent!(
    WriteBehind,
    "write_behind",
    WriteMode::WriteBehind {
        max_delay: Duration::from_secs(3600)
    }
);

/// The same handlers, nothing stored.
struct Volatile(Account);

impl Actor for Volatile {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Volatile(Account::default()))
    }
}

impl Receive<Deposit> for Volatile {
    async fn handle(&mut self, _: Deposit, _: &ActorAssistant<Self>) {
        self.0.balance += 1;
    }
}

impl Respond<Balance> for Volatile {
    type Response = u64;
    async fn handle(&mut self, _: Balance, _: &ActorAssistant<Self>) -> u64 {
        self.0.balance
    }
}

impl Respond<Deposit> for Volatile {
    type Response = u64;
    async fn handle(&mut self, _: Deposit, _: &ActorAssistant<Self>) -> u64 {
        self.0.balance += 1;
        self.0.balance
    }
}

struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("acteur-bench-actors-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Scratch(dir)
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(self.0.join("states.db")).expect("the store opens")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn system(store: SqliteStore) -> Acteur {
    Acteur::builder().state_store(store).build()
}

fn stop(sys: Acteur) {
    sys.stop();
    sys.wait_until_stopped();
}

/// Waits until `done` holds, looking every 100 µs.
fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// The time `n` calls one after the other take on actor 1 of type `A`.
fn sequential_calls<A: Respond<Deposit> + Actor<Id = u64>>(sys: &Acteur, n: u64) -> Duration {
    sys.call_actor_sync::<A, Deposit>(1, Deposit).unwrap();
    let started = Instant::now();
    for _ in 0..n {
        sys.call_actor_sync::<A, Deposit>(1, Deposit).unwrap();
    }
    started.elapsed()
}

/// The time `n` fire-and-forget messages to actor 1 of type `A` take,
/// until a call behind them is answered.
fn pipelined_sends<A: Receive<Deposit> + Respond<Balance> + Actor<Id = u64>>(
    sys: &Acteur,
    n: u64,
) -> Duration {
    sys.call_actor_sync::<A, Balance>(1, Balance).unwrap();
    let started = Instant::now();
    for _ in 0..n {
        sys.send_to_actor_sync::<A, Deposit>(1, Deposit).unwrap();
    }
    sys.call_actor_sync::<A, Balance>(1, Balance).unwrap();
    started.elapsed()
}

/// Sends a deposit to each of `actors` EveryTurn actors, all at once; the
/// time until the type's statistics say `done`.
fn deposit_to_all(sys: &Acteur, actors: u64, done: impl Fn(StateStatistics) -> bool) -> Duration {
    let started = Instant::now();
    for id in 0..actors {
        sys.send_to_actor_sync::<EveryTurn, Deposit>(id, Deposit)
            .unwrap();
    }
    until(|| {
        sys.statistics()
            .actor::<EveryTurn>()
            .and_then(|actor| actor.state)
            .is_some_and(&done)
    });
    started.elapsed()
}

/// Sends one change to each of `actors` EveryTurn actors at once, on a new
/// system on `store`; the time until every save is acknowledged, and the
/// store's transactions meanwhile (`transactions` reads its count).
fn save_all<S: StateStore>(
    store: Arc<S>,
    transactions: impl Fn(&S) -> u64,
    actors: u64,
) -> (Duration, u64) {
    let sys = Acteur::builder().state_store(store.clone()).build();
    let before = transactions(&store);
    let elapsed = deposit_to_all(&sys, actors, |state| state.saves >= actors);
    let transactions = transactions(&store) - before;
    stop(sys);
    (elapsed, transactions)
}

/// The same on PostgreSQL, if `ACTEUR_BENCH_POSTGRES_URL` names a database
/// (best a new one: rows left by an earlier run are updated, not created).
#[cfg(feature = "postgres")]
fn postgres(actors: u64) {
    use acteur::persistence::PostgresStore;
    let Ok(url) = std::env::var("ACTEUR_BENCH_POSTGRES_URL") else {
        println!("(PostgreSQL: set ACTEUR_BENCH_POSTGRES_URL to measure it)");
        return;
    };
    let store = Arc::new(PostgresStore::connect(&url).expect("the database connects"));
    let new_rows = save_all(store.clone(), PostgresStore::transactions, actors);
    let second_versions = save_all(store, PostgresStore::transactions, actors);
    println!(
        "| PostgreSQL: {actors} actors saving once at the same moment, new rows / second versions | {:.2?}, {} transactions / {:.2?}, {} transactions |",
        new_rows.0, new_rows.1, second_versions.0, second_versions.1
    );
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: u64) {
    println!("(PostgreSQL: build with --features postgres to measure it)");
}

fn main() {
    let scratch = Scratch::new();
    let actors = scaled(10_000);

    // Every actor saves once, all at the same moment: new rows, then a
    // second version of each.
    let sqlite = Arc::new(scratch.store());
    let new_rows = save_all(sqlite.clone(), SqliteStore::transactions, actors);
    let second_versions = save_all(sqlite, SqliteStore::transactions, actors);

    // Cold activations that each load a stored 200-byte state.
    let store = scratch.store();
    let sys = system(store);
    let cold = deposit_to_all(&sys, actors, |state| state.loads >= actors);
    stop(sys);

    // A message's cost by write mode, on one actor.
    let calls = scaled(20_000);
    let sends = scaled(200_000);
    // Alternated, five rounds, the best of each kept: one machine's noise
    // (another process, a frequency change) then hits both alike.
    let sys = system(scratch.store());
    let (mut volatile_calls, mut behind_calls) = (Duration::MAX, Duration::MAX);
    let (mut volatile_sends, mut behind_sends) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        volatile_calls = volatile_calls.min(sequential_calls::<Volatile>(&sys, calls));
        behind_calls = behind_calls.min(sequential_calls::<WriteBehind>(&sys, calls));
        volatile_sends = volatile_sends.min(pipelined_sends::<Volatile>(&sys, sends));
        behind_sends = behind_sends.min(pipelined_sends::<WriteBehind>(&sys, sends));
    }
    let every_calls = sequential_calls::<EveryTurn>(&sys, calls / 10);
    let every_sends = pipelined_sends::<EveryTurn>(&sys, sends / 10);
    stop(sys);

    let per = |elapsed: Duration, n: u64| elapsed.as_secs_f64() * 1e9 / n as f64;
    println!();
    println!("| persistent actors on SQLite (synchronous=FULL) | figure |");
    println!("|---|---:|");
    println!(
        "| {actors} actors saving once at the same moment (EveryTurn), new rows | {:.2?}, {} transactions |",
        new_rows.0, new_rows.1
    );
    println!(
        "| the same, a second version of each row | {:.2?}, {} transactions |",
        second_versions.0, second_versions.1
    );
    println!(
        "| {actors} cold activations loading a 200-byte state | {:.0} activations/s |",
        actors as f64 / cold.as_secs_f64()
    );
    println!(
        "| call, one after the other: volatile / WriteBehind / EveryTurn | {:.0} / {:.0} / {:.0} ns (WriteBehind {:.2}x) |",
        per(volatile_calls, calls),
        per(behind_calls, calls),
        per(every_calls, calls / 10),
        per(behind_calls, calls) / per(volatile_calls, calls)
    );
    println!(
        "| send, pipelined: volatile / WriteBehind / EveryTurn | {:.0} / {:.0} / {:.0} ns (WriteBehind {:.2}x) |",
        per(volatile_sends, sends),
        per(behind_sends, sends),
        per(every_sends, sends / 10),
        per(behind_sends, sends) / per(volatile_sends, sends)
    );
    postgres(actors);
}
