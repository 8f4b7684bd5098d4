//! Messages at intervals: for as long as an activation lives (or until the
//! system stops, for a service), one tick queued at a time, cancellable.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Listen, Receive, Respond, Service,
    ServiceAssistant, ServiceConfiguration, Timer,
};
use futures_channel::oneshot;
use futures_lite::future::block_on;

use crate::helpers::{eventually, shut_down};

const EVERY: Duration = Duration::from_millis(2);

/// Ticks every 2 ms from its activation; an idle timeout of 50 ms.
struct Ticking {
    ticks: u32,
    timer: Timer,
}
impl Actor for Ticking {
    type Id = u32;
    async fn activate(_: u32, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let timer = assistant.send_interval(EVERY, Tick);
        Ok(Ticking { ticks: 0, timer })
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        }
    }
}
#[derive(Clone)]
struct Tick;
impl Receive<Tick> for Ticking {
    async fn handle(&mut self, _: Tick, _: &ActorAssistant<Self>) {
        self.ticks += 1;
    }
}
/// Answers the ticks so far and the activation's timer.
struct Look;
impl Respond<Look> for Ticking {
    type Response = (u32, Timer);
    async fn handle(&mut self, _: Look, _: &ActorAssistant<Self>) -> (u32, Timer) {
        (self.ticks, self.timer.clone())
    }
}
struct Quit;
impl Receive<Quit> for Ticking {
    async fn handle(&mut self, _: Quit, assistant: &ActorAssistant<Self>) {
        assistant.stop();
    }
}
/// Holds the actor until released; tells the ticks it began with.
struct Hold(oneshot::Sender<u32>, oneshot::Receiver<()>);
impl Receive<Hold> for Ticking {
    async fn handle(&mut self, hold: Hold, _: &ActorAssistant<Self>) {
        let _ = hold.0.send(self.ticks);
        let _ = hold.1.await;
    }
}

fn look(sys: &Acteur) -> (u32, Timer) {
    sys.call_actor_sync::<Ticking, Look>(1, Look).unwrap()
}

fn ticking_statistics(sys: &Acteur) -> acteur::ActorStatistics {
    sys.statistics().actor::<Ticking>().unwrap().clone()
}

#[test]
fn one_tick_waits_at_a_time_and_none_is_handled_once_cancelled() {
    let sys = Acteur::new();
    eventually("three ticks", || look(&sys).0 >= 3);
    let (_, timer) = look(&sys);
    let (began, began_with) = oneshot::channel();
    let (release, released) = oneshot::channel();
    sys.send_to_actor_sync::<Ticking, Hold>(1, Hold(began, released))
        .unwrap();
    let ticks = block_on(began_with).unwrap();
    eventually("a tick queued", || {
        ticking_statistics(&sys).queued_messages == 1
    });
    // Ticks may have been skipped before (while the actor answered), so a
    // skip is looked for from now on.
    let skipped = sys.statistics().skipped_ticks;
    eventually("a tick skipped", || {
        sys.statistics().skipped_ticks > skipped
    });
    // The ticks after the queued one were skipped, not queued behind it.
    assert_eq!(ticking_statistics(&sys).queued_messages, 1);
    assert!(timer.cancel());
    assert!(!timer.cancel());
    release.send(()).unwrap();
    // Handled after the queued tick: which was dropped, cancelled.
    assert_eq!(look(&sys).0, ticks);
    assert_eq!(sys.statistics().scheduled_pending, 0);
    shut_down(&sys);
}

#[test]
fn an_interval_ends_with_its_activation() {
    let sys = Acteur::new();
    let (_, first) = look(&sys);
    sys.send_to_actor_sync::<Ticking, Quit>(1, Quit).unwrap();
    // Deactivated, and not activated again: its interval ends at its next
    // tick, which finds no activation.
    eventually("the interval ended", || {
        sys.statistics().scheduled_pending == 0
    });
    assert!(!first.cancel(), "ended with the activation");
    // A new activation starts an interval of its own.
    let (_, second) = look(&sys);
    assert_eq!(sys.statistics().scheduled_pending, 1);
    assert!(second.cancel());
    shut_down(&sys);
}

#[test]
fn ticks_do_not_keep_an_actor_from_its_idle_timeout() {
    let sys = Acteur::new();
    let (_, timer) = look(&sys);
    eventually("an idle timeout despite the ticks", || {
        ticking_statistics(&sys)
            .deactivations_by_reason
            .idle_timeout
            == 1
    });
    eventually("the interval ended", || {
        sys.statistics().scheduled_pending == 0
    });
    assert!(!timer.cancel());
    assert_eq!(ticking_statistics(&sys).active_actors, 0);
    shut_down(&sys);
}

/// Counts its ticks; its interval starts in `initialize`.
struct Flusher;
static FLUSHES: AtomicU32 = AtomicU32::new(0);
static FLUSH_TIMER: std::sync::Mutex<Option<Timer>> = std::sync::Mutex::new(None);
impl Service for Flusher {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        *FLUSH_TIMER.lock().unwrap() = Some(assistant.send_interval(EVERY, Flush));
        // A zero period starts nothing: its timer has ended already.
        assert!(!assistant.send_interval(Duration::ZERO, Flush).cancel());
        Ok((Flusher, ServiceConfiguration::default()))
    }
}
#[derive(Clone)]
struct Flush;
impl Listen<Flush> for Flusher {
    async fn handle(&self, _: Flush, _: &ServiceAssistant<Self>) {
        FLUSHES.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_service_interval_runs_until_the_system_stops() {
    let sys = Acteur::new();
    sys.preload_service_sync::<Flusher>().unwrap();
    eventually("three flushes", || FLUSHES.load(SeqCst) >= 3);
    let timer = FLUSH_TIMER.lock().unwrap().take().unwrap();
    shut_down(&sys);
    assert!(!timer.cancel(), "ended by the shutdown");
    assert_eq!(sys.statistics().scheduled_cancelled, 0);
}
