//! Services: throughput at each concurrency mode, and publish fan-out to ten
//! subscribers, each beside a plain baseline (tasks and channels on an
//! executor with one thread per core, no framework).
//!
//! `cargo bench --bench services`; `ACTEUR_BENCH_QUICK=1` runs a tenth of
//! the sizes with shorter measurements.

mod support;

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acteur::{
    Acteur, BoxError, Listen, Service, ServiceAssistant, ServiceConcurrency, ServiceConfiguration,
};
use criterion::{Criterion, Throughput};
use futures_channel::mpsc;
use futures_lite::StreamExt;

use support::baseline::{Countdown, Pool};
use support::driver::drive;
use support::report::Report;

/// The work of one message: about a hundred nanoseconds of arithmetic, so
/// that running handlers side by side has something to share out.
fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// The countdown of the current iteration, ticked once per message.
static COUNTDOWN: Mutex<Option<Arc<Countdown>>> = Mutex::new(None);

fn countdown() -> Arc<Countdown> {
    COUNTDOWN
        .lock()
        .unwrap()
        .clone()
        .expect("set before the run")
}

#[derive(Clone)]
struct Job(u64);

/// A service whose concurrency is mode `MODE` of [`mode`]; each mode is a
/// type of its own, since a service's configuration belongs to its type.
struct Worker<const MODE: u8> {
    done: Arc<Countdown>,
}

fn mode(index: u8) -> ServiceConcurrency {
    match index {
        0 => ServiceConcurrency::None,
        1 => ServiceConcurrency::OnePerCore,
        2 => ServiceConcurrency::Fixed(8),
        _ => ServiceConcurrency::Unlimited,
    }
}

const MODES: [(u8, &str); 4] = [
    (0, "None"),
    (1, "OnePerCore"),
    (2, "Fixed(8)"),
    (3, "Unlimited"),
];

impl<const MODE: u8> Service for Worker<MODE> {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let configuration = ServiceConfiguration {
            concurrency: mode(MODE),
            ..ServiceConfiguration::default()
        };
        Ok((Worker { done: countdown() }, configuration))
    }
}

impl<const MODE: u8> Listen<Job> for Worker<MODE> {
    async fn handle(&self, Job(seed): Job, _: &ServiceAssistant<Self>) {
        black_box(work(seed));
        self.done.tick();
    }
}

