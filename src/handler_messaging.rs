//! The sending methods that [`ActorAssistant`](crate::ActorAssistant) and
//! [`ServiceAssistant`](crate::ServiceAssistant) share, written once: a
//! macro expands them, with their docs, into both. Each calls the system's
//! one implementation of its operation (`system/operations.rs`), as
//! [`Acteur`](crate::Acteur)'s methods do; the docs say what differs when
//! the caller is a handler or a hook.
//!
//! Inside the expansion, `B` is the actor type written to and `T` the
//! service type: the assistants' own type parameters are `A` and `S`.

/// Expands the shared sending methods into an `impl` block of an assistant
/// that has a `fn system(&self) -> &Arc<System>`.
macro_rules! handler_messaging {
    () => {
        /// Sends `message` to the actor of type `B` with `id`, activating it
        /// if needed, without waiting for it to be handled; a full mailbox
        /// is waited for. Otherwise as
        /// [`Acteur::send_to_actor`](crate::Acteur::send_to_actor).
        ///
        /// From a handler: a message an actor sends to its own ID is queued
        /// even when its mailbox is full, since waiting for room there would
        /// wait for itself. During shutdown, a handler or hook can still
        /// reach the actors that are active and not yet deactivating.
        ///
        /// # Errors
        ///
        /// [`Error::Stopped`](crate::Error::Stopped) if the system is
        /// stopping and the actor cannot take it;
        /// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration)
        /// if `B::configuration()` is invalid.
        ///
        /// # Cancel safety
        ///
        /// The message is queued by the first poll, unless the mailbox is
        /// full; dropped while it waits for room, the message is dropped
        /// with the future.
        pub async fn send_to_actor<B: $crate::Receive<M>, M: Send + 'static>(
            &self,
            id: B::Id,
            message: M,
        ) -> Result<(), $crate::Error> {
            // Bound first: a temporary of the `match` would live across the
            // await, in every sender's future.
            let wait_for_room = self.system().send_to_actor::<B, M>(id, message)?;
            match wait_for_room {
                None => Ok(()),
                Some(wait_for_room) => wait_for_room.await,
            }
        }

        /// Sends `message` to the actor of type `B` with `id` if its mailbox
        /// has room, and never waits: a refused message comes back in the
        /// [`TrySendError`](crate::TrySendError), as from
        /// [`Acteur::try_send_to_actor`](crate::Acteur::try_send_to_actor).
        /// The way for a handler to send on without being held up by a slow
        /// actor.
        ///
        /// # Errors
        ///
        /// A [`TrySendError`](crate::TrySendError) holding the message and
        /// [`Error::MailboxFull`](crate::Error::MailboxFull), or the reason
        /// [`send_to_actor`](Self::send_to_actor) would fail.
        pub fn try_send_to_actor<B: $crate::Receive<M>, M: Send + 'static>(
            &self,
            id: B::Id,
            message: M,
        ) -> Result<(), $crate::TrySendError<M>> {
            self.system().try_send_to_actor::<B, M>(id, message)
        }

        /// Sends the request `message` to the actor of type `B` with `id`
        /// and waits for its response, at most for the system's
        /// [call timeout](crate::ActeurBuilder::call_timeout); otherwise as
        /// [`Acteur::call_actor`](crate::Acteur::call_actor).
        ///
        /// From a handler, the request carries the chain of calls waiting
        /// for this one, so that a call that would wait for itself fails at
        /// once with [`Error::Deadlock`](crate::Error::Deadlock) instead of
        /// hanging: an actor calling its own ID, or A calling B calling A.
        /// Send a fire-and-forget message there instead.
        ///
        /// # Errors
        ///
        /// [`Error::Deadlock`](crate::Error::Deadlock) as above;
        /// [`Error::Timeout`](crate::Error::Timeout),
        /// [`Error::Panicked`](crate::Error::Panicked),
        /// [`Error::ActivationFailed`](crate::Error::ActivationFailed) and
        /// the errors of [`send_to_actor`](Self::send_to_actor).
        ///
        /// # Cancel safety
        ///
        /// Dropping the future cancels the wait, not a request already
        /// queued (its answer is then dropped); the call's deadline and its
        /// link in the chain are released with it.
        pub async fn call_actor<B: $crate::Respond<M>, M: Send + 'static>(
            &self,
            id: B::Id,
            message: M,
        ) -> Result<<B as $crate::Respond<M>>::Response, $crate::Error> {
            let system = self.system();
            let timeout = system.call_timeout;
            system.call_actor::<B, M>(id, message, timeout).await
        }

        /// [`call_actor`](Self::call_actor), waiting at most `timeout`
        /// instead of the system's call timeout. A request already queued
        /// when the time is up is still handled; its answer is dropped.
        ///
        /// # Errors
        ///
        /// Those of [`call_actor`](Self::call_actor).
        ///
        /// # Cancel safety
        ///
        /// As [`call_actor`](Self::call_actor)'s.
        pub async fn call_actor_with_timeout<B: $crate::Respond<M>, M: Send + 'static>(
            &self,
            id: B::Id,
            message: M,
            timeout: std::time::Duration,
        ) -> Result<<B as $crate::Respond<M>>::Response, $crate::Error> {
            self.system().call_actor::<B, M>(id, message, timeout).await
        }

        /// Sends a clone of `message` to every actor of type `B` that is
        /// active now, activating none, as
        /// [`Acteur::send_to_all_actors`](crate::Acteur::send_to_all_actors).
        /// Full mailboxes are waited for in turn, except the sender's own,
        /// which a handler never waits for.
        ///
        /// # Errors
        ///
        /// [`Error::Stopped`](crate::Error::Stopped) if the system is
        /// stopping and the caller is not one of its tasks.
        ///
        /// # Cancel safety
        ///
        /// Not cancel safe: dropped while it waits for room, the actors
        /// reached before keep their copy, the others get none.
        pub async fn send_to_all_actors<B: $crate::Receive<M>, M: Clone + Send + 'static>(
            &self,
            message: M,
        ) -> Result<(), $crate::Error> {
            self.system().send_to_all_actors::<B, M>(message).await
        }

        /// Sends `message` to the actor of type `B` with `id` once `delay`
        /// has passed, and returns the [`Timer`](crate::Timer) that can
        /// cancel it, as
        /// [`Acteur::schedule_send_to_actor`](crate::Acteur::schedule_send_to_actor).
        /// Returns at once: the wait holds back neither this handler nor
        /// anything else. To send to the caller itself at intervals, see
        /// `send_interval`.
        ///
        /// # Errors
        ///
        /// [`Error::Stopped`](crate::Error::Stopped) once the system is
        /// stopping; [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration)
        /// if `B::configuration()` is invalid.
        ///
        /// # Cancel safety
        ///
        /// Cancel safe: its first poll does all its work and never waits.
        pub async fn schedule_send_to_actor<B: $crate::Receive<M>, M: Send + 'static>(
            &self,
            id: B::Id,
            delay: std::time::Duration,
            message: M,
        ) -> Result<$crate::Timer, $crate::Error> {
            self.system().schedule::<B, M>(id, delay, message)
        }

        /// Sends `message` to service `T` once `delay` has passed, and
        /// returns the [`Timer`](crate::Timer) that can cancel it, as
        /// [`Acteur::schedule_send_to_service`](crate::Acteur::schedule_send_to_service).
        /// Returns at once.
        ///
        /// # Errors
        ///
        /// [`Error::Stopped`](crate::Error::Stopped) once the system is
        /// stopping.
        ///
        /// # Cancel safety
        ///
        /// Cancel safe: its first poll does all its work and never waits.
        pub async fn schedule_send_to_service<T: $crate::Listen<M>, M: Send + 'static>(
            &self,
            delay: std::time::Duration,
            message: M,
        ) -> Result<$crate::Timer, $crate::Error> {
            self.system().schedule_to_service::<T, M>(delay, message)
        }

        /// Sends `message` to service `T`, starting it if needed, without
        /// waiting for it to be handled; a full service is waited for.
        ///
        /// From a handler or hook, unlike from outside, a service that is
        /// starting is not waited for: its `initialize` could be waiting for
        /// the caller. The message is queued at once; should `initialize`
        /// fail, it is dropped and counted in
        /// [`ServiceStatistics::dropped_messages`](crate::ServiceStatistics::dropped_messages).
        /// A service's message to itself is queued even when it is full.
        /// During shutdown, services still serve the code running inside the
        /// system, so that `deactivate` can save through them.
        ///
        /// # Errors
        ///
        /// [`Error::Stopped`](crate::Error::Stopped) past the shutdown
        /// deadline (code inside the system is served until then);
        /// [`Error::InvalidConfiguration`](crate::Error::InvalidConfiguration)
        /// if the service's configuration is invalid.
        ///
        /// # Cancel safety
        ///
        /// Dropped while it waits for room, the message was not queued and
        /// is dropped with the future.
        pub async fn send_to_service<T: $crate::Listen<M>, M: Send + 'static>(
            &self,
            message: M,
        ) -> Result<(), $crate::Error> {
            self.system().send_to_service::<T, M>(message).await
        }

        /// Sends `message` to service `T` if it has room, and never waits;
        /// a refused message comes back in the
        /// [`TrySendError`](crate::TrySendError), as from
        /// [`Acteur::try_send_to_service`](crate::Acteur::try_send_to_service).
        ///
        /// # Errors
        ///
        /// A [`TrySendError`](crate::TrySendError) holding the message and
        /// [`Error::MailboxFull`](crate::Error::MailboxFull), or the reason
        /// [`send_to_service`](Self::send_to_service) would fail.
        pub fn try_send_to_service<T: $crate::Listen<M>, M: Send + 'static>(
            &self,
            message: M,
        ) -> Result<(), $crate::TrySendError<M>> {
            self.system().try_send_to_service::<T, M>(message)
        }

        /// Sends the request `message` to service `T`, starting it if
        /// needed, and waits for its response, at most for the system's
        /// [call timeout](crate::ActeurBuilder::call_timeout); otherwise as
        /// [`Acteur::call_service`](crate::Acteur::call_service).
        ///
        /// From a handler, the request carries the chain of calls waiting
        /// for this one: a call to a service that handles one message at a
        /// time and waits, through that chain, for the caller fails at once
        /// with [`Error::Deadlock`](crate::Error::Deadlock).
        ///
        /// # Errors
        ///
        /// [`Error::Deadlock`](crate::Error::Deadlock) as above;
        /// [`Error::Timeout`](crate::Error::Timeout),
        /// [`Error::Panicked`](crate::Error::Panicked) and the errors of
        /// [`send_to_service`](Self::send_to_service).
        ///
        /// # Cancel safety
        ///
        /// Dropping the future cancels the wait, not a request already
        /// queued (its answer is then dropped); the call's deadline and its
        /// link in the chain are released with it.
        pub async fn call_service<T: $crate::Serve<M>, M: Send + 'static>(
            &self,
            message: M,
        ) -> Result<<T as $crate::Serve<M>>::Response, $crate::Error> {
            let system = self.system();
            let timeout = system.call_timeout;
            system.call_service::<T, M>(message, timeout).await
        }

        /// [`call_service`](Self::call_service), waiting at most `timeout`
        /// instead of the system's call timeout.
        ///
        /// # Errors
        ///
        /// Those of [`call_service`](Self::call_service).
        ///
        /// # Cancel safety
        ///
        /// As [`call_service`](Self::call_service)'s.
        pub async fn call_service_with_timeout<T: $crate::Serve<M>, M: Send + 'static>(
            &self,
            message: M,
            timeout: std::time::Duration,
        ) -> Result<<T as $crate::Serve<M>>::Response, $crate::Error> {
            self.system().call_service::<T, M>(message, timeout).await
        }

        /// Gives a clone of `message` to every service subscribed to `M`, as
        /// [`Acteur::publish`](crate::Acteur::publish); a full subscriber is
        /// waited for. During shutdown, a handler or hook can still publish:
        /// services serve the code running inside the system until they
        /// stop.
        ///
        /// # Errors
        ///
        /// [`Error::Stopped`](crate::Error::Stopped) past the shutdown
        /// deadline (code inside the system is served until then).
        ///
        /// # Cancel safety
        ///
        /// Not cancel safe: dropped while it waits for a full subscriber,
        /// those reached before keep their copy, the others get none.
        pub async fn publish<M: Clone + Send + 'static>(
            &self,
            message: M,
        ) -> Result<(), $crate::Error> {
            self.system().publish::<M>(message).await
        }
    };
}

pub(crate) use handler_messaging;
