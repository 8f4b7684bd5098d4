//! A process killed with SIGKILL keeps every change it answered: a child
//! process deposits into a persistent account (`WriteMode::EveryTurn`, on
//! an SQLite file) and prints each acknowledged deposit; the parent kills it
//! at a varying point, twenty times, and after each kill a new system on the
//! same file finds every acknowledged deposit (and at most the one that was
//! in flight).
//!
//! The child is this test binary run again with `ACTEUR_CRASH_CHILD` set to
//! the database path: `the_depositing_child` then deposits until killed;
//! without the variable it returns at once.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
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

/// The child's part: deposits until killed, printing each acknowledged one.
#[test]
fn the_depositing_child() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let store = SqliteStore::open(PathBuf::from(path)).expect("the child opens the file");
    let sys = Acteur::builder().state_store(store).build();
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
fn deposit_then_kill(database: &Path, deposits: u64) -> u64 {
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

#[test]
fn every_acknowledged_deposit_survives_a_kill() {
    let directory =
        std::env::temp_dir().join(format!("acteur-crash-recovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let database = directory.join("states.db");
    // Kill points that vary from run to run, the same in every test run.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for run in 0..20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let acked = deposit_then_kill(&database, 1 + seed % 40);
        let store = SqliteStore::open(&database).unwrap();
        let sys = Acteur::builder()
            .state_store(store)
            .call_timeout(Duration::from_secs(60))
            .build();
        let count = sys.call_actor_sync::<Account, Count>(1, Count).unwrap();
        sys.stop();
        sys.wait_until_stopped();
        // The deposit in flight at the kill may be durable, unanswered.
        assert!(
            count == acked || count == acked + 1,
            "run {run}: {acked} deposits were acknowledged, {count} are stored"
        );
    }
    let _ = std::fs::remove_dir_all(&directory);
}
