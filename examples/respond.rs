//! Request/response between actors: a bank transfer where one account
//! actor calls another and both answer their callers. Run with
//! `cargo run --example respond`.

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, Respond};

struct Account {
    balance: i64,
}

impl Actor for Account {
    type Id = String;
    async fn activate(id: String, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        // A real program would load the balance from its database here.
        let balance = if id == "alice" { 100 } else { 0 };
        Ok(Account { balance })
    }
}

/// Adds `amount` (negative: takes it) if the balance allows; answers the new balance.
struct Apply(i64);

impl Respond<Apply> for Account {
    type Response = Result<i64, &'static str>;
    async fn handle(&mut self, m: Apply, _: &ActorAssistant<Self>) -> Result<i64, &'static str> {
        if self.balance + m.0 < 0 {
            return Err("insufficient funds");
        }
        self.balance += m.0;
        Ok(self.balance)
    }
}

/// Moves `amount` from this account to `to`.
struct Transfer {
    to: String,
    amount: i64,
}

#[derive(Debug)]
enum TransferError {
    Refused(&'static str),
    System(Error),
}

impl Respond<Transfer> for Account {
    type Response = Result<i64, TransferError>;
    async fn handle(
        &mut self,
        m: Transfer,
        assistant: &ActorAssistant<Self>,
    ) -> Result<i64, TransferError> {
        if self.balance < m.amount {
            return Err(TransferError::Refused("insufficient funds"));
        }
        // Calling another actor is fine; calling our own ID would be a
        // deadlock and returns `Error::Deadlock` at once.
        let credited = assistant
            .call_actor::<Account, Apply>(m.to, Apply(m.amount))
            .await;
        credited
            .map_err(TransferError::System)?
            .map_err(TransferError::Refused)?;
        self.balance -= m.amount;
        Ok(self.balance)
    }
}

fn main() -> Result<(), Error> {
    let sys = Acteur::new();
    let transfer = Transfer {
        to: "bob".into(),
        amount: 30,
    };
    let left = sys.call_actor_sync::<Account, _>("alice".to_string(), transfer)?;
    println!("alice after sending 30 to bob: {left:?}");
    let bob = sys.call_actor_sync::<Account, _>("bob".to_string(), Apply(0))?;
    println!("bob now has: {bob:?}");
    let too_much = Transfer {
        to: "bob".into(),
        amount: 500,
    };
    let refused = sys.call_actor_sync::<Account, _>("alice".to_string(), too_much)?;
    if let Err(TransferError::Refused(why)) = &refused {
        println!("alice sending 500: refused, {why}");
    }
    let to_self = Transfer {
        to: "alice".into(),
        amount: 1,
    };
    let deadlock = sys.call_actor_sync::<Account, _>("alice".to_string(), to_self)?;
    println!("alice sending to herself: {deadlock:?}");
    assert!(matches!(left, Ok(70)));
    assert!(matches!(bob, Ok(30)));
    assert!(matches!(
        deadlock,
        Err(TransferError::System(Error::Deadlock { .. }))
    ));
    sys.stop();
    sys.wait_until_stopped();
    Ok(())
}
