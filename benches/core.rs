//! Throughput of the core paths, each beside a plain baseline (a thread and
//! a std channel, no framework), so every figure reads as a ratio to it.
//!
//! `cargo bench` runs the full sizes; `ACTEUR_BENCH_QUICK=1 cargo bench`
//! runs a tenth of them. Figures vary with the machine; see the README of
//! the peers harness for side-by-side runs against other libraries.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, Receive, Respond};

struct Counter(u64);
struct Inc;
struct Get;

impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Self {
        Counter(0)
    }
}
impl Receive<Inc> for Counter {
    async fn handle(&mut self, _: Inc, _: &ActorAssistant<Self>) {
        self.0 += 1;
    }
}
impl Respond<Inc> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: Inc, _: &ActorAssistant<Self>) -> u64 {
        self.0 += 1;
        self.0
    }
}
impl Respond<Get> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u64 {
        self.0
    }
}

fn report(name: &str, count: u64, acteur: Duration, baseline: Duration) {
    let rate = |d: Duration| count as f64 / d.as_secs_f64() / 1e6;
    println!(
        "{name:<14} acteur {:>7.2} M/s   baseline {:>7.2} M/s   ratio {:.2}",
        rate(acteur),
        rate(baseline),
        rate(acteur) / rate(baseline)
    );
}

/// `n` fire-and-forget messages to one actor, then a call to confirm.
fn tell_one(n: u64) -> Duration {
    let sys = Acteur::new();
    sys.call_actor_sync::<Counter, Get>(0, Get).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        sys.send_to_actor_sync::<Counter, Inc>(0, Inc).unwrap();
    }
    assert_eq!(sys.call_actor_sync::<Counter, Get>(0, Get).unwrap(), n);
    let elapsed = start.elapsed();
    sys.stop();
    sys.wait_until_stopped();
    elapsed
}

/// `n` sequential request/response round trips to one actor.
fn ask_one(n: u64) -> Duration {
    let sys = Acteur::new();
    sys.call_actor_sync::<Counter, Get>(0, Get).unwrap();
    let start = Instant::now();
    for i in 1..=n {
        assert_eq!(sys.call_actor_sync::<Counter, Inc>(0, Inc).unwrap(), i);
    }
    let elapsed = start.elapsed();
    sys.stop();
    sys.wait_until_stopped();
    elapsed
}

/// Messages handled by `Fresh` actors, to know when all are activated.
static FRESH_HANDLED: AtomicU64 = AtomicU64::new(0);
struct Fresh;
impl Actor for Fresh {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Self {
        Fresh
    }
}
impl Receive<Inc> for Fresh {
    async fn handle(&mut self, _: Inc, _: &ActorAssistant<Self>) {
        FRESH_HANDLED.fetch_add(1, Relaxed);
    }
}

/// `n` actors activated by one message each.
fn spawn_many(n: u64) -> Duration {
    let sys = Acteur::new();
    let start = Instant::now();
    for id in 0..n as u32 {
        sys.send_to_actor_sync::<Fresh, Inc>(id, Inc).unwrap();
    }
    while FRESH_HANDLED.load(Relaxed) < n {
        thread::yield_now();
    }
    let elapsed = start.elapsed();
    sys.stop();
    sys.wait_until_stopped();
    elapsed
}

fn baseline_tell(n: u64) -> Duration {
    let (tx, rx) = mpsc::channel::<u64>();
    let consumer = thread::spawn(move || rx.iter().count() as u64);
    let start = Instant::now();
    for i in 0..n {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), n);
    start.elapsed()
}

fn baseline_ask(n: u64) -> Duration {
    let (tx, rx) = mpsc::channel::<mpsc::SyncSender<u64>>();
    let server = thread::spawn(move || {
        let mut count = 0;
        for reply in rx {
            count += 1;
            reply.send(count).unwrap();
        }
    });
    let start = Instant::now();
    for i in 1..=n {
        let (reply, answer) = mpsc::sync_channel(1);
        tx.send(reply).unwrap();
        assert_eq!(answer.recv().unwrap(), i);
    }
    let elapsed = start.elapsed();
    drop(tx);
    server.join().unwrap();
    elapsed
}

fn main() {
    // `cargo test --benches` passes `--bench`-less arguments; run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let scale = if std::env::var_os("ACTEUR_BENCH_QUICK").is_some() {
        10
    } else {
        1
    };
    let tell = 1_000_000 / scale;
    let ask = 100_000 / scale;
    let spawn = 100_000 / scale;
    report("tell_one", tell, tell_one(tell), baseline_tell(tell));
    report("ask_one", ask, ask_one(ask), baseline_ask(ask));
    let elapsed = spawn_many(spawn);
    println!(
        "{:<14} acteur {:>7.2} M activations/s",
        "spawn_many",
        spawn as f64 / elapsed.as_secs_f64() / 1e6
    );
}
