//! The smallest complete program: one actor type, a fire-and-forget message,
//! a request, and a graceful stop. Run with `cargo run --example quickstart`.

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};

struct Employee {
    salary: u32,
}

impl Actor for Employee {
    type Id = u32;

    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        println!("employee {id} activated");
        Ok(Employee { salary: 0 })
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        println!(
            "employee {} deactivated with salary {}",
            assistant.id(),
            self.salary
        );
    }
}

struct SalaryChanged(u32);

impl Receive<SalaryChanged> for Employee {
    async fn handle(&mut self, message: SalaryChanged, _: &ActorAssistant<Self>) {
        self.salary = message.0;
    }
}

struct GetSalary;

impl Respond<GetSalary> for Employee {
    type Response = u32;

    async fn handle(&mut self, _: GetSalary, _: &ActorAssistant<Self>) -> u32 {
        self.salary
    }
}

fn main() -> Result<(), acteur::Error> {
    let sys = Acteur::new();
    sys.send_to_actor_sync::<Employee, _>(42, SalaryChanged(55_000))?;
    let salary = sys.call_actor_sync::<Employee, _>(42, GetSalary)?;
    println!("employee 42 earns {salary}");
    sys.stop();
    sys.wait_until_stopped();
    println!("stopped");
    Ok(())
}
