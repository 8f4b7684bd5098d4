//! A process killed with SIGKILL keeps every change it answered: a child
//! process deposits into a persistent account (`WriteMode::EveryTurn`, on
//! an SQLite file, and with the `postgres` feature on a PostgreSQL
//! database) and prints each acknowledged deposit; the parent kills it at a
//! varying point, twenty times, and after each kill a new system on the
//! same file finds every acknowledged deposit (and at most the one that was
//! in flight). With `WriteMode::WriteBehind`, five kills: what was
//! acknowledged more than `max_delay` (and a second of slack) before the
//! kill is stored.
//!
//! The child is this test binary run again with `ACTEUR_CRASH_CHILD` set to
//! the store (`sqlite:` and a path, or `postgres:` and a URL): `the_depositing_child` then deposits until killed;
//! without the variable it returns at once.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acteur::persistence::{PersistenceConfiguration, SqliteStore, WriteMode};
use acteur::{Acteur, ActorAssistant, BoxError, PersistentActor, Respond};
use serde::{Deserialize, Serialize};

const CHILD: &str = "ACTEUR_CRASH_CHILD";
const MODE: &str = "ACTEUR_CRASH_MODE";

#[derive(Serialize, Deserialize, Default)]
struct Deposits {
    count: u64,
}

/// How an account saves: its `TYPE_KEY` and write mode.
trait Saving: Send + 'static {
    const TYPE_KEY: &'static str;
    fn write() -> WriteMode;
}

/// Every deposit durable before it is acknowledged.
struct EveryTurn;

impl Saving for EveryTurn {
    const TYPE_KEY: &'static str = "crash.every_turn";
    fn write() -> WriteMode {
        WriteMode::EveryTurn
    }
}

/// Deposits written at most `MAX_DELAY` after they are made.
struct Behind;

const MAX_DELAY: Duration = Duration::from_millis(100);

impl Saving for Behind {
    const TYPE_KEY: &'static str = "crash.write_behind";
    fn write() -> WriteMode {
        WriteMode::WriteBehind {
            max_delay: MAX_DELAY,
        }
    }
}

struct Account<S: Saving> {
    deposits: Deposits,
    saving: PhantomData<fn() -> S>,
}

impl<S: Saving> PersistentActor for Account<S> {
    type Id = u64;
    type State = Deposits;
    const TYPE_KEY: &'static str = S::TYPE_KEY;

    async fn activate(
        _: u64,
        stored: Option<Deposits>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(Account {
            deposits: stored.unwrap_or_default(),
            saving: PhantomData,
        })
    }

    fn state(&self) -> &Deposits {
        &self.deposits
    }

    fn persistence() -> PersistenceConfiguration {
        PersistenceConfiguration {
            write: S::write(),
            ..PersistenceConfiguration::default()
        }
    }
}

/// One more deposit; answers how many there are.
struct Deposit;

impl<S: Saving> Respond<Deposit> for Account<S> {
    type Response = u64;
    async fn handle(&mut self, _: Deposit, _: &ActorAssistant<Self>) -> u64 {
        self.deposits.count += 1;
        self.deposits.count
    }
}

/// How many deposits a read finds.
struct Count;

impl<S: Saving> Respond<Count> for Account<S> {
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

/// The child's part: deposits until killed, printing each acknowledged one,
/// into the account `ACTEUR_CRASH_MODE` names (`write_behind`, or the
/// `EveryTurn` one).
#[test]
fn the_depositing_child() {
    let Ok(database) = std::env::var(CHILD) else {
        return;
    };
    let sys = system(&database);
    let behind = std::env::var(MODE).as_deref() == Ok("write_behind");
    loop {
        let count = if behind {
            sys.call_actor_sync::<Account<Behind>, Deposit>(1, Deposit)
        } else {
            sys.call_actor_sync::<Account<EveryTurn>, Deposit>(1, Deposit)
        };
        // One write per line: a line the parent reads was acknowledged.
        println!("acked {}", count.expect("the deposit is made"));
    }
}

/// The child, started on `database` in `mode`, its output piped.
fn child(database: &str, mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["the_depositing_child", "--exact", "--nocapture"])
        .env(CHILD, database)
        .env(MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the test binary runs again as the child")
}

/// Runs the child on `database` until it acknowledged `deposits` more
/// deposits, kills it, and returns the last deposit it acknowledged.
fn deposit_then_kill(database: &str, deposits: u64) -> u64 {
    let mut child = child(database, "every_turn");
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
        let count = sys
            .call_actor_sync::<Account<EveryTurn>, Count>(1, Count)
            .unwrap();
        sys.stop();
        sys.wait_until_stopped();
        // The deposit in flight at the kill may be durable, unanswered.
        assert!(
            count == acked || count == acked + 1,
            "run {run}: {acked} deposits were acknowledged, {count} are stored"
        );
    }
}

/// A `WriteBehind` child killed after depositing for a while: every deposit
/// acknowledged more than `max_delay` (and a second of slack, for a slow
/// machine) before the kill is stored; none that was not made is.
fn write_behind_loses_at_most_its_delay(database: &str) {
    for run in 0..5 {
        let mut child = child(database, "write_behind");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        let mut acked: Vec<(Instant, u64)> = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(count) = line.strip_prefix("acked ") {
                acked.push((Instant::now(), count.parse().unwrap()));
                if started.elapsed() > Duration::from_millis(1500) {
                    break;
                }
            }
        }
        child.kill().unwrap();
        let killed = Instant::now();
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(count) = line.strip_prefix("acked ") {
                acked.push((killed, count.parse().unwrap()));
            }
        }
        assert!(!child.wait().unwrap().success());
        let last = acked.last().map_or(0, |&(_, count)| count);
        let old_enough = killed - MAX_DELAY - Duration::from_secs(1);
        let must_be_stored = acked
            .iter()
            .filter(|&&(read, _)| read <= old_enough)
            .map(|&(_, count)| count)
            .max()
            .unwrap_or(0);
        let sys = system(database);
        let stored = sys
            .call_actor_sync::<Account<Behind>, Count>(1, Count)
            .unwrap();
        sys.stop();
        sys.wait_until_stopped();
        assert!(
            (must_be_stored..=last + 1).contains(&stored),
            "run {run}: {stored} deposits stored; {must_be_stored} were acknowledged more than \
             {MAX_DELAY:?} (and a second) before the kill, {last} in all"
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
    let database = format!("sqlite:{}", database.display());
    every_acknowledged_deposit_survives_kills(&database);
    write_behind_loses_at_most_its_delay(&database);
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
    let database = format!("postgres:{url}");
    every_acknowledged_deposit_survives_kills(&database);
    write_behind_loses_at_most_its_delay(&database);
}
