//! Handing a set of IDs to another node (crate `acteur-cluster`): every
//! activation among them is deactivated once its mailbox is empty, and the
//! hand-off ends when no slot of those IDs is left. The cluster's router
//! already sends their new messages elsewhere, so mailboxes only drain.
//!
//! A node past its fencing deadline discards instead: what is left of
//! those activations is dropped without `deactivate`, whose writes could
//! no longer be trusted to land before another node owns the IDs.

use std::sync::Arc;
use std::time::Duration;

use futures_channel::oneshot;

use super::ActorType;
use super::eviction::evict;
use super::slot::Slot;
use super::waiter::slot_waiter;
use crate::system::System;
use crate::system::tasks::context::TaskContext;
use crate::system::tasks::panics::catch_sync;
use crate::{Actor, DeactivationReason, runtime};

/// How long a hand-off waits before it looks again at activations that
/// were busy. A hand-off is rare, and a wake-up per slot would cost every
/// idle actor a field: looking again is the cheaper way to wait.
const BUSY_RECHECK: Duration = Duration::from_millis(1);

impl<A: Actor> ActorType<A> {
    /// Deactivates, with `reason` (or without `deactivate` if `None`), every
    /// activation of an ID that `belongs` once it is idle, and returns when
    /// no slot of such an ID is left (or the system stops, which deactivates
    /// them itself).
    pub(crate) async fn hand_off(
        self: &Arc<Self>,
        system: &Arc<System>,
        belongs: &(dyn Fn(&A::Id) -> bool + Send + Sync),
        reason: Option<DeactivationReason>,
    ) {
        loop {
            if system.lifecycle.is_stopping() {
                return;
            }
            let matching: Vec<_> = self
                .slots
                .iter()
                .filter(|entry| belongs(entry.key()))
                .map(|entry| entry.value().clone())
                .collect();
            if matching.is_empty() {
                return;
            }
            let mut deactivated = Vec::new();
            for slot in matching {
                let claimed = slot
                    .idle_since()
                    .and_then(|stamp| slot.claim_idle(stamp, &system.lifecycle));
                let Some((actor, memory)) = claimed else {
                    // Busy, or draining what it has queued: looked at again.
                    continue;
                };
                let Some(reason) = reason else {
                    self.discard(system, slot, actor, memory);
                    continue;
                };
                // Run as the system's own counted task, as an eviction is,
                // so that shutdown waits for its `deactivate`.
                let (done, finished) = oneshot::channel::<()>();
                let context = TaskContext {
                    waiter: Some(slot_waiter(&slot)),
                    ..TaskContext::default()
                };
                let eviction = evict(system.clone(), self.clone(), slot, actor, memory, reason);
                system.lifecycle.task_started();
                system.spawn_counted(context, async move {
                    eviction.await;
                    let _ = done.send(());
                });
                deactivated.push(finished);
            }
            for finished in deactivated {
                let _ = finished.await;
            }
            runtime::sleep(BUSY_RECHECK).await;
        }
    }
}

impl<A: Actor> ActorType<A> {
    /// Drops `actor`, claimed from its idle `slot`, without `deactivate`;
    /// then removes the slot, or hands it to a drain task if messages came.
    fn discard(
        self: &Arc<Self>,
        system: &Arc<System>,
        slot: Arc<Slot<A>>,
        actor: A,
        memory: usize,
    ) {
        catch_sync("dropping a discarded actor", || drop(actor));
        self.activation_ended(system, memory, false);
        slot.activation_ended();
        self.forget_state(slot.id());
        self.counters.abandoned(1, 0);
        self.retire_or_drain(system, slot);
    }
}
