//! The slots a worker thread sent to lately, found again without the
//! type's map.
//!
//! A send through the map takes a shard's read lock: two atomic writes
//! (taking and releasing it), which perf showed to be four fifths of the
//! lookup and a tenth of a whole message between two actors (ping_pong).
//! Code that sends to the same actors again and again (two actors that
//! answer each other, a client calling its server, a loop feeding one
//! actor) finds the slot in this thread's own table instead, which no other
//! thread reads or writes.
//!
//! A slot found here may have left the map since: its actor retired, and a
//! later message may have made a new slot for the ID. [`Slot::push`] says
//! so under the slot lock (`Pushed::Retired`; the retiring side marks the
//! slot under the same lock and the map's write guard), and the send goes
//! through the map, which has the ID's slot or makes it.
//!
//! What it costs: a slot is kept only when the same ID was sent to twice
//! in a row at its place in the table, so a stream of sends to ever other
//! IDs (a first message to each of a million actors, a round over ten
//! thousand) keeps nothing, and after a streak of misses looks only at
//! every [`SAMPLE`]th send (see [`STREAK`]). Kept
//! slots stay allocated until replaced (a retired one is an empty slot,
//! about 128 bytes; [`ENTRIES`] per thread at most). Only code running in
//! a system's own tasks uses the table, so it lives on that system's
//! workers, which end with the system: a thread outside it (a `main`, a
//! tokio task) would otherwise keep slots, and the idle actors in them,
//! after the system is gone.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use super::ActorType;
use super::slot::Slot;
use crate::Actor;
use crate::system::System;
use crate::system::calls::envelope::ActorEnvelope;
use crate::system::tasks::context;

/// Places in each thread's table (a power of two).
const ENTRIES: usize = 128;

thread_local! {
    /// This thread's table, allocated at its first send from a system's task.
    static RECENT: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// Sends in a row that found another ID's place (see [`Place::of`]).
    static MISSES: Cell<u32> = const { Cell::new(0) };
}

/// After this many sends in a row found another ID's place, only one send
/// in [`SAMPLE`] looks (and a hit makes every send look again): a stream of
/// sends to ever other IDs then pays a hash and a compare at one send in
/// sixteen (peers, alternated runs: tell_many_ids -3 % when every send
/// looked, no change with this).
const STREAK: u32 = 64;
/// See [`STREAK`]; a power of two.
const SAMPLE: u32 = 16;

/// One place of the table.
#[derive(Default)]
struct Entry {
    /// The [`Place`] hash of the slot kept here, or of the last send that
    /// found nothing here.
    hash: u64,
    /// An `Arc<Slot<A>>`, for the `A` its hash was made with.
    slot: Option<Box<dyn Any>>,
}

/// Where a send to one ID of one type looks in the table, and what it
/// found there.
pub(super) struct Place {
    hash: u64,
    /// The last send that found nothing here was for the same ID: worth
    /// keeping its slot (see [`keep`]).
    repeated: bool,
}

impl Place {
    /// The place of `id` of `actors`, if the code running now runs in
    /// `system`'s tasks (see the module documentation).
    #[inline]
    pub(super) fn of<A: Actor>(
        actors: &ActorType<A>,
        system: &System,
        id: &A::Id,
    ) -> Option<Place> {
        let misses = MISSES.get();
        if misses >= STREAK {
            MISSES.set(misses.wrapping_add(1) | STREAK);
            if misses % SAMPLE != 0 {
                return None;
            }
        }
        if context::current().is_none_or(|current| current.system != system.address()) {
            return None;
        }
        // Fixed, not seeded: a hash chosen to collide costs only misses.
        let mut hasher = foldhash::fast::FixedState::default().build_hasher();
        hasher.write_usize(std::ptr::from_ref(actors) as usize);
        id.hash(&mut hasher);
        Some(Place {
            hash: hasher.finish(),
            repeated: false,
        })
    }

    fn index(&self) -> usize {
        // The high bits: foldhash mixes them best.
        (self.hash >> (u64::BITS - ENTRIES.trailing_zeros())) as usize
    }

