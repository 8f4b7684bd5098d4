//! The plain baselines' runtime: tasks on an executor with one thread per
//! core, talking over channels, and no framework. What an Acteur workload
//! costs beyond this is what the library adds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::AcqRel};
use std::thread::{self, JoinHandle};

use async_executor::Executor;
use futures_channel::oneshot;

/// An executor run by one thread per core until dropped.
pub struct Pool {
    executor: Arc<Executor<'static>>,
    stop: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new() -> Pool {
        let executor = Arc::new(Executor::new());
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let (mut stop, mut threads) = (Vec::new(), Vec::new());
        for _ in 0..cores {
            let (tell, stopped) = oneshot::channel::<()>();
            let executor = executor.clone();
            threads.push(thread::spawn(move || {
                futures_lite::future::block_on(executor.run(stopped)).ok();
            }));
            stop.push(tell);
        }
        Pool {
            executor,
            stop,
            threads,
        }
    }

    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.executor.spawn(task).detach();
    }

    /// Runs `task` as a task of the pool and returns its output: drivers
    /// run inside the runtime, as Acteur's run inside an actor.
    pub fn run<T: Send + 'static>(&self, task: impl Future<Output = T> + Send + 'static) -> T {
        futures_lite::future::block_on(self.executor.spawn(task))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Counts events down from a number and tells the waiting task when the
/// last one happened.
pub struct Countdown {
    left: AtomicU64,
    done: std::sync::Mutex<Option<oneshot::Sender<()>>>,
}

/// Completes when its countdown reaches zero.
pub type Zero = oneshot::Receiver<()>;

impl Countdown {
    /// A countdown from `events`, and the receiver told at zero.
    pub fn new(events: u64) -> (Arc<Countdown>, Zero) {
        let (done, zero) = oneshot::channel();
        let countdown = Countdown {
            left: AtomicU64::new(events),
            done: std::sync::Mutex::new(Some(done)),
        };
        (Arc::new(countdown), zero)
    }

    pub fn tick(&self) {
        if self.left.fetch_sub(1, AcqRel) == 1 {
            if let Some(done) = self.done.lock().unwrap().take() {
                let _ = done.send(());
            }
        }
    }
}
