//! What the models share: loom stand-ins for `event_listener::Event` and for
//! the worker pool's `Parker`, and the bounds of the search.

use loom::sync::{Condvar, Mutex};

/// Runs `model` under every interleaving within the bounds: at most three
/// preemptions per execution, which covers the orderings these protocols
/// guard while keeping each model to seconds.
pub fn check(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(model);
}

/// `event_listener::Event` as the crate uses it: a listener made before a
/// notification is told of it, one made after is not. Here a listener is
/// the generation it saw; a notification starts a new one.
#[derive(Default)]
pub struct Event {
    generation: Mutex<u64>,
    changed: Condvar,
}

/// A listener: waits for the first notification after it was made.
pub struct Listener(u64);

impl Event {
    pub fn listen(&self) -> Listener {
        Listener(*self.generation.lock().unwrap())
    }

    /// Tells every listener (the crate notifies `usize::MAX` or one; the
    /// protocols modelled here rely only on "every listener made before").
    pub fn notify_all(&self) {
        *self.generation.lock().unwrap() += 1;
        self.changed.notify_all();
    }

    pub fn wait(&self, listener: Listener) {
        let mut generation = self.generation.lock().unwrap();
        while *generation == listener.0 {
            generation = self.changed.wait(generation).unwrap();
        }
    }
}

/// The worker pool's `Parker`: a flag under a lock, and a condition
/// variable; an unpark before the park is not lost.
#[derive(Default)]
pub struct Parker {
    woken: Mutex<bool>,
    wake: Condvar,
}

impl Parker {
    pub fn park(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.wake.wait(woken).unwrap();
        }
        *woken = false;
    }

    pub fn unpark(&self) {
        *self.woken.lock().unwrap() = true;
        self.wake.notify_one();
    }
}
