//! Whether throughput stays flat as the work grows:
//!
//! - **tell_many_ids** over 1,000, 10,000, 100,000 and 1,000,000 actors:
//!   2,000,000 fire-and-forget messages in a round robin over actors
//!   activated beforehand (untimed), as in the peers' `tell_many_ids`.
//! - **spawn_many** at 100,000, 1,000,000 and 5,000,000 actors: one message
//!   to each new ID, which activates it (the peers' `spawn_many`); and the
//!   heap bytes per idle actor once all of them have handled it, counted
//!   by a global allocator in a run of its own (counting slows every
//!   allocation, so the timed runs do not count).
//!
//! The issue's target: at the largest size, at least 0.7x the throughput of
//! the smallest, and bytes per idle actor that do not grow. Each rate is
//! the median of three runs, each on a fresh system driven from inside it
//! (`support::driver`). With `ACTEUR_SCALING_CSV=PATH`, the figures are
//! also written to `PATH`, from which `scripts/scaling_chart.py` draws the
//! chart in BENCHMARKS.md:
//!
//! ```sh
//! ACTEUR_SCALING_CSV=docs/scaling.csv cargo bench --bench scaling
//! python3 scripts/scaling_chart.py docs/scaling.csv docs/scaling.svg
//! ```
//!
//! `ACTEUR_BENCH_QUICK=1` runs a tenth of every size.

mod support;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use acteur::{Acteur, ActorAssistant, Receive};

use support::baseline::Countdown;
use support::counter::{Counter, Inc, round_robin, set_countdown};
use support::driver::drive;

#[global_allocator]
static ALLOCATOR: support::Counting = support::Counting;

/// Messages per tell_many_ids run, whatever the number of actors.
const TELL_MANY_TOTAL: u64 = 2_000_000;
const TELL_MANY_ACTORS: [u64; 4] = [1_000, 10_000, 100_000, 1_000_000];
const SPAWN_MANY: [u64; 3] = [100_000, 1_000_000, 5_000_000];
const RUNS: usize = 3;

/// Sets a counter's target and the countdown it ticks on reaching it, and
/// ticks `armed`: the untimed first message of a tell_many_ids run, which
/// activates the counter.
struct Arm {
    target: u64,
    done: Arc<Countdown>,
    armed: Arc<Countdown>,
}
impl Receive<Arm> for Counter {
    async fn handle(&mut self, arm: Arm, _: &ActorAssistant<Self>) {
        (self.count, self.target, self.done) = (0, arm.target, Some(arm.done));
        arm.armed.tick();
    }
}

/// Messages per second of one tell_many_ids run: `total` messages in a
/// round robin over `actors` counters, activated (untimed) first.
fn tell_many_ids(actors: u64, total: u64) -> f64 {
    let sys = Acteur::new();
    let handle = sys.clone();
    let elapsed = drive(sys, async move {
        let (armed, all_armed) = Countdown::new(actors);
        let (done, zero) = Countdown::new(actors);
        for id in 0..actors as u32 {
            let arm = Arm {
                target: total / actors,
                done: done.clone(),
                armed: armed.clone(),
            };
            handle.send_to_actor::<Counter, Arm>(id, arm).await.unwrap();
        }
        all_armed.await.unwrap();
        round_robin(&handle, actors, total, zero).await
    });
    total as f64 / elapsed.as_secs_f64()
}

/// Activations per second of one spawn_many run of `n` actors, and, if
/// `count_heap`, the heap bytes per idle actor once all have handled their
/// message.
fn spawn_many(n: u64, count_heap: bool) -> (f64, Option<f64>) {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(n);
    set_countdown(1, countdown);
    // The system's own start (threads, registries) is not the actors'.
    sys.send_to_actor_sync::<Counter, Inc>(u32::MAX, Inc)
        .unwrap();
    let before = count_heap.then(|| {
        support::count_heap(true);
        support::reset_peak()
    });
    let handle = sys.clone();
    let elapsed = support::driver::run(&sys, async move {
        let start = Instant::now();
        for id in 0..n as u32 {
            handle.send_to_actor::<Counter, Inc>(id, Inc).await.unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    });
    let bytes = before.map(|before| {
        // Every actor has handled its message; the drain tasks may still be
        // returning their activations to their slots: wait until none is busy.
        while sys.statistics().actors.iter().any(|a| a.busy_actors > 0) {
            std::thread::yield_now();
        }
        let after = support::reset_peak();
        support::count_heap(false);
        (after - before) as f64 / n as f64
    });
    sys.stop();
    sys.wait_until_stopped();
    (n as f64 / elapsed.as_secs_f64(), bytes)
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    if !support::invoked_as_bench() {
        return;
    }
    let scale = u64::from(support::scale());
    let mut csv = String::from("workload,size,rate_per_s,bytes_per_actor\n");
    println!(
        "tell_many_ids: {} messages in a round robin",
        TELL_MANY_TOTAL / scale
    );
    let mut first = None;
    for actors in TELL_MANY_ACTORS.map(|n| n / scale) {
        let rate = median(
            (0..RUNS)
                .map(|_| tell_many_ids(actors, TELL_MANY_TOTAL / scale))
                .collect(),
        );
        let relative = rate / *first.get_or_insert(rate);
        println!(
            "  {actors:>9} actors  {:>6.2} M msg/s  {relative:.2}x the smallest",
            rate / 1e6
        );
        writeln!(csv, "tell_many_ids,{actors},{rate:.0},").unwrap();
    }
    println!("spawn_many: one message to each new ID");
    let mut first = None;
    for n in SPAWN_MANY.map(|n| n / scale) {
        let rate = median((0..RUNS).map(|_| spawn_many(n, false).0).collect());
        let bytes = spawn_many(n, true).1.unwrap_or(f64::NAN);
        let relative = rate / *first.get_or_insert(rate);
        println!(
            "  {n:>9} actors  {:>6.2} M activations/s  {relative:.2}x the smallest  {bytes:.0} B per idle actor",
            rate / 1e6
        );
        writeln!(csv, "spawn_many,{n},{rate:.0},{bytes:.0}").unwrap();
    }
    if let Some(path) = std::env::var_os("ACTEUR_SCALING_CSV") {
        std::fs::write(&path, csv).expect("write the CSV");
        println!("written to {}", path.to_string_lossy());
    }
}
