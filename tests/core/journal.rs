//! What invariant tests record from inside actors, and the checks on it:
//! per-sender order, no lost or repeated message, one running handler per
//! ID, and strict alternation of `activate` and `deactivate`.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_lite::future::yield_now;

/// One per test, in a `static`: actors cannot be handed a reference.
pub struct Journal(Mutex<Option<Records>>);

#[derive(Default)]
struct Records {
    lifecycle: HashMap<u32, Vec<&'static str>>,
    running: HashMap<u32, bool>,
    overlaps: usize,
    out_of_order: usize,
    last_seq: HashMap<(u32, u32), u64>,
    handled: HashMap<u32, u64>,
}

impl Journal {
    pub const fn new() -> Self {
        Journal(Mutex::new(None))
    }

    fn with(&self, f: impl FnOnce(&mut Records)) {
        f(self.0.lock().unwrap().get_or_insert_with(Records::default));
    }

    pub fn activated(&self, id: u32) {
        self.with(|r| r.lifecycle.entry(id).or_default().push("activate"));
    }

    pub fn deactivated(&self, id: u32) {
        self.with(|r| r.lifecycle.entry(id).or_default().push("deactivate"));
    }

    /// Records message `seq` (1, 2, 3...) from sender `from` to `id`, with a
    /// yield in the middle that would let a second activation of `id` run,
    /// if the system wrongly allowed one.
    pub async fn handle(&self, id: u32, from: u32, seq: u64) {
        self.with(|r| {
            if r.running.insert(id, true) == Some(true) {
                r.overlaps += 1;
            }
            // Across activations, each sender's messages arrive exactly in
            // sequence: none lost, none repeated, none overtaken.
            let last = r.last_seq.insert((id, from), seq).unwrap_or(0);
            if last + 1 != seq {
                r.out_of_order += 1;
            }
            *r.handled.entry(id).or_default() += 1;
        });
        yield_now().await;
        self.with(|r| {
            r.running.insert(id, false);
        });
    }

    /// After shutdown: every ID in `0..ids` handled `per_id` messages in
    /// order, never overlapping itself, and was activated and deactivated
    /// in strict alternation, ending deactivated.
    pub fn check(&self, ids: u32, per_id: u64) {
        let records = self.0.lock().unwrap().take().expect("nothing was recorded");
        assert_eq!(records.overlaps, 0, "an ID ran concurrently with itself");
        assert_eq!(
            records.out_of_order, 0,
            "a sender's messages were lost, repeated or reordered"
        );
        for id in 0..ids {
            assert_eq!(
                records.handled.get(&id).copied().unwrap_or(0),
                per_id,
                "messages lost or duplicated for id {id}"
            );
            let events = &records.lifecycle[&id];
            assert!(events.len() >= 2, "id {id}: {events:?}");
            for (i, event) in events.iter().enumerate() {
                let expected = if i % 2 == 0 { "activate" } else { "deactivate" };
                assert_eq!(
                    *event, expected,
                    "id {id}: activate/deactivate do not alternate: {events:?}"
                );
            }
            assert_eq!(events.len() % 2, 0, "id {id}: never deactivated");
        }
    }
}
