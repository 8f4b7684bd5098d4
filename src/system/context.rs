//! What the current thread is running right now: which system task, on
//! behalf of which actor or service, and which calls wait for it. Set around
//! every poll of a task the system spawns, so that misuse is caught where it
//! happens: a blocking `_sync` call inside a handler, or a call that would
//! wait for itself (see `call_chain.rs`).

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;

use crate::system::call_chain::{Link, Waiter};

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
            .filter(|waiter| waiter.blocks)
            .map_or(0, |waiter| waiter.address)
    }
}

thread_local! {
    /// `Some` while a system task is being polled on this thread.
    static CURRENT: Cell<Option<TaskContext>> = const { Cell::new(None) };
    /// The calls waiting for the message being handled on this thread, if
    /// any: the chain its caller's request carried.
    static CHAIN: RefCell<Option<Arc<Link>>> = const { RefCell::new(None) };
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

/// Puts the chain back where it came from when dropped, panics included.
struct EnterChain<'a> {
    /// The wrapper's own slot, holding the chain between polls.
    home: &'a mut Option<Arc<Link>>,
    previous: Option<Arc<Link>>,
}

impl Drop for EnterChain<'_> {
    fn drop(&mut self) {
        *self.home = CHAIN.with(|chain| chain.replace(self.previous.take()));
    }
}

/// Runs `future` (a handler, `activate` or `deactivate`) with `chain`, the
/// calls waiting for it, current during each of its polls. The chain moves
/// in and out of the thread-local: no reference count changes per poll.
pub(crate) async fn run_with_chain<F: Future>(
    mut chain: Option<Arc<Link>>,
    future: F,
) -> F::Output {
    if chain.is_none() {
        // Nothing waits, and outside these wrappers no chain is current.
        return future.await;
    }
    let mut future = pin!(future);
    poll_fn(move |cx| {
        let previous = CHAIN.with(|current| current.replace(chain.take()));
        let _entered = EnterChain {
            home: &mut chain,
            previous,
        };
        future.as_mut().poll(cx)
    })
    .await
}

/// The context of the system task running on this thread, if any.
pub(crate) fn current() -> Option<TaskContext> {
    CURRENT.get()
}

/// The calls waiting for the code running on this thread, if any.
pub(crate) fn current_chain() -> Option<Arc<Link>> {
    CHAIN.with(|chain| chain.borrow().clone())
}
