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

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::Error;
use crate::system::System;
use crate::system::tasks::context::{self, Waiter};

thread_local! {
    /// The calls waiting for the message being handled on this thread, if
    /// any: the chain its caller's request carried.
    static CHAIN: RefCell<Option<Arc<Link>>> = const { RefCell::new(None) };
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
        let caller = current_chain();
        match current.waiter {
            // A service with several handlers joins only a chain that
            // exists, to be named in it: on its own it cannot deadlock.
            Some(waiter) if waiter.blocks() || caller.is_some() => waiting(waiter, caller),
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
        if link.waiter.blocks() && link.waiter.address == address {
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
        if link.waiter.blocks() && link.waiter.address == address {
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

/// The calls waiting for the code running on this thread, if any.
pub(crate) fn current_chain() -> Option<Arc<Link>> {
    CHAIN.with(|chain| chain.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::tasks::context::{self, TaskContext};

    fn name(_: &System, address: usize) -> String {
        format!("W{address}")
    }

    fn actor(address: usize) -> Waiter {
        Waiter::new(address, true, name)
    }

    /// `first` waits for a call from `second`, which waits for a call from
    /// `third`: the chain a request from `third`'s code carries.
    fn chain_of(waiters: &[Waiter]) -> Vec<OutgoingCall> {
        let mut calls: Vec<OutgoingCall> = Vec::new();
        for &waiter in waiters {
            let caller = calls.last().and_then(|call| call.chain().cloned());
            calls.push(waiting(waiter, caller));
        }
        calls
    }

    #[test]
    fn a_target_on_the_chain_would_wait_for_itself() {
        let calls = chain_of(&[actor(1), actor(2), actor(3)]);
        let chain = calls.last().and_then(OutgoingCall::chain).unwrap();
        assert!(waits_on(chain, 1) && waits_on(chain, 2) && waits_on(chain, 3));
        assert!(!waits_on(chain, 4));
    }

    #[test]
    fn a_service_with_several_handlers_never_waits_for_itself() {
        let many = Waiter::new(9, false, name);
        let calls = chain_of(&[many, actor(2)]);
        let chain = calls.last().and_then(OutgoingCall::chain).unwrap();
        assert!(!waits_on(chain, 9));
        assert!(waits_on(chain, 2));
    }

    #[test]
    fn a_call_that_ended_no_longer_waits() {
        let mut calls = chain_of(&[actor(1), actor(2)]);
        let chain = calls.last().and_then(OutgoingCall::chain).cloned().unwrap();
        // The second call ended (answered, timed out or dropped): nothing
        // before it waits through this chain any more.
        drop(calls.pop());
        assert!(!waits_on(&chain, 2));
        assert!(!waits_on(&chain, 1));
        // The first call still waits, on its own chain.
        let first = calls[0].chain().unwrap();
        assert!(waits_on(first, 1));
    }

    #[test]
    fn the_deadlock_names_every_hop_from_the_target_back_to_it() {
        let acteur = crate::Acteur::new();
        let calls = chain_of(&[actor(1), actor(2), actor(3)]);
        let chain = calls.last().and_then(OutgoingCall::chain).unwrap();
        let error = check(acteur.system(), chain, 2, || "Target".to_string()).unwrap_err();
        assert_eq!(
            error,
            Error::Deadlock {
                chain: "Target -> W3 -> Target".to_string()
            }
        );
        assert_eq!(check(acteur.system(), chain, 7, String::new), Ok(()));
        acteur.stop();
        acteur.wait_until_stopped();
    }

    #[test]
    fn a_call_from_outside_the_system_carries_no_chain() {
        assert!(OutgoingCall::begin().chain().is_none());
    }

    #[test]
    fn a_call_from_an_actor_adds_its_link_until_it_ends() {
        let context = TaskContext {
            waiter: Some(actor(5)),
            ..TaskContext::default()
        };
        let chain = context::enter(context, || {
            let call = OutgoingCall::begin();
            let chain = call.chain().cloned().unwrap();
            assert!(waits_on(&chain, 5));
            chain
            // `call` ends here.
        });
        assert!(!waits_on(&chain, 5));
    }

    #[test]
    fn the_chain_is_current_only_while_its_handler_is_polled() {
        let calls = chain_of(&[actor(1)]);
        let chain = calls[0].chain().cloned();
        let seen = futures_lite::future::block_on(run_with_chain(chain, async {
            current_chain().is_some_and(|chain| waits_on(&chain, 1))
        }));
        assert!(seen);
        assert!(current_chain().is_none());
    }
}
