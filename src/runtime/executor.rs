//! The worker pool each system owns: one thread per core running tasks.
//!
//! Built for what actors do: a message to an idle actor queues its slot,
//! whose drain task the worker that takes it spawns (a [`Job`], see
//! [`Work`]), and an answer wakes the caller's task. Both usually come from
//! a task running on a worker, and the best next task for that worker is
//! the one just queued or woken: its data is in this core's cache, and running
//! it here needs no other thread woken, which costs a system call and
//! several microseconds. So, as tokio's scheduler does, a task spawned or
//! woken by a worker goes into that worker's *next* slot and runs as soon as
//! the current one yields; the task it displaces goes to the worker's
//! queue, which idle workers steal from, and only then is a sleeping worker
//! woken. A request and its answer between two actors thus stay on one
//! core, while a flood of spawns spreads over all of them.
//!
//! Fairness: a worker runs its next slot at most [`MAX_NEXT_IN_A_ROW`]
//! times in a row while other tasks wait, so two tasks waking each other
//! cannot starve its queue, and looks at the shared queue (tasks from
//! outside the pool: timers, `_sync` callers) first every
//! [`SHARED_QUEUE_INTERVAL`] tasks.
//!
//! An actor whose mailbox runs empty while its worker has other tasks
//! waiting lets them run first ([`linger`]) before it goes idle: in a
//! request and its answer between two actors, the answer then finds the
//! actor's task still there, instead of spawning a new one. A lingering
//! task stays on its worker (moving it would move its data to another
//! core), and runs at the latest [`MAX_LINGER_TICKS`] tasks later.
//!
//! A handler that blocks its thread (a long computation, blocking I/O)
//! would keep the tasks held by its worker (next slot, lingering) waiting,
//! while the other cores sleep; worse, if it blocks until one of them has
//! run, forever. So a worker going to sleep while another holds tasks
//! sleeps only [`STUCK_AFTER`], and if that worker has not run a task
//! meanwhile, takes them over.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst, fence,
};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use async_task::{Builder, ScheduleInfo, WithInfo};
use concurrent_queue::ConcurrentQueue;

use crate::padded::Padded;
use crate::spin_lock::{SpinLock, SpinLockGuard};

/// Runs of the next slot in a row before the worker's queue gets a turn.
const MAX_NEXT_IN_A_ROW: u32 = 3;
/// Every this many tasks, a worker looks at the shared queue first.
const SHARED_QUEUE_INTERVAL: u64 = 31;
/// A worker's own queue; beyond it, tasks go to the shared queue.
const LOCAL_QUEUE_CAPACITY: usize = 256;
/// A worker that has run no task for this long while it holds tasks (next
/// slot, lingering) is taken to be stuck in its current one.
const STUCK_AFTER: Duration = Duration::from_millis(1);
/// Looks for work a worker takes before it sleeps: a worker that sleeps
/// as soon as it runs out has to be woken, a system call, for the next task
/// pushed a microsecond later.
const SEARCH_ROUNDS: u32 = 64;
/// Tasks lingering on one worker at most. A lingering task keeps its
/// allocation (a few hundred bytes) a little longer; under a flood to many
/// actors, every one of them would linger at once.
const MAX_LINGERING: usize = 1024;
/// A task lingers at most this many of its worker's tasks: a worker that
/// always has other work would otherwise never get back to it, and the
/// messages its actor received meanwhile would wait.
const MAX_LINGER_TICKS: u64 = 256;
/// Naps of [`STUCK_AFTER`] without another worker holding tasks, after
/// which an idle worker stops watching and sleeps until woken.
const WATCH_ROUNDS: u32 = 50;

/// What a worker can be asked to do, and where it allocates.
///
/// A task spawned by one thread and run and freed by another makes
/// glibc's allocator take the spawning thread's arena lock on the free,
/// against that thread's own allocations: in a flood of messages to idle
/// actors, 10-15 % of the time went to waiting on it. So an idle actor
/// woken by a message is queued as a [`Job`] (its slot, already shared, no
/// allocation), and the worker that takes the job spawns its task and runs
/// it at once: the task is allocated, run and most often freed on one
/// thread, and the sender pays for none of it.
enum Work {
    /// A task, spawned or woken.
    Task(Runnable),
    /// Something that spawns its task where it is taken.
    Job(Arc<dyn Job>),
}

/// Spawns its task on the worker that runs it; see [`Work`].
pub(crate) trait Job: Send + Sync + 'static {
    /// Spawns the task, on the current worker, through
    /// [`Executor::spawn_here`], and runs its first poll there.
    fn start(self: Arc<Self>);
}

