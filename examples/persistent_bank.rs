//! Bank accounts whose balances survive the program: each account is a
//! `PersistentActor`, its state kept in an embedded SQLite file. Every
//! deposit or withdrawal is durable before it is answered; a refused
//! withdrawal writes nothing.
//!
//! Run with `cargo run --example persistent_bank --features sqlite`, and
//! again: the second run starts from the balances of the first. The file
//! goes to the directory given as the first argument, or to the system's
//! temporary directory.

use std::path::PathBuf;

use acteur::persistence::SqliteStore;
use acteur::{Acteur, ActorAssistant, BoxError, PersistentActor, Respond};
use serde::{Deserialize, Serialize};

/// What is stored of an account.
#[derive(Serialize, Deserialize, Default, Debug)]
struct Balance {
    cents: i64,
    movements: u64,
}

struct Account {
    balance: Balance,
}

impl PersistentActor for Account {
    type Id = u32;
    type State = Balance;
    // Written in every row: never change it once balances are stored.
    const TYPE_KEY: &'static str = "bank.account";

    async fn activate(
        _: u32,
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
}

/// Adds cents to the account; answers the new balance.
struct Deposit(i64);

impl Respond<Deposit> for Account {
    type Response = i64;
    async fn handle(&mut self, Deposit(cents): Deposit, _: &ActorAssistant<Self>) -> i64 {
        self.balance.cents += cents;
        self.balance.movements += 1;
        self.balance.cents
    }
}

/// Takes cents from the account if it holds them.
struct Withdraw(i64);

impl Respond<Withdraw> for Account {
    type Response = Result<i64, String>;
    async fn handle(
        &mut self,
        Withdraw(cents): Withdraw,
        assistant: &ActorAssistant<Self>,
    ) -> Result<i64, String> {
        if self.balance.cents < cents {
            // Nothing changed: nothing to write.
            assistant.mark_unchanged();
            return Err(format!("only {} cents left", self.balance.cents));
        }
        self.balance.cents -= cents;
        self.balance.movements += 1;
        Ok(self.balance.cents)
    }
}

/// The balance and the stored version it is at.
struct Statement;

impl Respond<Statement> for Account {
    type Response = (i64, u64, u64);
    async fn handle(&mut self, _: Statement, assistant: &ActorAssistant<Self>) -> (i64, u64, u64) {
        assistant.mark_unchanged();
        let Balance { cents, movements } = self.balance;
        (cents, movements, assistant.state_version())
    }
}

fn main() -> Result<(), BoxError> {
    let directory = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = directory.join("acteur-persistent-bank.db");
    println!("balances in {}", path.display());

    let store = SqliteStore::open(&path)?;
    let bank = Acteur::builder().state_store(store).build();
    for account in 1..=3u32 {
        let (cents, movements, version) =
            bank.call_actor_sync::<Account, Statement>(account, Statement)?;
        println!(
            "account {account}: {cents} cents after {movements} movements (version {version})"
        );
    }
    bank.call_actor_sync::<Account, Deposit>(1, Deposit(10_000))?;
    bank.call_actor_sync::<Account, Deposit>(2, Deposit(2_500))?;
    match bank.call_actor_sync::<Account, Withdraw>(3, Withdraw(1_000))? {
        Ok(left) => println!("account 3: withdrew 1000 cents, {left} left"),
        Err(refused) => println!("account 3: withdrawal refused, {refused}"),
    }
    if let Ok(left) = bank.call_actor_sync::<Account, Withdraw>(1, Withdraw(1_000))? {
        println!("account 1: withdrew 1000 cents, {left} left");
    }
    // Each answer above came after its change was durable; stopping saves
    // nothing more, and the next run finds every balance.
    bank.stop();
    bank.wait_until_stopped();
    println!("run again: the balances go on from here");
    Ok(())
}
