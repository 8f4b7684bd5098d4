//! The sharded task count, copied from `src/system/lifecycle/task_count.rs`:
//! a task counts its start in one shard and its end in another (the worker
//! that spawned it, the worker that ran it), and reading the count never
//! gives zero while a task lives.
//!
//! The case that needs the reading order: a task A, counted on shard 0,
//! runs on the worker of shard 1, where it starts a task B (counted on
//! shard 1) and ends (counted on shard 1); B runs on the worker of shard 0
//! and ends there. An observer that reads every `finished` before every
//! `started` counts at least the tasks alive at the moment between its two
//! passes: it never sees zero before B has ended. Its weakened twin reads
//! `started` first, and can read A's start, miss B's, then read A's end: a
//! count of zero with B alive.

use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use loom::thread;

use super::support::check;

#[derive(Default)]
struct Shard {
    started: AtomicU64,
    finished: AtomicU64,
}

struct Count {
    shards: [Shard; 2],
    /// The ordering under check: `finished` read before `started`. False
    /// in the weakened twin.
    finished_first: bool,
}

impl Count {
    fn live(&self) -> u64 {
        let finished = || {
            self.shards
                .iter()
                .map(|s| s.finished.load(SeqCst))
                .sum::<u64>()
        };
        let started = || {
            self.shards
                .iter()
                .map(|s| s.started.load(SeqCst))
                .sum::<u64>()
        };
        if self.finished_first {
            let finished = finished();
            started() - finished
        } else {
            let started = started();
            started.saturating_sub(finished())
        }
    }
}

fn a_task_started_by_a_task_is_counted(finished_first: bool) {
    check(move || {
        let count: &'static Count = Box::leak(Box::new(Count {
            shards: [Shard::default(), Shard::default()],
            finished_first,
        }));
        let b_ended: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        // A, counted by its spawner on shard 0.
        count.shards[0].started.fetch_add(1, SeqCst);
        let a = thread::spawn(move || {
            // On the worker of shard 1: A starts B, then ends.
            count.shards[1].started.fetch_add(1, SeqCst);
            let b = thread::spawn(move || {
                // On the worker of shard 0: B ends.
                b_ended.store(true, SeqCst);
                count.shards[0].finished.fetch_add(1, SeqCst);
            });
            count.shards[1].finished.fetch_add(1, SeqCst);
            b
        });
        // The shutdown's look at the count.
        if count.live() == 0 {
            assert!(
                b_ended.load(SeqCst),
                "the count read zero while a task was alive"
            );
        }
        a.join().unwrap().join().unwrap();
        assert_eq!(count.live(), 0);
    });
}

#[test]
fn the_count_is_never_zero_while_a_task_lives() {
    a_task_started_by_a_task_is_counted(true);
}

#[test]
#[should_panic(expected = "the count read zero while a task was alive")]
fn with_started_read_first_a_live_task_is_missed() {
    a_task_started_by_a_task_is_counted(false);
}