impl Work {
    fn run(self) {
        match self {
            Work::Task(runnable) => {
                runnable.run();
            }
            Work::Job(job) => job.start(),
        }
    }
}

/// A task of a pool; it carries the pool it belongs to (see
/// [`schedule_task`]).
type Runnable = async_task::Runnable<Arc<Shared>>;

/// A pool of worker threads and its queues.
pub(crate) struct Executor {
    shared: Arc<Shared>,
}

struct Shared {
    /// Tasks spawned or woken outside the workers, and overflow.
    injected: Padded<ConcurrentQueue<Work>>,
    workers: Box<[Padded<WorkerShared>]>,
    /// Indices of the workers asleep or about to be, for waking one.
    sleepers: Mutex<Vec<usize>>,
    /// `sleepers.len()`, read without the lock on every push of work.
    sleeping: Padded<AtomicUsize>,
    /// Sleeping workers that watch the others' held tasks (see
    /// `Shared::sleep`).
    watchers: Padded<AtomicUsize>,
    /// Workers looking for work before they sleep: while one does, work
    /// pushed wakes nobody.
    searching: Padded<AtomicUsize>,
    /// Set once the workers have ended: what is woken later waits in
    /// `injected` for the [`Executor`] to drop it.
    ended: AtomicBool,
}

/// What other threads see of one worker.
struct WorkerShared {
    /// The tasks only this worker runs, unless it is stuck (see the module
    /// documentation); the lock is almost always this worker's alone.
    held: SpinLock<Held>,
    /// How many tasks `held` holds, written under its lock whenever it
    /// changes ([`HeldGuard`]), read without it: a task about to go idle
    /// asks whether others wait here on every message ([`may_linger`]).
    held_count: AtomicUsize,
    /// Tasks others may steal.
    queue: ConcurrentQueue<Work>,
    /// Tasks run so far: a worker whose count does not move is stuck.
    ticks: AtomicU64,
    parker: Parker,
}

/// What [`Shared::held_task`] found.
enum HeldTask {
    Next(Work),
    /// A lingering task, overdue or with nothing else to run before it.
    Lingered(Work),
    None,
}

/// See [`WorkerShared::held`].
#[derive(Default)]
struct Held {
    /// The task to run as soon as the current one yields.
    next: Option<Work>,
    /// Tasks that [`linger`]ed, each with the worker's tick count when it
    /// did: they run once the worker's queue is empty, or when overdue
    /// ([`MAX_LINGER_TICKS`]). Not stealable: another worker would take the
    /// task, and its data, away from the core where its counterpart runs.
    lingering: VecDeque<Lingering>,
}

/// A lingering task and the worker's tick count when it lingered.
///
/// Laid out task first on purpose: the entry is built on the stack and
/// copied into the queue, and as a `(tick, task)` tuple the copy read it
/// back with a 16-byte load spanning its two smaller stores, which the CPU
/// cannot forward (perf: a quarter of `Shared::schedule` in ping_pong,
/// where every message lingers).
#[repr(C)]
struct Lingering {
    work: Work,
    since: u64,
}

impl Held {
    fn len(&self) -> usize {
        usize::from(self.next.is_some()) + self.lingering.len()
    }
}

impl WorkerShared {
    fn held(&self) -> HeldGuard<'_> {
        HeldGuard {
            held: self.held.lock(),
            count: &self.held_count,
        }
    }
}

/// A worker's locked [`Held`], whose count it publishes when unlocked.
struct HeldGuard<'a> {
    held: SpinLockGuard<'a, Held>,
    count: &'a AtomicUsize,
}

impl std::ops::Deref for HeldGuard<'_> {
    type Target = Held;
    fn deref(&self) -> &Held {
        &self.held
    }
}

impl std::ops::DerefMut for HeldGuard<'_> {
    fn deref_mut(&mut self) -> &mut Held {
        &mut self.held
    }
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        self.count.store(self.held.len(), Relaxed);
    }
}

thread_local! {
    /// On a worker thread: its pool and its index.
    static WORKER: RefCell<Option<(Arc<Shared>, usize)>> = const { RefCell::new(None) };
    /// On a worker thread: its index plus one; 0 elsewhere. A copy of
    /// `WORKER`'s index that costs no borrow, for [`worker_index`].
    static WORKER_INDEX: Cell<usize> = const { Cell::new(0) };
    /// Set by [`linger`] for the reschedule its wake-up causes.
    static LINGERING: Cell<bool> = const { Cell::new(false) };
    /// On a worker thread: the lingering task it runs next, taken out of
    /// [`Held::lingering`] by `Shared::schedule` under the lock it holds
    /// for a task that lingers, so that the worker's loop does not take
    /// that lock again to find it (see `Shared::hand_over`).
    static HANDED: RefCell<Option<Work>> = const { RefCell::new(None) };
    /// Messages and answers sent by the code run on this thread so far
    /// (see [`note_message_out`]).
    static MESSAGES_OUT: Cell<u64> = const { Cell::new(0) };
}

