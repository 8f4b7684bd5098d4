//! Deallocation policies: eviction by count and by memory (per type and
//! system-wide), busy actors never evicted, `keep_alive`, deactivation
//! reasons, and invalid limits.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, DeactivationReason, Error,
    Receive, Respond,
};
use futures_channel::oneshot;

use crate::helpers::{Reports, eventually, next, shut_down};

/// What a tracked actor reports.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Activated(u32),
    /// The ID, the reason, and how long ago `keep_alive` was called, if it was.
    Deactivated(u32, DeactivationReason, Option<Duration>),
    /// What a call from `deactivate` to actor 2 returned.
    CalledFromDeactivate(Result<(), Error>),
}

/// One actor type per test (the constant), so that tests running in
/// parallel neither share limits nor reports.
struct Tracked<const T: usize> {
    bytes: usize,
    kept_at: Option<Instant>,
}

const LRU_BY_COUNT: usize = 0;
const BY_MEMORY: usize = 1;
const BUSY: usize = 2;
const GLOBAL_A: usize = 3;
const GLOBAL_B: usize = 4;
const KEEP_ALIVE: usize = 5;
const REASONS: usize = 6;
const ZERO_ACTORS: usize = 7;
const ZERO_MEMORY: usize = 8;
const CALL_BACK: usize = 9;
const SIZE_PANICS: usize = 10;
const MEMORY_A: usize = 11;
const MEMORY_B: usize = 12;

static REPORTS: [Reports<Event>; 13] = [const { Reports::new() }; 13];

/// The size at which `memory_size` of `Tracked<SIZE_PANICS>` panics.
const BAD_SIZE: usize = 13;

impl<const T: usize> Actor for Tracked<T> {
    type Id = u32;

    async fn activate(id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        REPORTS[T].report(Event::Activated(id));
        Ok(Tracked {
            bytes: 10,
            kept_at: None,
        })
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        if T == CALL_BACK && *assistant.id() == 1 {
            let called = assistant.call_actor::<Self, Touch>(2, Touch).await;
            REPORTS[T].report(Event::CalledFromDeactivate(called));
        }
        REPORTS[T].report(Event::Deactivated(
            *assistant.id(),
            assistant.deactivation_reason(),
            self.kept_at.map(|at| at.elapsed()),
        ));
    }

    fn configuration() -> ActorConfiguration {
        let limits = |max_actors, max_memory| ActorConfiguration {
            idle_timeout: None,
            max_actors,
            max_memory,
            ..Default::default()
        };
        match T {
            LRU_BY_COUNT => limits(Some(2), None),
            BY_MEMORY => limits(None, Some(100)),
            BUSY | CALL_BACK => limits(Some(1), None),
            GLOBAL_A | GLOBAL_B | SIZE_PANICS | MEMORY_A | MEMORY_B => limits(None, None),
            KEEP_ALIVE => ActorConfiguration {
                idle_timeout: Some(Duration::from_millis(5)),
                ..Default::default()
            },
            ZERO_ACTORS => limits(Some(0), None),
            ZERO_MEMORY => limits(None, Some(0)),
            _ => ActorConfiguration::default(),
        }
    }

    fn memory_size(&self) -> usize {
        assert!(
            T != SIZE_PANICS || self.bytes != BAD_SIZE,
            "memory_size panics on purpose"
        );
        self.bytes
    }
}

struct Touch;
impl<const T: usize> Respond<Touch> for Tracked<T> {
    type Response = ();
    async fn handle(&mut self, _: Touch, _: &ActorAssistant<Self>) {}
}

/// Sets the actor's memory estimate.
struct Grow(usize);
impl<const T: usize> Respond<Grow> for Tracked<T> {
    type Response = ();
    async fn handle(&mut self, m: Grow, _: &ActorAssistant<Self>) {
        self.bytes = m.0;
    }
}

/// Keeps the actor busy until the sender side is used or dropped.
struct Hold(oneshot::Receiver<()>);
impl<const T: usize> Receive<Hold> for Tracked<T> {
    async fn handle(&mut self, m: Hold, _: &ActorAssistant<Self>) {
        let _ = m.0.await;
    }
}

