//! What the benchmarks share: a counting allocator for peak heap, CPU time
//! from `/proc`, medians, and the quick-mode scale; and in submodules, the
//! plain baselines' runtime (`baseline`), the peers' counter actor
//! (`counter`), the driver actor that runs a workload inside a system
//! (`driver`), and criterion's settings with the
//! summary of ratios (`report`). Each bench includes it with `mod support;`
//! and installs the allocator itself if it counts memory.

#![allow(dead_code, reason = "each bench uses a different part")]

pub mod baseline;
pub mod counter;
pub mod driver;
pub mod report;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// The system allocator, counting the bytes in use and their peak.
pub struct Counting;

/// Signed: blocks allocated before counting began may be freed during it.
static IN_USE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// Counting makes every allocation update two shared counters, which slows
/// the threads down; it is on only while memory is measured.
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: every call is passed unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are passed on.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() && COUNTING.load(Relaxed) {
            let size = layout.size() as isize;
            let now = IN_USE.fetch_add(size, Relaxed) + size;
            PEAK.fetch_max(now, Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(pointer, layout) };
        if COUNTING.load(Relaxed) {
            IN_USE.fetch_sub(layout.size() as isize, Relaxed);
        }
    }
}

/// Turns counting on or off (`IN_USE` is only meaningful as a difference
/// within one counted stretch).
pub fn count_heap(on: bool) {
    COUNTING.store(on, Relaxed);
}

/// Resets the peak to what is in use now, and returns that.
pub fn reset_peak() -> isize {
    let now = IN_USE.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

/// The peak heap, in bytes, since `reset_peak` returned `before`.
pub fn peak_since(before: isize) -> usize {
    (PEAK.load(Relaxed) - before).max(0) as usize
}

/// The CPU time this process has used, all threads, from `/proc/self/stat`
/// (Linux; ticks of 1/100 s, the kernel's usual `CLK_TCK`). More stable than
/// wall time on a busy 2-core machine, where a thread woken late distorts
/// rates far more than the code measured.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th of them.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The medians of the wall rates and, where known, of the CPU costs of
/// `runs`, each a (rate, CPU per item) pair.
pub fn medians(runs: &[(f64, Option<f64>)]) -> (f64, Option<f64>) {
    let known: Vec<f64> = runs.iter().filter_map(|run| run.1).collect();
    (
        median(runs.iter().map(|run| run.0).collect()),
        (!known.is_empty()).then(|| median(known)),
    )
}

/// Runs `work`, which handles `items` items, and returns the items per
/// second (wall) and, if known, the CPU nanoseconds per item.
pub fn rate(items: u32, work: impl FnOnce()) -> (f64, Option<f64>) {
    let cpu_before = cpu_seconds();
    let start = std::time::Instant::now();
    work();
    let rate = f64::from(items) / start.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(cpu_seconds())
        .map(|(before, after)| (after - before) * 1e9 / f64::from(items));
    (rate, cpu)
}

/// Runs `a` and `b` 7 times each, alternating so that drift hits both
/// sides, and prints the medians of their rates and CPU costs per item and
/// how `b` differs from `a`, on lines starting with `what`.
pub fn compare(
    what: &str,
    (a_name, mut a): (&str, impl FnMut() -> (f64, Option<f64>)),
    (b_name, mut b): (&str, impl FnMut() -> (f64, Option<f64>)),
) {
    let (mut a_runs, mut b_runs) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        a_runs.push(a());
        b_runs.push(b());
    }
    let ((a_rate, a_cpu), (b_rate, b_cpu)) = (medians(&a_runs), medians(&b_runs));
    println!(
        "{what} (medians of 7): {a_name} {:.2} M/s, {b_name} {:.2} M/s, difference {:+.1}%",
        a_rate / 1e6,
        b_rate / 1e6,
        (b_rate / a_rate - 1.0) * 100.0
    );
    if let (Some(a_cpu), Some(b_cpu)) = (a_cpu, b_cpu) {
        println!(
            "{what}, CPU per item: {a_name} {a_cpu:.0} ns, {b_name} {b_cpu:.0} ns, \
             difference {:+.1}%",
            (b_cpu / a_cpu - 1.0) * 100.0
        );
    }
}

/// Whether to run at all: `cargo test --benches` runs benches without
/// `--bench`, and there is nothing to do then.
pub fn invoked_as_bench() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// 10 with `ACTEUR_BENCH_QUICK` set (a tenth of the sizes), else 1.
pub fn scale() -> u32 {
    if std::env::var_os("ACTEUR_BENCH_QUICK").is_some() {
        10
    } else {
        1
    }
}
