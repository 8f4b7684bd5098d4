//! The one-shot channel that carries a call's answer back to its caller.
//!
//! Every call makes one, so it is kept lean: one allocation that both ends
//! share, and one small lock that each end takes about once (the handler's
//! side to answer, the caller's side to look, and once more if it had to
//! wait). A general-purpose one-shot channel keeps separate locks and flags
//! for the value, each end's waker and completion, and pays an atomic
//! read-modify-write for each: replacing it with this made the peers'
//! ask_one about 10 % faster (BENCHMARKS.md, round 2).

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::spin_lock::SpinLock;

/// A new channel: where the answer goes, and where the caller waits for it.
pub(crate) fn channel<T>() -> (ReplyTo<T>, Reply<T>) {
    let shared = Arc::new(SpinLock::new(State::Waiting(None)));
    (ReplyTo(Some(Arc::clone(&shared))), Reply(shared))
}

/// What the channel holds.
enum State<T> {
    /// No answer yet; the waker of the caller if it waits.
    Waiting(Option<Waker>),
    Answered(T),
    /// The answering end was dropped without an answer.
    Unanswered,
    /// The caller took the outcome.
    Taken,
}

type Shared<T> = Arc<SpinLock<State<T>>>;

/// The answering end: answers once, or, dropped unanswered, tells the
/// caller so.
pub(crate) struct ReplyTo<T>(Option<Shared<T>>);

impl<T> ReplyTo<T> {
    /// Gives the caller `answer`. If the caller has stopped waiting, the
    /// answer is dropped.
    pub(crate) fn send(mut self, answer: T) {
        if let Some(shared) = self.0.take() {
            settle(&shared, State::Answered(answer));
            crate::runtime::note_message_out();
        }
    }
}

impl<T> Drop for ReplyTo<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            settle(&shared, State::Unanswered);
        }
    }
}

/// Puts the outcome in and wakes the caller, outside the lock.
fn settle<T>(shared: &SpinLock<State<T>>, outcome: State<T>) {
    let previous = mem::replace(&mut *shared.lock(), outcome);
    if let State::Waiting(Some(waker)) = previous {
        waker.wake();
    }
}

/// The caller's end: completes with the answer, or `None` if the answering
/// end was dropped without one.
pub(crate) struct Reply<T>(Shared<T>);

impl<T> Future for Reply<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.0.lock();
        let replaced = match &mut *state {
            State::Waiting(Some(waker)) if waker.will_wake(cx.waker()) => return Poll::Pending,
            State::Waiting(waker) => waker.replace(cx.waker().clone()),
            _ => {
                return Poll::Ready(match mem::replace(&mut *state, State::Taken) {
                    State::Answered(answer) => Some(answer),
                    _ => None,
                });
            }
        };
        drop(state);
        // The waker it replaces, dropped outside the lock (dropping the last
        // waker of a task drops the task).
        drop(replaced);
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    #[test]
    fn an_answer_sent_before_the_caller_looks_is_received() {
        let (reply_to, reply) = channel();
        reply_to.send(7);
        assert_eq!(block_on(reply), Some(7));
    }

    #[test]
    fn a_waiting_caller_is_woken_by_the_answer() {
        let (reply_to, reply) = channel();
        let answer = std::thread::spawn(move || {
            reply_to.send("done");
        });
        assert_eq!(block_on(reply), Some("done"));
        answer.join().unwrap();
    }

    #[test]
    fn an_end_dropped_unanswered_completes_the_wait_with_none() {
        let (reply_to, mut reply) = channel::<u8>();
        assert_eq!(block_on(poll_once(&mut reply)), None::<Option<u8>>);
        drop(reply_to);
        assert_eq!(block_on(reply), None);
    }

    #[test]
    fn an_answer_nobody_waits_for_is_dropped() {
        let (reply_to, reply) = channel();
        let answer = Arc::new(());
        drop(reply);
        reply_to.send(Arc::clone(&answer));
        assert_eq!(Arc::strong_count(&answer), 1);
    }
}
