//! Heap bytes per idle actor, with 100,000 and 1,000,000 actors alive, beside
//! a plain baseline: a task and a channel per actor, its sender kept, as an
//! address table would. Then heap bytes per pending scheduled message, with
//! 100,000 pending, and their `Timer`s kept. Counted by a global allocator;
//! the process's resident memory is printed too.
//!
//! Not a criterion bench: it measures bytes, not time.
//! `cargo bench --bench memory`; `ACTEUR_BENCH_QUICK=1` measures a tenth.

mod support;

use std::sync::{Arc, Mutex};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive};
use futures_channel::mpsc;
use futures_lite::StreamExt;

use support::baseline::{Countdown, Pool};

#[global_allocator]
static ALLOCATOR: support::Counting = support::Counting;

static COUNTDOWN: Mutex<Option<Arc<Countdown>>> = Mutex::new(None);

/// The peers' `idle_memory` actor: one counter.
struct Counter {
    count: u64,
    done: Arc<Countdown>,
}

impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let done = COUNTDOWN
            .lock()
            .unwrap()
            .clone()
            .expect("set before the run");
        Ok(Counter { count: 0, done })
    }
}

struct Inc;
impl Receive<Inc> for Counter {
    async fn handle(&mut self, _: Inc, _: &ActorAssistant<Self>) {
        self.count += 1;
        self.done.tick();
    }
}

/// Heap bytes per actor with `n` idle actors alive, and the resident set.
fn acteur_idle(n: u32) -> (f64, Option<u64>) {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(u64::from(n));
    *COUNTDOWN.lock().unwrap() = Some(countdown);
    // The system's own start (threads, registries) is not the actors'.
    sys.send_to_actor_sync::<Counter, Inc>(n, Inc).unwrap();
    support::count_heap(true);
    let before = support::reset_peak();
    for id in 0..n {
        sys.send_to_actor_sync::<Counter, Inc>(id, Inc).unwrap();
    }
    futures_lite::future::block_on(zero).unwrap();
    // Every actor has handled its message; the drain tasks may still be
    // returning their activations to their slots. Statistics count busy
    // actors: wait until none is.
    while sys.statistics().actors.iter().any(|a| a.busy_actors > 0) {
        std::thread::yield_now();
    }
    let after = support::reset_peak();
    support::count_heap(false);
    let resident = resident_bytes();
    sys.stop();
    sys.wait_until_stopped();
    ((after - before) as f64 / f64::from(n), resident)
}

/// Heap bytes per pending scheduled message with `n` pending, an hour away,
/// their `Timer`s kept (as a program that may cancel them would).
fn acteur_pending_timers(n: u32) -> f64 {
    let sys = Acteur::new();
    let hour = std::time::Duration::from_secs(3600);
    // The sweeper's own start is not the timers'.
    let first = sys
        .schedule_send_to_actor_sync::<Counter, Inc>(0, hour, Inc)
        .unwrap();
    support::count_heap(true);
    let before = support::reset_peak();
    let timers: Vec<_> = (0..n)
        .map(|id| {
            sys.schedule_send_to_actor_sync::<Counter, Inc>(id, hour, Inc)
                .unwrap()
        })
        .collect();
    let after = support::reset_peak();
    support::count_heap(false);
    assert_eq!(sys.statistics().scheduled_pending, n as usize + 1);
    drop((first, timers));
    sys.stop();
    sys.wait_until_stopped();
    (after - before) as f64 / f64::from(n)
}

fn baseline_idle(n: u32) -> (f64, Option<u64>) {
    let pool = Pool::new();
    let (countdown, zero) = Countdown::new(u64::from(n));
    support::count_heap(true);
    let before = support::reset_peak();
    let senders: Vec<_> = (0..n)
        .map(|_| {
            let (tx, mut rx) = mpsc::unbounded::<()>();
            let done = countdown.clone();
            pool.spawn(async move {
                let mut count = 0u64;
                while rx.next().await.is_some() {
                    count += 1;
                    done.tick();
                }
                std::hint::black_box(count);
            });
            tx.unbounded_send(()).unwrap();
            tx
        })
        .collect();
    futures_lite::future::block_on(zero).unwrap();
    let after = support::reset_peak();
    support::count_heap(false);
    let resident = resident_bytes();
    drop(senders);
    ((after - before) as f64 / f64::from(n), resident)
}

/// The process's resident set (`VmRSS` in `/proc/self/status`; Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or("?".to_owned(), |bytes| {
        format!("{:.0} MB", bytes as f64 / 1e6)
    })
}

fn main() {
    if !support::invoked_as_bench() {
        return;
    }
    let scale = support::scale();
    println!(
        "| idle actors | Acteur heap B/actor | baseline heap B/actor | Acteur / baseline | Acteur process RSS |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for n in [100_000 / scale, 1_000_000 / scale] {
        let (acteur, resident) = acteur_idle(n);
        let (baseline, _) = baseline_idle(n);
        println!(
            "| {n} | {acteur:.0} | {baseline:.0} | {:.2} | {} |",
            acteur / baseline,
            megabytes(resident)
        );
    }
    println!();
    println!("| pending scheduled messages | Acteur heap B/timer (with its `Timer`) |");
    println!("|---:|---:|");
    let n = 100_000 / scale;
    println!("| {n} | {:.0} |", acteur_pending_timers(n));
}