/// Counts a message or an answer just sent to another actor, service or
/// caller from this thread: an actor whose turn sent one may get an answer
/// soon, which is when [`linger`] pays (see [`messages_out`]).
pub(crate) fn note_message_out() {
    MESSAGES_OUT.set(MESSAGES_OUT.get().wrapping_add(1));
}

/// The count of [`note_message_out`] on this thread. A drain task compares
/// it before and after a turn: a turn that sent nothing (a counter
/// incremented, state updated) expects no answer, and its actor goes idle
/// at once instead of lingering, which under a flood of messages to many
/// actors cost a yield and a second run of every task for nothing. The
/// count is per thread, so a turn that moved between threads, or another
/// task's sends between two polls, reads as "sent": the actor then lingers
/// as it always did.
pub(crate) fn messages_out() -> u64 {
    MESSAGES_OUT.get()
}

/// The index of the worker thread this is, of whichever pool; `None`
/// outside the pools. For what each worker keeps apart (a shard of a
/// count).
pub(crate) fn worker_index() -> Option<usize> {
    WORKER_INDEX.get().checked_sub(1)
}

/// Whether the current task may [`linger`]: it runs on a worker that has
/// other tasks waiting (in its next slot, its queue, or lingering), and
/// fewer than [`MAX_LINGERING`] tasks linger there already. False off the
/// workers.
pub(crate) fn may_linger() -> bool {
    WORKER.with(|here| {
        here.borrow().as_ref().is_some_and(|(pool, index)| {
            let worker = &pool.workers[*index];
            // Written by this thread, or under the lock by a worker taking
            // over this one's tasks: a stale count only makes a task linger
            // or not once.
            let held = worker.held_count.load(Relaxed);
            held < MAX_LINGERING && (held > 0 || !worker.queue.is_empty())
        })
    })
}

/// Lets the tasks waiting for this worker run first, then continues on the
/// same worker (see [`Held::lingering`]), waking no other worker.
pub(crate) async fn linger() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        LINGERING.with(|lingering| lingering.set(true));
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

impl Executor {
    /// A pool of `workers` threads, not started yet.
    pub(crate) fn new(workers: usize) -> Executor {
        let workers = (0..workers.max(1))
            .map(|_| {
                Padded(WorkerShared {
                    held: SpinLock::default(),
                    held_count: AtomicUsize::new(0),
                    queue: ConcurrentQueue::bounded(LOCAL_QUEUE_CAPACITY),
                    ticks: AtomicU64::new(0),
                    parker: Parker::default(),
                })
            })
            .collect();
        Executor {
            shared: Arc::new(Shared {
                injected: Padded(ConcurrentQueue::unbounded()),
                workers,
                sleepers: Mutex::new(Vec::new()),
                sleeping: Padded::default(),
                watchers: Padded::default(),
                searching: Padded::default(),
                ended: AtomicBool::new(false),
            }),
        }
    }

    /// Starts the worker threads; each runs tasks until `done` returns true
    /// when checked (whenever it runs out of tasks, and when woken by
    /// [`Executor::wake_all_after`]), inside `around` (which enters a tokio
    /// runtime's context, under the `tokio` feature).
    pub(crate) fn start(
        &self,
        done: impl Fn() -> bool + Clone + Send + 'static,
        around: impl Fn(&mut dyn FnMut()) + Clone + Send + 'static,
    ) {
        for index in 0..self.shared.workers.len() {
            let shared = self.shared.clone();
            let done = done.clone();
            let around = around.clone();
            let started = thread::Builder::new()
                .name(format!("acteur-worker-{index}"))
                .spawn(move || around(&mut || shared.clone().work(index, done.clone())));
            if let Err(error) = started {
                log::error!("acteur could not start a worker thread: {error}");
            }
        }
    }