struct KeepAlive(Duration);
impl<const T: usize> Respond<KeepAlive> for Tracked<T> {
    type Response = ();
    async fn handle(&mut self, m: KeepAlive, assistant: &ActorAssistant<Self>) {
        self.kept_at = Some(Instant::now());
        assistant.keep_alive(m.0);
    }
}

struct StopSelf;
impl<const T: usize> Receive<StopSelf> for Tracked<T> {
    async fn handle(&mut self, _: StopSelf, assistant: &ActorAssistant<Self>) {
        assistant.stop();
    }
}

/// What `deactivation_reason` says outside `deactivate`.
struct ReasonNow;
impl<const T: usize> Respond<ReasonNow> for Tracked<T> {
    type Response = DeactivationReason;
    async fn handle(
        &mut self,
        _: ReasonNow,
        assistant: &ActorAssistant<Self>,
    ) -> DeactivationReason {
        assistant.deactivation_reason()
    }
}

/// The next deactivation reported, skipping activations.
fn next_deactivation(events: &Receiver<Event>) -> (u32, DeactivationReason, Option<Duration>) {
    loop {
        if let Event::Deactivated(id, reason, kept) = next(events, "deactivation") {
            return (id, reason, kept);
        }
    }
}

#[test]
fn deactivate_of_an_evicted_actor_cannot_call_the_actor_that_evicts_it() {
    let events = REPORTS[CALL_BACK].listen();
    let sys = Acteur::new();
    touch::<CALL_BACK>(&sys, 1);
    // Activating 2 evicts 1 first; 1's deactivate calling 2 would wait for
    // an activation that waits for it.
    touch::<CALL_BACK>(&sys, 2);
    let called = loop {
        if let Event::CalledFromDeactivate(result) = next(&events, "the call from deactivate") {
            break result;
        }
    };
    // 2 waits for 1's deactivate, which calls 2.
    assert!(
        matches!(called, Err(Error::Deadlock { ref chain, .. })
            if chain == "core::policies::Tracked<9>(2) -> core::policies::Tracked<9>(1) -> core::policies::Tracked<9>(2)"),
        "{called:?}"
    );
    shut_down(&sys);
}

/// Waits until no actor of type `A` is busy, so that every one is idle and
/// their last-use order is the order of the test's calls.
fn settle<A: Actor>(sys: &Acteur) {
    eventually("every actor idle", || {
        sys.statistics().actor::<A>().unwrap().busy_actors == 0
    });
}

fn touch<const T: usize>(sys: &Acteur, id: u32) {
    sys.call_actor_sync::<Tracked<T>, Touch>(id, Touch).unwrap();
    settle::<Tracked<T>>(sys);
}

#[test]
fn count_limit_evicts_the_least_recently_used_idle_actor() {
    type A = Tracked<LRU_BY_COUNT>;
    let events = REPORTS[LRU_BY_COUNT].listen();
    let sys = Acteur::new();
    touch::<LRU_BY_COUNT>(&sys, 1);
    touch::<LRU_BY_COUNT>(&sys, 2);
    touch::<LRU_BY_COUNT>(&sys, 1); // 2 is now the least recently used
    touch::<LRU_BY_COUNT>(&sys, 3);
    assert_eq!(
        next_deactivation(&events),
        (2, DeactivationReason::EvictedByCount, None)
    );
    eventually("two active actors", || {
        sys.statistics().actor::<A>().unwrap().active_actors == 2
    });
    let stats = sys.statistics();
    let stats = stats.actor::<A>().unwrap();
    assert_eq!(stats.max_actors, Some(2));
    assert_eq!(stats.deactivations_by_reason.evicted_by_count, 1);
    assert_eq!(stats.memory, 20);

    // The evicted actor comes back on its next message, evicting another.
    touch::<LRU_BY_COUNT>(&sys, 2);
    assert_eq!(
        next_deactivation(&events),
        (1, DeactivationReason::EvictedByCount, None)
    );
    shut_down(&sys);
}

