//! The queue of messages waiting for one actor, and the drain task's batch
//! taken from it.
//!
//! Most actors get one message at a time: a `VecDeque` would allocate a
//! buffer for it (64 bytes for four envelopes) at each activation, and keep
//! it while the actor is idle, which is a quarter of what an idle actor
//! costs. So the oldest message sits inline, and the buffer holds only the
//! ones behind it.

use std::collections::VecDeque;

use crate::Actor;
use crate::system::calls::envelope::ActorEnvelope;

/// A first-in, first-out queue of envelopes whose front is stored inline.
pub(crate) struct Mailbox<A: Actor> {
    /// The oldest message; `None` only if `rest` is empty too.
    first: Option<ActorEnvelope<A>>,
    rest: VecDeque<ActorEnvelope<A>>,
}

impl<A: Actor> Default for Mailbox<A> {
    fn default() -> Self {
        Mailbox {
            first: None,
            rest: VecDeque::new(),
        }
    }
}

impl<A: Actor> Mailbox<A> {
    pub(crate) fn push_back(&mut self, envelope: ActorEnvelope<A>) {
        if self.first.is_none() {
            self.first = Some(envelope);
        } else {
            self.rest.push_back(envelope);
        }
    }

    /// Puts `envelope` first in line.
    pub(crate) fn push_front(&mut self, envelope: ActorEnvelope<A>) {
        if let Some(first) = self.first.replace(envelope) {
            self.rest.push_front(first);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<ActorEnvelope<A>> {
        let first = self.first.take();
        self.first = self.rest.pop_front();
        first
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The envelopes the buffer holds room for, beside the inline one.
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.rest.capacity()
    }

    /// Gives back the buffer's room beyond `capacity` envelopes.
    pub(crate) fn shrink_buffer_to(&mut self, capacity: usize) {
        self.rest.shrink_to(capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::calls::envelope::Tell;
    use crate::{ActorAssistant, Receive};

    struct Recorder(Vec<u32>);
    impl Actor for Recorder {
        type Id = u32;
        async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, crate::BoxError> {
            Ok(Recorder(Vec::new()))
        }
    }
    impl Receive<u32> for Recorder {
        async fn handle(&mut self, n: u32, _: &ActorAssistant<Self>) {
            self.0.push(n);
        }
    }

    /// The numbers of `envelopes`, as their handlers record them.
    fn numbers(envelopes: impl IntoIterator<Item = ActorEnvelope<Recorder>>) -> Vec<u32> {
        futures_lite::future::block_on(async {
            let mut recorder = Recorder(Vec::new());
            let sys = crate::Acteur::new();
            let slot = std::sync::Arc::new(crate::system::actors::slot::Slot::new(
                0,
                std::sync::Weak::new(),
            ));
            let assistant = ActorAssistant::new(sys.clone(), slot);
            for envelope in envelopes {
                envelope.handle(&mut recorder, &assistant).await;
            }
            sys.stop();
            recorder.0
        })
    }

    #[test]
    fn keeps_first_in_first_out_order_across_the_inline_front() {
        let mut mailbox = Mailbox::<Recorder>::default();
        assert!(mailbox.is_empty());
        mailbox.push_back(Box::new(Tell(2)));
        assert_eq!((mailbox.len(), mailbox.buffer_capacity()), (1, 0));
        mailbox.push_back(Box::new(Tell(3)));
        mailbox.push_front(Box::new(Tell(1)));
        mailbox.push_back(Box::new(Tell(4)));
        assert_eq!(mailbox.len(), 4);
        let mut out = Vec::new();
        while let Some(envelope) = mailbox.pop_front() {
            out.push(envelope);
        }
        assert!(mailbox.is_empty());
        assert_eq!(numbers(out), vec![1, 2, 3, 4]);
    }
}
