//! A process killed with SIGKILL keeps every change it answered: a child
//! process deposits into a persistent account (`WriteMode::EveryTurn`, on
//! an SQLite file, and with the `postgres` feature on a PostgreSQL
//! database) and prints each acknowledged deposit; the parent kills it
//! at a varying point, twenty times, and after each kill a new system on the
//! same file finds every acknowledged deposit (and at most the one that was
//! in flight).
//!
//! The child is this test binary run again with `ACTEUR_CRASH_CHILD` set to
//! the store (`sqlite:` and a path, or `postgres:` and a URL): `the_depositing_child` then deposits until killed;
//! without the variable it returns at once.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use acteur::persistence::SqliteStore;
use acteur::{Acteur, ActorAssistant, BoxError, PersistentActor, Respond};
use serde::{Deserialize, Serialize};

const CHILD: &str = "ACTEUR_CRASH_CHILD";

#[derive(Serialize, Deserialize, Default)]
struct Deposits {
    count: u64,
}

struct Account {
    deposits: Deposits,
}

impl PersistentActor for Account {
    type Id = u64;
    type State = Deposits;
    const TYPE_KEY: &'static str = "crash.account";

    async fn activate(
        _: u64,
        stored: Option<Deposits>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(Account {
            deposits: stored.unwrap_or_default(),
        })
    }

    fn state(&self) -> &Deposits {
        &self.deposits
    }
}

/// One more deposit; answers how many there are.
struct Deposit;

impl Respond<Deposit> for Account {
    type Response = u64;
    async fn handle(&mut self, _: Deposit, _: &ActorAssistant<Self>) -> u64 {
        self.deposits.count += 1;
        self.deposits.count
    }
}

/// How many deposits a read finds.
struct Count;

impl Respond<Count> for Account {
    type Response = u64;
    async fn handle(&mut self, _: Count, assistant: &ActorAssistant<Self>) -> u64 {
        assistant.mark_unchanged();
        self.deposits.count
    }
}

/// A system on the store `database` names: `sqlite:` and a file's path,
/// or `postgres:` and a URL.
fn system(database: &str) -> Acteur {
    let builder = Acteur::builder().call_timeout(Duration::from_secs(60));
    if let Some(path) = database.strip_prefix("sqlite:") {
        return builder
            .state_store(SqliteStore::open(path).expect("the SQLite file opens"))
            .build();
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = database.strip_prefix("postgres:") {
        return builder
            .state_store(
                acteur::persistence::PostgresStore::connect(url).expect("the database connects"),
            )
            .build();
    }
    panic!("no store for {database}")
}

/// The child's part: deposits until killed, printing each acknowledged one.
#[test]
fn the_depositing_child() {
    let Ok(database) = std::env::var(CHILD) else {
        return;
    };
    let sys = system(&database);
    loop {
        let count = sys
            .call_actor_sync::<Account, Deposit>(1, Deposit)
            .expect("the deposit is saved");
        // One write per line: a line the parent reads was acknowledged.
        println!("acked {count}");
    }
}

/// Runs the child on `database` until it acknowledged `deposits` more
/// deposits, kills it, and returns the last deposit it acknowledged.
fn deposit_then_kill(database: &str, deposits: u64) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["the_depositing_child", "--exact", "--nocapture"])
        .env(CHILD, database)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the test binary runs again as the child");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = None;
    let mut seen = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(count) = line.strip_prefix("acked ") {
            acked = Some(count.parse::<u64>().unwrap());
            seen += 1;
            if seen == deposits {
                break;
            }
        }
    }
    child.kill().unwrap();
    // What the child printed before it died was acknowledged too.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(count) = line.strip_prefix("acked ") {
            acked = Some(count.parse::<u64>().unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child ran to its end: {status}");
    acked.expect("the child acknowledged no deposit; is its output read?")
}

/// Twenty kills at varying points on `database`; after each, a new system
/// finds every acknowledged deposit.
fn every_acknowledged_deposit_survives_kills(database: &str) {
    // Kill points that vary from run to run, the same in every test run.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for run in 0..20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let acked = deposit_then_kill(database, 1 + seed % 40);
        let sys = system(database);
        let count = sys.call_actor_sync::<Account, Count>(1, Count).unwrap();
        sys.stop();
        sys.wait_until_stopped();
        // The deposit in flight at the kill may be durable, unanswered.
        assert!(
            count == acked || count == acked + 1,
            "run {run}: {acked} deposits were acknowledged, {count} are stored"
        );
    }
}

#[test]
fn every_acknowledged_deposit_survives_a_kill_on_sqlite() {
    let directory =
        std::env::temp_dir().join(format!("acteur-crash-recovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let database = directory.join("states.db");
    every_acknowledged_deposit_survives_kills(&format!("sqlite:{}", database.display()));
    let _ = std::fs::remove_dir_all(&directory);
}

#[cfg(feature = "postgres")]
#[path = "support/postgres.rs"]
mod postgres_server;

#[cfg(feature = "postgres")]
#[test]
fn every_acknowledged_deposit_survives_a_kill_on_postgres() {
    let Some(url) = postgres_server::fresh_database("crash") else {
        return;
    };
    every_acknowledged_deposit_survives_kills(&format!("postgres:{url}"));
}
