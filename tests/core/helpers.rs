//! Waiting for events without sleeping.

use std::sync::mpsc::Receiver;
use std::time::Duration;

/// Generous: only reached when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The next event, or a failure naming what was awaited.
pub fn next<T>(events: &Receiver<T>, what: &str) -> T {
    events
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
}

/// Waits for `sys` to stop; a hang fails the test instead of hanging CI.
pub fn wait_stopped(sys: &acteur::Acteur) {
    let (done, stopped) = std::sync::mpsc::channel();
    let waiter = sys.clone();
    std::thread::spawn(move || {
        waiter.wait_until_stopped();
        let _ = done.send(());
    });
    next(&stopped, "end of wait_until_stopped");
}

/// Stops `sys` and waits for the end.
pub fn shut_down(sys: &acteur::Acteur) {
    sys.stop();
    wait_stopped(sys);
}