    /// Runs `task` on the workers.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        new_task(&self.shared, task).schedule();
    }

    /// Runs `job` on the workers: it spawns its task where it is taken
    /// (see [`Work`]).
    pub(crate) fn queue_job(&self, job: Arc<dyn Job>) {
        self.shared.schedule(Work::Job(job), false);
    }

    /// Spawns a task that wakes every worker once `event` completes, so
    /// that each checks whether it is done.
    pub(crate) fn wake_all_after(&self, event: impl Future<Output = ()> + Send + 'static) {
        let shared = self.shared.clone();
        self.spawn(async move {
            event.await;
            for worker in shared.workers.iter() {
                worker.parker.unpark();
            }
        });
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Tasks woken after the workers ended (see `Shared::schedule`).
        // While workers run, they run what is queued: a dropped system's
        // tasks still have to see that it is gone and end.
        if self.shared.ended.load(SeqCst) {
            while let Ok(runnable) = self.shared.injected.pop() {
                drop(runnable);
            }
        }
    }
}

/// A task of `pool`, not scheduled yet.
fn new_task(pool: &Arc<Shared>, task: impl Future<Output = ()> + Send + 'static) -> Runnable {
    let (runnable, task) = Builder::new()
        .metadata(Arc::clone(pool))
        .spawn(move |_| task, WithInfo(schedule_task));
    task.detach();
    runnable
}

/// Spawns `task` on the pool of the worker thread this is, and polls it
/// right away: for a [`Job`], which a worker runs. Later wake-ups schedule
/// it as any other task. The pool is the worker's, so the caller needs no
/// handle to it (a job's slot reaches its system only through a weak
/// reference, upgraded once, which the task keeps). Off the workers, where
/// no job runs, `task` is dropped unpolled.
pub(crate) fn spawn_here(task: impl Future<Output = ()> + Send + 'static) {
    let runnable = WORKER.with_borrow(|here| here.as_ref().map(|(pool, _)| new_task(pool, task)));
    if let Some(runnable) = runnable {
        runnable.run();
    }
}

/// Where a task woken or yielding goes: its pool's [`Shared::schedule`].
///
/// A function, not a closure holding the pool: the task carries its pool
/// as its metadata instead. async-task keeps a schedule function that
/// holds anything alive by cloning and dropping a waker around every call,
/// and wakes through a clone too, each an atomic read-modify-write on the
/// task's count, of which a message between two actors makes several.
fn schedule_task(runnable: Runnable, info: ScheduleInfo) {
    let yielded = info.woken_while_running;
    // Most often woken on a worker of its own pool: the pool is borrowed
    // from there, not cloned from the task (another atomic write).
    let elsewhere = WORKER.with(|here| match &*here.borrow() {
        Some((pool, _)) if Arc::ptr_eq(pool, runnable.metadata()) => {
            pool.schedule(Work::Task(runnable), yielded);
            None
        }
        _ => Some(runnable),
    });
    if let Some(runnable) = elsewhere {
        let pool = Arc::clone(runnable.metadata());
        pool.schedule(Work::Task(runnable), yielded);
    }
}

impl Shared {
    /// Where a spawned or woken task goes; see the module documentation.
    fn schedule(self: &Arc<Self>, runnable: Work, yielded: bool) {
        if self.ended.load(SeqCst) {
            // Nothing will run it any more; it is dropped with the pool.
            // Not here: a waker may be called under the lock of what the
            // task's future holds (an event's listener list), and dropping
            // the future would take that lock again.
            self.injected.push(runnable).ok();
            return;
        }
        let here = WORKER.with(|here| {
            here.borrow()
                .as_ref()
                .filter(|(pool, _)| Arc::ptr_eq(pool, self))
                .map(|(_, index)| *index)
        });
        let Some(index) = here else {
            // From outside the pool (or from another system's).
            self.push_shared(runnable);
            return;
        };
        // Whether this worker held no task before: see the end.
        let mut held_none = true;
        let displaced = if yielded && LINGERING.with(|lingering| lingering.replace(false)) {
            let worker = &self.workers[index];
            let now = worker.ticks.load(Relaxed);
            let mut held = worker.held();
            held_none = held.len() == 0;
            held.lingering.push_back(Lingering {
                work: runnable,
                since: now,
            });
            self.hand_over(index, &mut held);
            None
        } else if yielded {
            // A task that yields wants the others to run first.
            Some(runnable)
        } else {
            self.workers[index].held().next.replace(runnable)
        };
        if let Some(displaced) = displaced {
            self.push_local(index, displaced);
            self.wake_one();
            return;
        }
        // A held task wakes nobody, unless every sleeping worker sleeps
        // without watching the held tasks: one must, in case this worker's
        // current task never yields (see `sleep`).
        //
        // A task that lingers yields right after this, and skips the look
        // if this worker held tasks already: the look made when the count
        // left 0 still holds (a watcher that sees held tasks at every nap
        // watches on, and that look's fence made the count visible to every
        // later one; model: `tests/models/held_watch.rs`). Between two
        // actors that answer each other every message lingers, and this
        // fence was a sixth of this function.
        // A task woken into the next slot always looks: the sleeping worker
        // woken there is how a burst of requests from one task spreads over
        // the cores (without it, the peers' ask_concurrent ran on one core
        // and lost a third).
        if !held_none {
            return;
        }
        fence(SeqCst);
        if self.watchers.load(SeqCst) == 0 {
            self.wake_one();
        }
    }

