//! An actor slot's bounded mailbox, copied from `src/system/actors/slot.rs`
//! (`Slot::push`, `take_batch`, `next_step`, `waiting`) and
//! `src/system/actors/delivery.rs` (`ActorType::wait_for_room`): no message
//! is lost, and no sender waiting for room is left behind.
//!
//! A sender that finds the mailbox full marks it (`senders_waiting`, under
//! the slot lock), then listens on the slot's `room` event and tries once
//! more before it waits: room made between its first try and its listening
//! is seen by the second try. The drain task takes the whole mailbox as its
//! next batch, and when a sender is marked, tells every listener. A push
//! into a slot without a drain task schedules one (the real one spawns a
//! task; here, a thread), which ends when it finds the mailbox empty.

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread::{self, JoinHandle};

use super::support::{Event, check};

/// The mailbox capacity: one, so that the second message already waits.
const CAPACITY: usize = 1;

#[derive(Default)]
struct SlotState {
    /// Messages in the mailbox.
    queue: usize,
    /// The size of the drain task's current batch, as taken.
    in_hand: usize,
    /// A drain task runs, or has been started.
    scheduled: bool,
    /// A sender found the mailbox full since the last batch was taken.
    senders_waiting: bool,
}

impl SlotState {
    /// `SlotState::waiting`: what counts against the capacity.
    fn waiting(&self) -> usize {
        self.queue + self.in_hand.saturating_sub(1)
    }
}

enum Pushed {
    /// Queued; true if the caller must start the drain task.
    Queued(bool),
    Full,
}

struct Slot {
    state: Mutex<SlotState>,
    room: Event,
    /// Messages handled by drain tasks.
    handled: AtomicUsize,
    /// The drain tasks started, to join at the end.
    drains: Mutex<Vec<JoinHandle<()>>>,
    /// The ordering under check: a sender listens, then tries once more,
    /// before it waits. False in the weakened twin, whose sender waits
    /// right after its failed try.
    look_again_after_listening: bool,
}

impl Slot {
    /// `Slot::push`, with a capacity.
    fn push(&self) -> Pushed {
        let mut state = self.state.lock().unwrap();
        if state.waiting() >= CAPACITY {
            state.senders_waiting = true;
            return Pushed::Full;
        }
        state.queue += 1;
        if state.scheduled {
            return Pushed::Queued(false);
        }
        state.scheduled = true;
        Pushed::Queued(true)
    }

    /// `Slot::take_batch`: the whole mailbox becomes the batch.
    fn take_batch(&self, state: &mut SlotState) -> usize {
        if std::mem::take(&mut state.senders_waiting) {
            self.room.notify_all();
        }
        state.in_hand = std::mem::take(&mut state.queue);
        state.in_hand
    }

    /// The drain task: batches until the mailbox is empty, then idle
    /// (`Slot::next_step`'s `Step::Idle`).
    fn drain(&'static self) {
        loop {
            let batch = {
                let mut state = self.state.lock().unwrap();
                let batch = self.take_batch(&mut state);
                if batch == 0 {
                    state.scheduled = false;
                    return;
                }
                batch
            };
            for _ in 0..batch {
                self.handled.fetch_add(1, SeqCst);
            }
        }
    }

    fn start_drain_if(&'static self, pushed: Pushed) -> bool {
        match pushed {
            Pushed::Queued(spawn) => {
                if spawn {
                    let drain = thread::spawn(move || self.drain());
                    self.drains.lock().unwrap().push(drain);
                }
                true
            }
            Pushed::Full => false,
        }
    }

    /// A send: `ActorType::deliver`, then `wait_for_room` if full.
    fn send(&'static self) {
        if self.start_drain_if(self.push()) {
            return;
        }
        loop {
            let room = self.room.listen();
            if self.look_again_after_listening && self.start_drain_if(self.push()) {
                return;
            }
            self.room.wait(room);
            if !self.look_again_after_listening && self.start_drain_if(self.push()) {
                return;
            }
        }
    }
}

/// One sender sends two messages, another one, into a mailbox of one: each
/// message is handled, and no sender is left waiting (which loom would
/// report as a deadlock).
fn senders_to_a_full_mailbox(look_again_after_listening: bool) {
    check(move || {
        // Leaked (see `worker_sleep.rs`).
        let slot: &'static Slot = Box::leak(Box::new(Slot {
            state: Mutex::new(SlotState::default()),
            room: Event::default(),
            handled: AtomicUsize::new(0),
            drains: Mutex::new(Vec::new()),
            look_again_after_listening,
        }));
        // The first sender is this thread: loom runs at most five, and up
        // to three drain tasks may start, one after the other.
        let second = thread::spawn(move || slot.send());
        slot.send();
        slot.send();
        second.join().unwrap();
        let drains = std::mem::take(&mut *slot.drains.lock().unwrap());
        for drain in drains {
            drain.join().unwrap();
        }
        assert_eq!(slot.handled.load(SeqCst), 3, "a message was lost");
    });
}

#[test]
fn no_message_is_lost_and_no_waiting_sender_is_left_behind() {
    senders_to_a_full_mailbox(true);
}

#[test]
#[should_panic(expected = "deadlock")]
fn a_sender_that_waits_without_looking_again_is_left_behind() {
    senders_to_a_full_mailbox(false);
}
