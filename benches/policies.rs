//! What the deallocation policies cost and what they bound.
//!
//! - `bounded_activations`: 1,000,000 actors activated, one message each
//!   (at most about 2,000 waiting at a time), with `max_actors = 100_000` (a
//!   tenth) and without a limit: activations per second and peak heap (from
//!   a counting allocator), which the limit must bound.
//! - `policy_overhead`: fire-and-forget throughput to 10,000 live actors of a
//!   type with no policy and of one with `max_actors` and `max_memory` set
//!   (high enough that nothing is evicted), to show the hot-path cost of the
//!   bookkeeping alone.
//!
//! `cargo bench --bench policies`; `ACTEUR_BENCH_QUICK=1` runs a tenth of the
//! sizes.

#![allow(
    clippy::needless_update,
    reason = "configurations gain fields in later versions; `..Default::default()` keeps this compiling"
)]

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Receive, Respond};
use support::{Counting, count_heap, peak_since, reset_peak};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static HANDLED: AtomicU64 = AtomicU64::new(0);

/// An actor that holds one counter; `LIMITED` says whether its type has limits.
struct Player<const LIMITED: bool>(u64);

impl<const LIMITED: bool> Actor for Player<LIMITED> {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Player(0))
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: None,
            max_actors: LIMITED.then(|| MAX_ACTORS.load(Relaxed)),
            max_memory: LIMITED.then_some(1 << 30),
            ..Default::default()
        }
    }
}

/// A tenth of the actors activated: 100,000 in a full run.
static MAX_ACTORS: AtomicUsize = AtomicUsize::new(100_000);

struct Move;
impl<const LIMITED: bool> Receive<Move> for Player<LIMITED> {
    async fn handle(&mut self, _: Move, _: &ActorAssistant<Self>) {
        self.0 += 1;
        HANDLED.fetch_add(1, Relaxed);
    }
}

struct Ping;
impl<const LIMITED: bool> Respond<Ping> for Player<LIMITED> {
    type Response = ();
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

const IN_FLIGHT: u32 = 1_000;

fn wait_handled(target: u64) {
    while HANDLED.load(Relaxed) < target {
        thread::sleep(Duration::from_micros(50));
    }
}

/// Activates `n` actors with one message each; returns the time, the peak
/// heap above the starting point, and the live actors at the end.
fn activate_many<const LIMITED: bool>(n: u32) -> (Duration, usize, usize) {
    let sys = Acteur::new();
    HANDLED.store(0, Relaxed);
    let before = reset_peak();
    let start = Instant::now();
    for id in 0..n {
        sys.send_to_actor_sync::<Player<LIMITED>, Move>(id, Move)
            .unwrap();
        // At most about twice `IN_FLIGHT` messages wait, so that the peak measures the
        // live actors, not a backlog of queued messages (backpressure is
        // issue 4's business).
        if id % IN_FLIGHT == 0 {
            wait_handled(u64::from(id.saturating_sub(IN_FLIGHT)));
        }
    }
    wait_handled(u64::from(n));
    let elapsed = start.elapsed();
    let peak = peak_since(before);
    let live = sys
        .statistics()
        .actor::<Player<LIMITED>>()
        .map_or(0, |a| a.active_actors);
    sys.stop();
    sys.wait_until_stopped();
    (elapsed, peak, live)
}

fn bounded_activations(n: u32) {
    count_heap(true);
    for (label, (elapsed, peak, live)) in [
        ("max_actors=n/10", activate_many::<true>(n)),
        ("no limit", activate_many::<false>(n)),
    ] {
        println!(
            "bounded_activations {label:<16} {n} activations: {:>5.2} M/s, peak heap {:>6.1} MB, \
             {live} live at the end, {:>5.0} B of peak per live actor",
            f64::from(n) / elapsed.as_secs_f64() / 1e6,
            peak as f64 / 1e6,
            peak as f64 / live.max(1) as f64,
        );
    }
    count_heap(false);
}

/// `messages` fire-and-forget messages round-robin over `ids` live actors:
/// messages per second (wall), and CPU nanoseconds per message if known.
fn throughput<const LIMITED: bool>(ids: u32, messages: u32) -> (f64, Option<f64>) {
    let sys = Acteur::new();
    for id in 0..ids {
        sys.call_actor_sync::<Player<LIMITED>, Ping>(id, Ping)
            .unwrap();
    }
    HANDLED.store(0, Relaxed);
    let measured = support::rate(messages, || {
        for i in 0..messages {
            sys.send_to_actor_sync::<Player<LIMITED>, Move>(i % ids, Move)
                .unwrap();
        }
        wait_handled(u64::from(messages));
    });
    sys.stop();
    sys.wait_until_stopped();
    measured
}

fn policy_overhead(ids: u32, messages: u32) {
    support::compare(
        &format!("policy_overhead {messages} messages over {ids} actors"),
        ("no policy", || throughput::<false>(ids, messages)),
        ("max_actors+max_memory", || {
            throughput::<true>(ids, messages)
        }),
    );
}

fn main() {
    if !support::invoked_as_bench() {
        return;
    }
    let scale = support::scale();
    MAX_ACTORS.store(100_000 / scale as usize, Relaxed);
    bounded_activations(1_000_000 / scale);
    policy_overhead(10_000, 1_000_000 / scale);
}
