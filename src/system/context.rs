//! What the current thread is running right now: which system task, on
//! behalf of which actor or starting service. Set around every poll of a
//! task the system spawns, so that misuse is caught where it happens: a
//! blocking `_sync` call inside a handler, an actor calling its own ID, a
//! service's `initialize` sending to itself.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;

/// Identifies what a task runs for. Identities are addresses of the shared
/// slot or pool, compared, never dereferenced.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct TaskContext {
    /// The slot of the actor whose messages the task handles, or 0.
    pub(crate) actor: usize,
    /// The slot of an actor whose drain task waits for this code to finish,
    /// or 0: an activation waiting for the `deactivate` of the actor it
    /// evicts. A call to it from here would wait for itself.
    pub(crate) waiting_actor: usize,
    /// The service pool whose `initialize` the task runs, or 0.
    pub(crate) initializing: usize,
}

thread_local! {
    /// `Some` while a system task is being polled on this thread.
    static CURRENT: Cell<Option<TaskContext>> = const { Cell::new(None) };
}

/// Restores the previous context when dropped, panics included.
struct Enter(Option<TaskContext>);

impl Enter {
    fn new(context: TaskContext) -> Self {
        Enter(CURRENT.replace(Some(context)))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// Runs `future`, with `context` current during each of its polls.
pub(crate) async fn run_in<F: Future>(context: TaskContext, future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(move |cx| {
        let _entered = Enter::new(context);
        future.as_mut().poll(cx)
    })
    .await
}

/// The context of the system task running on this thread, if any.
pub(crate) fn current() -> Option<TaskContext> {
    CURRENT.get()
}
