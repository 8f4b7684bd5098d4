//! One actor ID's place in the system: its mailbox, its activation while it
//! is idle, and the flags that decide what its drain task does next.
//!
//! An idle actor is nothing but a slot: no task, no timer. A message to a
//! slot that has no drain task schedules one: the slot itself goes on a
//! worker's queue (it knows its ID and its system), and the worker that takes
//! it spawns the task there (`runtime::Job`), so the sender allocates
//! nothing and the task is freed where it was allocated. The drain task takes the
//! activation out, handles messages one by one and puts the activation back
//! when the mailbox is empty (see `drain.rs`). All transitions happen
//! under the slot's mutex, which is never held while user code runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::Duration;

use event_listener::Event;

use crate::spin_lock::{SpinLock, SpinLockGuard};
use crate::system::System;
use crate::system::actors::mailbox::Mailbox;
use crate::system::calls::envelope::ActorEnvelope;
use crate::system::clock;
use crate::system::lifecycle::{Lifecycle, Phase};
use crate::{Actor, DeactivationReason};

pub(crate) struct Slot<A: Actor> {
    /// The actor's ID: the drain task and the assistant read it here, so
    /// that a wake-up carries nothing but the slot (see `mod.rs`).
    id: A::Id,
    /// The system, to start the drain task from the slot alone (it finds
    /// the type's machinery there); weak, since the system holds the type,
    /// whose map holds the slot. The system rather than the type: a drain
    /// task started holds one strong reference, to the system, and every
    /// one of them changes that count, shared by all cores.
    system: Weak<System>,
    state: SpinLock<SlotState<A>>,
    /// While the activation is idle here (no drain task, nothing queued):
    /// the [`clock`] stamp of when it went idle, precise: evictions take
    /// the least recently used first, and actors used microseconds apart
    /// must not tie (a coarse stamp made them); otherwise 0. Written under the
    /// lock with every such change, read without it by the idle sweeper and
    /// evictor scans, which visit every slot and should not take every lock.
    idle_stamp: AtomicU64,
    /// Senders waiting for room in a full mailbox listen here (see
    /// `SlotState::senders_waiting`). One pointer until someone first waits:
    /// it is only ever notified when someone did.
    room: Event,
    /// The activation called `ActorAssistant::stop`. Outside the lock so
    /// that the drain task, which looks at it after every message, does not
    /// take the lock that senders take for every message.
    stop_requested: AtomicBool,
}

/// The messages a drain task took out of the mailbox in one go, handled
/// before it looks at the mailbox again: the drain task and the senders
/// then take the slot lock once per batch instead of both once per message,
/// which under load made them wait for each other on every message.
pub(crate) type Inbox<A> = Mailbox<A>;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

struct SlotState<A: Actor> {
    queue: Mailbox<A>,
    /// The activation while no drain task holds it.
    idle_actor: Option<A>,
    /// An activation exists, idle here or held by the drain task.
    live: bool,
    /// A drain task runs for this slot, or has been counted and is spawning.
    scheduled: bool,
    /// The idle sweeper found the activation expired; a message cancels it.
    idle_expired: bool,
    /// Why the activation is being deactivated, while `deactivate` runs.
    deactivating: Option<DeactivationReason>,
    // The three below are narrower than the values they stand for: a slot
    // is what every idle actor costs, and these keep it within 128 bytes.
    /// `ActorAssistant::keep_alive`: no idle timeout before this many whole
    /// seconds after the [`clock`]'s origin (rounded up); 0 if none.
    keep_alive_until: u32,
    /// The activation's last `memory_size` estimate while it is idle here
    /// (estimates are capped at `u32::MAX` bytes, see `estimate_memory`).
    memory: u32,
    /// How many messages the drain task took in its current batch (its
    /// [`Inbox`]); until it comes back for more, they count against the
    /// mailbox capacity, but for the one being handled.
    in_hand: u32,
    /// Panics in a row (in `activate` or handlers) while no drain task runs,
    /// up to 255; the drain task keeps its own count meanwhile.
    consecutive_panics: u8,
    /// A sender found the mailbox full since the drain task last took a
    /// batch. The drain task takes the whole mailbox as its next batch
    /// ([`Slot::take_batch`]), so that is when every waiting sender is told,
    /// and this cleared: a waiter is never left behind, and a mailbox that
    /// never filled never touches `room`.
    senders_waiting: bool,
    /// The drain task runs only for interval ticks (see [`Slot::push_tick`]):
    /// the slot keeps the stamp of when it went idle, so that ticks do not
    /// keep the actor from its idle timeout.
    ticking: bool,
    /// Counts activations that ended: an interval belongs to the activation
    /// it was started by, and ends with it.
    activation: u32,
    /// Removed from its type's map ([`Slot::retire_if_empty`]): a sender
    /// that reached the slot without the map (`recent.rs`) must look the ID
    /// up again, or its message would wait in a slot no one drains.
    retired: bool,
}

