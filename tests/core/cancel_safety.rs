//! What dropping an `async` method's future does, at each point where it
//! waits, as each method's `# Cancel safety` section says.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Listen, Receive, Respond, Serve,
    Service, ServiceAssistant, ServiceConfiguration,
};
use futures_channel::oneshot;
use futures_lite::future::{block_on, poll_once};

use crate::helpers::{eventually, next, shut_down};

/// Polls `future` once, expects it to wait, and drops it.
fn cancel_while_waiting<F: std::future::Future>(future: F) {
    let mut future = Box::pin(future);
    assert!(
        block_on(poll_once(future.as_mut())).is_none(),
        "the future did not wait"
    );
}

/// Polls `future` once and expects it done.
fn done_at_first_poll<F: std::future::Future>(future: F) -> F::Output {
    let mut future = Box::pin(future);
    block_on(poll_once(future.as_mut())).expect("done in its first poll")
}

/// What the actors and services of these tests saw, shared through `data`.
#[derive(Default)]
struct Seen {
    notes: Mutex<Vec<(u32, u32)>>,
    requests: AtomicUsize,
    dropped: AtomicUsize,
}

fn seen(data: Result<&Arc<Seen>, acteur::Error>) -> &Seen {
    data.expect("built with Seen")
}

/// A message that counts its drops, so that a dropped one is seen to go.
struct Note {
    number: u32,
    seen: Arc<Seen>,
}
impl Drop for Note {
    fn drop(&mut self) {
        self.seen.dropped.fetch_add(1, SeqCst);
    }
}
impl Clone for Note {
    fn clone(&self) -> Self {
        Note {
            number: self.number,
            seen: self.seen.clone(),
        }
    }
}

/// Holds its handler until released, once it has said it began.
struct Hold(oneshot::Sender<()>, oneshot::Receiver<()>);

fn hold() -> (Hold, oneshot::Receiver<()>, oneshot::Sender<()>) {
    let (began, began_rx) = oneshot::channel();
    let (release, release_rx) = oneshot::channel();
    (Hold(began, release_rx), began_rx, release)
}

/// One message at a time, and one waiting at most.
struct Tight;
impl Actor for Tight {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Tight)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            mailbox_capacity: Some(1),
            ..Default::default()
        }
    }
}
impl Receive<Hold> for Tight {
    async fn handle(&mut self, hold: Hold, _: &ActorAssistant<Self>) {
        let _ = hold.0.send(());
        let _ = hold.1.await;
    }
}
impl Receive<Note> for Tight {
    async fn handle(&mut self, note: Note, assistant: &ActorAssistant<Self>) {
        let seen = seen(assistant.data());
        seen.notes
            .lock()
            .unwrap()
            .push((*assistant.id(), note.number));
    }
}
struct Ask;
impl Respond<Ask> for Tight {
    type Response = ();
    async fn handle(&mut self, _: Ask, assistant: &ActorAssistant<Self>) {
        seen(assistant.data()).requests.fetch_add(1, SeqCst);
    }
}

fn system() -> (Acteur, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    (Acteur::builder().data(seen.clone()).build(), seen)
}

/// Holds actor `id` busy, and returns its release.
fn busy(sys: &Acteur, id: u32) -> oneshot::Sender<()> {
    let (held, began, release) = hold();
    sys.send_to_actor_sync::<Tight, Hold>(id, held).unwrap();
    block_on(began).unwrap();
    release
}

fn note(seen: &Arc<Seen>, number: u32) -> Note {
    Note {
        number,
        seen: seen.clone(),
    }
}

#[test]
fn a_send_dropped_while_waiting_for_room_queues_nothing_and_drops_its_message() {
    let (sys, seen) = system();
    let release = busy(&sys, 1);
    sys.send_to_actor_sync::<Tight, Note>(1, note(&seen, 1))
        .unwrap();
    cancel_while_waiting(sys.send_to_actor::<Tight, Note>(1, note(&seen, 2)));
    assert_eq!(
        seen.dropped.load(SeqCst),
        1,
        "the cancelled message is dropped"
    );
    release.send(()).unwrap();
    shut_down(&sys);
    assert_eq!(*seen.notes.lock().unwrap(), [(1, 1)]);
}

