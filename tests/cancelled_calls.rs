//! Calls dropped while they wait leave nothing behind: no waiting-call
//! entry with its deadline, no link of a call chain, no envelope. Counted
//! by a global allocator that counts the live allocations of every thread;
//! its own binary, for that allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};
use futures_lite::future::poll_once;

struct CountingLive;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter only observes the calls.
unsafe impl GlobalAlloc for CountingLive {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, SeqCst);
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, SeqCst);
        // SAFETY: `pointer` came from this allocator with this `layout`.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingLive = CountingLive;

/// Requests the callee has handled.
static HANDLED: AtomicUsize = AtomicUsize::new(0);

struct Callee;
impl Actor for Callee {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Callee)
    }
}
struct Ping;
impl Respond<Ping> for Callee {
    type Response = ();
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {
        HANDLED.fetch_add(1, SeqCst);
    }
}

/// Makes calls from inside an actor, so that each carries a chain link,
/// and drops each after its first poll, while it waits for its answer.
struct Caller;
impl Actor for Caller {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Caller)
    }
}
struct Burst(usize);
impl Respond<Burst> for Caller {
    type Response = usize;
    /// How many calls were still waiting when dropped.
    async fn handle(&mut self, burst: Burst, assistant: &ActorAssistant<Self>) -> usize {
        let mut waiting = 0;
        for _ in 0..burst.0 {
            let call = assistant.call_actor_with_timeout::<Callee, Ping>(
                1,
                Ping,
                Duration::from_secs(3600),
            );
            if poll_once(Box::pin(call)).await.is_none() {
                waiting += 1;
            }
        }
        waiting
    }
}

/// Makes `count` cancelled calls and waits until the callee handled them.
fn cancelled_calls(sys: &Acteur, count: usize) {
    let start = HANDLED.load(SeqCst);
    let waiting = sys
        .call_actor_sync::<Caller, Burst>(1, Burst(count))
        .unwrap();
    assert!(
        waiting > count / 2,
        "only {waiting} of {count} calls waited"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while HANDLED.load(SeqCst) < start + count {
        assert!(
            Instant::now() < deadline,
            "the cancelled requests were not handled"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // The callee's drain task drops the last envelope after counting it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sys.statistics().actor::<Callee>().unwrap().busy_actors > 0 {
        assert!(Instant::now() < deadline, "the callee did not go idle");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn ten_thousand_cancelled_calls_leave_nothing_behind() {
    let sys = Acteur::new();
    // Everything made once (worker threads, queues, tables) is made now.
    cancelled_calls(&sys, 1_000);
    let before = LIVE.load(SeqCst);
    cancelled_calls(&sys, 10_000);
    let left = LIVE.load(SeqCst) - before;
    assert!(
        left < 100,
        "{left} allocations more after 10,000 cancelled calls"
    );
    assert_eq!(sys.statistics().waiting_calls, 0);
    sys.stop();
    sys.wait_until_stopped();
}
