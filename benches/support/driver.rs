//! How the Acteur side of a bench runs its workload: inside the system, as
//! the handler of a driver actor, the way the peers drive every framework
//! from inside its runtime (and the baselines from a task of their pool).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};

/// Runs one workload per call.
struct Driver;
impl Actor for Driver {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Driver)
    }
}
struct Run(Pin<Box<dyn Future<Output = Duration> + Send>>);
impl Respond<Run> for Driver {
    type Response = Duration;
    async fn handle(&mut self, Run(workload): Run, _: &ActorAssistant<Self>) -> Duration {
        workload.await
    }
}

/// `workload`'s own timing, run by the driver actor; then stops `sys`.
pub fn drive(sys: Acteur, workload: impl Future<Output = Duration> + Send + 'static) -> Duration {
    let elapsed = run(&sys, workload);
    sys.stop();
    sys.wait_until_stopped();
    elapsed
}

/// `workload`'s own timing, run by the driver actor of `sys`, which goes on.
pub fn run(sys: &Acteur, workload: impl Future<Output = Duration> + Send + 'static) -> Duration {
    sys.call_actor_sync::<Driver, Run>(0, Run(Box::pin(workload)))
        .unwrap()
}
