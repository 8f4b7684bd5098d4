//! What the current thread is running right now: which system task, on
//! behalf of which actor or service, and which calls wait for it. Set around
//! every poll of a task the system spawns, so that misuse is caught where it
//! happens: a blocking `_sync` call inside a handler, or a call that would
//! wait for itself (see `calls/chain.rs`).

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;

use crate::system::System;

/// Identifies what a task runs for. Addresses are those of the shared slot
/// or pool, compared, never dereferenced.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct TaskContext {
    /// The actor or service this code runs for: a call it makes extends
    /// the call chain with it.
    pub(crate) waiter: Option<Waiter>,
    /// The service pool whose handler (of any concurrency) or `initialize`
    /// the task runs, or 0: a message it sends to its own service is queued
    /// even when full, since waiting for room there could wait for itself.
    pub(crate) service: usize,
    /// The system the task belongs to (set where it is spawned): during
    /// shutdown, its code may still reach what code from outside may not.
    pub(crate) system: usize,
}

impl TaskContext {
    /// The address of the actor slot (or one-at-a-time service) this task
    /// runs as, or 0.
    pub(crate) fn actor(&self) -> usize {
        self.waiter
            .filter(|waiter| waiter.blocks())
            .map_or(0, |waiter| waiter.address)
    }
}

/// An actor or service whose code makes a call.
#[derive(Clone, Copy)]
pub(crate) struct Waiter {
    /// The address of its slot or pool: alive, and so unique, while it waits.
    pub(crate) address: usize,
    /// See [`Waiter::blocks`].
    blocks: Blocks,
    /// Names it in an error, e.g. `Account(7)`; called only on a deadlock.
    pub(crate) describe: fn(&System, usize) -> String,
}

/// A `bool` as wide as a pointer. With a one-byte `bool`, a [`Waiter`], and
/// so every [`TaskContext`], had seven bytes of padding, which the compiler
/// copies as two overlapping four-byte moves; copying a context, at every
/// poll of a system task and at every call, then stalled on a load that
/// spans two earlier stores (perf: about a fifth of a drain task's poll in
/// ping_pong, and two thirds of `OutgoingCall::begin` in ask_one).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Blocks {
    No = 0,
    Yes = 1,
}

impl Waiter {
    /// The waiter at `address`, named by `describe`; see [`Waiter::blocks`].
    pub(crate) fn new(
        address: usize,
        blocks: bool,
        describe: fn(&System, usize) -> String,
    ) -> Waiter {
        Waiter {
            address,
            blocks: if blocks { Blocks::Yes } else { Blocks::No },
            describe,
        }
    }

    /// It cannot handle another message while it waits: an actor, or a
    /// service with one handler at a time. A service with more handlers is
    /// on chains only to name it in the error.
    pub(crate) fn blocks(&self) -> bool {
        self.blocks == Blocks::Yes
    }
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Waiter({:#x})", self.address)
    }
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

/// Runs `f` with `context` current.
pub(crate) fn enter<T>(context: TaskContext, f: impl FnOnce() -> T) -> T {
    let _entered = Enter::new(context);
    f()
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
