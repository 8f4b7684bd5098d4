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

/// Waits until `condition` holds, checking every millisecond; a condition
/// that never holds fails the test naming `what`. For state that is only
/// observable by polling, such as statistics.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A channel a test's actors report to through a `static`, since actors are
/// built by the system and cannot be handed a sender.
pub struct Reports<T> {
    sender: std::sync::Mutex<Option<std::sync::mpsc::Sender<T>>>,
}

impl<T> Reports<T> {
    pub const fn new() -> Self {
        Reports {
            sender: std::sync::Mutex::new(None),
        }
    }

    /// Starts a new channel; reports go to the receiver returned.
    pub fn listen(&self) -> Receiver<T> {
        let (sender, receiver) = std::sync::mpsc::channel();
        *self.sender.lock().unwrap() = Some(sender);
        receiver
    }

    pub fn report(&self, report: T) {
        if let Some(sender) = &*self.sender.lock().unwrap() {
            let _ = sender.send(report);
        }
    }
}
