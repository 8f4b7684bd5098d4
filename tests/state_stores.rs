//! The contract of `StateStore` (see its docs), checked on every store the
//! crate has: versioned rows, tombstones, fences, batches whose writes stand
//! alone, no lost update between concurrent writers, and the failures a
//! store must survive.
//!
//! Each check is a function of a store, so that every store runs the same
//! suite; `MemoryStore` also runs the checks of its injected failures.

use std::thread;

use acteur::persistence::{
    Envelope, MemoryStore, StateStore, StateWrite, StoreError, StoredRecord, WriteOutcome,
};
use futures_lite::future::block_on;

const TYPE_KEY: &str = "account";

fn state(text: &str) -> Option<Envelope> {
    Some(Envelope::new(1, 1, text.as_bytes().to_vec()))
}

/// A write of `value` to account `id` in partition 1, epoch 0 (partition 1
/// is never claimed here; opening a store may raise partition 0's fence).
fn write(id: u8, expected_version: u64, value: Option<Envelope>) -> StateWrite {
    StateWrite {
        type_key: TYPE_KEY,
        id: vec![id],
        partition: 1,
        epoch: 0,
        expected_version,
        value,
    }
}

fn put(store: &impl StateStore, writes: Vec<StateWrite>) -> Vec<WriteOutcome> {
    block_on(store.write(writes)).expect("the store failed")
}

fn get(store: &impl StateStore, write: &StateWrite) -> Option<StoredRecord> {
    block_on(store.load(write.key())).expect("the store failed")
}

fn rows_are_versioned(store: &impl StateStore) {
    let first = write(1, 0, state("balance=10"));
    assert_eq!(get(store, &first), None);
    assert_eq!(
        put(store, vec![first.clone()]),
        [WriteOutcome::Written { version: 1 }]
    );
    let row = get(store, &first).unwrap();
    assert_eq!((row.version, row.epoch), (1, 0));
    assert_eq!(row.value, first.value);
    // Expecting version 0 again: the row moved on, nothing changes.
    let stale = write(1, 0, state("balance=99"));
    assert_eq!(
        put(store, vec![stale]),
        [WriteOutcome::Conflict { stored_version: 1 }]
    );
    assert_eq!(get(store, &first).unwrap().value, state("balance=10"));
    let next = write(1, 1, state("balance=20"));
    assert_eq!(
        put(store, vec![next]),
        [WriteOutcome::Written { version: 2 }]
    );
}

fn a_clear_is_a_tombstone_one_version_later(store: &impl StateStore) {
    let first = write(2, 0, state("balance=10"));
    put(store, vec![first.clone()]);
    assert_eq!(
        put(store, vec![write(2, 1, None)]),
        [WriteOutcome::Written { version: 2 }]
    );
    let tombstone = get(store, &first).unwrap();
    assert_eq!((tombstone.version, tombstone.value), (2, None));
    // A writer that never saw the row cannot start it over: no version is
    // ever reused.
    assert_eq!(
        put(store, vec![write(2, 0, state("balance=0"))]),
        [WriteOutcome::Conflict { stored_version: 2 }]
    );
}

fn a_claimed_partition_fences_older_writers(store: &impl StateStore) {
    let at = |epoch, expected_version| StateWrite {
        partition: 7,
        epoch,
        ..write(3, expected_version, state(&format!("by {epoch}")))
    };
    block_on(store.claim(7, 100)).unwrap();
    assert_eq!(
        put(store, vec![at(100, 0)]),
        [WriteOutcome::Written { version: 1 }]
    );
    block_on(store.claim(7, 120)).unwrap();
    assert_eq!(
        put(store, vec![at(100, 1)]),
        [WriteOutcome::Fenced { fence_epoch: 120 }]
    );
    // Claiming an older epoch changes nothing.
    block_on(store.claim(7, 100)).unwrap();
    assert_eq!(
        put(store, vec![at(100, 1)]),
        [WriteOutcome::Fenced { fence_epoch: 120 }]
    );
    let row = get(store, &at(100, 1)).unwrap();
    assert_eq!((row.version, row.epoch), (1, 100));
    assert_eq!(
        put(store, vec![at(120, 1)]),
        [WriteOutcome::Written { version: 2 }]
    );
    // Another partition keeps its own fence: epoch 0 still writes there.
    assert_eq!(
        put(store, vec![write(30, 0, state("p0"))]),
        [WriteOutcome::Written { version: 1 }]
    );
}