    /// A task just lingered on worker `index`, whose held tasks are `held`:
    /// if the worker would next take the oldest lingering task (no next
    /// task, nothing queued; see `held_task`), hands it over now, under
    /// this lock, through [`HANDED`]. Between two actors that answer each
    /// other, every message lingers, and the worker then takes one lock
    /// per message instead of two. The task handed over is out of the
    /// watchers' sight only until this worker's loop takes it, right after
    /// the lingering task's poll returns.
    fn hand_over(&self, index: usize, held: &mut Held) {
        if held.next.is_some()
            || held.lingering.len() < 2
            || !self.workers[index].queue.is_empty()
            || !self.injected.is_empty()
            || HANDED.with_borrow(Option::is_some)
        {
            return;
        }
        if let Some(oldest) = held.lingering.pop_front() {
            HANDED.set(Some(oldest.work));
        }
    }

    /// Queues `runnable` on worker `index`'s stealable queue, or on the
    /// shared one if that is full; wakes nobody.
    fn push_local(&self, index: usize, runnable: Work) {
        if let Err(full) = self.workers[index].queue.push(runnable) {
            // Unbounded, and closed never: a push cannot fail.
            self.injected.push(full.into_inner()).ok();
        }
    }

    fn push_shared(&self, runnable: Work) {
        // Unbounded, and closed never: a push cannot fail.
        self.injected.push(runnable).ok();
        self.wake_one();
    }

    /// Wakes a sleeping worker, if any, to take work just queued.
    fn wake_one(&self) {
        // Orders the push before this read, as `sleep` orders its count
        // before its last look at the queues: one of them sees the other.
        fence(SeqCst);
        if self.sleeping.load(SeqCst) == 0 || self.searching.load(SeqCst) > 0 {
            return;
        }
        if let Some(index) = self.update_sleepers(Vec::pop) {
            self.workers[index].parker.unpark();
        }
    }

    /// A worker thread's life: runs tasks until `done`.
    fn work(self: Arc<Self>, index: usize, done: impl Fn() -> bool) {
        WORKER.with(|here| *here.borrow_mut() = Some((self.clone(), index)));
        WORKER_INDEX.set(index + 1);
        // Our tasks catch their own panics (see `system/tasks/system_task.rs`); this
        // only keeps the worker alive should one escape anyway.
        while catch_unwind(AssertUnwindSafe(|| self.run(index, &done))).is_err() {}
        WORKER.with(|here| here.borrow_mut().take());
        WORKER_INDEX.set(0);
        self.end();
    }

    fn run(&self, index: usize, done: &impl Fn() -> bool) {
        let worker = &self.workers[index];
        let mut ticks: u64 = 0;
        let mut next_in_a_row = 0;
        let mut quiet_naps = 0;
        loop {
            ticks = ticks.wrapping_add(1);
            let handed = HANDED.with_borrow_mut(Option::take);
            let held = match handed {
                Some(handed) => HeldTask::Lingered(handed),
                None => self.held_task(index, ticks, next_in_a_row),
            };
            let runnable = match held {
                HeldTask::Next(runnable) => {
                    next_in_a_row += 1;
                    Some(runnable)
                }
                HeldTask::Lingered(runnable) => Some(runnable),
                HeldTask::None => {
                    next_in_a_row = 0;
                    self.find(index, ticks % SHARED_QUEUE_INTERVAL == 0)
                        .or_else(|| self.search(index))
                }
            };
            match runnable {
                Some(runnable) => {
                    worker.ticks.store(ticks, Relaxed);
                    quiet_naps = 0;
                    runnable.run();
                }
                None => {
                    if done() {
                        return;
                    }
                    self.sleep(index, done, &mut quiet_naps);
                }
            }
        }
    }