    /// Hands `envelope` for `id` to `push` with the slot kept here for them,
    /// if there is one and it belongs to `system`; otherwise, or if `push`
    /// hands it back, hands `envelope` back.
    ///
    /// Only a small result crosses the thread-local's closure: moving a
    /// whole `Delivery` out of it (a refusal's error, a full mailbox's ID
    /// and slot) stalled every send on the copy (perf, ping_pong: a third
    /// of `try_deliver`'s samples on one 16-byte load spanning smaller
    /// stores).
    #[inline]
    pub(super) fn push<A: Actor>(
        &mut self,
        system: &System,
        id: &A::Id,
        envelope: ActorEnvelope<A>,
        push: impl FnOnce(&Arc<Slot<A>>, ActorEnvelope<A>) -> Result<(), ActorEnvelope<A>>,
    ) -> Result<(), ActorEnvelope<A>> {
        let index = self.index();
        RECENT.with(|recent| {
            // Borrowed already only if pushing ran code that sent (nothing
            // does today): that send takes the map.
            let Ok(mut table) = recent.try_borrow_mut() else {
                return Err(envelope);
            };
            if table.is_empty() {
                table.resize_with(ENTRIES, Entry::default);
            }
            let Some(entry) = table.get_mut(index) else {
                return Err(envelope);
            };
            if entry.hash != self.hash {
                let misses = MISSES.get();
                if misses < STREAK {
                    MISSES.set(misses + 1);
                }
                // Another ID's place: remember this one's miss, so that a
                // second send to it keeps its slot. The slot kept here stays
                // until a slot is kept in its place (dropping it here would
                // run user code, its ID's `Drop`, under the borrow); no send
                // is handed it meanwhile, as its ID is not this hash's.
                entry.hash = self.hash;
                return Err(envelope);
            }
            MISSES.set(0);
            self.repeated = true;
            let found = entry
                .slot
                .as_ref()
                .and_then(|slot| slot.downcast_ref::<Arc<Slot<A>>>())
                .filter(|slot| slot.id() == id && std::ptr::eq(slot.system_address(), system));
            match found {
                Some(slot) => push(slot, envelope),
                None => Err(envelope),
            }
        })
    }

    /// Whether [`keep`] would keep the slot: this is the second send to the
    /// ID in a row that found nothing at its place.
    #[inline]
    pub(super) fn wants_slot(&self) -> bool {
        self.repeated
    }
}

/// Keeps the slot of a [`Place`] that [wants it](Place::wants_slot), just
/// found or made in the map, for the next send. Called once the map's guard
/// is dropped: the slot it replaces may be the last reference to an ID,
/// whose `Drop` is user code.
#[inline]
pub(super) fn keep<A: Actor>(kept: Option<(Place, Arc<Slot<A>>)>) {
    if let Some((place, slot)) = kept {
        place.store(slot);
    }
}

impl Place {
    /// Puts `slot` in this place, and drops the slot it replaces outside
    /// the borrow.
    #[cold]
    #[inline(never)]
    fn store<A: Actor>(self, slot: Arc<Slot<A>>) {
        let index = self.index();
        let replaced = RECENT.with(|recent| {
            let mut table = recent.try_borrow_mut().ok()?;
            let entry = table.get_mut(index)?;
            entry.hash = self.hash;
            entry.slot.replace(Box::new(slot))
        });
        drop(replaced);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::actors::Delivery;
    use crate::system::calls::envelope::Tell;
    use crate::system::tasks::context::TaskContext;
    use crate::{Acteur, ActorAssistant, BoxError, Receive, Respond};

    /// Counts the notes its current activation got.
    struct Probe(u32);

    impl Actor for Probe {
        type Id = u32;
        async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
            Ok(Probe(0))
        }
    }

    struct Note;
    struct Count;

    impl Receive<Note> for Probe {
        async fn handle(&mut self, _: Note, _: &ActorAssistant<Self>) {
            self.0 += 1;
        }
    }

    impl Respond<Count> for Probe {
        type Response = u32;
        async fn handle(&mut self, _: Count, _: &ActorAssistant<Self>) -> u32 {
            self.0
        }
    }

