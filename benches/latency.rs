//! The latency of a call (`call_actor`, a request and its reply), not only
//! the throughput: every call's time from the request to its reply goes
//! into an HDR histogram (`hdrhistogram`: fixed relative precision, so p99.9
//! is as exact as p50), and the bench prints p50, p99, p99.9 and the
//! maximum for
//!
//! - **one client**: sequential calls to one actor, each reply awaited
//!   before the next call, from a client actor;
//! - **64 clients**: 64 client actors, each making sequential calls to its
//!   own counter actor, all at once, on every core. Their histograms are
//!   merged. The target: p99 within 10x p50.
//!
//! Each is measured three times, each time on a fresh system, after an
//! untimed warm-up; the run with the median p99 is printed.
//!
//! `cargo bench --bench latency`; `ACTEUR_BENCH_QUICK=1` makes a tenth of
//! the calls.

mod support;

use std::time::Instant;

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};
use hdrhistogram::Histogram;

/// The actor answering the calls.
struct Counter(u64);

impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Counter(0))
    }
}

struct IncAndGet;
impl Respond<IncAndGet> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: IncAndGet, _: &ActorAssistant<Self>) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// The actor making the calls: client `i` calls counter `i`.
struct Client(u32);

impl Actor for Client {
    type Id = u32;
    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Client(id))
    }
}

/// Make this many sequential calls; answers their latencies.
struct Calls(u64);

impl Respond<Calls> for Client {
    type Response = Histogram<u64>;
    async fn handle(&mut self, Calls(n): Calls, a: &ActorAssistant<Self>) -> Histogram<u64> {
        let mut latencies = histogram();
        for _ in 0..n {
            let start = Instant::now();
            a.call_actor::<Counter, IncAndGet>(self.0, IncAndGet)
                .await
                .expect("the counter answers");
            let nanos = start.elapsed().as_nanos();
            latencies.saturating_record(u64::try_from(nanos).unwrap_or(u64::MAX));
        }
        latencies
    }
}

/// Nanoseconds from 1 to an hour, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// The merged latencies of `clients` clients making `each` calls at once,
/// on a fresh system, after each made `warm_up` calls untimed.
fn measure(clients: u32, each: u64, warm_up: u64) -> Histogram<u64> {
    let sys = Acteur::new();
    let run = |calls: u64| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let sys = sys.clone();
                std::thread::spawn(move || sys.call_actor_sync::<Client, Calls>(id, Calls(calls)))
            })
            .collect();
        let mut merged = histogram();
        for handle in handles {
            let latencies = handle
                .join()
                .expect("a caller thread")
                .expect("the client answers");
            merged.add(latencies).expect("same bounds");
        }
        merged
    };
    run(warm_up);
    let merged = run(each);
    sys.stop();
    sys.wait_until_stopped();
    merged
}

fn micros(nanos: u64) -> f64 {
    nanos as f64 / 1_000.0
}

fn report(name: &str, clients: u32, each: u64) {
    let mut runs: Vec<Histogram<u64>> = (0..3).map(|_| measure(clients, each, each / 10)).collect();
    runs.sort_by_key(|run| run.value_at_quantile(0.99));
    let median = &runs[1];
    let (p50, p99) = (
        median.value_at_quantile(0.5),
        median.value_at_quantile(0.99),
    );
    println!(
        "{name:<11} {:>10} calls  p50 {:>7.2} µs  p99 {:>7.2} µs  p99.9 {:>7.2} µs  max {:>9.2} µs  p99/p50 {:>5.2}",
        median.len(),
        micros(p50),
        micros(p99),
        micros(median.value_at_quantile(0.999)),
        micros(median.max()),
        p99 as f64 / p50.max(1) as f64,
    );
}

fn main() {
    if !support::invoked_as_bench() {
        return;
    }
    let scale = u64::from(support::scale());
    println!("call latency, median run of 3 (by p99); each client calls its own actor");
    report("1 client", 1, 200_000 / scale);
    report("64 clients", 64, 20_000 / scale);
}
