//! The task that takes a system through the phases of its shutdown, once
//! `stop` was called (see `Acteur::stop` for what users see):
//!
//! 1. actors drain: `stop` has already woken every activation for a last
//!    drain and `deactivate`; services serve the code running inside the
//!    system meanwhile;
//! 2. once no task is left (no activation, no queued message anywhere),
//!    every service that was initialised gets its `shutdown` hook, and
//!    services serve each other until no task is left again;
//! 3. the system is stopped.
//!
//! "No task is left" is the lifecycle's count at zero: every drain task,
//! service worker, `initialize` and `shutdown` hook is counted, and during
//! shutdown none starts but from another counted task (or from here).
//!
//! Past the shutdown deadline, what is left is abandoned: the user code
//! still running is dropped at its next await, each drain task drops its
//! activation and messages, service queues are emptied (callers get
//! `Error::Stopped`), one error line counts what was lost, and the system
//! is stopped.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;

use crate::runtime;
use crate::system::System;
use crate::system::lifecycle::Phase;

/// How long, after the deadline, the abandoned tasks get to end. They are
/// woken at once and end at their next await; only code that blocks its
/// thread takes longer, and is then left running.
const GRACE: Duration = Duration::from_secs(1);

/// Runs the shutdown of `system`, whose `stop` was just called.
pub(crate) async fn run(system: Arc<System>) {
    let timeout = system.shutdown_timeout;
    let finished = future::or(
        async {
            drain_in_phases(&system).await;
            true
        },
        async {
            runtime::sleep(timeout).await;
            false
        },
    )
    .await;
    if !finished {
        abandon(&system, timeout).await;
    }
    system.lifecycle.enter(Phase::Stopped);
    log::info!("the actor system has stopped");
}

async fn drain_in_phases(system: &Arc<System>) {
    let lifecycle = &system.lifecycle;
    lifecycle.quiescent().await;
    lifecycle.enter(Phase::DrainingServices);
    // A service started by another's `shutdown` is told in the next round.
    loop {
        let told = system
            .service_pools()
            .into_iter()
            .filter(|pool| pool.clone().begin_shutdown(system))
            .count();
        lifecycle.quiescent().await;
        if told == 0 {
            return;
        }
    }
}

/// Drops what is left once the deadline `timeout` has passed, and logs
/// what was lost.
async fn abandon(system: &Arc<System>, timeout: Duration) {
    let lifecycle = &system.lifecycle;
    lifecycle.enter(Phase::Abandoning);
    for pool in system.service_pools() {
        pool.abandon();
    }
    future::or(lifecycle.quiescent(), runtime::sleep(GRACE)).await;
    let statistics = system.statistics();
    let mut lost = String::new();
    for actors in &statistics.actors {
        if actors.abandoned_activations + actors.abandoned_messages > 0 {
            let _ = write!(
                lost,
                "; {}: {} activation(s), {} message(s)",
                actors.name, actors.abandoned_activations, actors.abandoned_messages
            );
        }
    }
    for service in &statistics.services {
        if service.abandoned_messages > 0 {
            let _ = write!(
                lost,
                "; {}: {} message(s)",
                service.name, service.abandoned_messages
            );
        }
    }
    let stuck = lifecycle.tasks();
    if stuck > 0 {
        let _ = write!(
            lost,
            "; {stuck} task(s) still run code that blocks its thread and are left behind"
        );
    }
    if lost.is_empty() {
        lost.push_str("; nothing was left to abandon");
    }
    log::error!(
        "the actor system did not stop within its shutdown_timeout of {timeout:?}, so what \
         was left is abandoned: activations dropped without deactivate, queued messages \
         dropped (callers get Error::Stopped){lost}. Raise ActeurBuilder::shutdown_timeout, \
         or look for a deactivate or handler that does not return"
    );
}
