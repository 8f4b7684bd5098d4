//! A system whose handles are all dropped without `stop` ends by itself:
//! its worker threads exit, even after calls (whose deadline sweeper must
//! not keep it alive) and with a scheduled message pending. Its own binary,
//! since it counts the process's threads, which other tests' systems would
//! add to; its tests take turns. Linux only (`/proc`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};

/// The tests count the same threads, so they run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Echo;
impl Actor for Echo {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Echo)
    }
}
struct Ping;
impl Respond<Ping> for Echo {
    type Response = ();
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}
impl Receive<Ping> for Echo {
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

/// The threads of this process named like Acteur's workers.
fn worker_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("acteur-worker"))
        .count()
}

/// Drops `sys`, then waits for its worker threads to end.
fn drop_and_expect_no_worker_left(sys: Acteur) {
    assert!(worker_threads() > 0);
    drop(sys);
    let deadline = Instant::now() + Duration::from_secs(20);
    while worker_threads() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} worker thread(s) still run after the system was dropped",
            worker_threads()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_dropped_system_lets_its_worker_threads_end() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if std::fs::read_dir("/proc/self/task").is_err() {
        return; // Not Linux: nothing to count with.
    }
    let sys = Acteur::new();
    sys.call_actor_sync::<Echo, Ping>(1, Ping).unwrap();
    sys.call_actor_with_timeout_sync::<Echo, Ping>(1, Ping, Duration::from_secs(60))
        .unwrap();
    drop_and_expect_no_worker_left(sys);
}

#[test]
fn a_pending_scheduled_message_does_not_keep_a_dropped_system_alive() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if std::fs::read_dir("/proc/self/task").is_err() {
        return;
    }
    let sys = Acteur::new();
    sys.call_actor_sync::<Echo, Ping>(1, Ping).unwrap();
    sys.schedule_send_to_actor_sync::<Echo, Ping>(1, Duration::from_secs(3600), Ping)
        .unwrap();
    drop_and_expect_no_worker_left(sys);
}
