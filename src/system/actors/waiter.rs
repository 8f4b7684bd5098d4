//! An actor as a member of call chains: its identity (its slot's address)
//! and how a deadlock report names it.

use std::any::type_name;
use std::sync::Arc;

use super::ActorType;
use super::slot::Slot;
use crate::Actor;
use crate::system::System;
use crate::system::tasks::context::Waiter;

/// An actor as named in errors, e.g. `shop::Account(7)`.
pub(super) fn describe<A: Actor>(id: &A::Id) -> String {
    format!("{}({id:?})", type_name::<A>())
}

/// The actor of `slot` as a member of call chains: an actor waits while its
/// code awaits a call.
pub(super) fn slot_waiter<A: Actor>(slot: &Arc<Slot<A>>) -> Waiter {
    Waiter::new(slot_address(slot), true, describe_slot::<A>)
}

/// Names the actor whose slot is at `address`, for a deadlock report; its
/// ID is found by a scan, which only a deadlock pays for.
fn describe_slot<A: Actor>(system: &System, address: usize) -> String {
    system
        .actors
        .get::<ActorType<A>>()
        .and_then(|actors| {
            actors
                .slots
                .iter()
                .find(|entry| slot_address(entry.value()) == address)
                .map(|entry| describe::<A>(entry.key()))
        })
        .unwrap_or_else(|| format!("{}(?)", type_name::<A>()))
}

/// A slot's identity, for comparing with the current task's context.
pub(super) fn slot_address<A: Actor>(slot: &Arc<Slot<A>>) -> usize {
    Arc::as_ptr(slot) as usize
}