#[test]
fn a_call_dropped_after_queueing_is_still_handled_and_leaves_nothing_waiting() {
    let (sys, seen) = system();
    let release = busy(&sys, 1);
    let release_too = busy(&sys, 2);
    cancel_while_waiting(sys.call_actor::<Tight, Ask>(1, Ask));
    cancel_while_waiting(sys.call_actor_with_timeout::<Tight, Ask>(
        2,
        Ask,
        Duration::from_secs(60),
    ));
    release.send(()).unwrap();
    release_too.send(()).unwrap();
    eventually("both requests handled", || seen.requests.load(SeqCst) == 2);
    assert_eq!(sys.statistics().waiting_calls, 0);
    shut_down(&sys);
}

#[test]
fn a_call_dropped_while_waiting_for_room_is_never_handled() {
    let (sys, seen) = system();
    let release = busy(&sys, 1);
    sys.send_to_actor_sync::<Tight, Note>(1, note(&seen, 1))
        .unwrap();
    cancel_while_waiting(sys.call_actor::<Tight, Ask>(1, Ask));
    release.send(()).unwrap();
    shut_down(&sys);
    assert_eq!(seen.requests.load(SeqCst), 0);
    assert_eq!(sys.statistics().waiting_calls, 0);
}

#[test]
fn a_send_to_all_dropped_while_waiting_leaves_the_full_actor_without_a_copy() {
    let (sys, seen) = system();
    let release = busy(&sys, 1);
    sys.send_to_actor_sync::<Tight, Note>(1, note(&seen, 0))
        .unwrap();
    cancel_while_waiting(sys.send_to_all_actors::<Tight, Note>(note(&seen, 7)));
    release.send(()).unwrap();
    shut_down(&sys);
    let notes = seen.notes.lock().unwrap();
    assert_eq!(*notes, [(1, 0)], "the full actor got no copy");
}

#[test]
fn schedule_and_subscribe_finish_in_their_first_poll() {
    let _serial = BOARD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let (sys, seen) = system();
    done_at_first_poll(sys.schedule_send_to_actor::<Tight, Note>(
        3,
        Duration::from_millis(1),
        note(&seen, 3),
    ))
    .unwrap();
    // Never polled: nothing is scheduled, and the message is dropped.
    drop(sys.schedule_send_to_actor::<Tight, Note>(4, Duration::ZERO, note(&seen, 4)));
    eventually("the scheduled note", || {
        !seen.notes.lock().unwrap().is_empty()
    });
    sys.preload_service_sync::<Board>().unwrap();
    let assistant = BOARD.lock().unwrap().take().unwrap();
    done_at_first_poll(assistant.subscribe::<Pin>()).unwrap();
    shut_down(&sys);
    assert_eq!(*seen.notes.lock().unwrap(), [(3, 3)]);
}

/// One message at a time, one waiting at most; its `initialize` waits for
/// the test when asked to.
struct Board;
static BOARD: Mutex<Option<ServiceAssistant<Board>>> = Mutex::new(None);
static BOARD_GATE: Mutex<Option<oneshot::Receiver<()>>> = Mutex::new(None);
impl Service for Board {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        *BOARD.lock().unwrap() = Some(assistant.clone());
        let gate = BOARD_GATE.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.await;
        }
        let configuration = ServiceConfiguration {
            concurrency: acteur::ServiceConcurrency::None,
            capacity: Some(2),
        };
        Ok((Board, configuration))
    }
}
#[derive(Clone)]
struct Pin(u32);
impl Listen<Pin> for Board {
    async fn handle(&self, pin: Pin, assistant: &ServiceAssistant<Self>) {
        seen(assistant.data())
            .notes
            .lock()
            .unwrap()
            .push((0, pin.0));
    }
}
impl Listen<Hold> for Board {
    async fn handle(&self, hold: Hold, _: &ServiceAssistant<Self>) {
        let _ = hold.0.send(());
        let _ = hold.1.await;
    }
}
impl Serve<Ask> for Board {
    type Response = ();
    async fn handle(&self, _: Ask, assistant: &ServiceAssistant<Self>) {
        seen(assistant.data()).requests.fetch_add(1, SeqCst);
    }
}