    /// The held task to run now, if any: a lingering task that waited
    /// [`MAX_LINGER_TICKS`], or the next slot's, unless it had its turn
    /// ([`MAX_NEXT_IN_A_ROW`]) and other tasks wait (it then goes to the
    /// back of the queue), or, if nothing else waits here, the oldest
    /// lingering task (looked for here, under the lock already taken,
    /// rather than by `find`).
    fn held_task(&self, index: usize, ticks: u64, next_in_a_row: u32) -> HeldTask {
        let worker = &self.workers[index];
        let mut held = worker.held();
        if let Some(oldest) = held.lingering.front() {
            if ticks.wrapping_sub(oldest.since) > MAX_LINGER_TICKS {
                if let Some(overdue) = held.lingering.pop_front() {
                    return HeldTask::Lingered(overdue.work);
                }
            }
        }
        let others_wait = !worker.queue.is_empty() || !self.injected.is_empty();
        if next_in_a_row < MAX_NEXT_IN_A_ROW || !others_wait {
            // Within its turn, or nothing else waits: handing the task to
            // the queue would only invite another worker to steal it, and
            // its data, across cores.
            if let Some(next) = held.next.take() {
                return HeldTask::Next(next);
            }
            if !others_wait {
                if let Some(lingered) = held.lingering.pop_front() {
                    return HeldTask::Lingered(lingered.work);
                }
            }
            return HeldTask::None;
        }
        if let Some(next) = held.next.take() {
            drop(held);
            self.push_local(index, next);
        }
        HeldTask::None
    }

    /// A task from this worker's queue, another worker's queue that is at
    /// least half full, the shared queue (first if `shared_first`), or
    /// another worker's queue.
    ///
    /// A half-full queue is stolen from before the shared queue is looked
    /// at: a worker whose task floods idle actors with messages (a loop of
    /// sends that never yields) fills its own queue and then overflows into
    /// the shared one. Taking from the shared queue first left the full
    /// queue full for the whole flood, its 256 tasks waiting until the loop
    /// ended, and every later task went through the shared queue one at a
    /// time (a contended push and pop, a block allocated on one core and
    /// freed on the other every 31 tasks). Stealing half of it at once
    /// makes room, so the flood's tasks go to the sender's own queue again
    /// and cross to the other core a hundred at a time (peers: spawn_many
    /// +40 %; tell_many_ids no longer flips between 6 and 12 M messages/s
    /// but stays at about 9).
    fn find(&self, index: usize, shared_first: bool) -> Option<Work> {
        let own = &self.workers[index].queue;
        if shared_first {
            if let Some(runnable) = pop(&self.injected) {
                return Some(runnable);
            }
        }
        if let Some(runnable) = pop(own) {
            return Some(runnable);
        }
        if let Some(runnable) = self.steal(index, LOCAL_QUEUE_CAPACITY / 2) {
            return Some(runnable);
        }
        if let Some(runnable) = pop(&self.injected) {
            return Some(runnable);
        }
        if let Some(lingered) = self.workers[index].held().lingering.pop_front() {
            return Some(lingered.work);
        }
        self.steal(index, 1)
    }

    /// Takes half of another worker's queue, if it holds `at_least` tasks:
    /// one task to run, the rest into this worker's queue.
    fn steal(&self, index: usize, at_least: usize) -> Option<Work> {
        let count = self.workers.len();
        for offset in 1..count {
            let victim = &self.workers[(index + offset) % count].queue;
            // (`pop` itself looks whether the queue is empty.)
            if at_least > 1 && victim.len() < at_least {
                continue;
            }
            let Some(first) = pop(victim) else {
                continue;
            };
            for _ in 0..victim.len() / 2 {
                match victim.pop() {
                    Ok(runnable) => self.push_local(index, runnable),
                    Err(_) => break,
                }
            }
            return Some(first);
        }
        None
    }

    /// Looks for work for a while before the worker sleeps; see
    /// [`SEARCH_ROUNDS`]. A worker that finds none registers as a sleeper
    /// and looks once more (`sleep`), so work pushed meanwhile, which woke
    /// nobody, is not missed.
    fn search(&self, index: usize) -> Option<Work> {
        self.searching.fetch_add(1, SeqCst);
        let mut found = None;
        for _ in 0..SEARCH_ROUNDS {
            std::hint::spin_loop();
            found = self.find(index, true);
            if found.is_some() {
                break;
            }
        }
        self.searching.fetch_sub(1, SeqCst);
        found
    }

    fn has_work(&self) -> bool {
        !self.injected.is_empty() || self.workers.iter().any(|worker| !worker.queue.is_empty())
    }

