//! What a fire-and-forget send allocates: its envelope, and nothing else
//! but the mailbox's amortised growth. Counted by a global allocator that
//! counts only the allocations of the thread that turned it on, so worker
//! threads do not blur the figure. Its own binary, for that allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};
use futures_channel::oneshot;

struct CountingThisThread;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the thread-local counters only observe calls,
// and being const-initialised they never allocate themselves.
unsafe impl GlobalAlloc for CountingThisThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        }
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        }
        // SAFETY: the caller's guarantees for `pointer`, `layout` and
        // `new_size` are passed on.
        unsafe { System.realloc(pointer, layout, new_size) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this allocator with this `layout`.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingThisThread = CountingThisThread;

/// The allocations `work` makes on this thread.
fn allocations_of(work: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|count| count.set(0));
    COUNTING.with(|on| on.set(true));
    work();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

struct Counter(u64);
impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Counter(0))
    }
}

/// Holds the actor inside its handler until `release` fires, after telling
/// `entered`: messages sent meanwhile stay queued, so the count covers the
/// sends alone.
struct Hold {
    entered: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}
impl Receive<Hold> for Counter {
    async fn handle(&mut self, hold: Hold, _: &ActorAssistant<Self>) {
        let _ = hold.entered.send(());
        let _ = hold.release.await;
    }
}

/// Not zero-sized: a box of a zero-sized message allocates nothing, which
/// would hide the envelopes from the count.
struct Add(u64);
impl Receive<Add> for Counter {
    async fn handle(&mut self, Add(n): Add, _: &ActorAssistant<Self>) {
        self.0 += n;
    }
}

struct Get;
impl Respond<Get> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u64 {
        self.0
    }
}

/// Holds actor 0 busy; returns what releases it.
fn hold_busy(sys: &Acteur) -> oneshot::Sender<()> {
    let (entered, is_in) = oneshot::channel();
    let (release, on_release) = oneshot::channel();
    let hold = Hold {
        entered,
        release: on_release,
    };
    sys.send_to_actor_sync::<Counter, Hold>(0, hold).unwrap();
    futures_lite::future::block_on(is_in).unwrap();
    release
}

/// The bound: one envelope per send, plus the mailbox's buffer doubling
/// (at most one growth per power of two) and a little slack.
fn bound(sends: u64) -> u64 {
    sends + u64::from(sends.ilog2()) + 4
}

const SENDS: u64 = 10_000;

#[test]
fn a_fire_and_forget_send_allocates_its_envelope_and_nothing_else() {
    let sys = Acteur::new();
    let release = hold_busy(&sys);

    let plain = allocations_of(|| {
        for _ in 0..SENDS {
            sys.try_send_to_actor::<Counter, Add>(0, Add(1)).unwrap();
        }
    });
    let awaited = allocations_of(|| {
        futures_lite::future::block_on(async {
            for _ in 0..SENDS {
                sys.send_to_actor::<Counter, Add>(0, Add(1)).await.unwrap();
            }
        });
    });

    release.send(()).unwrap();
    // Every message was queued and is handled: nothing was lost.
    assert_eq!(
        sys.call_actor_sync::<Counter, Get>(0, Get).unwrap(),
        2 * SENDS
    );
    assert!(
        plain <= bound(SENDS),
        "{SENDS} try_send_to_actor calls made {plain} allocations (bound {})",
        bound(SENDS)
    );
    // The mailbox grew during the first loop already: the second adds
    // envelopes alone, but for one more doubling.
    assert!(
        awaited <= bound(SENDS),
        "{SENDS} send_to_actor awaits made {awaited} allocations (bound {})",
        bound(SENDS)
    );
    // And not fewer than one per send: the count is real.
    assert!(plain >= SENDS && awaited >= SENDS, "{plain} / {awaited}");
    sys.stop();
    sys.wait_until_stopped();
}