/// What the drain task does next.
pub(crate) enum Step<A: Actor> {
    Handle(ActorEnvelope<A>),
    Deactivate(DeactivationReason),
    /// No activation and an empty mailbox: remove the slot from the map.
    Retire,
    /// The activation went back into the slot; the task ends.
    Idle,
}

/// What a drain task starts with; see [`Slot::resume`].
pub(crate) struct Resumed<A: Actor> {
    pub(crate) actor: Option<A>,
    pub(crate) memory: usize,
    pub(crate) consecutive_panics: u32,
    pub(crate) inbox: Inbox<A>,
}

/// The outcome of offering a message to a slot.
pub(crate) enum Pushed<A: Actor> {
    /// Queued; `true` if the caller must spawn the drain task (already counted).
    Queued(bool),
    /// Not queued: the system is stopping, or the actor is not active for a
    /// send to active actors only. The envelope comes back, to be dropped
    /// outside the slot lock (its `Drop` is user code) or handed back.
    Refused(ActorEnvelope<A>),
    /// Not queued: the mailbox holds its capacity; the envelope comes back.
    Full(ActorEnvelope<A>),
    /// Not queued: the slot left its type's map; the envelope comes back, to
    /// be sent again through the map, which has or makes the ID's slot.
    Retired(ActorEnvelope<A>),
}

impl<A: Actor> Slot<A> {
    pub(crate) fn new(id: A::Id, system: Weak<System>) -> Self {
        Slot {
            id,
            system,
            idle_stamp: AtomicU64::new(0),
            room: Event::new(),
            stop_requested: AtomicBool::new(false),
            state: SpinLock::new(SlotState {
                queue: Mailbox::default(),
                idle_actor: None,
                live: false,
                scheduled: false,
                idle_expired: false,
                deactivating: None,
                keep_alive_until: 0,
                memory: 0,
                in_hand: 0,
                consecutive_panics: 0,
                senders_waiting: false,
                ticking: false,
                activation: 0,
                retired: false,
            }),
        }
    }

    /// The ID of the actor this slot is for.
    pub(crate) fn id(&self) -> &A::Id {
        &self.id
    }

    /// The address of the slot's system, gone or not, for comparing (the
    /// weak reference keeps the address from being reused).
    pub(crate) fn system_address(&self) -> *const System {
        self.system.as_ptr()
    }

    /// The system of the slot, unless it is gone (dropped).
    pub(crate) fn system(&self) -> Option<Arc<System>> {
        self.system.upgrade()
    }

