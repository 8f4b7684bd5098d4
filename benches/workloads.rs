//! The six workloads of the side-by-side peers benchmark
//! (`../shared/peers/run`), on Acteur and on a plain baseline each: tasks and
//! channels on an executor with one thread per core, no framework. The
//! summary at the end prints every Acteur figure as a ratio to its baseline,
//! and the latency of an idle actor's first reply against a busy one's.
//!
//! `cargo bench --bench workloads` runs the peers' sizes;
//! `ACTEUR_BENCH_QUICK=1` runs a tenth of them with shorter measurements.
//! Every iteration builds its own system or pool, untimed; only the
//! workload itself is timed.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};
use criterion::{Criterion, Throughput};
use futures_channel::{mpsc, oneshot};
use futures_lite::StreamExt;

use support::baseline::{Countdown, Pool};
use support::counter::{Counter, Get, Inc, IncAndGet, round_robin, set_countdown};
use support::driver::drive;
use support::report::Report;

/// The peers' sizes, divided in quick mode.
struct Sizes {
    tell_one: u64,
    ask_one: u64,
    tell_many_actors: u64,
    tell_many_total: u64,
    spawn_many: u64,
    ask_concurrent_clients: u64,
    ask_concurrent_each: u64,
    ping_pong: u64,
}

impl Sizes {
    fn new() -> Sizes {
        let scale = u64::from(support::scale());
        Sizes {
            tell_one: 1_000_000 / scale,
            ask_one: 200_000 / scale,
            tell_many_actors: 10_000 / scale,
            tell_many_total: 1_000_000 / scale,
            spawn_many: 100_000 / scale,
            ask_concurrent_clients: 64,
            ask_concurrent_each: 5_000 / scale,
            ping_pong: 500_000 / scale,
        }
    }
}

// ------------------------------------------------------------------ actors

/// Client `id` of ask_concurrent: its sequential requests go to counter `id`.
struct Client(u32);
impl Actor for Client {
    type Id = u32;
    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Client(id))
    }
}
/// Makes `n` sequential requests, then ticks the countdown.
struct Requests(u64, Arc<Countdown>);
impl Receive<Requests> for Client {
    async fn handle(&mut self, Requests(n, done): Requests, a: &ActorAssistant<Self>) {
        let mut last = 0;
        for _ in 0..n {
            last = a
                .call_actor::<Counter, IncAndGet>(self.0, IncAndGet)
                .await
                .unwrap();
        }
        assert_eq!(last, n);
        done.tick();
    }
}

struct Pinger {
    left: u64,
    done: Option<oneshot::Sender<()>>,
}
struct Ponger;
impl Actor for Pinger {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Pinger {
            left: 0,
            done: None,
        })
    }
}
impl Actor for Ponger {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Ponger)
    }
}
struct Start(u64, oneshot::Sender<()>);
struct Ping;
struct Pong;
impl Receive<Start> for Pinger {
    async fn handle(&mut self, Start(n, done): Start, a: &ActorAssistant<Self>) {
        (self.left, self.done) = (n, Some(done));
        a.send_to_actor::<Ponger, Ping>(0, Ping).await.unwrap();
    }
}
impl Receive<Pong> for Pinger {
    async fn handle(&mut self, _: Pong, a: &ActorAssistant<Self>) {
        self.left -= 1;
        if self.left == 0 {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        } else {
            a.send_to_actor::<Ponger, Ping>(0, Ping).await.unwrap();
        }
    }
}
impl Receive<Ping> for Ponger {
    async fn handle(&mut self, _: Ping, a: &ActorAssistant<Self>) {
        a.send_to_actor::<Pinger, Pong>(0, Pong).await.unwrap();
    }
}

/// Activates counter `id` untimed, as the peers do for every case but
/// spawn_many.
fn activate(sys: &Acteur, id: u32) {
    assert_eq!(sys.call_actor_sync::<Counter, Get>(id, Get).unwrap(), 0);
}

// ------------------------------------------------------------------ Acteur side

fn acteur_tell_one(n: u64) -> Duration {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(1);
    set_countdown(n, countdown);
    activate(&sys, 0);
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        for _ in 0..n {
            handle.send_to_actor::<Counter, Inc>(0, Inc).await.unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

fn acteur_ask_one(n: u64) -> Duration {
    let sys = Acteur::new();
    activate(&sys, 0);
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        let mut last = 0;
        for _ in 0..n {
            last = handle
                .call_actor::<Counter, IncAndGet>(0, IncAndGet)
                .await
                .unwrap();
        }
        assert_eq!(last, n);
        start.elapsed()
    })
}

/// `calls` sequential calls round robin over `actors` counters, activated
/// untimed: each call finds its actor idle (its task ended long before),
/// so each answer includes waking the actor up.
fn acteur_ask_round_robin(actors: u64, calls: u64) -> Duration {
    let sys = Acteur::new();
    for id in 0..actors as u32 {
        activate(&sys, id);
    }
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        for i in 0..calls {
            let id = (i % actors) as u32;
            handle
                .call_actor::<Counter, IncAndGet>(id, IncAndGet)
                .await
                .unwrap();
        }
        start.elapsed()
    })
}

