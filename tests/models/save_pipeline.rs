//! A persistent actor's `EveryTurn` saves, copied from
//! `src/system/persistence/pipeline.rs` (`hand_over`, `saver`, `saved`):
//! every turn's reply is released, the latest state is the one written
//! last, and a deactivation that waits for the saver is not left waiting.
//!
//! The drain task hands each turn's state and reply to the activation's
//! pipeline (in the tracker, under its lock). If no pipeline exists it makes
//! one and starts a saver task; otherwise the state replaces the one
//! waiting, and the reply joins those waiting. The saver takes the waiting
//! state and replies, writes, releases them, and looks again; it removes
//! the pipeline, and tells the waiters it ended, in the same lock section
//! in which it finds nothing waiting, so that a turn handed over meanwhile
//! is either taken by its next round or starts a new saver.

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread::{self, JoinHandle};

use super::support::{Event, check};

#[derive(Default)]
struct Pipeline {
    /// The state waiting for the next write (a turn number).
    next: Option<usize>,
    /// The replies of the turns it covers.
    waiting: Vec<usize>,
}

struct Tracker {
    pipeline: Option<Pipeline>,
    /// The last state written.
    written: usize,
}

struct Activation {
    tracker: Mutex<Tracker>,
    /// `Pipeline::ended`: told when a saver ends.
    ended: Event,
    /// Replies released.
    released: AtomicUsize,
    savers: Mutex<Vec<JoinHandle<()>>>,
    /// The ordering under check: the saver removes the pipeline in the lock
    /// section where it found nothing waiting. False in the weakened twin,
    /// which lets go of the lock in between.
    remove_where_found_empty: bool,
}

impl Activation {
    /// `hand_over`: the state of turn `turn`, and its reply.
    fn hand_over(&'static self, turn: usize) {
        let mut tracker = self.tracker.lock().unwrap();
        if let Some(pipeline) = tracker.pipeline.as_mut() {
            pipeline.next = Some(turn);
            pipeline.waiting.push(turn);
            return;
        }
        tracker.pipeline = Some(Pipeline {
            next: Some(turn),
            waiting: vec![turn],
        });
        drop(tracker);
        let saver = thread::spawn(move || self.saver());
        self.savers.lock().unwrap().push(saver);
    }

    /// `saver`: writes the latest state, releases its replies, goes on
    /// while more came.
    fn saver(&self) {
        loop {
            let (state, waiting) = {
                let mut tracker = self.tracker.lock().unwrap();
                let next = tracker.pipeline.as_mut().and_then(|p| p.next.take());
                match next {
                    Some(state) => {
                        let waiting = tracker
                            .pipeline
                            .as_mut()
                            .map(|p| std::mem::take(&mut p.waiting))
                            .unwrap_or_default();
                        (state, waiting)
                    }
                    None if self.remove_where_found_empty => {
                        tracker.pipeline = None;
                        drop(tracker);
                        self.ended.notify_all();
                        return;
                    }
                    None => {
                        drop(tracker);
                        self.tracker.lock().unwrap().pipeline = None;
                        self.ended.notify_all();
                        return;
                    }
                }
            };
            // The write: `write`, which settles the tracker under its lock.
            self.tracker.lock().unwrap().written = state;
            for _ in waiting {
                self.released.fetch_add(1, SeqCst);
            }
        }
    }

    /// `saved`: waits until no saver runs (as deactivation does).
    fn saved(&self) {
        loop {
            let listener = {
                let tracker = self.tracker.lock().unwrap();
                if tracker.pipeline.is_none() {
                    return;
                }
                self.ended.listen()
            };
            self.ended.wait(listener);
        }
    }
}

/// Two turns handed over while a saver may be ending, then a deactivation
/// that waits for the saves: both replies are released, the second state
/// is the one written, and the wait ends (loom reports a deadlock if not).
fn two_turns_then_deactivation(remove_where_found_empty: bool) {
    check(move || {
        // Leaked (see `worker_sleep.rs`).
        let activation: &'static Activation = Box::leak(Box::new(Activation {
            tracker: Mutex::new(Tracker {
                pipeline: None,
                written: 0,
            }),
            ended: Event::default(),
            released: AtomicUsize::new(0),
            savers: Mutex::new(Vec::new()),
            remove_where_found_empty,
        }));
        activation.hand_over(1);
        activation.hand_over(2);
        activation.saved();
        let savers = std::mem::take(&mut *activation.savers.lock().unwrap());
        for saver in savers {
            saver.join().unwrap();
        }
        assert_eq!(activation.released.load(SeqCst), 2, "a reply was lost");
        assert_eq!(activation.tracker.lock().unwrap().written, 2);
    });
}

#[test]
fn every_reply_is_released_and_the_latest_state_written() {
    two_turns_then_deactivation(true);
}

#[test]
#[should_panic(expected = "a reply was lost")]
fn a_saver_that_removes_its_pipeline_later_loses_a_reply() {
    two_turns_then_deactivation(false);
}