#[test]
fn memory_limit_evicts_until_within_budget() {
    type A = Tracked<BY_MEMORY>;
    let events = REPORTS[BY_MEMORY].listen();
    let sys = Acteur::new();
    for id in 1..=3 {
        sys.call_actor_sync::<A, Grow>(id, Grow(40)).unwrap();
        settle::<A>(&sys);
    }
    // 3 x 40 bytes is over 100: the least recently used goes.
    assert_eq!(
        next_deactivation(&events),
        (1, DeactivationReason::EvictedByMemory, None)
    );
    eventually("80 bytes in use", || {
        sys.statistics().actor::<A>().unwrap().memory == 80
    });

    // One actor growing past the budget evicts every idle one before it.
    sys.call_actor_sync::<A, Grow>(3, Grow(95)).unwrap();
    assert_eq!(
        next_deactivation(&events),
        (2, DeactivationReason::EvictedByMemory, None)
    );
    eventually("95 bytes in use", || {
        let stats = sys.statistics();
        let stats = stats.actor::<A>().unwrap();
        (stats.memory, stats.active_actors, stats.max_memory) == (95, 1, Some(100))
    });
    shut_down(&sys);
}

#[test]
fn busy_actors_are_never_evicted_and_the_limit_is_restored_when_idle() {
    type A = Tracked<BUSY>;
    let events = REPORTS[BUSY].listen();
    let sys = Acteur::new();
    let (release_1, hold_1) = oneshot::channel();
    let (release_2, hold_2) = oneshot::channel();
    sys.send_to_actor_sync::<A, Hold>(1, Hold(hold_1)).unwrap();
    sys.send_to_actor_sync::<A, Hold>(2, Hold(hold_2)).unwrap();
    // Both busy: the limit of 1 is exceeded, and statistics show it.
    eventually("two busy actors", || {
        let stats = sys.statistics();
        let stats = stats.actor::<A>().unwrap();
        (stats.active_actors, stats.busy_actors) == (2, 2)
    });
    release_1.send(()).unwrap();
    assert_eq!(
        next_deactivation(&events),
        (1, DeactivationReason::EvictedByCount, None)
    );
    release_2.send(()).unwrap();
    eventually("one idle actor", || {
        let stats = sys.statistics();
        let stats = stats.actor::<A>().unwrap();
        (stats.active_actors, stats.busy_actors) == (1, 0)
    });
    shut_down(&sys);
    assert_eq!(
        next_deactivation(&events),
        (2, DeactivationReason::SystemShutdown, None)
    );
}

#[test]
fn system_limit_evicts_the_least_recently_used_of_any_type() {
    let events_a = REPORTS[GLOBAL_A].listen();
    let sys = Acteur::builder().max_actors(2).build();
    touch::<GLOBAL_A>(&sys, 1);
    touch::<GLOBAL_B>(&sys, 1);
    touch::<GLOBAL_A>(&sys, 2);
    assert_eq!(
        next_deactivation(&events_a),
        (1, DeactivationReason::EvictedByCount, None)
    );
    eventually("two actors in the system", || {
        let stats = sys.statistics();
        stats.actors.iter().map(|a| a.active_actors).sum::<usize>() == 2
    });
    assert_eq!(sys.statistics().max_actors, Some(2));
    shut_down(&sys);
}

#[test]
fn keep_alive_postpones_the_idle_timeout() {
    let events = REPORTS[KEEP_ALIVE].listen();
    let sys = Acteur::new();
    let kept_for = Duration::from_millis(80);
    sys.call_actor_sync::<Tracked<KEEP_ALIVE>, KeepAlive>(1, KeepAlive(kept_for))
        .unwrap();
    // The idle timeout is 5 ms; the deactivation comes no sooner than granted.
    let (id, reason, kept) = next_deactivation(&events);
    assert_eq!((id, reason), (1, DeactivationReason::IdleTimeout));
    let kept = kept.unwrap();
    assert!(
        kept >= kept_for,
        "deactivated after {kept:?}, before {kept_for:?}"
    );
    shut_down(&sys);
}