    /// Sleeps until woken, unless work or the end arrived meanwhile.
    ///
    /// While another worker holds tasks (next slot, lingering), or did
    /// within the last [`WATCH_ROUNDS`] naps (`quiet_naps` counts them; the caller
    /// resets it when this worker runs a task), this worker watches: it
    /// naps for [`STUCK_AFTER`] only, then takes over the held tasks of a
    /// worker that has run nothing since. A watcher spares the others a
    /// wake-up each time a task is held; a worker idle for longer sleeps
    /// until woken.
    fn sleep(&self, index: usize, done: &impl Fn() -> bool, quiet_naps: &mut u32) {
        self.update_sleepers(|sleepers| sleepers.push(index));
        fence(SeqCst);
        if self.has_work() || done() {
            self.update_sleepers(|sleepers| sleepers.retain(|&sleeper| sleeper != index));
            return;
        }
        // The workers holding tasks, and how far they had got: if one is no
        // further after a while, it is stuck.
        let watched: Vec<(usize, u64)> = (0..self.workers.len())
            .filter(|&other| other != index && self.workers[other].held_count.load(Relaxed) > 0)
            .map(|other| (other, self.workers[other].ticks.load(Relaxed)))
            .collect();
        *quiet_naps = if watched.is_empty() {
            quiet_naps.saturating_add(1)
        } else {
            0
        };
        if *quiet_naps > WATCH_ROUNDS {
            // Not a watcher (the count was never raised): a task held from
            // now on wakes this worker.
            self.workers[index].parker.park();
        } else {
            self.watchers.fetch_add(1, SeqCst);
            self.workers[index].parker.park_timeout(STUCK_AFTER);
            self.watchers.fetch_sub(1, SeqCst);
            for (other, seen) in watched {
                if self.workers[other].ticks.load(Relaxed) != seen {
                    continue;
                }
                let mut held = self.workers[other].held();
                let stuck: Vec<Work> = held
                    .next
                    .take()
                    .into_iter()
                    .chain(held.lingering.drain(..).map(|lingered| lingered.work))
                    .collect();
                drop(held);
                for stuck in stuck {
                    self.push_local(index, stuck);
                }
            }
        }
        // Whoever woke this worker took it off the list, unless it was
        // `wake_all_after` or the timeout: make sure it is off.
        self.update_sleepers(|sleepers| sleepers.retain(|&sleeper| sleeper != index));
    }

    /// Changes the list of sleeping workers, and `sleeping` with it.
    fn update_sleepers<T>(&self, change: impl FnOnce(&mut Vec<usize>) -> T) -> T {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
        let result = change(&mut sleepers);
        self.sleeping.store(sleepers.len(), SeqCst);
        result
    }

    /// A worker ended, so the system has stopped: what is still queued
    /// (sweepers' wake-ups, no counted task) is dropped, since those tasks
    /// hold this pool, which would otherwise never be freed. What is woken
    /// later is dropped with the [`Executor`].
    fn end(&self) {
        self.ended.store(true, SeqCst);
        while let Ok(runnable) = self.injected.pop() {
            drop(runnable);
        }
        for worker in self.workers.iter() {
            while let Ok(runnable) = worker.queue.pop() {
                drop(runnable);
            }
        }
        for worker in self.workers.iter() {
            let held = std::mem::take(&mut *worker.held());
            drop(held);
        }
    }
}

/// The first of `queue`, if any. Looks before it pops: a pop on an empty
/// queue costs a full memory fence, and a worker between two tasks looks at
/// two or three queues that are most often empty (in a request and its
/// answer between two actors, every time). A task pushed while it looks is
/// found at the next look, or by the last one before the worker sleeps,
/// which comes after a fence (see `Shared::sleep`).
fn pop(queue: &ConcurrentQueue<Work>) -> Option<Work> {
    if queue.is_empty() {
        return None;
    }
    queue.pop().ok()
}

/// Puts one worker thread to sleep until another wakes it.
#[derive(Default)]
struct Parker {
    woken: Mutex<bool>,
    wake: Condvar,
}

impl Parker {
    fn park(&self) {
        let mut woken = self.woken.lock().unwrap_or_else(PoisonError::into_inner);
        while !*woken {
            woken = self
                .wake
                .wait(woken)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *woken = false;
    }

    /// As [`Parker::park`], but returns after `timeout` at the latest.
    fn park_timeout(&self, timeout: Duration) {
        let woken = self.woken.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut woken, _) = self
            .wake
            .wait_timeout_while(woken, timeout, |woken| !*woken)
            .unwrap_or_else(PoisonError::into_inner);
        *woken = false;
    }

