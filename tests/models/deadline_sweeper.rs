//! The call-deadline sweeper's start and stop, copied from
//! `src/system/calls/deadlines.rs` (`Deadlines::wait`, `forget`, `due` and
//! the end of `sweep`): a deadline registered while the sweeper stops is
//! never left without a sweeper, so every waiting call is woken at its
//! deadline, and the sweepers still end once no call waits.
//!
//! A call writes its deadline into the table under the shard lock, then
//! reads `sweeper_started` and, if no sweeper runs, claims the flag and
//! starts one. A sweeper that finds nothing waiting during shutdown clears
//! the flag, then looks at the table once more: if a call registered
//! meanwhile, it claims the flag back and goes on, unless that call already
//! started a new sweeper. The table's lock orders the call's write before
//! the sweeper's last look, or the sweeper's clearing before the call's
//! read of the flag: either the old sweeper sees the deadline, or the call
//! starts a new one.
//!
//! The system is stopping throughout (the sweeper ends only then), and the
//! deadline is due at once: time does not change the hand-off. So the
//! sweeper never sleeps, and its `earlier` event (which `forget` and an
//! earlier deadline notify) is left out.

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Condvar, Mutex};
use loom::thread::{self, JoinHandle};

use super::support::check;

/// A call waiting for its answer or its deadline.
#[derive(Default)]
struct Call {
    timed_out: Mutex<bool>,
    woken: Condvar,
}

impl Call {
    /// The waker: the sweeper found the deadline due.
    fn wake(&self) {
        *self.timed_out.lock().unwrap() = true;
        self.woken.notify_all();
    }

    fn wait(&self) {
        let mut timed_out = self.timed_out.lock().unwrap();
        while !*timed_out {
            timed_out = self.woken.wait(timed_out).unwrap();
        }
    }
}

struct Deadlines {
    /// The waiting calls' entries; `true` while the waker is still there.
    table: Mutex<Vec<(&'static Call, bool)>>,
    sweeper_started: AtomicBool,
    sweepers: Mutex<Vec<JoinHandle<()>>>,
    /// The ordering under check: a call reads the flag after writing its
    /// deadline. False in the weakened twin, which reads it before.
    flag_read_after_the_write: bool,
}

impl Deadlines {
    /// `Deadlines::wait`, and the call's wait for its deadline.
    fn wait(&'static self, call: &'static Call) {
        let claim = |deadlines: &'static Deadlines| {
            !deadlines.sweeper_started.load(SeqCst) && !deadlines.sweeper_started.swap(true, SeqCst)
        };
        let claimed_early = !self.flag_read_after_the_write && claim(self);
        self.table.lock().unwrap().push((call, true));
        let claimed = if self.flag_read_after_the_write {
            claim(self)
        } else {
            claimed_early
        };
        if claimed {
            let sweeper = thread::spawn(move || self.sweep());
            self.sweepers.lock().unwrap().push(sweeper);
        }
        call.wait();
        self.forget(call);
    }

    /// `Deadlines::forget`.
    fn forget(&self, call: &'static Call) {
        self.table
            .lock()
            .unwrap()
            .retain(|(entry, _)| !std::ptr::eq(*entry, call));
    }

    /// `Deadlines::due`: wakes the calls due (all of them, here); returns
    /// whether one still waits with a later deadline (none, here).
    fn due(&self) -> bool {
        let mut table = self.table.lock().unwrap();
        for (call, waker) in table.iter_mut() {
            if std::mem::take(waker) {
                call.wake();
            }
        }
        false
    }

    /// `sweep`, while the system stops.
    fn sweep(&self) {
        loop {
            let later_deadline = self.due();
            if later_deadline {
                unreachable!("every deadline here is due at once");
            }
            // Nothing waits: end, unless a call registered meanwhile.
            self.sweeper_started.store(false, SeqCst);
            if !self.due() || self.sweeper_started.swap(true, SeqCst) {
                return;
            }
        }
    }
}

/// A sweeper that is ending races with a call registering its deadline:
/// whatever the interleaving, the call is woken (a call left waiting makes
/// loom report a deadlock), and every sweeper ends.
fn call_racing_with_an_ending_sweeper(flag_read_after_the_write: bool) {
    check(move || {
        // Leaked (see `worker_sleep.rs`).
        let deadlines: &'static Deadlines = Box::leak(Box::new(Deadlines {
            table: Mutex::new(Vec::new()),
            sweeper_started: AtomicBool::new(true),
            sweepers: Mutex::new(Vec::new()),
            flag_read_after_the_write,
        }));
        let call: &'static Call = Box::leak(Box::new(Call::default()));
        // The sweeper that runs, with nothing left to wait for.
        let ending = thread::spawn(move || deadlines.sweep());
        deadlines.wait(call);
        ending.join().unwrap();
        let sweepers = std::mem::take(&mut *deadlines.sweepers.lock().unwrap());
        for sweeper in sweepers {
            sweeper.join().unwrap();
        }
    });
}

#[test]
fn a_deadline_registered_while_the_sweeper_stops_is_swept() {
    call_racing_with_an_ending_sweeper(true);
}

#[test]
#[should_panic(expected = "deadlock")]
fn with_the_flag_read_before_the_write_a_deadline_is_left_unswept() {
    call_racing_with_an_ending_sweeper(false);
}
