//! A send's way into an actor's slot: finding or creating the slot, the
//! deadlock check of a call, the mailbox's capacity, and waiting for room
//! in a full mailbox. Starts the drain task when the slot had none.

use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Weak};

use super::ActorType;
use super::recent::{Place, keep};
use super::slot::{Pushed, Slot};
use super::waiter::{describe, slot_address};
use crate::runtime;
use crate::system::System;
use crate::system::calls::chain::{self, Link};
use crate::system::calls::envelope::ActorEnvelope;
use crate::system::tasks::context;
use crate::{Actor, Error};

impl<A: Actor> ActorType<A> {
    /// Queues `envelope` for actor `id`, activating it if needed. If its
    /// mailbox is full, returns the wait for room, which queues the message
    /// once there is some: a boxed future, so that the common path (and
    /// every sender's future) stays small.
    ///
    /// A request made from code others wait for carries its `chain`: it
    /// fails with [`Error::Deadlock`] instead if the actor waits on it
    /// (see `calls/chain.rs`).
    #[inline]
    pub(crate) fn deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        chain: Option<&Arc<Link>>,
    ) -> Result<Option<RoomWait>, Error> {
        match self.try_deliver(system, id, envelope, chain) {
            Delivery::Queued => Ok(None),
            Delivery::Full { id, envelope, slot } => {
                Ok(Some(self.wait_for_room_boxed(system, id, envelope, slot)))
            }
            Delivery::Refused { error, envelope } => Err(refused(error, envelope)),
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_for_room_boxed(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        slot: Arc<Slot<A>>,
    ) -> RoomWait {
        Box::pin(
            self.clone()
                .wait_for_room(system.clone(), id, envelope, slot),
        )
    }

    /// Queues `envelope`, refused by the full mailbox of `slot`, as soon as
    /// the mailbox of `id` has room.
    async fn wait_for_room(
        self: Arc<Self>,
        system: Arc<System>,
        mut id: A::Id,
        mut envelope: ActorEnvelope<A>,
        mut slot: Arc<Slot<A>>,
    ) -> Result<(), Error> {
        loop {
            // Listen first, then look again: room made in between is seen.
            let room = slot.listen_for_room();
            // Checked for deadlocks already, before the first try.
            match self.try_deliver(&system, id, envelope, None) {
                Delivery::Queued => return Ok(()),
                Delivery::Refused { error, envelope } => {
                    drop(envelope);
                    return Err(error);
                }
                Delivery::Full {
                    id: same_id,
                    envelope: same_envelope,
                    slot: now,
                } => {
                    (id, envelope) = (same_id, same_envelope);
                    // A slot that retired meanwhile was replaced: look again.
                    if Arc::ptr_eq(&slot, &now) {
                        room.await;
                    }
                    slot = now;
                }
            }
        }
    }

    /// Queues `envelope` for actor `id`, activating it if needed, unless its
    /// mailbox is full or it is refused; then hands everything back. With a
    /// `chain`, as [`ActorType::deliver`].
    #[inline]
    pub(crate) fn try_deliver(
        self: &Arc<Self>,
        system: &Arc<System>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
        chain: Option<&Arc<Link>>,
    ) -> Delivery<A> {
        // First the slot this thread sent to lately, if it is the ID's: only
        // a message queued there ends here; anything else (a full mailbox,
        // a refusal, a retired slot, a deadlock) is found out through the
        // map, as if this had not been tried.
        let mut place = Place::of(self, system, &id);
        let envelope = match &mut place {
            Some(place) => match place.push(system, &id, envelope, |slot, envelope| {
                self.push_found(system, slot, envelope, chain)
            }) {
                Ok(()) => return Delivery::Queued,
                Err(envelope) => envelope,
            },
            None => envelope,
        };
        // The map's read guard is held while pushing, so the slot cannot
        // retire in between.
        if let Some(slot) = self.slots.get(&id) {
            // A waiting actor's slot exists (its drain task holds it), so
            // an actor without one waits on no chain.
            if let Some(chain) = chain {
                let address = slot_address(&slot);
                if chain::waits_on(chain, address) {
                    // Named after the guard is dropped: naming scans the map.
                    drop(slot);
                    let error = chain::deadlock(system, chain, address, || describe::<A>(&id));
                    return Delivery::Refused { error, envelope };
                }
            }
            return self.deliver_to_guarded(system, slot, place, id, envelope);
        }
        // The check that counts is `Slot::push`'s, under the slot lock; this
        // one only avoids creating a slot for an ID after the system stopped.
        if system.lifecycle.is_stopping() {
            return Delivery::Refused {
                error: Error::Stopped,
                envelope,
            };
        }
        // Pushed under the write guard of the insert: downgrading it to a
        // read guard first would cost an atomic write more per activation
        // (perf: 7 % of spawn_many), and the push is short (from outside
        // the pool it may also wake a worker, a system call, which the
        // other IDs of this shard then wait for: first messages only).
        let slot = self
            .slots
            .entry(id.clone())
            .or_insert_with(|| Arc::new(Slot::new(id.clone(), Weak::clone(&self.system))));
        self.deliver_to_guarded(system, slot, place, id, envelope)
    }

    /// Delivers to the slot that `guarded` (a guard of the map) holds, as
    /// [`ActorType::deliver_to`]; then, once the guard is dropped, keeps
    /// the slot at `place` if the place wants it (keeping may drop the slot
    /// kept before, and with it an ID, whose `Drop` is user code).
    #[inline]
    fn deliver_to_guarded(
        self: &Arc<Self>,
        system: &Arc<System>,
        guarded: impl Deref<Target = Arc<Slot<A>>>,
        place: Option<Place>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
    ) -> Delivery<A> {
        let kept = place
            .filter(Place::wants_slot)
            .map(|place| (place, Arc::clone(&guarded)));
        let delivery = self.deliver_to(system, &guarded, id, envelope);
        drop(guarded);
        keep(kept);
        delivery
    }

    /// Queues `envelope` in `slot`, found without the map (`recent.rs`),
    /// unless the chain waits on it or it does not take the message as it
    /// is; then hands it back.
    #[inline]
    fn push_found(
        &self,
        system: &Arc<System>,
        slot: &Arc<Slot<A>>,
        envelope: ActorEnvelope<A>,
        chain: Option<&Arc<Link>>,
    ) -> Result<(), ActorEnvelope<A>> {
        if chain.is_some_and(|chain| chain::waits_on(chain, slot_address(slot))) {
            return Err(envelope);
        }
        match slot.push(envelope, false, self.capacity_for(slot), system) {
            Pushed::Queued(spawn) => {
                runtime::note_message_out();
                if spawn {
                    self.spawn_drain(system, slot.clone());
                }
                Ok(())
            }
            Pushed::Refused(envelope) | Pushed::Full(envelope) | Pushed::Retired(envelope) => {
                Err(envelope)
            }
        }
    }

    /// The capacity `slot`'s mailbox has for the code running now: an
    /// actor's message to itself never waits for room, as it would wait
    /// for itself.
    #[inline]
    fn capacity_for(&self, slot: &Arc<Slot<A>>) -> Option<usize> {
        self.mailbox_capacity.filter(|_| {
            context::current().is_none_or(|current| current.actor() != slot_address(slot))
        })
    }

    #[inline]
    fn deliver_to(
        self: &Arc<Self>,
        system: &Arc<System>,
        slot: &Arc<Slot<A>>,
        id: A::Id,
        envelope: ActorEnvelope<A>,
    ) -> Delivery<A> {
        match slot.push(envelope, false, self.capacity_for(slot), system) {
            Pushed::Queued(spawn) => {
                runtime::note_message_out();
                if spawn {
                    self.spawn_drain(system, slot.clone());
                }
                Delivery::Queued
            }
            Pushed::Refused(envelope) => Delivery::Refused {
                error: Error::Stopped,
                envelope,
            },
            Pushed::Full(envelope) => Delivery::Full {
                id,
                envelope,
                slot: slot.clone(),
            },
            // Not met: the callers hold the map's guard, and a slot leaves
            // the map under its write guard (`ActorType::retire`).
            Pushed::Retired(envelope) => Delivery::Refused {
                error: Error::Stopped,
                envelope,
            },
        }
    }

    /// Gives every live activation its own `message()`; activates no one.
    /// Waits for room in each full mailbox in turn.
    pub(crate) async fn deliver_to_all(
        self: &Arc<Self>,
        system: &Arc<System>,
        message: impl Fn() -> ActorEnvelope<A>,
    ) -> Result<(), Error> {
        let refused_to_caller = || system.lifecycle.is_stopping() && !system.is_inside();
        if refused_to_caller() {
            return Err(Error::Stopped);
        }
        for slot in self.snapshot() {
            let mut envelope = message();
            // Created only once the mailbox was found full (listening
            // allocates the slot's event), then kept for the next try.
            let mut room = None;
            loop {
                match slot.push(envelope, true, self.mailbox_capacity, system) {
                    Pushed::Queued(spawn) => {
                        if spawn {
                            self.spawn_drain(system, slot);
                        }
                        break;
                    }
                    Pushed::Refused(_) if refused_to_caller() => {
                        return Err(Error::Stopped);
                    }
                    // Deactivated (or deactivating, during shutdown, or
                    // retired) meanwhile: it gets no copy, as if it had not
                    // been active when the message was sent.
                    Pushed::Refused(_) | Pushed::Retired(_) => break,
                    Pushed::Full(back) => {
                        envelope = back;
                        // Listen first, then look again: room made in
                        // between is seen.
                        match room.take() {
                            None => room = Some(slot.listen_for_room()),
                            Some(listener) => listener.await,
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A sender's wait for room in a full mailbox; see [`ActorType::deliver`].
pub(crate) type RoomWait = std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// What a send found when it could not wait: queued; a full mailbox, with
/// everything handed back for another try; or a refusal, with the envelope
/// handed back (to drop outside every lock, or to return to the sender).
pub(crate) enum Delivery<A: Actor> {
    Queued,
    Full {
        id: A::Id,
        envelope: ActorEnvelope<A>,
        slot: Arc<Slot<A>>,
    },
    Refused {
        error: Error,
        envelope: ActorEnvelope<A>,
    },
}

/// Drops a refused envelope, outside every lock (its `Drop` is user code),
/// and returns the reason. Out of line: every send's path stays short.
#[cold]
#[inline(never)]
fn refused<A: Actor>(error: Error, envelope: ActorEnvelope<A>) -> Error {
    drop(envelope);
    error
}