fn each_write_of_a_batch_stands_alone(store: &impl StateStore) {
    put(store, vec![write(5, 0, state("b"))]);
    block_on(store.claim(9, 5)).unwrap();
    let fenced = StateWrite {
        partition: 9,
        epoch: 4,
        ..write(6, 0, state("c"))
    };
    let outcomes = put(
        store,
        vec![
            write(4, 0, state("a")),
            write(5, 0, state("b again")),
            fenced.clone(),
            write(4, 1, state("a, twice")),
        ],
    );
    assert_eq!(
        outcomes,
        [
            WriteOutcome::Written { version: 1 },
            WriteOutcome::Conflict { stored_version: 1 },
            WriteOutcome::Fenced { fence_epoch: 5 },
            WriteOutcome::Written { version: 2 },
        ]
    );
    assert_eq!(
        get(store, &write(4, 0, None)).unwrap().value,
        state("a, twice")
    );
    assert_eq!(get(store, &write(5, 0, None)).unwrap().value, state("b"));
    assert_eq!(get(store, &fenced), None);
}

/// Four threads add one to a counter 50 times each, by reading it and
/// writing at the version read, again on a conflict: no addition is lost.
fn concurrent_writers_lose_no_update(store: &impl StateStore) {
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(move || {
                for _ in 0..50 {
                    loop {
                        let row = get(store, &write(8, 0, None));
                        let (version, count) = row.map_or((0, 0), |row| {
                            let bytes = row.value.unwrap().bytes;
                            (row.version, u64::from_be_bytes(bytes.try_into().unwrap()))
                        });
                        let next = Envelope::new(1, 1, (count + 1).to_be_bytes().to_vec());
                        match put(store, vec![write(8, version, Some(next))])[..] {
                            [WriteOutcome::Written { .. }] => break,
                            [WriteOutcome::Conflict { .. }] => continue,
                            ref other => panic!("unexpected {other:?}"),
                        };
                    }
                }
            });
        }
    });
    let row = get(store, &write(8, 0, None)).unwrap();
    let count = u64::from_be_bytes(row.value.unwrap().bytes.try_into().unwrap());
    assert_eq!((row.version, count), (200, 200));
}

/// Every check of the contract, on a fresh `store`.
fn the_contract(store: &impl StateStore) {
    rows_are_versioned(store);
    a_clear_is_a_tombstone_one_version_later(store);
    a_claimed_partition_fences_older_writers(store);
    each_write_of_a_batch_stands_alone(store);
    concurrent_writers_lose_no_update(store);
}

#[test]
fn the_memory_store_keeps_the_contract() {
    the_contract(&MemoryStore::new());
}

#[test]
fn a_failed_operation_changes_nothing_and_may_be_retried() {
    let store = MemoryStore::new();
    store.fail_next(3);
    let error = block_on(store.write(vec![write(1, 0, state("x"))])).unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(matches!(error, StoreError::Unavailable { .. }));
    assert!(block_on(store.claim(0, 1)).is_err());
    assert!(block_on(store.load(write(1, 0, None).key())).is_err());
    // Nothing was written, nor claimed: epoch 0 still writes.
    assert_eq!(
        put(&store, vec![write(1, 0, state("x"))]),
        [WriteOutcome::Written { version: 1 }]
    );
}