    /// Runs `f` as code running in `acteur`'s tasks would.
    fn inside<T>(acteur: &Acteur, f: impl FnOnce() -> T) -> T {
        let current = TaskContext {
            system: acteur.system().address(),
            ..TaskContext::default()
        };
        context::enter(current, f)
    }

    /// What a send to `id` finds in this thread's table: the slot handed
    /// to `push`, if any, and whether the table would keep the map's.
    fn look(acteur: &Acteur, id: u32) -> (Option<Arc<Slot<Probe>>>, Option<Place>) {
        let system = acteur.system();
        let actors = system.actor_type::<Probe>().unwrap();
        inside(acteur, || {
            let mut place = Place::of(&actors, system, &id)?;
            let mut handed = None;
            let envelope: ActorEnvelope<Probe> = Box::new(Tell(Note));
            let pushed = place.push(system, &id, envelope, |slot, envelope| {
                handed = Some(slot.clone());
                Err(envelope)
            });
            assert!(pushed.is_err());
            Some((handed, place.wants_slot().then_some(place)))
        })
        .map_or((None, None), |(handed, place)| (handed, place))
    }

    fn stop(acteur: Acteur) {
        acteur.stop();
        acteur.wait_until_stopped();
    }

    #[test]
    fn the_second_send_in_a_row_to_an_id_keeps_its_slot_for_the_third() {
        let acteur = Acteur::new();
        let slot = Arc::new(Slot::new(7, Arc::downgrade(acteur.system())));
        let (handed, place) = look(&acteur, 7);
        assert!(
            handed.is_none() && place.is_none(),
            "the first send keeps nothing"
        );
        let (handed, place) = look(&acteur, 7);
        assert!(handed.is_none());
        keep(Some((
            place.expect("the second send wants the slot"),
            slot.clone(),
        )));
        let (handed, _) = look(&acteur, 7);
        assert!(handed.is_some_and(|handed| Arc::ptr_eq(&handed, &slot)));
        // Another ID, and code outside the system, find nothing.
        assert!(look(&acteur, 8).0.is_none());
        let actors = acteur.system().actor_type::<Probe>().unwrap();
        assert!(Place::of(&actors, acteur.system(), &7).is_none());
        stop(acteur);
    }

    #[test]
    fn sends_to_ever_other_ids_keep_nothing() {
        let acteur = Acteur::new();
        for id in 0..10_000 {
            let (handed, place) = look(&acteur, id);
            assert!(handed.is_none() && place.is_none(), "kept at ID {id}");
        }
        stop(acteur);
    }

    #[test]
    fn a_send_to_a_kept_slot_that_retired_goes_to_the_id_s_new_slot() {
        let acteur = Acteur::new();
        let system = acteur.system();
        let actors = system.actor_type::<Probe>().unwrap();
        // An idle slot in the map, kept in the table.
        let old = Arc::new(Slot::new(7, Arc::downgrade(system)));
        actors.slots.insert(7, old.clone());
        look(&acteur, 7);
        let (_, place) = look(&acteur, 7);
        keep(Some((place.unwrap(), old.clone())));
        assert!(
            look(&acteur, 7)
                .0
                .is_some_and(|kept| Arc::ptr_eq(&kept, &old))
        );
        // It retires, as a drain task retires it.
        assert!(actors.retire(&old));
        let delivery = inside(&acteur, || {
            actors.try_deliver(system, 7, Box::new(Tell(Note)), None)
        });
        assert!(matches!(delivery, Delivery::Queued));
        let new = actors.slots.get(&7).map(|slot| slot.clone()).unwrap();
        assert!(!Arc::ptr_eq(&new, &old), "a new slot was made for the ID");
        // The note reached the new activation, before this call.
        assert_eq!(acteur.call_actor_sync::<Probe, Count>(7, Count), Ok(1));
        // And the table now keeps the new slot.
        assert!(
            look(&acteur, 7)
                .0
                .is_some_and(|kept| Arc::ptr_eq(&kept, &new))
        );
        drop(actors);
        stop(acteur);
    }
}