    fn unpark(&self) {
        *self.woken.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// How long a test waits for what must happen before it calls it lost.
    const LOST_AFTER: Duration = Duration::from_secs(30);

    /// On a started pool of `workers` threads, `spawn` spawns its tasks,
    /// which report through the sender it is given; returns the first
    /// `count` reports, then ends the workers.
    fn reports<T: Send + 'static>(
        workers: usize,
        count: usize,
        spawn: impl FnOnce(&Arc<Executor>, mpsc::Sender<T>),
    ) -> Vec<T> {
        let executor = Arc::new(Executor::new(workers));
        let stop = Arc::new(AtomicBool::new(false));
        let done = {
            let stop = stop.clone();
            move || stop.load(SeqCst)
        };
        executor.start(done, |work: &mut dyn FnMut()| work());
        let (sender, received) = mpsc::channel();
        spawn(&executor, sender);
        let reports = (0..count)
            .map(|_| received.recv_timeout(LOST_AFTER).expect("a task was lost"))
            .collect();
        stop.store(true, SeqCst);
        executor.wake_all_after(async {});
        reports
    }

    #[test]
    fn runs_every_task_spawned_from_outside_and_from_its_tasks() {
        reports(2, 200, |executor, sent| {
            for _ in 0..100 {
                let sent = sent.clone();
                let inner = executor.clone();
                executor.spawn(async move {
                    let child = sent.clone();
                    // From a worker: into its next slot, displacing, stolen.
                    inner.spawn(async move { child.send(()).unwrap() });
                    sent.send(()).unwrap();
                });
            }
        });
    }

    #[test]
    fn a_task_that_panics_does_not_end_its_worker() {
        // One worker: the second task runs only if it survived the first.
        reports(1, 1, |executor, sent| {
            executor.spawn(async { panic!("a task's own panic") });
            executor.spawn(async move { sent.send(()).unwrap() });
        });
    }

    #[test]
    fn a_held_task_of_a_blocked_worker_is_taken_over() {
        // The first task spawns the second, which lands in its worker's
        // next slot, then blocks that worker until the second has run: only
        // the other worker, taking over the held task, can run it.
        let outcome = reports(2, 1, |executor, result| {
            let inner = executor.clone();
            executor.spawn(async move {
                let (ran, second_ran) = mpsc::channel();
                inner.spawn(async move { ran.send(()).unwrap() });
                result.send(second_ran.recv_timeout(LOST_AFTER)).unwrap();
            });
        });
        assert_eq!(
            outcome,
            [Ok(())],
            "the held task waited for its blocked worker"
        );
    }

    /// A job that spawns a task where it is taken; the task reports the
    /// thread that polled it first and the one that finished it, after it
    /// waited for a wake-up from elsewhere.
    struct Starting {
        sent: Mutex<Option<mpsc::Sender<(String, String)>>>,
    }

    impl Job for Starting {
        fn start(self: Arc<Self>) {
            let sent = self.sent.lock().unwrap().take().expect("started once");
            let first = thread::current().name().map(str::to_owned);
            spawn_here(async move {
                let polled = thread::current().name().unwrap_or_default().to_owned();
                // Pending once, woken by another thread: the task then runs
                // as any other task.
                let (wake, woken) = futures_channel::oneshot::channel::<()>();
                thread::spawn(move || wake.send(()));
                woken.await.unwrap();
                let finished = thread::current().name().unwrap_or_default().to_owned();
                assert_eq!(first.as_deref(), Some(polled.as_str()));
                sent.send((polled, finished)).unwrap();
            });
        }
    }

    #[test]
    fn a_job_spawns_its_task_on_the_worker_that_takes_it() {
        let seen = reports(2, 2, |executor, sent| {
            for _ in 0..2 {
                executor.queue_job(Arc::new(Starting {
                    sent: Mutex::new(Some(sent.clone())),
                }));
            }
        });
        for (polled, finished) in seen {
            assert!(
                polled.starts_with("acteur-worker-"),
                "first polled on {polled}"
            );
            assert!(
                finished.starts_with("acteur-worker-"),
                "finished on {finished}"
            );
        }
    }

    #[test]
    fn a_task_that_yields_runs_to_its_end() {
        reports(2, 1, |executor, sent| {
            executor.spawn(async move {
                for _ in 0..1000 {
                    futures_lite::future::yield_now().await;
                }
                sent.send(()).unwrap();
            });
        });
    }

    #[test]
    fn lingering_is_only_for_tasks_on_a_busy_worker() {
        // Off the workers, nothing waits behind the caller.
        assert!(!may_linger());
        let seen = reports(1, 1, |executor, sent| {
            // Alone on its worker: nothing to let run first.
            executor.spawn(async move { sent.send(may_linger()).unwrap() });
        });
        assert_eq!(seen, [false]);
    }
}