fn acteur_service<const MODE: u8>(n: u64) -> Duration {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(n);
    *COUNTDOWN.lock().unwrap() = Some(countdown);
    sys.preload_service_sync::<Worker<MODE>>().unwrap();
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        for i in 0..n {
            handle
                .send_to_service::<Worker<MODE>, Job>(Job(i))
                .await
                .unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

/// One task per core, each with its own channel, fed in turn: what a
/// service of one handler per core does without the library.
fn baseline_service(n: u64) -> Duration {
    let pool = Pool::new();
    let (countdown, zero) = Countdown::new(n);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers: Vec<_> = (0..cores)
        .map(|_| {
            let (tx, mut rx) = mpsc::unbounded::<Job>();
            let done = countdown.clone();
            pool.spawn(async move {
                while let Some(Job(seed)) = rx.next().await {
                    black_box(work(seed));
                    done.tick();
                }
            });
            tx
        })
        .collect();
    pool.run(async move {
        let start = Instant::now();
        for i in 0..n {
            workers[i as usize % cores].unbounded_send(Job(i)).unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

/// Subscriber `K` of ten, each a service of its own type.
struct Subscriber<const K: u8> {
    done: Arc<Countdown>,
}

impl<const K: u8> Service for Subscriber<K> {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.subscribe::<Job>().await.unwrap();
        Ok((
            Subscriber { done: countdown() },
            ServiceConfiguration::default(),
        ))
    }
}

impl<const K: u8> Listen<Job> for Subscriber<K> {
    async fn handle(&self, Job(seed): Job, _: &ServiceAssistant<Self>) {
        black_box(seed);
        self.done.tick();
    }
}

fn preload_subscribers(sys: &Acteur) {
    sys.preload_service_sync::<Subscriber<0>>().unwrap();
    sys.preload_service_sync::<Subscriber<1>>().unwrap();
    sys.preload_service_sync::<Subscriber<2>>().unwrap();
    sys.preload_service_sync::<Subscriber<3>>().unwrap();
    sys.preload_service_sync::<Subscriber<4>>().unwrap();
    sys.preload_service_sync::<Subscriber<5>>().unwrap();
    sys.preload_service_sync::<Subscriber<6>>().unwrap();
    sys.preload_service_sync::<Subscriber<7>>().unwrap();
    sys.preload_service_sync::<Subscriber<8>>().unwrap();
    sys.preload_service_sync::<Subscriber<9>>().unwrap();
}

const SUBSCRIBERS: u64 = 10;

fn acteur_fan_out(n: u64) -> Duration {
    let sys = Acteur::new();
    let (countdown, zero) = Countdown::new(n * SUBSCRIBERS);
    *COUNTDOWN.lock().unwrap() = Some(countdown);
    preload_subscribers(&sys);
    let handle = sys.clone();
    drive(sys, async move {
        let start = Instant::now();
        for i in 0..n {
            handle.publish(Job(i)).await.unwrap();
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

/// Ten tasks with a channel each; every message is cloned to all ten.
fn baseline_fan_out(n: u64) -> Duration {
    let pool = Pool::new();
    let (countdown, zero) = Countdown::new(n * SUBSCRIBERS);
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let (tx, mut rx) = mpsc::unbounded::<Job>();
            let done = countdown.clone();
            pool.spawn(async move {
                while let Some(Job(seed)) = rx.next().await {
                    black_box(seed);
                    done.tick();
                }
            });
            tx
        })
        .collect();
    pool.run(async move {
        let start = Instant::now();
        for i in 0..n {
            for subscriber in &subscribers {
                subscriber.unbounded_send(Job(i)).unwrap();
            }
        }
        zero.await.unwrap();
        start.elapsed()
    })
}

/// A workload of `n` messages, returning its time.
type Workload = fn(u64) -> Duration;

fn main() {
    let mut c: Criterion = support::report::criterion();
    let report = Report::default();
    let scale = u64::from(support::scale());

    let n = 500_000 / scale;
    let mut group = c.benchmark_group("service");
    group.throughput(Throughput::Elements(n));
    support::report::configure(&mut group);
    let acteur_runs: [Workload; 4] = [
        acteur_service::<0>,
        acteur_service::<1>,
        acteur_service::<2>,
        acteur_service::<3>,
    ];
    for ((_, name), run) in MODES.into_iter().zip(acteur_runs) {
        let workload = format!("service {name}");
        group.bench_function(name, |b| {
            b.iter_custom(|runs| report.timed(&workload, "acteur", n, runs, || run(n)))
        });
    }
    group.bench_function("baseline", |b| {
        b.iter_custom(|runs| {
            let mut total = Duration::ZERO;
            for _ in 0..runs {
                let elapsed = baseline_service(n);
                total += elapsed;
                // One baseline for every mode's line of the summary.
                for (_, name) in MODES {
                    report.timed(&format!("service {name}"), "baseline", n, 1, || elapsed);
                }
            }
            total
        })
    });
    group.finish();

    let published = 100_000 / scale;
    let deliveries = published * SUBSCRIBERS;
    let mut group = c.benchmark_group("publish_fan_out_10");
    group.throughput(Throughput::Elements(deliveries));
    support::report::configure(&mut group);
    let workload = "publish_fan_out_10 (deliveries)";
    group.bench_function("acteur", |b| {
        b.iter_custom(|runs| {
            report.timed(workload, "acteur", deliveries, runs, || {
                acteur_fan_out(published)
            })
        })
    });
    group.bench_function("baseline", |b| {
        b.iter_custom(|runs| {
            report.timed(workload, "baseline", deliveries, runs, || {
                baseline_fan_out(published)
            })
        })
    });
    group.finish();

    c.final_summary();
    report.print();
}
