//! What backpressure costs and what it bounds.
//!
//! - `bounded_throughput`: fire-and-forget throughput, 1,000,000 messages
//!   to one actor and round-robin over 10,000 actors, with a mailbox
//!   capacity of 1,024 and unbounded; medians of 7 alternating runs, wall
//!   rate and CPU time per message.
//! - `flood_memory`: 10,000,000 messages sent as fast as one thread can to
//!   one slow actor (about a microsecond of work per message) with a
//!   capacity of 1,024: the peak heap stays flat. For contrast, the same
//!   flood into an unbounded mailbox, with a tenth of the messages.
//!
//! `cargo bench --bench overload`; `ACTEUR_BENCH_QUICK=1` runs a tenth of
//! the sizes, `ACTEUR_BENCH_ONLY=flood_memory` (or `bounded_throughput`)
//! only one of the two.

#![allow(
    clippy::needless_update,
    reason = "configurations gain fields in later versions; `..Default::default()` keeps this compiling"
)]

mod support;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Receive, Respond};
use futures_lite::future::block_on;
use support::{Counting, count_heap, peak_since, reset_peak};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CAPACITY: usize = 1_024;

static HANDLED: AtomicU64 = AtomicU64::new(0);

/// Counts what it is sent; `BOUNDED` gives it a mailbox of `CAPACITY`.
struct Sink<const BOUNDED: bool>(u64);

impl<const BOUNDED: bool> Actor for Sink<BOUNDED> {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Sink(0))
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: None,
            mailbox_capacity: BOUNDED.then_some(CAPACITY),
            ..Default::default()
        }
    }
}

/// A message with a payload, so that its envelope is a real allocation.
struct Work(u64);
impl<const BOUNDED: bool> Receive<Work> for Sink<BOUNDED> {
    async fn handle(&mut self, m: Work, _: &ActorAssistant<Self>) {
        self.0 = self.0.wrapping_add(m.0);
        HANDLED.fetch_add(1, Relaxed);
    }
}

struct Ping;
impl<const BOUNDED: bool> Respond<Ping> for Sink<BOUNDED> {
    type Response = ();
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

fn wait_handled(target: u64) {
    while HANDLED.load(Relaxed) < target {
        thread::sleep(Duration::from_micros(50));
    }
}

/// `messages` fire-and-forget messages round-robin over `ids` live actors,
/// sent from one thread with the async `send_to_actor` (which waits for
/// room when a mailbox is full): messages per second (wall), and CPU
/// nanoseconds per message if known.
fn throughput<const BOUNDED: bool>(ids: u32, messages: u32) -> (f64, Option<f64>) {
    let sys = Acteur::new();
    for id in 0..ids {
        sys.call_actor_sync::<Sink<BOUNDED>, Ping>(id, Ping)
            .unwrap();
    }
    HANDLED.store(0, Relaxed);
    let measured = support::rate(messages, || {
        block_on(async {
            for i in 0..messages {
                sys.send_to_actor::<Sink<BOUNDED>, Work>(i % ids, Work(u64::from(i)))
                    .await
                    .unwrap();
            }
        });
        wait_handled(u64::from(messages));
    });
    sys.stop();
    sys.wait_until_stopped();
    measured
}

fn bounded_throughput(ids: u32, messages: u32) {
    support::compare(
        &format!("bounded_throughput {messages} messages over {ids} actor(s)"),
        ("unbounded", || throughput::<false>(ids, messages)),
        ("capacity 1024", || throughput::<true>(ids, messages)),
    );
}

/// Takes about a microsecond per message.
struct Slow<const BOUNDED: bool>(u64);

impl<const BOUNDED: bool> Actor for Slow<BOUNDED> {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Slow(0))
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: None,
            mailbox_capacity: BOUNDED.then_some(CAPACITY),
            ..Default::default()
        }
    }
}

impl<const BOUNDED: bool> Receive<Work> for Slow<BOUNDED> {
    async fn handle(&mut self, m: Work, _: &ActorAssistant<Self>) {
        let mut value = m.0;
        for _ in 0..300 {
            value = std::hint::black_box(value.wrapping_mul(31).wrapping_add(7));
        }
        self.0 = self.0.wrapping_add(value);
        HANDLED.fetch_add(1, Relaxed);
    }
}

/// Floods one `Slow` actor with `messages` from one thread; returns the
/// time and the peak heap above the starting point.
fn flood<const BOUNDED: bool>(messages: u32) -> (Duration, usize) {
    let sys = Acteur::new();
    HANDLED.store(0, Relaxed);
    let before = reset_peak();
    let start = Instant::now();
    block_on(async {
        for i in 0..messages {
            sys.send_to_actor::<Slow<BOUNDED>, Work>(0, Work(u64::from(i)))
                .await
                .unwrap();
        }
    });
    wait_handled(u64::from(messages));
    let elapsed = start.elapsed();
    let peak = peak_since(before);
    sys.stop();
    sys.wait_until_stopped();
    (elapsed, peak)
}

fn flood_memory(messages: u32) {
    count_heap(true);
    for (label, messages, (elapsed, peak)) in [
        ("capacity 1024", messages, flood::<true>(messages)),
        ("unbounded", messages / 10, flood::<false>(messages / 10)),
    ] {
        println!(
            "flood_memory {label:<13} {messages} messages to one slow actor: {:.2} M msg/s, \
             peak heap {:.1} kB ({:.2} B per message sent)",
            f64::from(messages) / elapsed.as_secs_f64() / 1e6,
            peak as f64 / 1e3,
            peak as f64 / f64::from(messages),
        );
    }
    count_heap(false);
}

fn main() {
    if !support::invoked_as_bench() {
        return;
    }
    let scale = support::scale();
    let only = std::env::var("ACTEUR_BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only == name);
    if wanted("bounded_throughput") {
        bounded_throughput(1, 1_000_000 / scale);
        bounded_throughput(10_000, 1_000_000 / scale);
    }
    if wanted("flood_memory") {
        flood_memory(10_000_000 / scale);
    }
}
