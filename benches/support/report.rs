//! Criterion's settings for these benches, and the summary printed after
//! them: each Acteur figure beside its baseline's, as a ratio.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};

/// Ten samples of whole workloads, each run a fresh system: enough for a
/// stable median at these run lengths, and `cargo bench` stays within
/// minutes on two cores. Quick mode shortens warm-up and measurement too.
pub fn criterion() -> Criterion {
    let quick = super::scale() > 1;
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 200 } else { 1_000 }))
        .measurement_time(Duration::from_millis(if quick { 1_000 } else { 4_000 }))
        .configure_from_args()
}

/// Each run is a whole workload, far longer than a timer tick: every sample
/// may take the same number of runs.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sampling_mode(SamplingMode::Flat);
}

/// The runs of every (workload, side), for the summary.
#[derive(Default)]
pub struct Report {
    runs: Mutex<BTreeMap<(String, String), Vec<f64>>>,
}

impl Report {
    /// Runs `work` `runs` times, records each run's rate of `items` per
    /// second under `workload` and `side`, and returns the total time for
    /// criterion.
    pub fn timed(
        &self,
        workload: &str,
        side: &str,
        items: u64,
        runs: u64,
        work: impl Fn() -> Duration,
    ) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..runs {
            let elapsed = work();
            total += elapsed;
            let rate = items as f64 / elapsed.as_secs_f64();
            let mut recorded = self.runs.lock().unwrap();
            recorded
                .entry((workload.to_owned(), side.to_owned()))
                .or_default()
                .push(rate);
        }
        total
    }

    /// Prints, per workload, the median rates of `acteur` and `baseline`
    /// (criterion's warm-up runs included) and their ratio.
    pub fn print(&self) {
        let runs = self.runs.lock().unwrap();
        let median = |workload: &str, side| {
            runs.get(&(workload.to_owned(), String::from(side)))
                .map(|rates| super::median(rates.clone()))
        };
        let mut workloads: Vec<&String> = runs.keys().map(|(workload, _)| workload).collect();
        workloads.dedup();
        println!();
        println!("| workload | Acteur | baseline | Acteur / baseline |");
        println!("|---|---:|---:|---:|");
        for workload in workloads {
            let (Some(acteur), Some(baseline)) =
                (median(workload, "acteur"), median(workload, "baseline"))
            else {
                continue;
            };
            println!(
                "| {workload} | {} /s | {} /s | {:.2} |",
                human(acteur),
                human(baseline),
                acteur / baseline
            );
        }
    }
}

impl Report {
    /// Prints the median time per item of `workload`'s sides `a` and `b`
    /// (each a label and the side it was recorded under), and `a / b`.
    pub fn print_ratio(&self, workload: &str, a: (&str, &str), b: (&str, &str), meaning: &str) {
        let runs = self.runs.lock().unwrap();
        let micros = |side: &str| {
            runs.get(&(workload.to_owned(), side.to_owned()))
                .map(|rates| 1e6 / super::median(rates.clone()))
        };
        if let (Some(a_micros), Some(b_micros)) = (micros(a.1), micros(b.1)) {
            println!();
            println!(
                "{workload}: {} {a_micros:.2} µs, {} {b_micros:.2} µs; {meaning}: {:.2}",
                a.0,
                b.0,
                a_micros / b_micros
            );
        }
    }
}

/// `rate` with a k or M suffix.
pub fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}