#[test]
fn a_lost_commit_result_neither_loses_nor_repeats_a_version() {
    for applied in [true, false] {
        let store = MemoryStore::new();
        put(&store, vec![write(2, 0, state("taken"))]);
        store.lose_next_commit_result(applied);
        let outcomes = put(
            &store,
            vec![write(1, 0, state("a")), write(2, 0, state("b"))],
        );
        assert_eq!(
            outcomes,
            [
                WriteOutcome::Written { version: 1 },
                WriteOutcome::Conflict { stored_version: 1 },
            ],
            "commit applied: {applied}"
        );
        assert_eq!(get(&store, &write(1, 0, None)).unwrap().version, 1);
        assert_eq!(
            get(&store, &write(2, 0, None)).unwrap().value,
            state("taken")
        );
    }
}

#[test]
fn a_damaged_state_is_found_by_its_checksum() {
    let store = MemoryStore::new();
    put(&store, vec![write(1, 0, state("balance=10"))]);
    assert!(store.corrupt(write(1, 0, None).key()));
    let row = get(&store, &write(1, 0, None)).unwrap();
    assert!(!row.value.unwrap().is_intact());
    // No state to damage.
    assert!(!store.corrupt(write(9, 0, None).key()));
}

/// A store whose database a second handle then opens (`open_second`, as a
/// second process would): the second sees every write, and fences the
/// first.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn a_second_opener_sees_every_write_and_fences_the_first<S: StateStore>(
    first: &S,
    open_second: impl FnOnce() -> S,
) {
    let at = |epoch, expected_version, text: &str| StateWrite {
        partition: 0,
        epoch,
        ..write(1, expected_version, state(text))
    };
    assert_eq!(
        put(first, vec![at(first.opened_epoch(), 0, "one")]),
        [WriteOutcome::Written { version: 1 }]
    );
    let second = open_second();
    assert_eq!(second.opened_epoch(), first.opened_epoch() + 1);
    let row = get(&second, &at(0, 0, "")).unwrap();
    assert_eq!((row.version, row.epoch), (1, first.opened_epoch()));
    assert_eq!(row.value, state("one"));
    assert_eq!(
        put(first, vec![at(first.opened_epoch(), 1, "stale")]),
        [WriteOutcome::Fenced {
            fence_epoch: second.opened_epoch()
        }]
    );
    assert_eq!(
        put(&second, vec![at(second.opened_epoch(), 1, "two")]),
        [WriteOutcome::Written { version: 2 }]
    );
}

/// An epoch beyond the database's integers fails the claim's statement
/// part-way through its transaction; the caller gets that failure (not the
/// store's end), and the store goes on.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn a_failed_transaction_is_answered_with_its_failure(store: &impl StateStore) {
    let error = block_on(store.claim(3, u64::MAX)).unwrap_err();
    assert!(
        matches!(&error, StoreError::Failed { reason } if !reason.contains("thread ended")),
        "{error}"
    );
    block_on(store.claim(3, 1)).unwrap();
    let at_1 = StateWrite {
        partition: 3,
        epoch: 1,
        ..write(1, 0, state("x"))
    };
    assert_eq!(
        put(store, vec![at_1]),
        [WriteOutcome::Written { version: 1 }]
    );
}

