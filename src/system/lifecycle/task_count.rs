//! The count of a system's live tasks, which shutdown waits to fall to zero.
//!
//! Every wake-up of an idle actor counts a task on the sending thread and
//! uncounts it on the worker that ran it. One shared counter made its cache
//! line move between the cores twice per message (8.5 % of tell_many_ids
//! at 100,000 actors, perf). So each thread counts in a shard of its own
//! (the worker's, or one shared by the threads outside the pool), and a
//! shard only ever grows: `started` and `finished` are monotonic.
//!
//! Reading the count takes every shard's `finished` first, then every
//! shard's `started`, all `SeqCst`. Say the two passes are split at time
//! `t`. Counters only grow, so the finished sum read is at most the
//! finished sum at `t`, and the started sum read at least the started sum
//! at `t`; and a task is counted started before it is counted finished. So
//! the count read is at least the number of tasks alive at `t`: it is never
//! zero while a task lives through `t`, whichever shards its start and end
//! were counted in. (Reading `started` first would not hold: a task that
//! starts another and ends between the passes would hide it.)
//! `tests/models/task_count.rs` checks both orders.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use crate::padded::Padded;
use crate::runtime;

/// Shards: one for the threads outside any pool, and one per worker up to
/// this many (more workers share them, which is only slower).
const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    started: AtomicU64,
    finished: AtomicU64,
}

/// See the module documentation.
pub(crate) struct TaskCount {
    shards: Box<[Padded<Shard>]>,
}

impl Default for TaskCount {
    fn default() -> Self {
        TaskCount {
            shards: (0..SHARDS).map(|_| Padded::default()).collect(),
        }
    }
}

impl TaskCount {
    /// The current thread's shard.
    fn here(&self) -> &Shard {
        let shard = runtime::worker_index().map_or(0, |index| 1 + index % (SHARDS - 1));
        &self.shards[shard]
    }

    pub(crate) fn started(&self) {
        self.here().started.fetch_add(1, SeqCst);
    }

    pub(crate) fn finished(&self) {
        self.here().finished.fetch_add(1, SeqCst);
    }

    /// How many tasks are alive: at least as many as were at some moment
    /// during the call (see the module documentation).
    pub(crate) fn live(&self) -> usize {
        let finished: u64 = self.shards.iter().map(|s| s.finished.load(SeqCst)).sum();
        let started: u64 = self.shards.iter().map(|s| s.started.load(SeqCst)).sum();
        usize::try_from(started.saturating_sub(finished)).unwrap_or(usize::MAX)
    }
}
