//! The SQLite state store's throughput (feature `sqlite`), against the
//! targets of durable state: one row per commit (what a store without
//! group commit does), 1,000-row batches, 10,000 actors each saving once at
//! the same moment (grouped by the writer thread: the figure that matters
//! for `EveryTurn` saves), and 10,000 loads of 200-byte states at once (the
//! store's part of a cold activation).
//!
//! Not a criterion bench: each figure is one pass over a fresh file, in a
//! temporary directory, with `synchronous=FULL` (every commit is flushed).
//! `cargo bench --features sqlite --bench state_stores`;
//! `ACTEUR_BENCH_QUICK=1` measures a tenth.

use std::time::{Duration, Instant};

use acteur::persistence::{Envelope, SqliteStore, StateStore, StateWrite, WriteOutcome};
use futures_lite::future::block_on;

fn quick() -> bool {
    std::env::var_os("ACTEUR_BENCH_QUICK").is_some()
}

fn scaled(count: usize) -> usize {
    if quick() { count / 10 } else { count }
}

/// A write of a 200-byte state to account `id`, first version.
fn write(store: &SqliteStore, id: usize) -> StateWrite {
    StateWrite {
        type_key: "account",
        id: (id as u64).to_be_bytes().to_vec(),
        partition: 0,
        epoch: store.epoch(),
        expected_version: 0,
        value: Some(Envelope::new(1, 1, vec![7; 200])),
    }
}

/// A fresh store in a directory of its own, removed with the returned guard.
fn fresh(name: &str) -> (SqliteStore, Scratch) {
    let dir = std::env::temp_dir().join(format!("acteur-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let store = SqliteStore::open(dir.join("states.db")).expect("the store opens");
    (store, Scratch(dir))
}

struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn all_written(outcomes: &[WriteOutcome]) {
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, WriteOutcome::Written { .. })),
        "{outcomes:?}"
    );
}

fn main() {
    // One row per commit, each awaited before the next.
    let (store, _scratch) = fresh("single");
    let rows = scaled(1_000);
    let started = Instant::now();
    for id in 0..rows {
        all_written(&block_on(store.write(vec![write(&store, id)])).unwrap());
    }
    let single = started.elapsed();
    drop(store);

    // 1,000-row batches.
    let (store, _scratch) = fresh("batches");
    let batches = scaled(100).max(1);
    let started = Instant::now();
    for batch in 0..batches {
        let writes = (0..1_000)
            .map(|row| write(&store, batch * 1_000 + row))
            .collect();
        all_written(&block_on(store.write(writes)).unwrap());
    }
    let batched = started.elapsed();
    drop(store);

    // Many actors saving once at the same moment: every write is queued
    // before the first answer is awaited.
    let (store, _scratch) = fresh("concurrent");
    let actors = scaled(10_000);
    let started = Instant::now();
    let pending: Vec<_> = (0..actors)
        .map(|id| store.write(vec![write(&store, id)]))
        .collect();
    for outcomes in pending {
        all_written(&block_on(outcomes).unwrap());
    }
    let concurrent = started.elapsed();
    let transactions = store.transactions();

    // Loads of what was just written, all asked at once.
    let started = Instant::now();
    let keys: Vec<_> = (0..actors).map(|id| write(&store, id)).collect();
    let pending: Vec<_> = keys.iter().map(|write| store.load(write.key())).collect();
    for row in pending {
        assert!(block_on(row).unwrap().is_some());
    }
    let loads = started.elapsed();

    println!();
    println!("| SQLite store (synchronous=FULL) | figure |");
    println!("|---|---:|");
    println!(
        "| one row per commit | {:.0} rows/s ({rows} rows in {single:.2?}) |",
        per_second(rows, single)
    );
    println!(
        "| 1,000-row batches | {:.0} rows/s ({batches} batches in {batched:.2?}) |",
        per_second(batches * 1_000, batched)
    );
    println!(
        "| {actors} actors saving once at the same moment | {concurrent:.2?}, {transactions} transactions (targets: <= 1 s, <= 200 transactions for 10,000) |"
    );
    println!(
        "| {actors} loads of 200-byte states at once | {:.0} loads/s |",
        per_second(actors, loads)
    );
}