/// Many batches at once: the writer commits them in groups, and each
/// caller gets the outcomes of its own writes.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn batches_queued_together_get_their_own_outcomes(store: &impl StateStore) {
    let pending: Vec<_> = (0..200u8)
        .map(|id| store.write(vec![write(id, 0, state("x")), write(id, 0, state("y"))]))
        .collect();
    for outcomes in pending {
        assert_eq!(
            block_on(outcomes).unwrap(),
            [
                WriteOutcome::Written { version: 1 },
                WriteOutcome::Conflict { stored_version: 1 },
            ]
        );
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;

    use super::*;
    use acteur::persistence::SqliteStore;

    /// A directory of its own for one test's database, removed after.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("acteur-state-stores-{}-{test}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn database(&self) -> PathBuf {
            self.0.join("states.db")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_sqlite_store_keeps_the_contract() {
        let scratch = Scratch::new("contract");
        the_contract(&SqliteStore::open(scratch.database()).unwrap());
    }

    #[test]
    fn a_reopened_file_has_every_write_and_fences_the_first_opener() {
        let scratch = Scratch::new("reopen");
        let first = SqliteStore::open(scratch.database()).unwrap();
        a_second_opener_sees_every_write_and_fences_the_first(&first, || {
            SqliteStore::open(scratch.database()).unwrap()
        });
    }

    #[test]
    fn a_file_of_a_newer_store_is_refused() {
        let scratch = Scratch::new("newer");
        drop(SqliteStore::open(scratch.database()).unwrap());
        let connection = rusqlite::Connection::open(scratch.database()).unwrap();
        connection
            .execute("UPDATE acteur_store SET schema = 99", [])
            .unwrap();
        drop(connection);
        let error = SqliteStore::open(scratch.database()).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::SchemaTooNew {
                    found: 99,
                    supported: 1
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn a_failed_transaction_answers_its_requests_with_the_failure_itself() {
        let scratch = Scratch::new("failure");
        a_failed_transaction_is_answered_with_its_failure(
            &SqliteStore::open(scratch.database()).unwrap(),
        );
    }

    #[test]
    fn batches_queued_together_are_answered_each_with_its_own_outcomes() {
        let scratch = Scratch::new("groups");
        batches_queued_together_get_their_own_outcomes(
            &SqliteStore::open(scratch.database()).unwrap(),
        );
    }
}

#[cfg(feature = "postgres")]
#[path = "support/postgres.rs"]
mod postgres_server;

#[cfg(feature = "postgres")]
mod postgres {
    use super::postgres_server::{execute, fresh_database};
    use super::*;
    use acteur::persistence::PostgresStore;

    #[test]
    fn the_postgres_store_keeps_the_contract() {
        let Some(url) = fresh_database("contract") else {
            return;
        };
        the_contract(&PostgresStore::connect(&url).unwrap());
    }

    #[test]
    fn a_second_connection_sees_every_write_and_fences_the_first() {
        let Some(url) = fresh_database("reconnect") else {
            return;
        };
        let first = PostgresStore::connect(&url).unwrap();
        a_second_opener_sees_every_write_and_fences_the_first(&first, || {
            PostgresStore::connect(&url).unwrap()
        });
    }

    #[test]
    fn a_failed_transaction_answers_its_requests_and_the_store_goes_on() {
        let Some(url) = fresh_database("failure") else {
            return;
        };
        a_failed_transaction_is_answered_with_its_failure(&PostgresStore::connect(&url).unwrap());
    }

    #[test]
    fn the_store_connects_again_after_the_server_dropped_its_connections() {
        let Some(url) = fresh_database("dropped") else {
            return;
        };
        let store = PostgresStore::connect(&url).unwrap();
        assert_eq!(
            put(&store, vec![write(1, 0, state("one"))]),
            [WriteOutcome::Written { version: 1 }]
        );
        execute(
            &url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        // At most one answer says the store is unavailable (nothing
        // written); then the store has connected again.
        let mut outcomes = block_on(store.write(vec![write(1, 1, state("two"))]));
        if let Err(error) = &outcomes {
            assert!(error.is_transient(), "{error}");
            outcomes = block_on(store.write(vec![write(1, 1, state("two"))]));
        }
        assert_eq!(outcomes.unwrap(), [WriteOutcome::Written { version: 2 }]);
        let mut row = block_on(store.load(write(1, 0, None).key()));
        if let Err(error) = &row {
            assert!(error.is_transient(), "{error}");
            row = block_on(store.load(write(1, 0, None).key()));
        }
        assert_eq!(row.unwrap().unwrap().value, state("two"));
    }

    #[test]
    fn batches_queued_together_are_answered_each_with_its_own_outcomes() {
        let Some(url) = fresh_database("groups") else {
            return;
        };
        let store = PostgresStore::connect(&url).unwrap();
        batches_queued_together_get_their_own_outcomes(&store);
        assert!(
            store.transactions() < 200,
            "{} transactions",
            store.transactions()
        );
    }
}