    fn lock(&self) -> SpinLockGuard<'_, SlotState<A>> {
        self.state.lock()
    }

    /// Marks the slot scheduled (no longer idle) and counts its drain task,
    /// unless one runs; true if the caller must spawn it.
    fn schedule(&self, state: &mut SlotState<A>, lifecycle: &Lifecycle) -> bool {
        if state.scheduled {
            return false;
        }
        state.scheduled = true;
        self.idle_stamp.store(0, Relaxed);
        lifecycle.task_started();
        true
    }

    /// Queues `envelope` unless `capacity` messages already wait; with
    /// `only_if_active`, only into a live activation that has not asked to
    /// stop. The phase is checked under the slot lock, which shutdown also
    /// takes for every slot: a message is either refused or seen (and its
    /// drain task counted) by shutdown.
    pub(crate) fn push(
        &self,
        envelope: ActorEnvelope<A>,
        only_if_active: bool,
        capacity: Option<usize>,
        system: &System,
    ) -> Pushed<A> {
        let mut state = self.lock();
        if state.retired {
            return Pushed::Retired(envelope);
        }
        if (system.lifecycle.is_stopping() && !self.open_during_shutdown(&state, system))
            || (only_if_active && (!state.live || self.stop_requested.load(Relaxed)))
        {
            return Pushed::Refused(envelope);
        }
        if capacity.is_some_and(|capacity| state.waiting() >= capacity) {
            state.senders_waiting = true;
            return Pushed::Full(envelope);
        }
        state.queue.push_back(envelope);
        // Written only when set: every send takes this path.
        if state.ticking {
            // A message that is not a tick: the actor is busy, no longer idle.
            state.ticking = false;
            self.idle_stamp.store(0, Relaxed);
        }
        Pushed::Queued(self.schedule(&mut state, &system.lifecycle))
    }

    /// The activation now, to bind an interval to it.
    pub(crate) fn activation(&self) -> u32 {
        self.lock().activation
    }

    /// Queues an interval's tick for the activation `activation`, if it is
    /// still the live one and not deactivating; never waits for room (the
    /// interval queues one tick at a time). A tick that wakes an idle actor
    /// leaves its idle stamp as it was, so that ticks alone do not keep it
    /// in memory: the idle sweeper may expire it while the tick is handled.
    pub(crate) fn push_tick(
        &self,
        envelope: ActorEnvelope<A>,
        activation: u32,
        lifecycle: &Lifecycle,
    ) -> Pushed<A> {
        let mut state = self.lock();
        if lifecycle.is_stopping()
            || !state.live
            || state.activation != activation
            || state.deactivating.is_some()
            || self.stop_requested.load(Relaxed)
        {
            return Pushed::Refused(envelope);
        }
        state.queue.push_back(envelope);
        if state.scheduled {
            return Pushed::Queued(false);
        }
        state.scheduled = true;
        state.ticking = true;
        lifecycle.task_started();
        Pushed::Queued(true)
    }

    /// While actors drain, the code running inside the system may still
    /// reach an activation that exists and is not deactivating: its drain
    /// task (always scheduled during shutdown) handles the message before
    /// it deactivates. Anything else would need a new activation.
    #[cold]
    fn open_during_shutdown(&self, state: &SlotState<A>, system: &System) -> bool {
        system.lifecycle.phase() == Phase::DrainingActors
            && state.live
            && state.deactivating.is_none()
            && !self.stop_requested.load(Relaxed)
            && system.is_inside()
    }

    /// Takes every message the mailbox holds, for a drain task that
    /// abandons the actor at the shutdown deadline.
    pub(crate) fn take_all(&self) -> Inbox<A> {
        let mut state = self.lock();
        let mut taken = Inbox::default();
        self.take_batch(&mut state, &mut taken);
        taken
    }

    /// At shutdown: schedules a drain task for a slot with an activation or
    /// messages and none running; true if the caller must spawn it.
    pub(crate) fn wake_for_shutdown(&self, lifecycle: &Lifecycle) -> bool {
        let mut state = self.lock();
        let spawn = (state.live || !state.queue.is_empty()) && self.schedule(&mut state, lifecycle);
        if std::mem::take(&mut state.senders_waiting) {
            // Senders waiting for room now find the system stopping.
            self.room.notify(usize::MAX);
        }
        spawn
    }

    /// A listener told when the mailbox may have room; a sender creates it,
    /// then tries once more before awaiting it, so no wake-up is missed.
    pub(crate) fn listen_for_room(&self) -> event_listener::EventListener {
        self.room.listen()
    }

    /// For the idle sweeper: marks an activation idle for `timeout` or more
    /// at `now` (a [`clock`] stamp, taken once per sweep) as expired and schedules
    /// its drain task; true if the caller must spawn it.
    pub(crate) fn expire_if_idle(
        &self,
        timeout: Duration,
        now: u64,
        lifecycle: &Lifecycle,
    ) -> bool {
        // Busy, or not idle long enough: decided without the lock.
        let idle_since = self.idle_stamp.load(Relaxed);
        if idle_since == 0 || Duration::from_nanos(now.saturating_sub(idle_since)) < timeout {
            return false;
        }
        let mut state = self.lock();
        if self.idle_stamp.load(Relaxed) != idle_since
            || lifecycle.is_stopping()
            || now < u64::from(state.keep_alive_until) * NANOS_PER_SECOND
        {
            return false;
        }
        state.idle_expired = true;
        self.schedule(&mut state, lifecycle)
    }

    /// For an evictor's scan: the stamp of when the activation went idle,
    /// if it is idle (live, no drain task, nothing queued). Read without the
    /// lock, so it may be stale; [`Slot::claim_idle`] checks it again.
    pub(crate) fn idle_since(&self) -> Option<u64> {
        let stamp = self.idle_stamp.load(Relaxed);
        (stamp != 0).then_some(stamp)
    }

    /// Claims the activation for eviction if it is still idle since the
    /// same `stamp`: marks the slot scheduled, as if a drain task ran, and
    /// hands over the activation and its memory estimate. The claimer,
    /// itself inside a counted task, deactivates it and then retires the
    /// slot or hands it to a new drain task.
    pub(crate) fn claim_idle(&self, stamp: u64, lifecycle: &Lifecycle) -> Option<(A, usize)> {
        let mut state = self.lock();
        if state.scheduled || self.idle_stamp.load(Relaxed) != stamp || lifecycle.is_stopping() {
            return None;
        }
        let actor = state.idle_actor.take()?;
        state.scheduled = true;
        self.idle_stamp.store(0, Relaxed);
        Some((actor, state.memory as usize))
    }

    /// `ActorAssistant::keep_alive`: no idle timeout for `duration` from now.
    pub(crate) fn keep_alive(&self, duration: Duration) {
        // Too far to represent: as good as forever.
        let until = clock::after(clock::now(), duration)
            .unwrap_or(u64::MAX)
            .div_ceil(NANOS_PER_SECOND);
        let until = u32::try_from(until).unwrap_or(u32::MAX);
        let mut state = self.lock();
        state.keep_alive_until = state.keep_alive_until.max(until);
    }

    /// The drain task takes the idle activation, if any, its memory
    /// estimate, the count of panics in a row, and its first batch of
    /// messages when it starts.
    pub(crate) fn resume(&self) -> Resumed<A> {
        let mut state = self.lock();
        let mut inbox = Inbox::default();
        self.take_batch(&mut state, &mut inbox);
        Resumed {
            actor: state.idle_actor.take(),
            memory: state.memory as usize,
            consecutive_panics: u32::from(state.consecutive_panics),
            inbox,
        }
    }

    /// Moves everything the mailbox holds into the drain task's empty
    /// `inbox`, which leaves its buffer to the mailbox for reuse. The
    /// previous batch is done, so every waiting sender may find room.
    fn take_batch(&self, state: &mut SlotState<A>, inbox: &mut Inbox<A>) {
        if std::mem::take(&mut state.senders_waiting) {
            // The slot lock orders this with the senders' checks, so the
            // relaxed form suffices.
            self.room.notify_relaxed(usize::MAX);
        }
        std::mem::swap(&mut state.queue, inbox);
        state.in_hand = u32::try_from(inbox.len()).unwrap_or(u32::MAX);
        if !inbox.is_empty() {
            state.idle_expired = false;
        }
    }

    /// Decides the drain task's next step; see [`Step`]. `actor` is the
    /// activation the task holds, estimated at `memory` bytes, after
    /// `consecutive_panics`; on [`Step::Idle`] all three move into the slot.
    /// Messages come from `inbox` while it has some, without the lock; an
    /// empty inbox is refilled with everything the mailbox holds.
    pub(crate) fn next_step(
        &self,
        inbox: &mut Inbox<A>,
        actor: &mut Option<A>,
        memory: usize,
        consecutive_panics: u32,
        lifecycle: &Lifecycle,
    ) -> Step<A> {
        let live = actor.is_some();
        if live && self.stop_requested.load(Relaxed) {
            self.lock().deactivating = Some(DeactivationReason::StoppedBySelf);
            return Step::Deactivate(DeactivationReason::StoppedBySelf);
        }
        if let Some(envelope) = inbox.pop_front() {
            return Step::Handle(envelope);
        }
        let mut state = self.lock();
        self.take_batch(&mut state, inbox);
        if let Some(envelope) = inbox.pop_front() {
            return Step::Handle(envelope);
        }
        state.consecutive_panics = u8::try_from(consecutive_panics).unwrap_or(u8::MAX);
        if !live {
            return Step::Retire;
        }
        // Read under the lock, which shutdown takes after it began: either
        // this sees the system stopping, or shutdown finds the activation
        // idle here and wakes it (`wake_for_shutdown`). Marked deactivating
        // under the same lock, so that no message is let in for it after.
        if lifecycle.is_stopping() {
            state.deactivating = Some(DeactivationReason::SystemShutdown);
            return Step::Deactivate(DeactivationReason::SystemShutdown);
        }
        if state.idle_expired {
            state.idle_expired = false;
            state.deactivating = Some(DeactivationReason::IdleTimeout);
            return Step::Deactivate(DeactivationReason::IdleTimeout);
        }
        state.idle_actor = actor.take();
        state.memory = u32::try_from(memory).unwrap_or(u32::MAX);
        state.scheduled = false;
        // An idle actor keeps a small buffer for its next messages, but
        // not the room a burst of them once needed.
        if state.queue.buffer_capacity() < inbox.buffer_capacity() {
            std::mem::swap(&mut state.queue, inbox);
        }
        if state.queue.buffer_capacity() > IDLE_MAILBOX_CAPACITY {
            state.queue.shrink_buffer_to(IDLE_MAILBOX_CAPACITY);
        }
        // Idle since now, unless the drain task ran only for ticks: then
        // since when it went idle before them.
        if !std::mem::take(&mut state.ticking) || self.idle_stamp.load(Relaxed) == 0 {
            self.idle_stamp.store(clock::now(), Relaxed);
        }
        Step::Idle
    }

    /// `deactivate` is about to run, for `reason`.
    pub(crate) fn deactivation_started(&self, reason: DeactivationReason) {
        self.lock().deactivating = Some(reason);
    }

    /// Why `deactivate` runs, while it does.
    pub(crate) fn deactivation_reason(&self) -> Option<DeactivationReason> {
        self.lock().deactivating
    }

    /// Records that an activation now exists (after `activate` returned).
    pub(crate) fn activation_started(&self) {
        self.lock().live = true;
    }

    /// Records that the activation is gone (deactivated or abandoned).
    pub(crate) fn activation_ended(&self) {
        let mut state = self.lock();
        state.live = false;
        state.ticking = false;
        state.activation = state.activation.wrapping_add(1);
        self.stop_requested.store(false, Relaxed);
        state.idle_expired = false;
        state.keep_alive_until = 0;
        state.deactivating = None;
    }

    /// `ActorAssistant::stop`: deactivate after the current message.
    pub(crate) fn request_stop(&self) {
        self.stop_requested.store(true, Relaxed);
    }

    /// Marks the slot retired if nothing is queued (its drain task's inbox
    /// is empty): the condition to remove it from its type's map, which
    /// calls this under the map's write guard. True if it did.
    pub(crate) fn retire_if_empty(&self) -> bool {
        let mut state = self.lock();
        state.retired = state.queue.is_empty();
        state.retired
    }

    /// Whether an activation exists, whether it is busy (a drain task runs
    /// for it), and how many messages wait.
    pub(crate) fn census(&self) -> (bool, bool, usize) {
        let state = self.lock();
        (state.live, state.live && state.scheduled, state.waiting())
    }
}

