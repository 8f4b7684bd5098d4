//! Deadlock detection: the chain of calls in flight that a request carries.
//!
//! An actor, or a service that handles one message at a time, cannot take
//! another message while its code awaits a call: it *waits*. A call made
//! from such code adds a [`Link`] naming that waiter to the chain its own
//! message came with, and the request carries the new chain to its target.
//! A call whose target is a waiter on that chain would wait for itself, so
//! it fails at once with `Error::Deadlock` instead of hanging.
//!
//! Fire-and-forget messages carry no chain: their sender waits for nothing.
//! A service with several handlers passes the chain of its message on
//! without adding itself, since another handler of it may still answer.
//! When a call ends (answered, failed, timed out or dropped) its link is
//! marked done, so a stale chain never reports a wait that is over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::Error;
use crate::system::System;
use crate::system::context;

/// An actor or service whose code makes a call.
#[derive(Clone, Copy)]
pub(crate) struct Waiter {
    /// The address of its slot or pool: alive, and so unique, while it waits.
    pub(crate) address: usize,
    /// It cannot handle another message while it waits: an actor, or a
    /// service with one handler at a time. A service with more handlers is
    /// on chains only to name it in the error.
    pub(crate) blocks: bool,
    /// Names it in an error, e.g. `Account(7)`; called only on a deadlock.
    pub(crate) describe: fn(&System, usize) -> String,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Waiter({:#x})", self.address)
    }
}

/// One call in flight: `waiter` waits for it, and `caller` is the chain
/// that waits for `waiter`'s current message.
pub(crate) struct Link {
    waiter: Waiter,
    caller: Option<Arc<Link>>,
    /// The call ended; the waiter no longer waits through this link.
    done: AtomicBool,
}

/// A call being made from the current code: the chain its request
/// carries. Dropping it (the call ended, one way or another) marks its
/// link done.
pub(crate) struct OutgoingCall {
    chain: Option<Arc<Link>>,
    /// True if this call added the link at the head of `chain`.
    owns_link: bool,
}

impl OutgoingCall {
    /// The chain for a call made now, from the current thread's code.
    pub(crate) fn begin() -> OutgoingCall {
        let Some(current) = context::current() else {
            // From outside the system: nothing in it waits for this caller.
            return OutgoingCall {
                chain: None,
                owns_link: false,
            };
        };
        let caller = context::current_chain();
        match current.waiter {
            // A service with several handlers joins only a chain that
            // exists, to be named in it: on its own it cannot deadlock.
            Some(waiter) if waiter.blocks || caller.is_some() => waiting(waiter, caller),
            _ => OutgoingCall {
                chain: caller,
                owns_link: false,
            },
        }
    }

    /// The chain the request carries.
    pub(crate) fn chain(&self) -> Option<&Arc<Link>> {
        self.chain.as_ref()
    }
}

impl Drop for OutgoingCall {
    fn drop(&mut self) {
        if let (true, Some(link)) = (self.owns_link, &self.chain) {
            link.done.store(true, Relaxed);
        }
    }
}

/// Whether the target at `address` waits on `chain`, so that a request
/// carrying it there would wait for itself. Allocates nothing: every call
/// made from a handler asks.
pub(crate) fn waits_on(chain: &Arc<Link>, address: usize) -> bool {
    let mut next = Some(chain);
    while let Some(link) = next {
        if link.done.load(Relaxed) {
            // That call is over: nothing before it waits any more.
            return false;
        }
        if link.waiter.blocks && link.waiter.address == address {
            return true;
        }
        next = link.caller.as_ref();
    }
    false
}

/// The error for a request carrying `chain` to the target at `address`
/// (named by `target`), if the target waits on that chain.
pub(crate) fn check(
    system: &System,
    chain: &Arc<Link>,
    address: usize,
    target: impl FnOnce() -> String,
) -> Result<(), Error> {
    if !waits_on(chain, address) {
        return Ok(());
    }
    Err(deadlock(system, chain, address, target))
}

/// The [`Error::Deadlock`] of a request carrying `chain` to the target at
/// `address`, which waits on it ([`waits_on`]), naming every hop.
pub(crate) fn deadlock(
    system: &System,
    chain: &Arc<Link>,
    address: usize,
    target: impl FnOnce() -> String,
) -> Error {
    let mut waiters = Vec::new();
    let mut next = Some(chain);
    while let Some(link) = next {
        waiters.push(link.waiter);
        if link.waiter.blocks && link.waiter.address == address {
            break;
        }
        next = link.caller.as_ref();
    }
    let target = target();
    let chain = waiters
        .iter()
        .rev()
        .skip(1)
        .map(|waiter| (waiter.describe)(system, waiter.address))
        .fold(target.clone(), |chain, waiter| chain + " -> " + &waiter);
    Error::Deadlock {
        chain: chain + " -> " + &target,
    }
}

/// A link for `waiter`, which waits for code that runs with the chain
/// `caller` (an activation waiting for the `deactivate` of the actor it
/// evicts), and the call that marks it done when dropped.
pub(crate) fn waiting(waiter: Waiter, caller: Option<Arc<Link>>) -> OutgoingCall {
    OutgoingCall {
        chain: Some(Arc::new(Link {
            waiter,
            caller,
            done: AtomicBool::new(false),
        })),
        owns_link: true,
    }
}
