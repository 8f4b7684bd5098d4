//! A system whose handles are all dropped without `stop` ends by itself:
//! its worker threads exit, even after calls (whose deadline sweeper must
//! not keep it alive). Its own binary, since it counts the process's
//! threads, which other tests' systems would add to. Linux only (`/proc`).

use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Respond};

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

#[test]
fn a_dropped_system_lets_its_worker_threads_end() {
    if std::fs::read_dir("/proc/self/task").is_err() {
        return; // Not Linux: nothing to count with.
    }
    let sys = Acteur::new();
    sys.call_actor_sync::<Echo, Ping>(1, Ping).unwrap();
    sys.call_actor_with_timeout_sync::<Echo, Ping>(1, Ping, Duration::from_secs(60))
        .unwrap();
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