/// The most messages an idle actor's empty mailbox keeps room for.
const IDLE_MAILBOX_CAPACITY: usize = 8;

impl<A: Actor> SlotState<A> {
    /// The messages waiting: in the mailbox, and in the drain task's inbox
    /// but for the one being handled. Counted from the batch as it was
    /// taken, so between two batches this overestimates, never under.
    fn waiting(&self) -> usize {
        self.queue.len() + self.in_hand.saturating_sub(1) as usize
    }
}

#[cfg(test)]
mod tests {
    /// What every idle actor costs beyond its own state: kept small on
    /// purpose (see the narrow fields of `SlotState`). 128 bytes with the
    /// mailbox's inline first message, which saves the 64-byte buffer (and
    /// its allocation) an actor receiving one message at a time needed, and
    /// with the ID and the type's link that let the slot itself be queued
    /// when a message wakes it (8 bytes more than before, for a wake-up that
    /// allocates nothing).
    #[test]
    fn a_slot_of_a_small_actor_fits_in_128_bytes() {
        struct Small(#[allow(dead_code, reason = "only its size matters")] u64);
        impl crate::Actor for Small {
            type Id = u32;
            async fn activate(
                _: u32,
                _: &crate::ActorAssistant<Self>,
            ) -> Result<Self, crate::BoxError> {
                Ok(Small(0))
            }
        }
        assert!(size_of::<super::Slot<Small>>() <= 128);
    }
}