/// A second subscriber, which is never full.
struct Wall;
impl Service for Wall {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.subscribe::<Pin>().await?;
        Ok((Wall, ServiceConfiguration::default()))
    }
}
impl Listen<Pin> for Wall {
    async fn handle(&self, pin: Pin, assistant: &ServiceAssistant<Self>) {
        seen(assistant.data())
            .notes
            .lock()
            .unwrap()
            .push((1, pin.0));
    }
}

/// Serialises the tests that use `Board`'s statics.
static BOARD_TEST: Mutex<()> = Mutex::new(());

/// `Board` up, busy with one message, and full with one more waiting.
fn full_board(sys: &Acteur) -> oneshot::Sender<()> {
    let (held, began, release) = hold();
    sys.send_to_service_sync::<Board, Hold>(held).unwrap();
    block_on(began).unwrap();
    sys.send_to_service_sync::<Board, Pin>(Pin(0)).unwrap();
    release
}

#[test]
fn sends_and_calls_to_a_full_service_dropped_while_waiting_queue_nothing() {
    let _serial = BOARD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let (sys, seen) = system();
    let release = full_board(&sys);
    cancel_while_waiting(sys.send_to_service::<Board, Pin>(Pin(1)));
    cancel_while_waiting(sys.call_service::<Board, Ask>(Ask));
    cancel_while_waiting(sys.call_service_with_timeout::<Board, Ask>(Ask, Duration::from_secs(60)));
    release.send(()).unwrap();
    shut_down(&sys);
    assert_eq!(*seen.notes.lock().unwrap(), [(0, 0)]);
    assert_eq!(seen.requests.load(SeqCst), 0);
    assert_eq!(sys.statistics().waiting_calls, 0);
}

#[test]
fn a_publish_dropped_while_waiting_keeps_the_copies_already_given() {
    let _serial = BOARD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let (sys, seen) = system();
    sys.preload_service_sync::<Wall>().unwrap();
    let release = full_board(&sys);
    let assistant = BOARD.lock().unwrap().take().unwrap();
    block_on(assistant.subscribe::<Pin>()).unwrap();
    cancel_while_waiting(sys.publish(Pin(9)));
    release.send(()).unwrap();
    shut_down(&sys);
    let notes = seen.notes.lock().unwrap().clone();
    // The full subscriber got no copy; the other got one or none, by the
    // order of the subscriptions: never two.
    assert!(!notes.contains(&(0, 9)), "{notes:?}");
    assert!(notes.iter().filter(|note| **note == (1, 9)).count() <= 1);
}

#[test]
fn a_preload_dropped_while_waiting_still_starts_the_service() {
    let _serial = BOARD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let (sys, seen) = system();
    let (open, gate) = oneshot::channel();
    *BOARD_GATE.lock().unwrap() = Some(gate);
    cancel_while_waiting(sys.preload_service::<Board>());
    open.send(()).unwrap();
    sys.call_service_sync::<Board, Ask>(Ask).unwrap();
    assert_eq!(seen.requests.load(SeqCst), 1);
    // Counted once the handler has returned, after its answer.
    eventually("the request counted", || {
        sys.statistics()
            .service::<Board>()
            .is_some_and(|board| board.handled == 1)
    });
    shut_down(&sys);
}

#[test]
fn a_dropped_wait_for_the_end_does_not_stop_the_shutdown() {
    let (sys, _) = system();
    let release = busy(&sys, 1);
    sys.stop();
    cancel_while_waiting(sys.stopped());
    release.send(()).unwrap();
    let (done, ended) = std::sync::mpsc::channel();
    let waiter = sys.clone();
    std::thread::spawn(move || {
        block_on(waiter.stopped());
        let _ = done.send(());
    });
    next(&ended, "the end of the shutdown");
}