fn acteur_tell_many_ids(actors: u64, total: u64) -> Duration {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(actors);
    set_countdown(total / actors, countdown);
    for id in 0..actors as u32 {
        activate(&sys, id);
    }
    let handle = sys.clone();
    drive(sys, async move {
        round_robin(&handle, actors, total, zero).await
    })
}

fn acteur_spawn_many(n: u64) -> Duration {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(n);
    set_countdown(1, countdown);
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        for id in 0..n as u32 {
            handle.send_to_actor::<Counter, Inc>(id, Inc).await.unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

fn acteur_ask_concurrent(clients: u64, each: u64) -> Duration {
    let sys = Acteur::new();
    for id in 0..clients as u32 {
        activate(&sys, id);
        sys.call_actor_sync::<Client, Touch>(id, Touch).unwrap();
    }
    let (countdown, zero) = Countdown::new(clients);
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        for id in 0..clients as u32 {
            let requests = Requests(each, countdown.clone());
            handle
                .send_to_actor::<Client, Requests>(id, requests)
                .await
                .unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

fn acteur_ping_pong(n: u64) -> Duration {
    let sys = Acteur::new();
    let (done, finished) = oneshot::channel();
    // Both activated untimed.
    sys.call_actor_sync::<Ponger, Touch>(0, Touch).unwrap();
    sys.call_actor_sync::<Pinger, Touch>(0, Touch).unwrap();
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        handle
            .send_to_actor::<Pinger, Start>(0, Start(n, done))
            .await
            .unwrap();
        finished.await.unwrap();
        start.elapsed()
    })
}

/// Untimed activation of the actors that count nothing.
struct Touch;
impl Respond<Touch> for Client {
    type Response = ();
    async fn handle(&mut self, _: Touch, _: &ActorAssistant<Self>) {}
}
impl Respond<Touch> for Pinger {
    type Response = ();
    async fn handle(&mut self, _: Touch, _: &ActorAssistant<Self>) {}
}
impl Respond<Touch> for Ponger {
    type Response = ();
    async fn handle(&mut self, _: Touch, _: &ActorAssistant<Self>) {}
}

// ------------------------------------------------------------------ baselines

/// A counting task: ticks `done` after `target` messages from `inbox`.
async fn counting_task(mut inbox: mpsc::UnboundedReceiver<()>, target: u64, done: Arc<Countdown>) {
    let mut count = 0;
    while inbox.next().await.is_some() {
        count += 1;
        if count == target {
            done.tick();
        }
    }
}

fn baseline_tell_one(n: u64) -> Duration {
    let pool = Pool::new();
    let (countdown, zero) = Countdown::new(1);
    let (tx, rx) = mpsc::unbounded();
    pool.spawn(counting_task(rx, n, countdown));
    pool.run(async move {
        let start = Instant::now();
        for _ in 0..n {
            tx.unbounded_send(()).unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

type Request = oneshot::Sender<u64>;

/// A task answering each request with its running count.
async fn serving_task(mut inbox: mpsc::UnboundedReceiver<Request>) {
    let mut count = 0;
    while let Some(reply) = inbox.next().await {
        count += 1;
        let _ = reply.send(count);
    }
}

async fn request(server: &mpsc::UnboundedSender<Request>) -> u64 {
    let (reply, answer) = oneshot::channel();
    server.unbounded_send(reply).unwrap();
    answer.await.unwrap()
}

fn baseline_ask_one(n: u64) -> Duration {
    let pool = Pool::new();
    let (tx, rx) = mpsc::unbounded();
    pool.spawn(serving_task(rx));
    pool.run(async move {
        let start = Instant::now();
        let mut last = 0;
        for _ in 0..n {
            last = request(&tx).await;
        }
        assert_eq!(last, n);
        start.elapsed()
    })
}

fn baseline_tell_many_ids(actors: u64, total: u64) -> Duration {
    let pool = Pool::new();
    let (countdown, zero) = Countdown::new(actors);
    let senders: Vec<_> = (0..actors)
        .map(|_| {
            let (tx, rx) = mpsc::unbounded();
            pool.spawn(counting_task(rx, total / actors, countdown.clone()));
            tx
        })
        .collect();
    pool.run(async move {
        let start = Instant::now();
        for i in 0..total {
            senders[(i % actors) as usize].unbounded_send(()).unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

fn baseline_spawn_many(n: u64) -> Duration {
    let pool = Arc::new(Pool::new());
    let (countdown, zero) = Countdown::new(n);
    let spawner = pool.clone();
    let (elapsed, senders) = pool.run(async move {
        let start = Instant::now();
        // The senders are kept, as an address table would: each task stays
        // alive and idle after its message, like an idle actor.
        let senders: Vec<_> = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded();
                spawner.spawn(counting_task(rx, 1, countdown.clone()));
                tx.unbounded_send(()).unwrap();
                tx
            })
            .collect();
        zero.await.unwrap();
        (start.elapsed(), senders)
    });
    drop(senders);
    elapsed
}

fn baseline_ask_concurrent(clients: u64, each: u64) -> Duration {
    let pool = Arc::new(Pool::new());
    let (countdown, zero) = Countdown::new(clients);
    let servers: Vec<_> = (0..clients)
        .map(|_| {
            let (tx, rx) = mpsc::unbounded();
            pool.spawn(serving_task(rx));
            tx
        })
        .collect();
    let spawner = pool.clone();
    pool.run(async move {
        let start = Instant::now();
        for server in servers {
            let countdown = countdown.clone();
            spawner.spawn(async move {
                for _ in 0..each {
                    request(&server).await;
                }
                countdown.tick();
            });
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

fn baseline_ping_pong(n: u64) -> Duration {
    let pool = Pool::new();
    let (to_ponger, mut ponger_inbox) = mpsc::unbounded::<()>();
    let (to_pinger, mut pinger_inbox) = mpsc::unbounded::<()>();
    pool.spawn(async move {
        while ponger_inbox.next().await.is_some() {
            if to_pinger.unbounded_send(()).is_err() {
                break;
            }
        }
    });
    pool.run(async move {
        let start = Instant::now();
        for _ in 0..n {
            to_ponger.unbounded_send(()).unwrap();
            pinger_inbox.next().await.unwrap();
        }
        start.elapsed()
    })
}

// ------------------------------------------------------------------ criterion

/// Benchmarks `acteur` beside `baseline` as group `name`, `items` per run.
fn pair(
    c: &mut Criterion,
    report: &Report,
    name: &str,
    items: u64,
    acteur: impl Fn() -> Duration,
    baseline: impl Fn() -> Duration,
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(items));
    support::report::configure(&mut group);
    group.bench_function("acteur", |b| {
        b.iter_custom(|runs| report.timed(name, "acteur", items, runs, &acteur))
    });
    group.bench_function("baseline", |b| {
        b.iter_custom(|runs| report.timed(name, "baseline", items, runs, &baseline))
    });
    group.finish();
}

fn main() {
    let mut c = support::report::criterion();
    let report = Report::default();
    let s = Sizes::new();
    pair(
        &mut c,
        &report,
        "tell_one",
        s.tell_one,
        || acteur_tell_one(s.tell_one),
        || baseline_tell_one(s.tell_one),
    );
    pair(
        &mut c,
        &report,
        "ask_one",
        s.ask_one,
        || acteur_ask_one(s.ask_one),
        || baseline_ask_one(s.ask_one),
    );
    pair(
        &mut c,
        &report,
        "tell_many_ids",
        s.tell_many_total,
        || acteur_tell_many_ids(s.tell_many_actors, s.tell_many_total),
        || baseline_tell_many_ids(s.tell_many_actors, s.tell_many_total),
    );
    pair(
        &mut c,
        &report,
        "spawn_many",
        s.spawn_many,
        || acteur_spawn_many(s.spawn_many),
        || baseline_spawn_many(s.spawn_many),
    );
    let concurrent = s.ask_concurrent_clients * s.ask_concurrent_each;
    pair(
        &mut c,
        &report,
        "ask_concurrent",
        concurrent,
        || acteur_ask_concurrent(s.ask_concurrent_clients, s.ask_concurrent_each),
        || baseline_ask_concurrent(s.ask_concurrent_clients, s.ask_concurrent_each),
    );
    pair(
        &mut c,
        &report,
        "ping_pong",
        s.ping_pong,
        || acteur_ping_pong(s.ping_pong),
        || baseline_ping_pong(s.ping_pong),
    );
    first_reply(&mut c, &report, &s);
    c.final_summary();
    report.print();
    report.print_ratio(
        "first reply",
        ("idle actor", "idle"),
        ("busy actor", "busy"),
        "latency of an idle actor's first reply / a busy actor's (issue target: at most 2)",
    );
}

/// The target "a send to an idle actor and its first reply within twice
/// the latency of a send to a busy one": sequential calls to actors that
/// are idle each time (round robin over 10,000), beside sequential calls to
/// one actor, whose task is still running when the next call arrives.
fn first_reply(c: &mut Criterion, report: &Report, s: &Sizes) {
    let mut group = c.benchmark_group("first_reply");
    group.throughput(Throughput::Elements(s.ask_one));
    support::report::configure(&mut group);
    let (actors, calls) = (s.tell_many_actors, s.ask_one);
    group.bench_function("idle_actor", |b| {
        b.iter_custom(|runs| {
            report.timed("first reply", "idle", calls, runs, || {
                acteur_ask_round_robin(actors, calls)
            })
        })
    });
    group.bench_function("busy_actor", |b| {
        b.iter_custom(|runs| {
            report.timed("first reply", "busy", calls, runs, || acteur_ask_one(calls))
        })
    });
    group.finish();
}
