//! Idleness is swept, not timed per message: each slot stamps when it went
//! idle, and one sweeper per actor type deactivates what has been idle past
//! the type's `idle_timeout`. No timer is armed on the hot path.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::ActorType;
use crate::Actor;
use crate::system::System;
use crate::system::clock;
use crate::system::lifecycle::Lifecycle;

impl<A: Actor> ActorType<A> {
    /// Deactivates the activations idle for the configured timeout, every
    /// `timeout / 4`, until the system stops or is dropped.
    pub(crate) async fn sweep_idle(
        self: Arc<Self>,
        system: Weak<System>,
        lifecycle: Arc<Lifecycle>,
    ) {
        let Some(timeout) = self.idle_timeout else {
            return;
        };
        let period = (timeout / 4).max(Duration::from_millis(1));
        while lifecycle.sleep_unless_stopping(period).await {
            let Some(system) = system.upgrade() else {
                return;
            };
            let now = clock::now();
            // Only the expired slots are collected: with millions of idle
            // actors, copying the whole map on every sweep would cost more
            // than the actors themselves.
            let expired: Vec<_> = self
                .slots
                .iter()
                .filter(|entry| entry.value().expire_if_idle(timeout, now, &lifecycle))
                .map(|entry| entry.value().clone())
                .collect();
            for slot in expired {
                self.spawn_drain(&system, slot);
            }
        }
    }
}
