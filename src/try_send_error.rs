//! A refused `try_send_*`: why, and the message, handed back.

use std::any::type_name;
use std::fmt;

use crate::Error;

/// What a `try_send_to_actor` or `try_send_to_service` returns when it does
/// not queue the message: the reason, and the message itself, so that the
/// caller can drop it, retry it later or send it elsewhere.
///
/// [`error`](TrySendError::error) is most often
/// [`Error::MailboxFull`], but any refusal hands the message back:
/// [`Error::Stopped`], [`Error::InvalidConfiguration`] and the others. In
/// code that returns [`acteur::Error`](Error), `?` converts it (the message
/// is then dropped).
///
/// # Examples
///
/// ```
/// use acteur::{Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Receive};
///
/// struct Sensor;
/// impl Actor for Sensor {
///     type Id = u32;
///     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
///         Ok(Sensor)
///     }
///     fn configuration() -> ActorConfiguration {
///         ActorConfiguration { mailbox_capacity: Some(100), ..Default::default() }
///     }
/// }
/// struct Reading(f64);
/// impl Receive<Reading> for Sensor {
///     async fn handle(&mut self, _: Reading, _: &ActorAssistant<Self>) {}
/// }
///
/// let sys = Acteur::new();
/// sys.stop();
/// let refused = sys.try_send_to_actor::<Sensor, Reading>(1, Reading(21.5)).unwrap_err();
/// assert_eq!(refused.error(), &Error::Stopped);
/// let Reading(value) = refused.into_message();
/// assert_eq!(value, 21.5);
/// sys.wait_until_stopped();
/// ```
pub struct TrySendError<M> {
    error: Error,
    message: M,
}

impl<M> TrySendError<M> {
    pub(crate) fn new(error: Error, message: M) -> Self {
        TrySendError { error, message }
    }

    /// Why the message was not queued: [`Error::MailboxFull`] when the
    /// mailbox (or the service) held its capacity, or any error a send can
    /// return.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The message that was not queued.
    pub fn into_message(self) -> M {
        self.message
    }

    /// The reason and the message.
    pub fn into_parts(self) -> (Error, M) {
        (self.error, self.message)
    }
}

impl<M> From<TrySendError<M>> for Error {
    /// The reason; the message is dropped.
    fn from(refused: TrySendError<M>) -> Error {
        refused.error
    }
}

impl<M> fmt::Debug for TrySendError<M> {
    /// The reason and the message's type: the message need not be `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrySendError")
            .field("error", &self.error)
            .field("message", &type_name::<M>())
            .finish()
    }
}

impl<M> fmt::Display for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (the message, a `{}`, was handed back: `into_message` returns it)",
            self.error,
            type_name::<M>()
        )
    }
}

impl<M> std::error::Error for TrySendError<M> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Neither `Debug` nor `Clone`.
    struct Opaque(u8);

    #[test]
    fn the_message_comes_back_with_the_reason() {
        let refused = TrySendError::new(Error::MailboxFull, Opaque(7));
        assert_eq!(refused.error(), &Error::MailboxFull);
        let text = refused.to_string();
        assert!(
            text.contains("mailbox is full") && text.contains("Opaque"),
            "{text}"
        );
        assert!(format!("{refused:?}").contains("MailboxFull"));
        let (error, Opaque(value)) = refused.into_parts();
        assert_eq!((error, value), (Error::MailboxFull, 7));
        let converted: Error = TrySendError::new(Error::Stopped, Opaque(1)).into();
        assert_eq!(converted, Error::Stopped);
    }

    #[test]
    fn it_is_an_error_whatever_the_message() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<TrySendError<Opaque>>();
    }
}