#[test]
fn deactivate_learns_its_reason() {
    type A = Tracked<REASONS>;
    let events = REPORTS[REASONS].listen();
    let sys = Acteur::new();
    sys.send_to_actor_sync::<A, StopSelf>(1, StopSelf).unwrap();
    assert_eq!(
        next_deactivation(&events),
        (1, DeactivationReason::StoppedBySelf, None)
    );
    // Outside deactivate there is no reason; the documented fallback.
    assert_eq!(
        sys.call_actor_sync::<A, ReasonNow>(2, ReasonNow).unwrap(),
        DeactivationReason::IdleTimeout
    );
    shut_down(&sys);
    assert_eq!(
        next_deactivation(&events),
        (2, DeactivationReason::SystemShutdown, None)
    );
    let stats = sys.statistics();
    let by_reason = stats.actor::<A>().unwrap().deactivations_by_reason;
    assert_eq!(
        (by_reason.stopped_by_self, by_reason.system_shutdown),
        (1, 1)
    );
    assert_eq!(by_reason.total(), 2);
}

#[test]
fn zero_limits_are_configuration_errors() {
    let sys = Acteur::new();
    let field_of = |result: Result<(), Error>| match result {
        Err(Error::InvalidConfiguration {
            type_name, field, ..
        }) => (type_name, field),
        other => panic!("expected InvalidConfiguration, got {other:?}"),
    };
    let (type_name, field) = field_of(sys.call_actor_sync::<Tracked<ZERO_ACTORS>, Touch>(1, Touch));
    assert!(type_name.contains("Tracked"), "{type_name}");
    assert_eq!(field, "max_actors");
    let (_, field) = field_of(sys.call_actor_sync::<Tracked<ZERO_MEMORY>, Touch>(1, Touch));
    assert_eq!(field, "max_memory");
    shut_down(&sys);

    for (sys, expected) in [
        (Acteur::builder().max_actors(0).build(), "max_actors"),
        (Acteur::builder().max_memory(0).build(), "max_memory"),
    ] {
        let result = sys.send_to_actor_sync::<Tracked<REASONS>, StopSelf>(1, StopSelf);
        assert_eq!(field_of(result), ("acteur::ActeurBuilder", expected));
        shut_down(&sys);
    }
}

#[test]
fn system_memory_limit_evicts_the_least_recently_used_of_any_type() {
    let events_a = REPORTS[MEMORY_A].listen();
    let sys = Acteur::builder().max_memory(100).build();
    let grow = |id| {
        sys.call_actor_sync::<Tracked<MEMORY_A>, Grow>(id, Grow(40))
            .unwrap();
        settle::<Tracked<MEMORY_A>>(&sys);
    };
    grow(1);
    sys.call_actor_sync::<Tracked<MEMORY_B>, Grow>(1, Grow(40))
        .unwrap();
    settle::<Tracked<MEMORY_B>>(&sys);
    // 3 x 40 bytes across two types is over the system's 100.
    grow(2);
    assert_eq!(
        next_deactivation(&events_a),
        (1, DeactivationReason::EvictedByMemory, None)
    );
    eventually("80 bytes in the system", || {
        let stats = sys.statistics();
        stats.actors.iter().map(|a| a.memory).sum::<usize>() == 80
    });
    shut_down(&sys);
}

#[test]
fn a_panicking_memory_size_keeps_the_previous_estimate() {
    type A = Tracked<SIZE_PANICS>;
    let sys = Acteur::new();
    sys.call_actor_sync::<A, Grow>(1, Grow(50)).unwrap();
    sys.call_actor_sync::<A, Grow>(1, Grow(BAD_SIZE)).unwrap();
    // The actor goes on serving, and its estimate stays at the last good one.
    sys.call_actor_sync::<A, Touch>(1, Touch).unwrap();
    let stats = sys.statistics();
    let stats = stats.actor::<A>().unwrap();
    assert_eq!((stats.memory, stats.panics), (50, 0));
    shut_down(&sys);
}
